import Foundation
import Testing
@testable import MoESimCLI

/// The README's accuracy figures come from the commands it names: each test runs the command and checks that the
/// README quotes what it prints today. The vLLM manifest takes half an hour in a debug build on two cores, so it runs
/// with the slow end-to-end tests (MOESIM_FULL_TESTS=1, which .ci/run sets), through the release binary that .ci/run
/// builds from the same tree first (MOESIM_VALIDATE_BIN, about 2 minutes there) where it is given; the
/// published-deployment check always runs.
struct ReadmeFiguresTests {
    static let readme: String = (try? String(contentsOfFile: Repo.root + "/README.md", encoding: .utf8)) ?? ""

    /// The README line of the accuracy table whose first cell starts with `row`.
    static func line(_ row: String) -> String? {
        readme.split(separator: "\n").map(String.init).first { $0.hasPrefix("| " + row) }
    }

    static func validate(_ manifest: String) throws -> [String: Any] {
        let out = NSTemporaryDirectory() + "moesim-readme-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = ["validate", Repo.root + "/" + manifest, "--json", out]
        if let bin = ProcessInfo.processInfo.environment["MOESIM_VALIDATE_BIN"], !bin.isEmpty {
            let (status, _, err) = try Browser.run(bin, args)
            #expect(status == 0, "\(bin) \(args.joined(separator: " ")): \(err)")
        } else {
            let r = runCLI(args)
            #expect(r.code == 0, "\(r.err)")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

    @Test func publishedDeploymentsMAPE() throws {
        let v = try Self.validate("experiments/published-deployments/runs.json")
        let held = try #require(v["held_out"] as? [String: Any])
        let mape = try #require(held["mape"] as? Double)
        let l = try #require(Self.line("four published vLLM serving figures"))
        #expect(l.contains("MAPE \(Self.pct(mape))"), "README says: \(l); validate prints \(Self.pct(mape))")
    }

    @Test(.fullTests)
    func vllmH200HeldOutErrors() throws {
        let v = try Self.validate("experiments/vllm-h200/manifest.json")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/experiments/vllm-h200/manifest.json"))) as? [String: Any])
        var stall = Set<String>()
        for e in (manifest["runs"] as? [[String: Any]]) ?? [] where ((e["tags"] as? [String]) ?? []).contains("stall") { stall.insert(e["id"] as! String) }
        // One H200's runs: the two-GPU runs (ids x2/...) have a table of their own in accuracy.py.
        let rows = ((v["rows"] as? [[String: Any]]) ?? []).filter { ($0["fit"] as? Bool) == false && !stall.contains($0["id"] as! String) && !($0["id"] as! String).hasPrefix("x2/") }
        // The lone graphless prompts (the graphless jobs' runs, job ids ending in -graphless, and runs "g-..." of other
        // jobs) are step probes with a row of their own, as in experiments/vllm-h200/accuracy.py; so are the request
        // pairs to an idle engine (ids .../w-pairs-...).
        func probe(_ id: String) -> Bool { id.contains("-graphless/") || id.contains("/g-i") }
        func errs(_ metric: String, probes: Bool = false) -> [Double] {
            rows.filter { ($0["metric"] as? String) == metric && probe($0["id"] as! String) == probes && !($0["id"] as! String).contains("/w-pairs-") }
                .compactMap { ($0["relative_error"] as? Double).map(abs) }
        }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(max(x.count, 1)) }
        func median(_ x: [Double]) -> Double { let s = x.sorted(); return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2) }
        let offline = errs("elapsed_time"), ttft = errs("median_ttft_ms"), tpot = errs("mean_tpot_ms"), steps = errs("step_time_ms")
        let l1 = try #require(Self.line("vLLM 0.24.0 itself on one H200"))
        #expect(l1.contains("\(Self.pct(mean(offline))) mean over \(offline.count) runs"), "README: \(l1); now \(Self.pct(mean(offline))) over \(offline.count)")
        #expect(l1.contains("(\(offline.filter { $0 > 0.25 }.count) beyond 25%)"), "README: \(l1); now \(offline.filter { $0 > 0.25 }.count) beyond 25%")
        let probes = errs("elapsed_time", probes: true)
        let lp = try #require(Self.line("same: lone graphless steps"))
        #expect(lp.contains("\(Self.pct(mean(probes))) mean over \(probes.count) runs"), "README: \(lp); now \(Self.pct(mean(probes))) over \(probes.count)")
        let l2 = try #require(Self.line("same: serving median TTFT"))
        #expect(l2.contains("\(Self.pct(mean(ttft))) / \(Self.pct(mean(tpot)))"), "README: \(l2); now \(Self.pct(mean(ttft))) / \(Self.pct(mean(tpot)))")
        let l3 = try #require(Self.line("same: each engine step"))
        #expect(l3.contains("\(Self.pct(median(steps))) (median over each trace's steps, median of \(steps.count) traces)"), "README: \(l3); now \(Self.pct(median(steps))) of \(steps.count)")
    }
}
