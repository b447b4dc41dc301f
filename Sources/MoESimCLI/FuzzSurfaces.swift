import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimKit
import Cluster
import Serving
import Studies

/// Issue 25's surfaces, fuzzed: every command's outputs aimed at special files (character devices, a pipe nobody
/// reads, directories, dangling links) and at every kind of input however it is reached (a link, a hard link, a
/// model folder's config.json, a draft named in --speculative-config, a manifest's result file, a GPU profile's
/// kernel tables, a profile), inputs over their size limit or over the memory budget, and replicas and
/// disaggregated runs with every result flag. Commands run against a copy of the profiles.
///
/// A case fails when the command exits other than 0, 64 or 65 (or without a message), when any input's bytes or
/// any special file's type changed, when a file appeared in the profiles directory (other than a calibrated
/// engine profile), when an accepted output is missing, when an oversized input is not refused by its size or
/// the memory budget, or when a multi-instance run's result files lack the data asked for.
extension Fuzz {
    public static func surfaces(seed: UInt64, cases: Int, root: String, workDir: String, log: ((String) -> Void)? = nil) throws -> Report {
        let fm = FileManager.default
        try fm.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let profiles = workDir + "/profiles"
        if !fm.fileExists(atPath: profiles) { try fm.copyItem(atPath: root + "/profiles", toPath: profiles) }
        return try ProfileStore.$overrideRoot.withValue(profiles) {
            try Limits.$work.withValue(smallLimits) {
                var fuzz = try SurfaceFuzz(seed: seed, root: root, workDir: workDir, profiles: profiles, log: log)
                return try fuzz.run(cases: cases)
            }
        }
    }
}

struct SurfaceFuzz {
    let root: String, workDir: String, profiles: String
    let log: ((String) -> Void)?
    var rng: Xoshiro256
    var report = Fuzz.Report()
    let small = ["--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4"]
    /// Input files by kind, and the bytes each must keep.
    var inputs: [(kind: String, path: String)] = []
    var snapshot: [String: Data] = [:]
    /// Profiles an output might be aimed at, and their bytes.
    var profileTargets: [String] = []
    /// Commands reading some of the inputs: what they read, their arguments, and their output flags.
    var readers: [(reads: [String], args: [String], outputs: [String])] = []
    let isRoot = getuid() == 0

    init(seed: UInt64, root: String, workDir: String, profiles: String, log: ((String) -> Void)?) throws {
        self.root = root; self.workDir = workDir; self.profiles = profiles; self.log = log
        rng = Xoshiro256(seed: seed, stream: 0xF025)
        try setUp()
    }

