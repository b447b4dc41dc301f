import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import Cluster
import Studies
@testable import MoESimCLI

/// Issue 25's root causes, one regression case each (the fuzz, `Fuzz.surfaces`, covers them at random).
@Suite struct HostileInputRound3Tests {
    static let small = ["--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4"]

    /// 1. An output onto a character device or a pipe is written into it (or refused), never replaced.
    @Test func outputsOntoDevicesAndPipesKeepThem() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var st = stat()
        if getuid() == 0 {
            // Copies of /dev/null and /dev/full (never the real ones).
            let null = dir + "/null", full = dir + "/full"
            #expect(mknod(null, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 && mknod(full, S_IFCHR | 0o666, dev_t(1 << 8 | 7)) == 0)
            let ok = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", null, "--html", null, "--timeline", null] + Self.small)
            #expect(ok.code == 0 && !ok.err.contains("replacing"), "\(ok.err)")
            let nospace = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", full] + Self.small)
            #expect(nospace.code == 65 && nospace.err.contains("No space left"), "\(nospace.err)")
            for p in [null, full] { #expect(lstat(p, &st) == 0 && st.st_mode & S_IFMT == S_IFCHR, "\(p) replaced") }
        }
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        let r = runCLI(["sweep", Repo.root + "/experiments/hegde2025/spec.json", "--grid", "nonexistent", "--out", dir + "/o", "--html", fifo])
        #expect(r.code == 64) // (the grid is refused first; the pipe below)
        let p = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", fifo] + Self.small)
        #expect(p.code == 65 && p.err.contains("no process is reading the pipe"), "\(p.err)")
        #expect(lstat(fifo, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        // A link to a regular file: the target is replaced, the link stays.
        let target = dir + "/target.json", link = dir + "/link.json"
        try "old".write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", link] + Self.small).code == 0)
        #expect(lstat(link, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        #expect(try String(contentsOfFile: target, encoding: .utf8).contains("\"completed\""))
    }

