import Foundation
import Testing
@testable import MoESimCLI
import Studies
import SimKit

/// Issue 18: shards balanced by cost, merged byte for byte whatever N, seeds as replicates with 95% intervals.
@Suite struct ShardingTests {
    static let spec = Repo.root + "/deploy/ci-sweep.json"

    func read(_ p: String) -> String { (try? String(contentsOfFile: p, encoding: .utf8)) ?? "<missing \(p)>" }

    @Test(.fullTests) func mergedShardsEqualTheUnshardedSweepWhateverN() throws {
        let dir = NSTemporaryDirectory() + "moesim-shards-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let full = runCLI(["sweep", Self.spec, "--out", dir + "/full", "--threads", "2", "--seeds", "2"])
        #expect(full.code == 0, "\(full.err)")
        for n in [1, 2, 25] {   // 25 shards of 20 configurations: some shards are empty
            var dirs: [String] = []
            for k in (0..<n).reversed() {
                let d = dir + "/n\(n)/s\(k)"
                let r = runCLI(["sweep", Self.spec, "--shard", "\(k)/\(n)", "--out", d, "--threads", "1", "--seeds", "2"])
                #expect(r.code == 0, "\(r.err)")
                dirs.append(d)
            }
            let m = runCLI(["merge"] + dirs + ["--out", dir + "/n\(n)/merged"])
            #expect(m.code == 0, "\(m.err)")
            for f in ["results.csv", "results.jsonl", "summary.csv"] {
                #expect(read(dir + "/full/" + f) == read(dir + "/n\(n)/merged/" + f), "N = \(n): \(f) differs")
            }
        }
        // A missing shard, a shard given twice, an unfinished shard: named, not merged.
        let two = [dir + "/n2/s0", dir + "/n2/s1"]
        #expect(runCLI(["merge", two[0], "--out", dir + "/x"]).err.contains("shard(s) 1 of 2 missing"))
        #expect(runCLI(["merge", two[0], two[0], "--out", dir + "/x"]).err.contains("given twice"))
        #expect(runCLI(["merge", two[0], dir + "/n25/s1", "--out", dir + "/x"]).err.contains("not of one sweep"))
        let jl = two[1] + "/results.jsonl"
        let lines = read(jl).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: jl, atomically: true, encoding: .utf8)
        let torn = runCLI(["merge"] + two + ["--out", dir + "/x"])
        #expect(torn.code == 65 && torn.err.contains("rerun it with --resume"), "\(torn.err)")
    }

    @Test func summaryHoldsTheReplicatesMeanAndInterval() throws {
        let dir = NSTemporaryDirectory() + "moesim-seeds-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = runCLI(["sweep", Self.spec, "--grid", "olmoe", "--out", dir, "--threads", "2", "--seeds", "3"])
        #expect(r.code == 0, "\(r.err)")
        let rows = read(dir + "/results.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let sum = read(dir + "/summary.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 1 + 8 * 3 && sum.count == 1 + 8)
        let col = rows[0].firstIndex(of: "output_throughput")!, seedCol = rows[0].firstIndex(of: "seed")!
        #expect(rows[1...3].map { $0[seedCol] } == ["0", "1", "2"])
        let xs = rows[1...3].map { Double($0[col])! }
        let ci = ConfidenceInterval(xs)
        let m = sum[0].firstIndex(of: "output_throughput_mean")!
        #expect(sum[0].firstIndex(of: "replicates") != nil && sum[1][sum[0].firstIndex(of: "replicates")!] == "3")
        #expect(abs(Double(sum[1][m])! - ci.mean) < 1e-9 * ci.mean)
        #expect(abs(Double(sum[1][m + 1])! - ci.halfWidth!) < 1e-9 * ci.mean)
        #expect(!sum[0].contains("seed"))
        #expect(runCLI(Self.plan + ["--seeds", "0"]).err.contains("allowed a whole number in 1...1000"))
    }

    @Test func shardFromTheJobEngine() throws {
        #expect(try Shard.parse("2/5", environment: [:]) == Shard(index: 2, count: 5))
        #expect(try Shard.parse("4", environment: ["SLURM_ARRAY_TASK_ID": "3"]) == Shard(index: 3, count: 4))
        #expect(try Shard.parse("4", environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1"]) == Shard(index: 3, count: 4))
        #expect(try Shard.parse("4", environment: ["JOB_COMPLETION_INDEX": "0"]) == Shard(index: 0, count: 4))
        for bad in ["4", "5/5", "-1/5", "1/0", "1/100001", "a/b", "1/2/3", ""] {
            #expect(throws: (any Error).self) { try Shard.parse(bad, environment: [:]) }
        }
        let r = runCLI(["sweep", Self.spec, "--shard", "9/3"])
        #expect(r.code == 64 && r.err.contains("K is 9; allowed a whole number in 0...2"))
        #expect(runCLI(["sweep", Self.spec, "--seeds", "1001"]).err.contains("allowed a whole number in 1...1000"))
    }

    @Test func shardsAreBalancedByCostNotCount() {
        // One expensive configuration and many cheap ones: by count each shard would get half; by cost the
        // expensive one is alone.
        let costs = [1000.0] + Array(repeating: 10.0, count: 100)
        let a = Sharding.assign(costs: costs, shards: 2)
        let loads = Sharding.loads(costs: costs, assignment: a, shards: 2)
        #expect(loads == [1000, 1000])
        #expect(a.filter { $0 == a[0] }.count == 1)
        // Random costs: within the largest single cost of perfect balance (the greedy bound), deterministic.
        var g = SplitMix64(seed: 7)
        let rc = (0..<5000).map { _ in Double(g.next() % 10_000) + 1 }
        let b = Sharding.assign(costs: rc, shards: 16)
        let l = Sharding.loads(costs: rc, assignment: b, shards: 16)
        #expect(l.max()! - l.min()! <= rc.max()!)
        #expect(b == Sharding.assign(costs: rc, shards: 16))
        // The estimate follows the work: more prompts and longer outputs cost more.
        #expect(Sharding.estimatedCost(["--num-prompts", "100", "--random-output-len", "256"]) > Sharding.estimatedCost(["--num-prompts", "100"]))
        #expect(Sharding.estimatedCost(["--num-prompts", "10"]) < Sharding.estimatedCost(["--num-prompts", "100"]))
    }

    @Test func confidenceIntervals() {
        #expect(abs(ConfidenceInterval.t975(df: 1) - 12.7062) < 1e-4)
        for (df, exact) in [(31, 2.0395), (40, 2.0211), (60, 2.0003), (120, 1.9799), (1000, 1.9623)] {
            #expect(abs(ConfidenceInterval.t975(df: df) - exact) < 2e-4, "df \(df)")
        }
        let ci = ConfidenceInterval([1, 2, 3, 4, 5])
        #expect(ci.mean == 3)
        #expect(abs(ci.halfWidth! - 2.7764 * (2.5 / 5).squareRoot()) < 1e-9)
        #expect(ConfidenceInterval([7]).halfWidth == nil)
        #expect(ConfidenceInterval([1, 2]).overlaps(ConfidenceInterval([2, 3])))
        #expect(!ConfidenceInterval([1, 1.1, 0.9]).overlaps(ConfidenceInterval([5, 5.1, 4.9])))
    }

    static let plan = ["plan", "--model", "olmoe-1b-7b", "--gpu", "a100-sxm4-80gb", "--max-gpus", "2", "--random-input-len", "128",
                       "--random-output-len", "16", "--num-prompts", "24", "--max-concurrency", "16", "--seeds", "2"]

    @Test(.fullTests) func mergedPlanShardsPrintTheUnshardedPlan() throws {
        let dir = NSTemporaryDirectory() + "moesim-plan-shards-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The first line's elapsed time is the only difference: the merge reports the shards' summed time.
        func body(_ s: String) -> String { s.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n") }
        let full = runCLI(Self.plan)
        #expect(full.code == 0, "\(full.err)")
        #expect(full.out.contains("95% confidence intervals over 2 seeds"))
        #expect(full.out.contains("Winner:") || full.out.contains("Tie:"))
        for n in [1, 4] {
            var dirs: [String] = []
            for k in 0..<n {
                let d = dir + "/n\(n)/s\(k)"
                let r = runCLI(Self.plan + ["--shard", "\(k)/\(n)", "--out", d, "--threads", "1"])
                #expect(r.code == 0, "\(r.err)")
                dirs.append(d)
            }
            let m = runCLI(["merge"] + dirs.reversed())
            #expect(m.code == 0, "\(m.err)")
            #expect(body(m.out) == body(full.out), "N = \(n)")
        }
        let json = runCLI(Self.plan + ["--json"])
        #expect(json.out.contains("\"tied_at_top\"") && json.out.contains("\"ci95_low\""))
        #expect(runCLI(Self.plan + ["--shard", "0/2", "--svg", dir + "/x.svg"]).code == 64)
        #expect(runCLI(Self.plan + ["--out", dir + "/y"]).code == 64)
        let one = runCLI(Array(Self.plan.dropLast(2)))
        #expect(one.out.contains("Intervals: one seed per plan"))
    }
}
