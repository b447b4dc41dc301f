import Foundation
import SimKit
import Cluster
import Serving
import Studies

/// Seeded fuzzing of the whole command line: hostile flag values and malformed input files of every kind, and
/// invariants checked on random small deployments. Used by the test suite (a bounded number of cases) and by
/// `moesim-bench fuzz` (many more, for releases).
///
/// A hostile case fails when the command exits with a code other than 0, 64 or 65, exits non-zero without a
/// message, or exits 0 printing a non-finite number. A crash or a hang has no exit code: it stops the harness
/// itself, which is why `moesim-bench fuzz` logs each case before running it.
public enum Fuzz {
    public struct Report: Sendable {
        public var cases = 0
        /// Cases per exit code.
        public var exits: [Int32: Int] = [:]
        /// Configurations skipped because they cannot run (a plan that does not fit, say), for the invariants.
        public var skipped = 0
        public var failures: [String] = []
        public var slowest: (seconds: Double, what: String) = (0, "")
        /// Cases that took more than two seconds.
        public var slow: [(seconds: Double, what: String)] = []

        public var summary: String {
            let e = exits.keys.sorted().map { "exit \($0): \(exits[$0]!)" }.joined(separator: ", ")
            return "\(cases) cases (\(e)\(skipped > 0 ? ", \(skipped) skipped as not runnable" : "")); \(failures.count) failures; slowest \(String(format: "%.2f", slowest.seconds)) s: \(slowest.what)"
        }
    }

    /// The work and memory limits the fuzzer runs under: small, so that every run it gets accepted is small.
    public static var smallLimits: Limits.Work {
        var w = Limits.Work()
        w.maxTotalTokens = 20_000
        w.maxForwardWork = 2_000_000
        w.maxEngineSteps = 20_000
        w.memoryBudgetBytes = 200e6
        return w
    }

    // MARK: hostile values

    static let hostileInts = ["0", "-1", "1", "2", "3", "7", "16", "64", "1e18", "9223372036854775807", "9223372036854775808",
                              "-9223372036854775808", "4611686018427387904", "100000000", "1048577", "abc", "", "nan", "inf", "1.5", "0x10", " 5"]
    static let hostileReals = ["0", "-0", "-1", "1e-300", "1e300", "nan", "inf", "-inf", "0.5", "1", "2", "1e-7", "1e9", "5", "abc", "", "0.999"]
    static var hostileJSON: [Any] { [0, -1, 1e300, -1e300, 1e-300, true, false, NSNull(), "x", 0.5, 9_007_199_254_740_993, 1e15, 2, 3,
                                     [Any](), [String: Any]()] }
    static let hostileCells = ["nan", "inf", "-inf", "-1", "0", "1e10", "99999999999", "", "x", "1e400", "1.5", "2024-13-45 99:99:99"]

    static func pick<T>(_ xs: [T], _ rng: inout Xoshiro256) -> T { xs[rng.nextInt(below: xs.count)] }

    /// A random value for a flag: hostile most of the time, a valid choice otherwise.
    static func value(for o: OptionSpec, _ rng: inout Xoshiro256, files: [String]) -> String {
        let v = o.value ?? ""
        if v.contains("file") || v.contains("dir") || v.contains("spec") {
            return pick(files + ["/nonexistent/x.json", "", "/dev/null", "/tmp"], &rng)
        }
        if v.contains("name") || v.contains("strategy") || v.contains("engine") || v.contains("backend") || v.contains("impl") || v.contains("kind") {
            let names = ["olmoe-1b-7b", "mixtral-8x7b", "a100-sxm4-80gb", "h100-sxm-80gb", "vllm", "hf", "tp", "ep", "hybrid", "baseline",
                         "alltoall", "allreduce", "eager", "grouped_mm", "batched_mm", "random", "trace", "diffusion", "autoregressive", "nonexistent", ""]
            return pick(names + files, &rng)
        }
        if v.contains("spec") || o.name == "--routing" {
            return pick(["uniform", "zipf:1.2", "zipf:0", "zipf:nan", "dirichlet:1e-300", "dirichlet:0.5", "histogram:", "trace:/nonexistent", "zipf"] + files.map { "trace:" + $0 } + files.map { "histogram:" + $0 }, &rng)
        }
        if v.contains("f>") || v.contains("r>") || v.contains("b>") || v.contains("ms") || v.contains("price") {
            return pick(hostileReals, &rng)
        }
        return pick(hostileInts, &rng)
    }

