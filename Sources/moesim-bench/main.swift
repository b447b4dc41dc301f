// moesim-bench: speed figures for the README's speed table. Run in release:
//   swift run -c release moesim-bench [engine|study|plan|search]
// and the release fuzzing (not run by CI; the test suite runs a bounded share of it):
//   swift run -c release moesim-bench fuzz [hostile cases, default 20000] [invariant configurations, default 10000] [seed]
//                                          [surface cases (outputs, oversized inputs, multi-instance flags), default 2000]
import Foundation
import Cluster
import Serving
import Studies
import MoESimCLI

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let r = try body()
    return (r, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
}

do {
    let store = try ProfileStore.locate()
    let args = CommandLine.arguments.dropFirst()
    let only = args.first
    if only == "fuzz" {
        // Hostile inputs and invariants, many more cases than the test suite. Each case is logged to
        // .build/fuzz-last-case.txt before it runs, so a crash or a hang leaves its command line behind.
        let rest = Array(args.dropFirst())
        let hostile = rest.count > 0 ? Int(rest[0]) ?? 20_000 : 20_000
        let configs = rest.count > 1 ? Int(rest[1]) ?? 10_000 : 10_000
        let seed = rest.count > 2 ? UInt64(rest[2]) ?? 1 : 1
        let root = URL(fileURLWithPath: store.root).deletingLastPathComponent().path
        let logPath = root + "/.build/fuzz-last-case.txt"
        let work = NSTemporaryDirectory() + "moesim-fuzz-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let logCase: (String) -> Void = { try? $0.write(toFile: logPath, atomically: false, encoding: .utf8) }
        let (h, hw) = try time { try Fuzz.hostileInputs(seed: seed, cases: hostile, root: root, workDir: work, log: logCase) }
        print(String(format: "fuzz    hostile inputs, seed %llu, %.1f s: ", seed, hw) + h.summary)
        for f in h.failures.prefix(20) { print("  FAIL " + f) }
        for c in h.slow.prefix(20) { print(String(format: "  slow %.1f s: ", c.seconds) + c.what) }
        let (i, iw) = time { Fuzz.invariants(seed: seed, configs: configs, store: store, log: logCase) }
        print(String(format: "fuzz    invariants, seed %llu, %.1f s: ", seed, iw) + i.summary)
        for f in i.failures.prefix(20) { print("  FAIL " + f) }
        let surfaces = rest.count > 3 ? Int(rest[3]) ?? 2_000 : 2_000
        let (s, sw) = try time { try Fuzz.surfaces(seed: seed, cases: surfaces, root: root, workDir: work + "/surfaces", log: logCase) }
        print(String(format: "fuzz    outputs, oversized inputs, multi-instance flags, seed %llu, %.1f s: ", seed, sw) + s.summary)
        for f in s.failures.prefix(20) { print("  FAIL " + f) }
        for c in s.slow.prefix(20) { print(String(format: "  slow %.1f s: ", c.seconds) + c.what) }
        exit(h.failures.isEmpty && i.failures.isEmpty && s.failures.isEmpty ? 0 : 1)
    }
    print("moesim-bench on \(ProcessInfo.processInfo.activeProcessorCount) cores")

    if only == nil || only == "engine" {
        // 1. The issue's engine benchmark: Mixtral-8x7B TP2, A100-80GB, concurrency 128, 2,000 requests of 128/128.
        let runArgs = ["--model", "mixtral-8x7b", "--gpu", "a100-sxm4-80gb", "--tensor-parallel-size", "2", "--dataset-name", "random",
                       "--random-input-len", "128", "--random-output-len", "128", "--num-prompts", "2000", "--max-concurrency", "128"]
        let (_, load) = try time { try Simulation.run(arguments: Array(runArgs.prefix(6)) + ["--num-prompts", "1", "--random-input-len", "8", "--random-output-len", "2"], store: store) }
        var walls: [Double] = []
        var last: Simulation.Outcome? = nil
        for _ in 0..<5 {
            let (o, w) = try time { try Simulation.run(arguments: runArgs, store: store) }
            walls.append(w); last = o
        }
        let w = median(walls), r = last!.result
        print(String(format: "engine  mixtral-8x7b TP2 a100-sxm4-80gb, c=128, 2000 x 128/128: %d steps, %.1f simulated s", r.steps, r.durationS))
        print(String(format: "        wall %.4f s (median of 5, profiles cached; first load %.3f s)", w, load))
        print(String(format: "        %.0f engine steps per wall second, %.0f simulated seconds per wall second", Double(r.steps) / w, r.durationS / w))
    }
    if only == nil || only == "study" {
        // 2. The paper's 189 multi-GPU configurations, both cores.
        let root = URL(fileURLWithPath: store.root).deletingLastPathComponent().path
        let spec = try SweepSpec(file: root + "/experiments/hegde2025/spec.json")
        let configs = spec.configurations().filter { $0.grid == "multi-gpu" }
        for threads in [1, ProcessInfo.processInfo.activeProcessorCount] {
            let (rs, w) = time { SweepRunner.run(configs, store: store, threads: threads) }
            let sim = rs.compactMap { $0.result?.durationS }.reduce(0, +)
            let steps = rs.compactMap { $0.result?.steps }.reduce(0, +)
            print(String(format: "study   hegde2025 multi-gpu grid: %d configurations on %d thread(s) in %.2f s (%d steps, %.0f simulated s, %.0f simulated s per wall s)",
                         rs.count, threads, w, steps, sim, sim / w))
        }
    }
    if only == nil || only == "plan" {
        // 3. Plan search, as `moesim plan` runs it.
        let (out, w) = time { () -> String in
            var text = ""
            _ = CLI.main(["plan", "--model", "qwen1.5-moe-a2.7b", "--gpu", "a100-sxm4-80gb,h100-sxm-80gb,h200-sxm-141gb", "--max-gpus", "8",
                          "--random-input-len", "512", "--random-output-len", "256", "--num-prompts", "200", "--max-concurrency", "64",
                          "--slo-ttft-p99-ms", "2000", "--slo-tpot-p99-ms", "100", "--json"], out: { text += $0 }, err: { _ in })
            return text
        }
        let n = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any]
        print(String(format: "plan    qwen1.5-moe-a2.7b on A100/H100/H200 up to 8 GPUs: %@ candidate plans, %@ simulated, in %.2f s",
                     "\(n?["candidates"] ?? "?")", "\(n?["simulated"] ?? "?")", w))
    }
    if only == nil || only == "search" {
        // 4. Issue 18: configurations per second as a search grows (a synthetic OLMoE grid, replicated over seeds),
        // the cost of splitting a 10^6-configuration search into shards, and plan searches as they widen.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let base = SweepSpec.Configuration(index: 0, grid: "g", labels: [], args: ["--model", "olmoe-1b-7b", "--random-input-len", "128",
                                                                                 "--random-output-len", "32", "--num-prompts", "50"])
        var grid: [SweepSpec.Configuration] = []
        for gpu in ["a100-sxm4-80gb", "h100-sxm-80gb", "h200-sxm-141gb"] {
            for st in ["tp", "ep"] {
                for c in [1, 4, 16, 64] {
                    var x = base
                    x.index = grid.count; x.labels = [("gpu", gpu), ("strategy", st), ("c", String(c))]
                    x.args += ["--gpu", gpu, "--strategy", st, "--max-concurrency", String(c)]
                    grid.append(x)
                }
            }
        }
        _ = SweepRunner.run(grid, store: store, threads: cores)   // load and fit the three GPUs' kernel tables first
        for seeds in [1, 4, 16, 64, 256] {
            let configs = Sharding.replicate(grid, seeds: seeds)
            let (rs, w) = time { SweepRunner.run(configs, store: store, threads: cores) }
            print(String(format: "search  %5d configurations (24 deployments x %2d seeds, 50 requests of 128/32 each) on %d threads: %.2f s, %.0f configurations/s%@",
                         rs.count, seeds, cores, w, Double(rs.count) / w, rs.allSatisfy { $0.result != nil } ? "" : " (some failed)"))
        }
        let million = (0..<1_000_000).map { i in Double(100 + (i % 977) * 37) }
        for n in [8, 64, 1024] {
            let (a, w) = time { Sharding.assign(costs: million, shards: n) }
            let l = Sharding.loads(costs: million, assignment: a, shards: n)
            print(String(format: "shard   10^6 configurations into %4d cost-balanced shards: %.2f s; largest shard %.5f%% above the mean", n, w,
                         100 * (l.max()! / (l.reduce(0, +) / Double(n)) - 1)))
        }
        for maxGPUs in [1, 2, 4, 8, 16] {
            for seeds in [1, 3] {
                let (out, w) = time { () -> String in
                    var text = ""
                    _ = CLI.main(["plan", "--model", "qwen1.5-moe-a2.7b", "--gpu", "a100-sxm4-80gb,h100-sxm-80gb,h200-sxm-141gb", "--max-gpus", String(maxGPUs),
                                  "--random-input-len", "512", "--random-output-len", "256", "--num-prompts", "200", "--max-concurrency", "64",
                                  "--seeds", String(seeds), "--json"], out: { text += $0 }, err: { _ in })
                    return text
                }
                let n = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any]
                print(String(format: "plan    up to %2d GPUs, %d seed(s): %@ candidates, %@ simulated plans, %d simulations in %.2f s",
                             maxGPUs, seeds, "\(n?["candidates"] ?? "?")", "\(n?["simulated"] ?? "?")", ((n?["simulated"] as? Int) ?? 0) * seeds, w))
            }
        }
    }
} catch {
    print("moesim-bench: \(error)")
    exit(1)
}