    mutating func setUp() throws {
        let fm = FileManager.default
        let dir = workDir + "/in"
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir + "/folder", withIntermediateDirectories: true)
        func write(_ name: String, _ obj: Any) throws -> String {
            let p = dir + "/" + name
            try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]).write(to: URL(fileURLWithPath: p))
            return p
        }
        func copy(_ rel: String, _ name: String, lines: Int? = nil) throws -> String {
            var text = try String(contentsOfFile: root + "/" + rel, encoding: .utf8)
            if let n = lines { text = text.split(separator: "\n").prefix(n).joined(separator: "\n") + "\n" }
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            return dir + "/" + name
        }
        let wrapped = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/profiles/models/olmoe-1b-7b.json"))) as! [String: Any]
        let config = wrapped["config"]!
        let folderConfig = try write("folder/config.json", config)
        let folder = dir + "/folder"
        let model = try copy("profiles/models/olmoe-1b-7b.json", "model.json")
        let draft = try write("draft.json", config)
        let kt = try copy("profiles/kernels/a100-sxm-vllm-0.14.0.json", "kt.json")
        var gpuObj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/profiles/gpus/a100-sxm4-80gb.json"))) as! [String: Any]
        gpuObj["vllm_kernel_tables"] = kt
        let gpu = try write("gpu.json", gpuObj)
        let engine = try copy("profiles/engines/vllm.json", "engine.json")
        let ic = try copy("profiles/interconnects/dgx-a100.json", "ic.json")
        let trace = try copy("data/traces/azure2023_splitwise_conv.csv", "trace.csv", lines: 12)
        var tokens: [[Int]] = []
        for t in 0..<6 { tokens.append((0..<8).map { (t * 5 + $0 * 7) % 64 }) }
        let rtrace = try write("routing-trace.json", ["layers": Array(repeating: tokens, count: 16)])
        let hist = try write("histogram.json", ["counts": (0..<64).map { Double($0 % 7 + 1) }])
        let place = try write("placement.json", ["default": (0..<64).map { [$0 < 32 ? 0 : 1] }])
        let spec = try write("spec.json", ["version": 1, "name": "surf", "grids": [
            ["name": "g", "base": ["--model", folder] + small, "axes": [
                ["name": "c", "values": [["label": "1", "args": ["--max-concurrency", "1"]], ["label": "2", "args": ["--max-concurrency", "2"]]]],
            ]],
        ]] as [String: Any])
        // A vLLM result file for the manifest's result_file entry, written by moesim itself.
        let result = dir + "/result.json"
        _ = CLI.main(["run", "--model", "olmoe-1b-7b", "--save-result", result] + small, out: { _ in }, err: { _ in })
        let manifest = try write("manifest.json", ["version": 1, "runs": [
            ["id": "a", "fit": true, "args": ["--model", "olmoe-1b-7b"] + small, "measured": ["output_throughput": 100.0, "mean_ttft_ms": 20.0]],
            ["id": "r", "fit": false, "result_file": "result.json", "args": ["--gpu", "a100-sxm4-80gb"]],
        ]] as [String: Any])
        inputs = [("config", folderConfig), ("model", model), ("draft", draft), ("kernels", kt), ("gpu", gpu), ("engine", engine), ("interconnect", ic),
                  ("trace", trace), ("routing-trace", rtrace), ("histogram", hist), ("placement", place), ("spec", spec), ("result", result), ("manifest", manifest)]
        for (_, p) in inputs { snapshot[p] = try Data(contentsOf: URL(fileURLWithPath: p)) }
        profileTargets = [profiles + "/engines/vllm.json", profiles + "/gpus/a100-sxm4-80gb.json", profiles + "/models/olmoe-1b-7b.json",
                          profiles + "/kernels/a100-sxm-vllm-0.14.0.json"]
        for p in profileTargets { snapshot[p] = try Data(contentsOf: URL(fileURLWithPath: p)) }
        let run = ["--save-result", "--html", "--timeline"]
        let spec3 = #"{"method":"draft_model","model":"\#(draft)","num_speculative_tokens":2,"acceptance_rate":0.7}"#
        readers = [
            ([folderConfig], ["run", "--model", folder] + small, run),
            ([model], ["run", "--model", model] + small, run),
            ([draft], ["run", "--model", "olmoe-1b-7b", "--speculative-config", spec3] + small, run),
            ([gpu, kt], ["run", "--model", "olmoe-1b-7b", "--gpu", gpu] + small, run),
            ([engine], ["run", "--model", "olmoe-1b-7b", "--engine-profile", engine] + small, run),
            ([ic], ["run", "--model", "olmoe-1b-7b", "-tp", "2", "--interconnect", ic] + small, run),
            ([trace], ["run", "--model", "olmoe-1b-7b", "--trace", trace, "--trace-limit", "4"], run),
            ([rtrace], ["run", "--model", "olmoe-1b-7b", "--routing", "trace:" + rtrace] + small, run),
            ([hist], ["run", "--model", "olmoe-1b-7b", "--routing", "histogram:" + hist] + small, run),
            ([place], ["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--expert-placement", place] + small, run),
            ([spec, folderConfig], ["sweep", spec, "--threads", "1"], ["--out", "--html"]),
            ([folderConfig], ["plan", "--model", folder, "--max-gpus", "1", "--threads", "1"] + small, ["--svg", "--html"]),
            ([folderConfig], ["plan", "--model", folder, "--max-gpus", "1", "--threads", "1", "--shard", "0/1"] + small, ["--out"]),
            ([manifest, result], ["validate", manifest, "--threads", "1"], ["--json"]),
            ([manifest, result, engine], ["calibrate", manifest, "--engine-profile", engine, "--fit", "step_overhead_us,input_latency_us", "--max-evaluations", "2", "--threads", "1"], ["--out"]),
        ]
    }

    static func pick<T>(_ xs: [T], _ rng: inout Xoshiro256) -> T { xs[rng.nextInt(below: xs.count)] }

    mutating func run(cases: Int) throws -> Fuzz.Report {
        for n in 0..<cases {
            switch n % 4 {
            case 0, 1: try outputCase(n)
            case 2: try oversizedCase(n)
            default: try multiInstanceCase(n)
            }
        }
        return report
    }

    /// Runs one command; returns its exit code, stdout and stderr, recording the case.
    mutating func execute(_ n: Int, _ args: [String]) -> (code: Int32, out: String, err: String, seconds: Double, what: String) {
        let what = "case \(n): moesim " + args.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        log?(what)
        var out = "", err = ""
        let t0 = Date()
        let code = CLI.main(args, out: { out += $0 }, err: { err += $0 })
        let dt = Date().timeIntervalSince(t0)
        report.cases += 1
        report.exits[code, default: 0] += 1
        if dt > report.slowest.seconds { report.slowest = (dt, what) }
        if dt > 2 { report.slow.append((dt, what)) }
        if ![0, 64, 65].contains(code) { report.failures.append("\(what): exit \(code)") }
        else if code != 0 && !err.split(separator: "\n").contains(where: { $0.hasPrefix("Error: ") && $0.count > 12 }) { report.failures.append("\(what): exit \(code) without a message: \(err.prefix(200))") }
        return (code, out, err, dt, what)
    }

    enum Target { case fresh, input, special(mode_t, dev_t), link, directory, profile, same }

    /// What is at `path` now, as a target: a device or pipe (to be kept), a directory, a link, or nothing yet.
    static func classify(_ path: String) -> Target {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .fresh }
        switch st.st_mode & S_IFMT {
        case S_IFCHR: return .special(S_IFCHR, st.st_rdev)
        case S_IFIFO: return .special(S_IFIFO, 0)
        case S_IFDIR: return .directory
        case S_IFLNK: return .link
        default: return .same
        }
    }

    /// One command of `readers` with each output flag aimed at a fresh file, an input (directly, through a link or a
    /// hard link, or as `dir/./name`), a character device, a pipe, a directory, a dangling link, a profile or another
    /// output's path; then checks that nothing it must not write was written.
    mutating func outputCase(_ n: Int) throws {
        let fm = FileManager.default
        let caseDir = workDir + "/case"
        try? fm.removeItem(atPath: caseDir)
        try fm.createDirectory(atPath: caseDir + "/sub", withIntermediateDirectories: true)
        let (reads, base, outs) = Self.pick(readers, &rng)
        var args = base
        var targets: [(flag: String, path: String, kind: Target)] = []
        // (A sweep's or plan shard's --out is always given: their default is a folder in the working directory.)
        var flags = outs.filter { _ in rng.nextInt(below: 3) > 0 }
        if outs.contains("--out") && (base[0] == "sweep" || base[0] == "plan") && !flags.contains("--out") { flags.insert("--out", at: 0) }
        for flag in flags.isEmpty ? [outs[0]] : flags {
            let isDir = flag == "--out" && (base[0] == "sweep" || base[0] == "plan")
            var path: String, kind: Target
            switch rng.nextInt(below: isDir ? 4 : 12) {
            case 0 where !targets.isEmpty: (path, kind) = (targets[0].path, .same)
            case 1:
                // A directory whose results file is a link to an input, or an input's own folder.
                if isDir {
                    path = caseDir + "/outdir"
                    try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
                    try fm.createSymbolicLink(atPath: path + "/results.jsonl", withDestinationPath: Self.pick(reads, &rng))
                    kind = .link
                } else { (path, kind) = (Self.pick(reads, &rng), .input) }
            case 2:
                if isDir { (path, kind) = (profiles, .profile) }
                else { (path, kind) = (Self.pick(inputs.map(\.path), &rng), .input) }
            case 3:
                path = caseDir + "/link"
                if isDir { try fm.createDirectory(atPath: path, withIntermediateDirectories: true); kind = .fresh }
                else { try? fm.createSymbolicLink(atPath: path, withDestinationPath: Self.pick(reads, &rng)); kind = .link }
            case 4:
                path = caseDir + "/hard"
                if link(Self.pick(reads, &rng), path) != 0 { kind = .fresh } else { kind = .link }
            case 5: (path, kind) = (Self.pick(reads, &rng).replacingOccurrences(of: "/in/", with: "/in/./"), .input)
            case 6 where isRoot, 7 where isRoot:
                path = caseDir + "/dev"
                let dev = dev_t(1 << 8 | (rng.nextInt(below: 2) == 0 ? 3 : 7))   // Linux makedev(1, 3) /dev/null or (1, 7) /dev/full
                _ = mknod(path, S_IFCHR | 0o666, dev)
                kind = Self.classify(path)
            case 6, 7, 8:
                path = caseDir + "/fifo"
                _ = mkfifo(path, 0o644)
                kind = Self.classify(path)
            case 9: (path, kind) = (caseDir + "/sub", .directory)
            case 10:
                path = caseDir + "/dangling"
                try? fm.createSymbolicLink(atPath: path, withDestinationPath: caseDir + "/missing/none.json")
                kind = .link
            default:
                if rng.nextInt(below: 2) == 0 { (path, kind) = (Self.pick(profileTargets + [profiles + "/engines/fuzz-new.json", profiles + "/gpus/fuzz-new.json"], &rng), .profile) }
                else { (path, kind) = (caseDir + "/out-\(targets.count)" + (isDir ? "" : ".out"), .fresh) }
            }
            args += [flag, path]
            targets.append((flag, path, kind))
        }
        let r = execute(n, args)
        // Nothing read changed, no special file was replaced, nothing new in the profiles but a calibrated engine.
        // (An input this command does not read may be replaced, with a note; it is put back for the next case.)
        for (p, bytes) in snapshot where (try? Data(contentsOf: URL(fileURLWithPath: p))) != bytes {
            if reads.contains(p) || profileTargets.contains(p) { report.failures.append("\(r.what): \(p) changed (exit \(r.code))") }
            try? fm.removeItem(atPath: p)
            try? bytes.write(to: URL(fileURLWithPath: p))
        }
        for t in targets {
            var st = stat()
            switch t.kind {
            case .special(let mode, let dev):
                if lstat(t.path, &st) != 0 || st.st_mode & S_IFMT != mode || (mode == S_IFCHR && st.st_rdev != dev) {
                    report.failures.append("\(r.what): \(t.path) is no longer the \(mode == S_IFCHR ? "device" : "pipe") it was")
                }
            case .link:
                if lstat(t.path, &st) != 0 { report.failures.append("\(r.what): \(t.path) vanished") }
            case .directory:
                if lstat(t.path, &st) != 0 || st.st_mode & S_IFMT != S_IFDIR { report.failures.append("\(r.what): the directory \(t.path) was replaced") }
            case .fresh where r.code == 0 && !(t.flag == "--out" && (base[0] == "sweep" || base[0] == "plan")):
                let size = (try? fm.attributesOfItem(atPath: t.path)[.size] as? NSNumber)?.intValue ?? 0
                if size == 0 { report.failures.append("\(r.what): exit 0 but \(t.flag) \(t.path) holds nothing") }
            case .input where r.code == 0 && reads.contains(where: { FileRegistry.identity($0) == FileRegistry.identity(t.path) }):
                report.failures.append("\(r.what): exit 0 with \(t.flag) aimed at a file it reads")
            default: break
            }
        }
        for kind in ["engines", "gpus", "models", "kernels"] {
            let new = profiles + "/\(kind)/fuzz-new.json"
            if fm.fileExists(atPath: new) {
                if !(kind == "engines" && base[0] == "calibrate") { report.failures.append("\(r.what): wrote \(new) into the profiles") }
                try? fm.removeItem(atPath: new)
            }
        }
        for f in (try? fm.contentsOfDirectory(atPath: profiles)) ?? [] where !["LICENSES", "engines", "gpus", "interconnects", "kernels", "models", "networks", "tools", "README.md"].contains(f) {
            report.failures.append("\(r.what): wrote \(profiles)/\(f)")
            try? fm.removeItem(atPath: profiles + "/" + f)
        }
    }

    /// An input of some kind as a sparse file over its kind's size limit, or under it but more than the memory
    /// budget allows: refused by its size before a byte is read.
    mutating func oversizedCase(_ n: Int) throws {
        let fm = FileManager.default
        let caseDir = workDir + "/big"
        try? fm.removeItem(atPath: caseDir)
        try fm.createDirectory(atPath: caseDir + "/folder", withIntermediateDirectories: true)
        let budget = Limits.memoryBudgetBytes
        let small = self.small
        let kinds: [(String, InputKind, (String) -> [String])] = [
            ("config.json", .modelConfig, { ["run", "--model", $0] + small }),
            ("folder/config.json", .modelConfig, { _ in ["run", "--model", caseDir + "/folder"] + small }),
            ("draft.json", .modelConfig, { ["run", "--model", "olmoe-1b-7b", "--speculative-config", #"{"method":"draft_model","model":"\#($0)","num_speculative_tokens":2,"acceptance_rate":0.7}"#] + small }),
            ("gpu.json", .profile, { ["run", "--model", "olmoe-1b-7b", "--gpu", $0] + small }),
            ("engine.json", .profile, { ["run", "--model", "olmoe-1b-7b", "--engine-profile", $0] + small }),
            ("ic.json", .profile, { ["run", "--model", "olmoe-1b-7b", "-tp", "2", "--interconnect", $0] + small }),
            ("trace.csv", .text, { ["run", "--model", "olmoe-1b-7b", "--trace", $0] }),
            ("routing.json", .json, { ["run", "--model", "olmoe-1b-7b", "--routing", "trace:" + $0] + small }),
            ("hist.json", .json, { ["run", "--model", "olmoe-1b-7b", "--routing", "histogram:" + $0] + small }),
            ("place.json", .json, { ["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--expert-placement", $0] + small }),
            ("spec.json", .json, { ["sweep", $0, "--out", caseDir + "/out", "--threads", "1"] }),
            ("manifest.json", .json, { ["validate", $0, "--threads", "1"] }),
            ("profile.json", .profile, { ["profiles", "check", $0] }),
        ]
        let (name, kind, command) = Self.pick(kinds, &rng)
        let path = caseDir + "/" + name
        // Over the kind's limit, or (where the limit allows) under it but over the memory budget.
        let overMemory = Int(budget / kind.memoryPerByte) + 1_000_000
        let size = overMemory < kind.maxBytes && rng.nextInt(below: 2) == 0 ? overMemory : kind.maxBytes + 1 + rng.nextInt(below: 1_000_000)
        guard fm.createFile(atPath: path, contents: Data("{".utf8)), let h = FileHandle(forWritingAtPath: path) else { return }
        try h.truncate(atOffset: UInt64(size))
        try h.close()
        let r = execute(n, command(path))
        if !(r.code == 65 && (r.err.contains("limited to") || r.err.contains("of memory")) && r.err.contains(path)) {
            report.failures.append("\(r.what): a \(size / 1_000_000) MB \(kind.name) file not refused by its size (exit \(r.code)): \(r.err.prefix(300))")
        }
        try? fm.removeItem(atPath: caseDir)
    }

    /// Replicas or disaggregated prefill/decode with every result flag: the result file, the per-request arrays,
    /// goodput, percentiles, the timeline and the HTML report must hold the run's data.
    mutating func multiInstanceCase(_ n: Int) throws {
        let fm = FileManager.default
        let caseDir = workDir + "/multi"
        try? fm.removeItem(atPath: caseDir)
        try fm.createDirectory(atPath: caseDir, withIntermediateDirectories: true)
        let prompts = 2 + rng.nextInt(below: 5), outLen = 2 + rng.nextInt(below: 4)
        var args = ["run", "--model", Self.pick(["olmoe-1b-7b", "qwen1.5-moe-a2.7b"], &rng), "--num-prompts", String(prompts),
                    "--random-input-len", String(4 + rng.nextInt(below: 12)), "--random-output-len", String(outLen)]
        var instances: Int
        if rng.nextInt(below: 2) == 0 {
            instances = 2 + rng.nextInt(below: 2)
            args += ["--replicas", String(instances)]
        } else {
            let x = 1 + rng.nextInt(below: 2), y = 1 + rng.nextInt(below: 2)
            instances = x + y
            args += ["--prefill-instances", String(x), "--decode-instances", String(y)]
            if rng.nextInt(below: 2) == 0 { args += ["--prefill-tensor-parallel-size", Self.pick(["1", "2"], &rng)] }
        }
        if rng.nextInt(below: 2) == 0 { args += ["--router", Self.pick(RouterPolicy.allCases.map(\.rawValue), &rng)] }
        if rng.nextInt(below: 2) == 0 { args += ["--request-rate", Self.pick(["2", "50"], &rng)] }
        let result = caseDir + "/r.json", timeline = caseDir + "/t.json", html = caseDir + "/r.html"
        args += ["--save-result", result, "--save-detailed", "--goodput", "ttft:\(Self.pick(["1", "1000"], &rng))", "tpot:1000",
                 "--metric-percentiles", "50,90", "--percentile-metrics", "ttft,itl,e2el", "--timeline", timeline, "--html", html]
        if rng.nextInt(below: 2) == 0 { args.append("--json") }
        let r = execute(n, args)
        guard r.code == 0 else { report.failures.append("\(r.what): exit \(r.code): \(r.err.prefix(300))"); return }
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: result)))) as? [String: Any] else {
            report.failures.append("\(r.what): no result file"); return
        }
        let ttfts = obj["ttfts"] as? [Double] ?? [], itls = obj["itls"] as? [[Double]] ?? []
        if ttfts.count != prompts || !ttfts.allSatisfy({ $0 > 0 && $0.isFinite }) { report.failures.append("\(r.what): ttfts \(ttfts)") }
        if itls.count != prompts || !itls.allSatisfy({ $0.count == outLen - 1 && $0.allSatisfy { $0 >= 0 } }) { report.failures.append("\(r.what): itls \(itls)") }
        if (obj["input_lens"] as? [Int])?.count != prompts { report.failures.append("\(r.what): input_lens missing") }
        guard let good = (obj["request_goodput"] as? NSNumber)?.doubleValue, let thr = (obj["request_throughput"] as? NSNumber)?.doubleValue,
              good >= 0, good <= thr * (1 + 1e-12) else { report.failures.append("\(r.what): request_goodput \(obj["request_goodput"] ?? "missing")"); return }
        for k in ["p50_ttft_ms", "p90_ttft_ms", "p50_itl_ms", "p90_e2el_ms"] where !((obj[k] as? NSNumber)?.doubleValue ?? -1 >= 0) {
            report.failures.append("\(r.what): \(k) missing")
        }
        if obj["time_sources"] == nil { report.failures.append("\(r.what): time_sources missing") }
        // Every instance's steps on the timeline, each instance its own process; every request's lifetime.
        if let t = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: timeline)))) as? [String: Any],
           let ev = t["traceEvents"] as? [[String: Any]] {
            let stepPids = Set(ev.filter { ($0["cat"] as? String) == "step" }.compactMap { $0["pid"] as? Int })
            let requests = ev.filter { ($0["cat"] as? String) == "request" && (($0["name"] as? String)?.hasPrefix("request ") ?? false) }.count
            let busy = (obj["instances"] as? [[String: Any]] ?? []).filter { (($0["engine_steps"] as? NSNumber)?.intValue ?? 0) > 0 }.count
            if stepPids.count != busy || busy == 0 || requests != prompts {
                report.failures.append("\(r.what): the timeline shows steps of \(stepPids.count) of \(busy) busy instances (of \(instances)) and \(requests) of \(prompts) requests")
            }
        } else { report.failures.append("\(r.what): no timeline") }
        if !((try? String(contentsOfFile: html, encoding: .utf8))?.contains("</html>") ?? false) { report.failures.append("\(r.what): no HTML report") }
    }
}