    // MARK: malformed files

    /// Every JSON leaf and container path of `v`, as key/index lists.
    static func paths(_ v: Any, _ prefix: [Any] = [], into out: inout [[Any]], limit: Int = 4000) {
        if out.count >= limit { return }
        out.append(prefix)
        if let d = v as? [String: Any] { for k in d.keys.sorted() { paths(d[k]!, prefix + [k], into: &out, limit: limit) } }
        else if let a = v as? [Any] { for (i, x) in a.enumerated().prefix(64) { paths(x, prefix + [i], into: &out, limit: limit) } }
    }

    static func replacing(_ v: Any, at path: ArraySlice<Any>, with f: (Any) -> Any?) -> Any? {
        guard let head = path.first else { return f(v) }
        if var d = v as? [String: Any], let k = head as? String, let child = d[k] {
            d[k] = replacing(child, at: path.dropFirst(), with: f)
            return d
        }
        if var a = v as? [Any], let i = head as? Int, i < a.count {
            if let n = replacing(a[i], at: path.dropFirst(), with: f) { a[i] = n } else { a.remove(at: i) }
            return a
        }
        return v
    }

    /// One random change to a JSON document: a leaf replaced by a hostile value, a member removed, an array
    /// element duplicated or the array emptied; or the text truncated.
    static func mutateJSON(_ text: String, _ rng: inout Xoshiro256) -> String {
        if rng.nextInt(below: 12) == 0 { return String(text.prefix(rng.nextInt(below: max(text.count, 1)))) }
        guard let doc = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else { return text }
        var ps: [[Any]] = []
        paths(doc, into: &ps)
        let p = pick(ps, &rng)
        let mode = rng.nextInt(below: 6)
        let out = replacing(doc, at: p[...], with: { old in
            switch mode {
            case 0: return nil
            case 1: if var a = old as? [Any], let f = a.first { a.insert(f, at: 0); return a }; return pick(hostileJSON, &rng)
            case 2: if old is [Any] { return [Any]() }; return pick(hostileJSON, &rng)
            default: return pick(hostileJSON, &rng)
            }
        }) ?? NSNull()
        guard JSONSerialization.isValidJSONObject(out) || !(out is [Any] || out is [String: Any]),
              let data = try? JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .fragmentsAllowed]) else { return text }
        return String(decoding: data, as: UTF8.self)
    }

    /// One random change to a CSV trace: a cell replaced, a row cut short, the header changed, or the text truncated.
    static func mutateCSV(_ text: String, _ rng: inout Xoshiro256) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count > 1 else { return text }
        switch rng.nextInt(below: 5) {
        case 0: return String(text.prefix(rng.nextInt(below: max(text.count, 1))))
        case 1:
            let i = 1 + rng.nextInt(below: lines.count - 1)
            lines[i] = String(lines[i].prefix(rng.nextInt(below: max(lines[i].count, 1))))
        case 2: lines[0] = pick(["a,b,c", "", "arrived_at,num_prefill_tokens", "arrived_at,arrived_at,num_prefill_tokens,num_decode_tokens"], &rng)
        default:
            let i = 1 + rng.nextInt(below: lines.count - 1)
            var cells = lines[i].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if !cells.isEmpty { cells[rng.nextInt(below: cells.count)] = pick(hostileCells, &rng) }
            lines[i] = cells.joined(separator: ",")
        }
        return lines.joined(separator: "\n")
    }

    /// Valid small inputs of every kind the commands read, written into `dir`: (kind, path).
    static func seedFiles(root: String, dir: String) throws -> [(String, String)] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func copy(_ rel: String, _ name: String, lines: Int? = nil) throws -> String {
            var text = try String(contentsOfFile: root + "/" + rel, encoding: .utf8)
            if let n = lines { text = text.split(separator: "\n").prefix(n).joined(separator: "\n") + "\n" }
            let p = dir + "/" + name
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            return p
        }
        var out: [(String, String)] = []
        out.append(("model", try copy("profiles/models/olmoe-1b-7b.json", "model.json")))
        // The bare Hugging Face config.json a user would pass.
        let wrapped = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/profiles/models/mixtral-8x7b.json"))) as? [String: Any]
        if let cfg = wrapped?["config"] {
            let p = dir + "/config.json"
            try JSONSerialization.data(withJSONObject: cfg, options: [.sortedKeys]).write(to: URL(fileURLWithPath: p))
            out.append(("model", p))
        }
        out.append(("gpu", try copy("profiles/gpus/a100-sxm4-80gb.json", "gpu.json")))
        out.append(("interconnect", try copy("profiles/interconnects/dgx-a100.json", "ic.json")))
        out.append(("engine", try copy("profiles/engines/vllm.json", "engine.json")))
        out.append(("hfengine", try copy("profiles/engines/hf.json", "hfengine.json")))
        out.append(("trace", try copy("data/traces/azure2023_splitwise_conv.csv", "trace.csv", lines: 12)))
        out.append(("trace", try copy("data/traces/lmsys_05.jsonl", "trace.jsonl", lines: 10)))
        // OLMoE: 16 MoE layers, 64 experts, top-8.
        var tokens: [[Int]] = []
        for t in 0..<6 { tokens.append((0..<8).map { (t * 5 + $0 * 7) % 64 }) }
        let write: (String, Any) throws -> String = { name, obj in
            let p = dir + "/" + name
            try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]).write(to: URL(fileURLWithPath: p))
            return p
        }
        out.append(("routing-trace", try write("routing-trace.json", ["layers": Array(repeating: tokens, count: 16)])))
        out.append(("histogram", try write("histogram.json", ["counts": (0..<64).map { Double($0 % 7 + 1) }])))
        out.append(("placement", try write("placement.json", ["default": (0..<64).map { [$0 < 32 ? 0 : 1] }])))
        let small = ["--model", "olmoe-1b-7b", "--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4"]
        out.append(("manifest", try write("manifest.json", ["version": 1, "runs": [
            ["id": "a", "fit": true, "args": small, "measured": ["output_throughput": 100.0, "mean_ttft_ms": 20.0]],
            ["id": "b", "fit": false, "group": [small + ["--max-concurrency", "1"], small], "measured": ["output_throughput": 80.0]],
        ]] as [String: Any])))
        out.append(("spec", try write("spec.json", ["version": 1, "name": "fuzz", "grids": [
            ["name": "g", "base": small, "axes": [
                ["name": "tp", "values": [["label": "1", "args": ["--tensor-parallel-size", "1"]], ["label": "2", "args": ["--tensor-parallel-size", "2"]]]],
                ["name": "c", "values": [["label": "1", "args": ["--max-concurrency", "1"]], ["label": "2", "args": ["--max-concurrency", "2"]]]],
            ]],
        ]] as [String: Any])))
        return out
    }

    /// The command line that reads a file of `kind`.
    static func command(for kind: String, _ path: String, out: String) -> [String] {
        let small = ["--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4", "--json"]
        switch kind {
        case "model": return ["run", "--model", path] + small
        case "gpu": return ["run", "--model", "olmoe-1b-7b", "--gpu", path] + small
        case "interconnect": return ["run", "--model", "olmoe-1b-7b", "--tensor-parallel-size", "2", "--interconnect", path] + small
        case "engine": return ["run", "--model", "olmoe-1b-7b", "--engine-profile", path] + small
        case "hfengine": return ["run", "--model", "olmoe-1b-7b", "--engine", "hf", "--engine-profile", path, "--batch-size", "2", "--input-len", "8", "--output-len", "4", "--json"]
        case "trace": return ["run", "--model", "olmoe-1b-7b", "--trace", path, "--trace-limit", "6", "--json"]
        case "routing-trace": return ["run", "--model", "olmoe-1b-7b", "--routing", "trace:" + path] + small
        case "histogram": return ["run", "--model", "olmoe-1b-7b", "--routing", "histogram:" + path] + small
        case "placement": return ["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--expert-placement", path] + small
        case "manifest": return ["validate", path, "--threads", "1"]
        case "spec": return ["sweep", path, "--out", out, "--threads", "1"]
        default: return ["profiles", "check", path]
        }
    }

    /// Runs `cases` seeded hostile cases: half random flags on every subcommand, half malformed files of every kind
    /// (also given to `profiles check` where they are profiles). `log`, when given, hears each case before it runs.
    public static func hostileInputs(seed: UInt64, cases: Int, root: String, workDir: String,
                                     log: ((String) -> Void)? = nil) throws -> Report {
        try Limits.$work.withValue(smallLimits) { try hostile(seed: seed, cases: cases, root: root, workDir: workDir, log: log) }
    }

    static func hostile(seed: UInt64, cases: Int, root: String, workDir: String, log: ((String) -> Void)?) throws -> Report {
        var rng = Xoshiro256(seed: seed, stream: 0xF022)
        let seeds = try seedFiles(root: root, dir: workDir + "/seed")
        var report = Report()
        let commands = CLI.commands.filter { $0.name != "reproduce" }
        for n in 0..<cases {
            let caseDir = workDir + "/case"
            try? FileManager.default.removeItem(atPath: caseDir)
            try FileManager.default.createDirectory(atPath: caseDir, withIntermediateDirectories: true)
            var args: [String]
            if n % 2 == 0 {
                // Random flags (one to three) on a small, valid base command.
                let c = pick(commands, &rng)
                switch c.name {
                case "run": args = ["run", "--model", pick(["olmoe-1b-7b", "mixtral-8x7b", "llada-moe-7b"], &rng), "--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4"]
                case "explain": args = ["explain", "--model", pick(["olmoe-1b-7b", "qwen1.5-moe-a2.7b"], &rng)]
                case "plan": args = ["plan", "--model", "olmoe-1b-7b", "--max-gpus", "2", "--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4", "--threads", "1"]
                case "sweep": args = ["sweep", seeds.first { $0.0 == "spec" }!.1, "--out", caseDir + "/out", "--threads", "1"]
                case "validate": args = ["validate", seeds.first { $0.0 == "manifest" }!.1, "--threads", "1"]
                case "calibrate": args = ["calibrate", seeds.first { $0.0 == "manifest" }!.1, "--engine-profile", "vllm", "--fit", "step_overhead_us,input_latency_us", "--out", caseDir + "/fit.json", "--max-evaluations", "3", "--threads", "1"]
                default: args = ["profiles", "check", pick(seeds, &rng).1]
                }
                for _ in 0..<(c.options.isEmpty ? 0 : 1 + rng.nextInt(below: 3)) {
                    let o = pick(c.options, &rng)
                    if o.value == nil { args.append(o.name) } else { args += [o.name, value(for: o, &rng, files: seeds.map(\.1))] }
                }
                // Outputs go to the case folder, unless the command also reads that seed file (then the write must
                // be refused, which the fuzz checks by finding the seed intact in later cases).
                for (i, x) in args.enumerated() where ["--save-result", "--out", "--svg", "--json", "--html", "--timeline", "--result-filename", "--result-dir"].contains(x) && i + 1 < args.count {
                    let v = args[i + 1]
                    let readToo = args.enumerated().contains { $0.offset != i + 1 && ($0.element == v || $0.element.hasSuffix(":" + v)) }
                    if seeds.contains(where: { $0.1 == v }) && !readToo { args[i + 1] = caseDir + "/output" }
                }
            } else {
                let (kind, path) = pick(seeds, &rng)
                let text = try String(contentsOfFile: path, encoding: .utf8)
                var mutated = kind == "trace" && path.hasSuffix(".csv") ? mutateCSV(text, &rng) : mutateJSON(text, &rng)
                if rng.nextInt(below: 3) == 0 { mutated = kind == "trace" && path.hasSuffix(".csv") ? mutateCSV(mutated, &rng) : mutateJSON(mutated, &rng) }
                let file = caseDir + "/" + URL(fileURLWithPath: path).lastPathComponent
                try mutated.write(toFile: file, atomically: true, encoding: .utf8)
                let profileKinds = ["model", "gpu", "interconnect", "engine", "hfengine"]
                args = profileKinds.contains(kind) && rng.nextInt(below: 3) == 0 ? ["profiles", "check", file] : command(for: kind, file, out: caseDir + "/out")
            }
            let what = "case \(n): moesim " + args.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
            log?(what)
            var outText = "", errText = ""
            let t0 = Date()
            let code = CLI.main(args, out: { outText += $0 }, err: { errText += $0 })
            let dt = Date().timeIntervalSince(t0)
            if dt > report.slowest.seconds { report.slowest = (dt, what) }
            if dt > 2 { report.slow.append((dt, what)) }
            report.cases += 1
            report.exits[code, default: 0] += 1
            if let problem = judge(code: code, out: outText, err: errText, args: args) { report.failures.append("\(what): \(problem)") }
        }
        return report
    }

    /// Why a finished command's outcome is wrong, or nil.
    static func judge(code: Int32, out: String, err: String, args: [String]) -> String? {
        guard [0, 64, 65].contains(code) else { return "exit code \(code)" }
        if code != 0 {
            return err.hasPrefix("Error: ") && err.count > 12 ? nil : "exit \(code) without an error message: \(err.prefix(200))"
        }
        // Exit 0: no non-finite number printed, and a run's figures must make sense.
        let lower = out.lowercased()
        for bad in ["nan", "-inf", ": inf", " inf ", "infinity", ":null,\"median", "\"duration\": null", "_ms\": null", "throughput\": null"]
        where lower.contains(bad) && !(bad == " inf " && lower.contains("rate inf")) {
            return "printed '\(bad)' in: \(out.prefix(300))"
        }
        if args.first == "run", args.contains("--json") {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any] else { return "run --json printed no JSON object" }
            let num = { (k: String) -> Double in (obj[k] as? NSNumber)?.doubleValue ?? .nan }
            guard num("completed") >= 1, num("duration") > 0, num("output_throughput") > 0, num("output_throughput").isFinite,
                  num("mean_ttft_ms") >= 0, num("mean_e2el_ms") >= num("mean_ttft_ms") - 1e-9 else {
                return "nonsense figures: \(out.prefix(400))"
            }
        }
        return nil
    }

    // MARK: invariants

    /// Runs `configs` seeded random small deployments and workloads and checks, for each one that can run:
    /// tokens conserved (every request completes, every output token is a TTFT or an ITL, input and output
    /// totals match the workload), KV usage within capacity, time monotone (no negative latency, E2E at least
    /// TTFT, the run at least as long as its longest request) and latencies above the physics floor (TTFT at
    /// least the shortest prompt at datasheet FLOPs on all the plan's GPUs, every ITL at least one read of each
    /// GPU's non-expert weights at datasheet bandwidth, with pipelines every stage's in turn). Every tenth configuration is run twice and must give
    /// identical results.
    public static func invariants(seed: UInt64, configs: Int, store: ProfileStore, log: ((String) -> Void)? = nil) -> Report {
        var rng = Xoshiro256(seed: seed, stream: 0x1A7)
        var report = Report()
        let models = ["olmoe-1b-7b", "qwen1.5-moe-a2.7b", "mixtral-8x7b", "deepseek-v2-lite", "qwen3-30b-a3b"]
        let gpus = ["a100-sxm4-80gb", "a100-sxm4-40gb", "h100-sxm-80gb", "h200-sxm-141gb"]
        for n in 0..<configs {
            var args = ["--model", pick(models, &rng), "--gpu", pick(gpus, &rng)]
            let tp = pick([1, 1, 2, 4], &rng), dp = pick([1, 1, 2], &rng), pp = pick([1, 1, 1, 2], &rng)
            args += ["--tensor-parallel-size", String(tp), "--data-parallel-size", String(dp)]
            if pp > 1 { args += ["--pipeline-parallel-size", String(pp)] }
            if tp * dp > 1 && rng.nextInt(below: 2) == 0 { args.append("--enable-expert-parallel") }
            let prompts = 1 + rng.nextInt(below: 12), inLen = 1 + rng.nextInt(below: 64), outLen = 1 + rng.nextInt(below: 24)
            args += ["--num-prompts", String(prompts), "--random-input-len", String(inLen), "--random-output-len", String(outLen)]
            if rng.nextInt(below: 2) == 0 { args += ["--random-range-ratio", pick(["0.5", "0.9"], &rng)] }
            if rng.nextInt(below: 2) == 0 { args += ["--max-concurrency", String(1 + rng.nextInt(below: 8))] }
            if rng.nextInt(below: 2) == 0 { args += ["--request-rate", pick(["0.5", "5", "50"], &rng)] }
            if rng.nextInt(below: 2) == 0 { args += ["--max-num-seqs", String(1 + rng.nextInt(below: 16))] }
            if rng.nextInt(below: 2) == 0 { args += ["--max-num-batched-tokens", String(1 + rng.nextInt(below: 96))] }
            if rng.nextInt(below: 3) == 0 { args += ["--gpu-memory-utilization", String(format: "%.2f", 0.2 + 0.7 * rng.nextDouble())] }
            if rng.nextInt(below: 4) == 0 { args += ["--routing", pick(["zipf:1.2", "dirichlet:0.3"], &rng)] }
            args += ["--seed", String(rng.nextInt(below: 1000))]
            let what = "config \(n): moesim run " + args.joined(separator: " ")
            log?(what)
            let t0 = Date()
            report.cases += 1
            do {
                let a = try ParsedArguments(args, options: RunOptions.deployment + RunOptions.workload + RunOptions.output)
                let o = try Simulation.run(a, store: store)
                let w = try RunOptions.workload(a, seed: try RunOptions.seed(a))
                if let p = check(o, workload: w) { report.failures.append("\(what): \(p)") }
                if n % 10 == 0 {
                    let again = try Simulation.run(a, store: store)
                    if JSONWriter.write(Simulation.fields(again)) != JSONWriter.write(Simulation.fields(o)) {
                        report.failures.append("\(what): a second run differs")
                    }
                }
                report.exits[0, default: 0] += 1
            } catch let e as InputError {
                report.skipped += 1
                report.exits[e.kind == .usage ? 64 : 65, default: 0] += 1
                if e.message.isEmpty { report.failures.append("\(what): an error without a message") }
            } catch {
                report.failures.append("\(what): unexpected error \(error)")
            }
            let dt = Date().timeIntervalSince(t0)
            if dt > report.slowest.seconds { report.slowest = (dt, what) }
            if dt > 2 { report.slow.append((dt, what)) }
        }
        return report
    }

    /// The invariants of one finished run; the first one broken, or nil.
    static func check(_ o: Simulation.Outcome, workload w: Workload) -> String? {
        let r = o.result, d = o.deployment
        let n = w.requests.count
        let outTokens = w.requests.reduce(0) { $0 + $1.outputTokens }, inTokens = w.requests.reduce(0) { $0 + $1.inputTokens }
        let multi = w.requests.filter { $0.outputTokens > 1 }.count
        if r.completed != n { return "completed \(r.completed) of \(n) requests" }
        if r.totalOutputTokens != outTokens || r.totalInputTokens != inTokens { return "token totals \(r.totalInputTokens)/\(r.totalOutputTokens), workload \(inTokens)/\(outTokens)" }
        if r.ttftMs.count != n || r.e2elMs.count != n { return "TTFT/E2E counts \(r.ttftMs.count)/\(r.e2elMs.count) for \(n) requests" }
        if r.itlMs.count != outTokens - n { return "\(r.itlMs.count) ITLs for \(outTokens) output tokens of \(n) requests (tokens not conserved)" }
        if r.tpotMs.count != multi { return "\(r.tpotMs.count) TPOTs for \(multi) requests of more than one token" }
        for (name, s) in [("ttft", r.ttftMs), ("tpot", r.tpotMs), ("itl", r.itlMs), ("e2el", r.e2elMs)] where s.count > 0 {
            if !(s.min >= 0) || !s.max.isFinite || !s.mean.isFinite || !s.std.isFinite { return "\(name) not finite and non-negative: \(s)" }
            if !(s.min <= s.median && s.median <= s.p99 && s.p99 <= s.max) { return "\(name) percentiles out of order: \(s)" }
        }
        let eps = 1e-9
        if r.e2elMs.min < r.ttftMs.min - eps || r.e2elMs.max < r.ttftMs.max - eps || r.e2elMs.mean < r.ttftMs.mean - eps { return "E2E below TTFT" }
        if r.durationS * 1e3 < r.e2elMs.max * (1 - 1e-12) - eps { return "duration \(r.durationS) s shorter than the longest request \(r.e2elMs.max) ms" }
        if !(r.peakKVUsage >= 0 && r.peakKVUsage <= 1 + 1e-12 && r.meanKVUsage <= r.peakKVUsage + 1e-12) { return "KV usage peak \(r.peakKVUsage), mean \(r.meanKVUsage)" }
        if !(r.gpuBusyFraction >= 0 && r.gpuBusyFraction <= 1 + 1e-9) { return "GPU busy fraction \(r.gpuBusyFraction)" }
        // Physics floors.
        let search = PlanSearch(model: d.model, modelArg: d.model.name, gpus: [d.gpu.name], maxGPUs: d.plan.gpuCount, workloadArgs: [],
                                sloTTFTp99Ms: nil, sloTPOTp99Ms: nil, prices: [:])
        var c = PlanSearch.Candidate(gpu: d.gpu.name, tp: d.plan.tensorParallel, dp: d.plan.dataParallel, ep: d.plan.expertParallel, backend: nil, maxNumSeqs: 1)
        c.pp = d.plan.pipelineParallel
        let minIn = w.requests.map(\.inputTokens).min() ?? 1
        let ttftFloor = search.ttftLowerBoundMs(c, gpu: d.gpu, inputLen: minIn)
        if r.ttftMs.min < ttftFloor * (1 - 1e-9) { return "TTFT \(r.ttftMs.min) ms below the physics floor \(ttftFloor) ms" }
        let stepFloor = search.tpotLowerBoundMs(c, gpu: d.gpu)
        if d.param("async_scheduling") >= 0.5 && d.plan.pipelineParallel == 1, let pr = r.perRequest {
            // Async scheduling hands a step's tokens out after the next step is launched, so two tokens can reach
            // the client close together (the last one when nothing follows); their production cannot: each
            // request's last token comes at least its first token's floor plus a step floor per further token.
            for i in pr.e2elMs.indices where pr.outputLens[i] > 0 {
                let floor = ttftFloor + Double(pr.outputLens[i] - 1) * stepFloor
                if pr.e2elMs[i] < floor * (1 - 1e-9) { return "request \(i + 1): E2EL \(pr.e2elMs[i]) ms below the physics floor \(floor) ms (\(pr.outputLens[i]) tokens)" }
            }
        } else if r.itlMs.count > 0 && r.itlMs.min < stepFloor * (1 - 1e-9) { return "ITL \(r.itlMs.min) ms below the physics floor \(stepFloor) ms" }
        return nil
    }
}