    /// 2. Every file a command reads, however it was named, is protected; and two outputs never share a file.
    @Test func outputsNeverOverwriteAnythingRead() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wrapped = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/profiles/models/olmoe-1b-7b.json"))) as! [String: Any]
        try FileManager.default.createDirectory(atPath: dir + "/m", withIntermediateDirectories: true)
        let config = dir + "/m/config.json", draft = dir + "/draft.json"
        // One serialization written to both files: serializing the dictionary twice may order its keys differently.
        let configData = try JSONSerialization.data(withJSONObject: wrapped["config"]!)
        for f in [config, draft] { try configData.write(to: URL(fileURLWithPath: f)) }
        let before = try Data(contentsOf: URL(fileURLWithPath: config))
        let spec = #"{"method":"draft_model","model":"\#(draft)","num_speculative_tokens":2,"acceptance_rate":0.7}"#
        let cases: [([String], String)] = [
            (["run", "--model", dir + "/m", "--save-result", config] + Self.small, "m/config.json"),
            (["run", "--model", "olmoe-1b-7b", "--speculative-config", spec, "--html", draft] + Self.small, "draft.json"),
            (["plan", "--model", dir + "/m", "--max-gpus", "1", "--svg", dir + "/./m/config.json", "--threads", "1"] + Self.small, "config.json"),
            (["run", "--model", "olmoe-1b-7b", "--save-result", dir + "/x.json", "--html", dir + "/x.json"] + Self.small, "is also where '--save-result' writes"),
        ]
        for (args, fragment) in cases {
            let r = runCLI(args)
            #expect(r.code == 64 && r.err.contains(fragment), "\(args): \(r.err)")
        }
        let after = (try Data(contentsOf: URL(fileURLWithPath: config)), try Data(contentsOf: URL(fileURLWithPath: draft)))
        #expect(after.0 == before && after.1 == before)
        // A manifest's result file; a hard link to it.
        let result = dir + "/result.json"
        #expect(runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", result] + Self.small).code == 0)
        let manifest = dir + "/manifest.json"
        try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "r", "result_file": "result.json", "args": ["--gpu", "a100-sxm4-80gb"]]]])
            .write(to: URL(fileURLWithPath: manifest))
        #expect(link(result, dir + "/hard.json") == 0)
        let v = runCLI(["validate", manifest, "--json", dir + "/hard.json", "--threads", "1"])
        #expect(v.code == 64 && v.err.contains("result.json"), "\(v.err)")
        // calibrate --out into the profiles: a profile the runs use by name, or any kind but engines/, is refused.
        let profiles = try copyOfProfiles(dir)
        try ProfileStore.$overrideRoot.withValue(profiles) {
            let manifest2 = dir + "/fit.json"
            try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "a", "fit": true, "args": ["--model", "olmoe-1b-7b"] + Self.small,
                                                                               "measured": ["output_throughput": 100.0]]]]).write(to: URL(fileURLWithPath: manifest2))
            for out in [profiles + "/engines/vllm.json", profiles + "/gpus/a100-sxm4-80gb.json", profiles + "/gpus/new.json"] {
                let r = runCLI(["calibrate", manifest2, "--engine-profile", "vllm", "--out", out, "--max-evaluations", "2", "--threads", "1"])
                #expect(r.code == 64 && r.err.contains("profiles"), "\(out): \(r.err)")
            }
            let ok = runCLI(["calibrate", manifest2, "--engine-profile", "vllm", "--fit", "step_overhead_us", "--out", profiles + "/engines/fitted.json", "--max-evaluations", "2", "--threads", "1"])
            #expect(ok.code == 0, "\(ok.err)")
            // The fitted profile keeps what is not fitted, the vLLM version's all-to-all backends among it.
            let fitted = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profiles + "/engines/fitted.json"))) as? [String: Any])
            #expect(fitted["default_all2all_backend"] as? String == "allgather_reducescatter")
            #expect(fitted["removed_all2all_backends"] as? [String] == ["naive", "pplx"])
        }
    }

    func copyOfProfiles(_ dir: String) throws -> String {
        let p = dir + "/profiles"
        try FileManager.default.copyItem(atPath: Repo.root + "/profiles", toPath: p)
        return p
    }

    /// 3. Size limits before parsing; the parser's memory within a small multiple of its input.
    @Test func oversizedInputsAreRefusedBeforeReading() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let big = dir + "/config.json"
        #expect(FileManager.default.createFile(atPath: big, contents: Data("{".utf8)))
        let h = try #require(FileHandle(forWritingAtPath: big))
        try h.truncate(atOffset: 1_000_000_000) // sparse: a gigabyte that is never read
        try h.close()
        let t0 = Date()
        let r = runCLI(["run", "--model", big] + Self.small)
        #expect(r.code == 65 && r.err.contains("model configs are limited to 16 MB"), "\(r.err)")
        #expect(Date().timeIntervalSince(t0) < 2)
        // EPLB with 65,536 experts and as many redundant ones: refused at once (was minutes of packing).
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/profiles/models/olmoe-1b-7b.json"))) as! [String: Any]
        var c = cfg["config"] as! [String: Any]
        c["num_experts"] = 65_536
        cfg["config"] = c
        let e65k = dir + "/e65k.json"
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: e65k))
        let t1 = Date()
        let e = runCLI(["run", "--model", e65k, "-tp", "8", "--enable-expert-parallel", "--enable-eplb", "--num-redundant-experts", "65536"] + Self.small)
        #expect(e.code == 65 && e.err.contains("GB per GPU"), "\(e.err)")
        #expect(Date().timeIntervalSince(t1) < 20)
    }

    /// 4. SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN at the ends of Int's range.
    @Test func slurmIndexesAtIntsEndsAreRefused() {
        for (id, min) in [("-9223372036854775808", "1"), ("9223372036854775807", "-1")] {
            #expect(throws: InputError.self) { try Shard.parse("4", environment: ["SLURM_ARRAY_TASK_ID": id, "SLURM_ARRAY_TASK_MIN": min]) }
        }
        #expect((try? Shard.parse("4", environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1"]))?.index == 2)
    }

    /// 5. Restating the prefill TP is the default; a multi-instance run keeps the per-request arrays.
    @Test func restatingThePrefillTPChangesNothing() throws {
        // Two pipeline stages on nodes of one GPU: the stage hand-over and the KV cross the network.
        let base = ["run", "--model", "olmoe-1b-7b", "-pp", "2", "--gpus-per-node", "1", "--prefill-instances", "1",
                    "--num-prompts", "4", "--random-input-len", "256", "--random-output-len", "2", "--request-rate", "4", "--json"]
        let a = runCLI(base), b = runCLI(base + ["--prefill-tensor-parallel-size", "1"])
        #expect(a.code == 0 && a.out == b.out, "\(a.err) \(b.err)")
        #expect(a.out.contains("across nodes"), "the KV crosses nodes: \(a.out.prefix(200))")
    }

    /// 6. Secondary parts checked and counted; flags that do nothing refused.
    @Test func secondaryPartsAreCheckedAndUnusedFlagsRefused() throws {
        let cases: [([String], Int32, String)] = [
            (["run", "--model", "mixtral-8x7b", "-tp", "2", "--speculative-config", #"{"method":"draft_model","model":"deepseek-v3","num_speculative_tokens":2,"acceptance_rate":0.7}"#] + Self.small,
             65, "the speculative draft model's"),
            (["run", "--model", "mixtral-8x7b", "-tp", "2", "--speculative-config", #"{"method":"draft_model","model":"llada-moe-7b","num_speculative_tokens":2,"acceptance_rate":0.7}"#] + Self.small,
             64, "diffusion model"),
            (["explain", "--model", "olmoe-1b-7b", "--max-num-seqs", "8"], 64, "--max-num-seqs 8"),
            (["explain", "--model", "olmoe-1b-7b", "--prefill-seqs", "2", "--max-num-batched-tokens", "512"], 64, "--max-num-batched-tokens 512"),
            (["run", "--model", "olmoe-1b-7b", "--engine", "hf", "-tp", "2", "--enable-expert-parallel", "--all2all-backend", "pplx"], 64, "'--all2all-backend' is not used by '--engine hf'"),
            (["run", "--model", "olmoe-1b-7b", "--engine", "hf", "-tp", "2", "--enable-expert-parallel", "--enable-eplb"], 64, "'--enable-eplb' is not used by '--engine hf'"),
            (["run", "--model", "olmoe-1b-7b", "--enable-expert-parallel", "--enable-eplb"] + Self.small, 64, "with one GPU per stage"),
            (["run", "--model", "olmoe-1b-7b", "--save-detailed"] + Self.small, 64, "'--save-detailed'"),
            (["plan", "--model", "olmoe-1b-7b", "--max-gpus", "1", "--json", "--top", "3"] + Self.small, 64, "'--top'"),
        ]
        for (args, code, fragment) in cases {
            let r = runCLI(args)
            #expect(r.code == code && r.err.contains(fragment), "\(args): exit \(r.code): \(r.err)")
        }
    }

    @Test func calibrateNeedsARunOfItsEngine() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = dir + "/m.json"
        try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "a", "fit": true, "args": ["--model", "olmoe-1b-7b"] + Self.small,
                                                                            "measured": ["output_throughput": 100.0]]]]).write(to: URL(fileURLWithPath: manifest))
        let r = runCLI(["calibrate", manifest, "--engine-profile", "hf", "--out", dir + "/fit.json", "--threads", "1"])
        #expect(r.code == 64 && r.err.contains("uses the hf engine") && !FileManager.default.fileExists(atPath: dir + "/fit.json"), "\(r.err)")
    }

    /// Fewer measured metrics in the fit split than parameters to fit is refused (the fit would be underdetermined);
    /// a fitted parameter at a bound of its range or 10x from its start is warned about.
    @Test func calibrateRefusesUnderdeterminedFitsAndWarnsOnRunawayParameters() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--model", "olmoe-1b-7b"] + Self.small
        let run = runCLI(["run"] + args + ["--json"])
        let ttft = try #require((try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])?["mean_ttft_ms"] as? Double)
        func manifest(_ measured: [String: Double]) throws -> String {
            let m = dir + "/m.json"
            try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "a", "fit": true, "args": args, "measured": measured],
                                                                                ["id": "b", "fit": false, "args": args, "measured": measured]]])
                .write(to: URL(fileURLWithPath: m))
            return m
        }
        let one = try manifest(["mean_ttft_ms": ttft])
        let defaults = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/profiles/engines/vllm.json"))) as? [String: Any])?["fit_parameters"] as? [String])
        for (fit, n) in [(nil, defaults.count), ("step_overhead_us,input_latency_us", 2)] as [(String?, Int)] {
            let r = runCLI(["calibrate", one, "--engine-profile", "vllm", "--out", dir + "/fit.json", "--threads", "1"] + (fit.map { ["--fit", $0] } ?? []))
            #expect(r.code == 64 && r.err.contains("holds 1 measured metric in 1 run marked \"fit\", fewer than the \(n) parameters to fit")
                    && r.err.contains("name at most 1 of them with --fit"), "\(r.err)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/fit.json"))
        }
        // Said deliberately, the same underdetermined fit runs, warns, and records the flag in the profile's provenance.
        let allowed = runCLI(["calibrate", one, "--engine-profile", "vllm", "--fit", "step_overhead_us,input_latency_us", "--allow-underdetermined",
                              "--out", dir + "/fit.json", "--threads", "1", "--max-evaluations", "10"])
        #expect(allowed.code == 0 && allowed.err.contains("2 parameters fitted to 1 measured value of the fit split (--allow-underdetermined)"), "\(allowed.err)")
        #expect((try? String(contentsOfFile: dir + "/fit.json", encoding: .utf8))?.contains("--allow-underdetermined") == true)
        try FileManager.default.removeItem(atPath: dir + "/fit.json")
        // One parameter to one metric: fitted. Measured near the prediction, no warning; 100x the prediction, the
        // parameter runs away and is warned about (the profile is still written).
        let near = runCLI(["calibrate", try manifest(["mean_ttft_ms": ttft * 1.2]), "--engine-profile", "vllm", "--fit", "input_latency_us", "--out", dir + "/fit.json", "--threads", "1"])
        #expect(near.code == 0 && !near.err.contains("warning"), "\(near.err)")
        let far = runCLI(["calibrate", try manifest(["mean_ttft_ms": ttft * 100]), "--engine-profile", "vllm", "--fit", "input_latency_us", "--out", dir + "/fit.json", "--threads", "1"])
        #expect(far.code == 0 && far.err.contains("warning: input_latency_us moved") && far.err.contains("more than 10x"), "\(far.err)")
        #expect(!far.err.contains("fit fewer parameters"), "one parameter: no advice to fit fewer")
        #expect(FileManager.default.fileExists(atPath: dir + "/fit.json"))
        // The bounds are each parameter's allowed range.
        let w = Calibration.warnings(parameters: [("host_speed_exponent", 4), ("step_overhead_us", 20513), ("per_seq_overhead_us", 1.5), ("output_latency_us", 1200)],
                                     start: [("host_speed_exponent", 0.618), ("step_overhead_us", 1805), ("per_seq_overhead_us", 18.1), ("output_latency_us", 1152)])
        #expect(w.count == 3, "\(w)")
        #expect(w.first?.contains("host_speed_exponent ended at the upper bound of its search range (4; range 0...4") == true, "\(w)")
        #expect(w.dropFirst().first?.contains("step_overhead_us moved 11.4x") == true && w.last?.contains("per_seq_overhead_us moved 12.1x") == true, "\(w)")
    }

    @Test func mergeRefusesPlantedPlanFlagsAndSweepsRefuseTwinAxes() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shard = dir + "/s0"
        let r = runCLI(["plan", "--model", "olmoe-1b-7b", "--max-gpus", "1", "--threads", "1", "--shard", "0/1", "--out", shard] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        var m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: shard + "/shard.json"))) as! [String: Any]
        m["args"] = (m["args"] as! [String]) + ["--svg", dir + "/planted.svg"]
        try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: shard + "/shard.json"))
        let merged = runCLI(["merge", shard])
        #expect(merged.code == 65 && merged.err.contains("'--svg'") && !FileManager.default.fileExists(atPath: dir + "/planted.svg"), "\(merged.err)")
        let spec = dir + "/spec.json"
        try JSONSerialization.data(withJSONObject: ["version": 1, "name": "t", "grids": [["name": "g", "base": ["--model", "olmoe-1b-7b"] + Self.small, "axes": [
            ["name": "x", "values": [["label": "1", "args": ["--max-concurrency", "1"]]]], ["name": "x", "values": [["label": "2", "args": ["--seed", "2"]]]]]]]])
            .write(to: URL(fileURLWithPath: spec))
        let s = runCLI(["sweep", spec, "--out", dir + "/out"])
        #expect(s.code == 65 && s.err.contains("names two axes"), "\(s.err)")
        // Where outputs go is never steered by a file, nor put at the filesystem's root by an empty --out.
        try JSONSerialization.data(withJSONObject: ["version": 1, "name": "../../x", "grids": [["name": "g", "base": ["--model", "olmoe-1b-7b"], "axes": [
            ["name": "x", "values": [["label": "1", "args": ["--max-concurrency", "1"]]]]]]]]).write(to: URL(fileURLWithPath: spec))
        let steered = runCLI(["sweep", spec])
        #expect(steered.code == 65 && steered.err.contains("not a plain name"), "\(steered.err)")
        let ok = dir + "/ok.json"
        try JSONSerialization.data(withJSONObject: ["version": 1, "name": "ok", "grids": [["name": "g", "base": ["--model", "olmoe-1b-7b"] + Self.small, "axes": [
            ["name": "x", "values": [["label": "1", "args": ["--max-concurrency", "1"]]]]]]]]).write(to: URL(fileURLWithPath: ok))
        for args in [["sweep", ok, "--out", ""], ["plan", "--model", "olmoe-1b-7b", "--shard", "0/1", "--out", ""] + Self.small, ["reproduce", "../hegde2025"]] {
            let r = runCLI(args)
            #expect(r.code == 64, "\(args): \(r.err)")
        }
    }

    @Test func malformedOptionalSectionsAreErrors() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wrapped = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/profiles/models/olmoe-1b-7b.json"))) as! [String: Any]
        for (key, value) in [("text_config", "x"), ("quantization_config", "fp8")] {
            var c = wrapped["config"] as! [String: Any]
            c[key] = value
            let f = dir + "/\(key).json"
            try JSONSerialization.data(withJSONObject: c).write(to: URL(fileURLWithPath: f))
            let r = runCLI(["run", "--model", f] + Self.small)
            #expect(r.code == 65 && r.err.contains(key) && r.err.contains("expected an object"), "\(r.err)")
        }
    }

    /// Fuzz seed 25: plan read --top only after the search had run and printed its notes, so a bad value came after a
    /// note instead of as the error alone.
    @Test func planRefusesABadTopBeforeSearching() {
        for top in ["1.5", "1048577"] {
            let r = runCLI(["plan", "--model", "olmoe-1b-7b", "--max-gpus", "2", "--threads", "1", "--top", top, "--label", "2"] + Self.small)
            #expect(r.code == 64 && r.err.hasPrefix("Error: ") && r.err.contains("--top") && r.out.isEmpty, "\(r.err)")
        }
    }

    /// Fuzz seed 32: `validate --steps` into a folder that does not exist, for a manifest without step traces, said the
    /// file "holds only the header" before the write failed, so the error was not what stderr began with.
    @Test func validateStepsIntoAMissingFolderIsTheErrorNotANote() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = dir + "/m.json"
        try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "a", "fit": false, "args": ["--model", "olmoe-1b-7b"] + Self.small,
                                                                            "measured": ["mean_ttft_ms": 10.0]]]])
            .write(to: URL(fileURLWithPath: m))
        let bad = runCLI(["validate", m, "--threads", "1", "--steps", dir + "/missing/x.csv"])
        #expect(bad.code == 65 && bad.err.hasPrefix("Error: ") && bad.err.contains(dir + "/missing/x.csv") && !bad.err.contains("holds only the header"), "\(bad.err)")
        let good = runCLI(["validate", m, "--threads", "1", "--steps", dir + "/x.csv"])
        #expect(good.code == 0 && good.err.contains("holds only the header"), "\(good.err)")
        #expect(try String(contentsOfFile: dir + "/x.csv", encoding: .utf8).split(separator: "\n").count == 1)
        // Run again into the same file: it is the command's output, replaced with a note, not an input it refuses to
        // overwrite (it was, until `--steps` joined `OutputFiles.outputFlags`, 2026-12-06).
        let again = runCLI(["validate", m, "--threads", "1", "--steps", dir + "/x.csv"])
        #expect(again.code == 0 && again.err.contains("replacing the existing file") && !again.err.contains("Error"), "\(again.err)")
        // Fuzz seed 40: --steps written and --json into a missing folder: the notes on the steps file came before the
        // --json error. Every note now waits until every file is written.
        let json = runCLI(["validate", m, "--threads", "1", "--steps", dir + "/x.csv", "--json", dir + "/missing/v.json"])
        #expect(json.code == 65 && json.err.hasPrefix("Error: ") && json.err.contains(dir + "/missing/v.json"), "\(json.err)")
    }
}
