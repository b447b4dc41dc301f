import Foundation
import Testing
import Studies
@testable import MoESimCLI

/// vLLM users' flags and files work unchanged; results people look at (issue 17).
@Suite struct VLLMHabitsTests {
    static let small = ["--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "6"]

    func object(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    @Test func resultJSONHasVLLMKeysAndDetailedArrays() throws {
        let r = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--max-concurrency", "3", "--request-rate", "20", "--burstiness", "2",
                        "--goodput", "ttft:100000", "tpot:100000", "--metric-percentiles", "50,99.9", "--percentile-metrics", "ttft,itl",
                        "--save-detailed", "--json"] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        let o = try object(r.out)
        for k in ["date", "backend", "model_id", "tokenizer_id", "num_prompts", "request_rate", "burstiness", "max_concurrency", "request_goodput",
                  "duration", "completed", "p50_ttft_ms", "p99.9_ttft_ms", "p50_itl_ms", "p99.9_itl_ms", "input_lens", "output_lens", "ttfts", "itls",
                  "generated_texts", "errors"] {
            #expect(o.keys.contains(k), "missing \(k)")
        }
        #expect(!o.keys.contains("p99_tpot_ms") && !o.keys.contains("mean_e2el_ms"), "only the metrics asked")
        #expect(o["backend"] as? String == "openai" && o["endpoint_type"] as? String == "openai" && o["label"] is NSNull && o["num_prompts"] as? Int == 6 && o["max_concurrency"] as? Int == 3)
        #expect(o["request_rate"] as? Double == 20 && o["burstiness"] as? Double == 2)
        // Every request met the loose objectives: goodput equals the request throughput.
        #expect((o["request_goodput"] as? Double) == (o["request_throughput"] as? Double))
        let itls = try #require(o["itls"] as? [[Double]]), ttfts = try #require(o["ttfts"] as? [Double])
        #expect(itls.count == 6 && itls.allSatisfy { $0.count == 7 } && ttfts.count == 6)
        // Seconds, as vLLM writes them; the pooled ITLs are the per-request ones.
        let pooled = itls.flatMap { $0 }.map { $0 * 1e3 }
        #expect(abs(pooled.reduce(0, +) / Double(pooled.count) - (o["mean_itl_ms"] as! Double)) < 1e-6)
        // A tight objective: nobody meets it.
        let t = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--goodput", "ttft:0.001", "--json"] + Self.small)
        #expect(try object(t.out)["request_goodput"] as? Double == 0)
    }

    @Test func vllmFlagsAreCheckedAgainstTheirRanges() {
        for bad in [["--metric-percentiles", "101"], ["--percentile-metrics", "ttft,foo"], ["--goodput", "ttft:-1"], ["--goodput", "latency:5"], ["-pp", "0"], ["-pp", "33"]] {
            let r = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2"] + bad + Self.small)
            #expect(r.code == 64 && r.err.contains(bad[0] == "-pp" ? "--pipeline-parallel-size" : bad[0]), "\(bad): \(r.err)")
        }
        #expect(runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "-pp", "1"] + Self.small).code == 0)
        let pp = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "-pp", "2", "--json"] + Self.small)
        #expect(pp.code == 0 && pp.out.contains("--pipeline-parallel-size 2"), "\(pp.err)")
        let dp = runCLI(["run", "--model", "olmoe-1b-7b", "-dp", "2", "--enable-expert-parallel", "--json"] + Self.small)
        #expect(dp.code == 0 && dp.out.contains("--data-parallel-size 2"), "\(dp.err)")
    }

    @Test func huggingFaceRepoIdsResolveToShippedProfiles() throws {
        let a = runCLI(["run", "--model", "mistralai/Mixtral-8x7B-v0.1", "-tp", "2", "--json"] + Self.small)
        let b = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--json"] + Self.small)
        #expect(a.code == 0, "\(a.err)")
        #expect(try object(a.out)["model"] as? String == "mixtral-8x7b")
        #expect(try object(a.out)["output_throughput"] as? Double == object(b.out)["output_throughput"] as? Double)
        #expect(try object(a.out)["model_id"] as? String == "mistralai/Mixtral-8x7B-v0.1")
        let q = runCLI(["run", "--model", "Qwen/Qwen1.5-MoE-A2.7B-Chat", "--json"] + Self.small)
        #expect(q.code == 0 && q.out.contains("\"model\": \"qwen1.5-moe-a2.7b\""), "\(q.err)")
        let bad = runCLI(["run", "--model", "nobody/NoSuchModel"] + Self.small)
        #expect(bad.code == 64 && bad.err.contains("repo id") && bad.err.contains("mistralai/Mixtral-8x7B-Instruct-v0.1"), "\(bad.err)")
    }

    @Test func validateAndCalibrateTakeSettingsFromAVLLMResultFile() throws {
        let dir = try makeTempDir()
        let res = dir + "/vllm-result.json"
        let r = runCLI(["run", "--model", "mistralai/Mixtral-8x7B-Instruct-v0.1", "-tp", "2", "--max-concurrency", "4", "--save-result", res] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        // The file holds model, prompts, lengths and concurrency; --run-args adds the deployment. Same settings, same numbers.
        let v = runCLI(["validate", res, "--run-args=-tp 2"])
        #expect(v.code == 0, "\(v.err)")
        #expect(v.out.contains("total_token_throughput") && v.out.contains("output_throughput_per_gpu"), "full metric names: \(v.out)")
        #expect(v.out.contains("MAPE 0.0%"), "\(v.out)")
        // As a manifest entry: result_file with args for the deployment.
        let manifest = """
        {"version": 1, "runs": [{"id": "a", "fit": true, "result_file": "vllm-result.json", "args": ["--tensor-parallel-size", "2"]}]}
        """
        try manifest.write(toFile: dir + "/m.json", atomically: true, encoding: .utf8)
        let m = runCLI(["validate", dir + "/m.json"])
        #expect(m.code == 0 && m.out.contains("MAPE 0.0%"), "\(m.out) \(m.err)")
    }

    /// A vLLM result file (as `vllm bench serve --save-result` writes it: the workload's keys and the metrics), from a
    /// moesim run of olmoe-1b-7b on the default GPU with `extra` workload flags; with `edit` applied to its keys.
    func vllmResult(_ dir: String, _ name: String, extra: [String] = [], edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let path = dir + "/" + name
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", path] + Self.small + extra)
        #expect(r.code == 0, "\(r.err)")
        var o = try object(try String(contentsOfFile: path, encoding: .utf8))
        edit(&o)
        try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// What a result file holds is read from it, what it lacks is an error naming the key (never a default), a bad value
    /// names the file and key (not a flag the user never typed), and --run-args cannot override what the file holds.
    @Test func validateReadsWhatAResultFileHoldsAndNothingElse() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try vllmResult(dir, "good.json")
        #expect(runCLI(["validate", good]).out.contains("MAPE 0.0%"))
        // No input (or output) token total: the length is unknown, not 1024 (or 128).
        for (key, flag) in [("total_input_tokens", "--random-input-len"), ("total_output_tokens", "--random-output-len")] {
            let f = try vllmResult(dir, "no-\(key).json") { $0[key] = nil }
            let r = runCLI(["validate", f])
            #expect(r.code == 65 && r.err.contains("no-\(key).json") && r.err.contains("missing key '\(key)'") && r.err.contains("--run-args=\"... \(flag) N\""), "\(r.err)")
            // Given in --run-args (the file lacks it), it is used: the same run, the same numbers.
            let value = flag == "--random-input-len" ? "64" : "8"
            let ok = runCLI(["validate", f, "--run-args=\(flag) \(value)"])
            #expect(ok.code == 0 && ok.out.contains("MAPE 0.0%"), "\(ok.out) \(ok.err)")
        }
        // Bad values name the file, the key and the value.
        let bad: [(String, Any, String)] = [("mean_ttft_ms", -5, "key 'mean_ttft_ms': must be positive (0 reads as not measured), found -5.0"),
                                            ("request_rate", 0, "key 'request_rate' is 0: out of range"), ("request_rate", "fast", "key 'request_rate' is \"fast\""),
                                            ("max_concurrency", 0, "key 'max_concurrency' is 0: out of range"), ("burstiness", -1, "key 'burstiness' is -1"),
                                            ("num_prompts", 2.5, "key 'num_prompts' is 2.5"), ("total_input_tokens", 0, "key 'total_input_tokens' is 0")]
        for (key, value, fragment) in bad {
            let f = try vllmResult(dir, "bad.json", extra: key == "burstiness" ? ["--request-rate", "10"] : []) { $0[key] = value }
            let r = runCLI(["validate", f])
            #expect(r.code == 65 && r.err.contains("bad.json: " + fragment) && !r.err.contains("invalid for '--"), "\(key) \(value): \(r.err)")
        }
        // Flags for what the file holds are refused, naming the flag and the file's value; the deployment is not.
        let capped = try vllmResult(dir, "capped.json", extra: ["--max-concurrency", "3", "--request-rate", "20"])
        let overrides: [(String, String)] = [("--random-input-len 100", "total_input_tokens 384 / completed 6 = 64 tokens"), ("--random-output-len=5", "= 8 tokens"),
                                             ("--num-prompts 2", "num_prompts 6"), ("--request-rate 3", "request_rate 20"), ("--max-concurrency 1", "max_concurrency 3"),
                                             ("--burstiness 2", "burstiness 1"), ("--dataset-name sharegpt", "the lengths of its prompts"), ("--trace t.csv", "the lengths of its prompts")]
        for (flags, holds) in overrides {
            let r = runCLI(["validate", capped, "--run-args=-tp 1 \(flags)"])
            let flag = String(flags.split(whereSeparator: { $0 == " " || $0 == "=" })[0])
            #expect(r.code == 64 && r.err.contains("'\(flag)' in --run-args would override \(capped)") && r.err.contains(holds), "\(flags): \(r.err)")
        }
        #expect(runCLI(["validate", capped, "--run-args=-tp 1 --gpu a100-sxm4-80gb --random-range-ratio 0"]).out.contains("MAPE 0.0%"))
        // The same in a manifest entry's args (a data error there).
        try #"{"version": 1, "runs": [{"id": "a", "result_file": "capped.json", "args": ["--num-prompts", "2"]}]}"#.write(toFile: dir + "/m.json", atomically: true, encoding: .utf8)
        let m = runCLI(["validate", dir + "/m.json"])
        #expect(m.code == 65 && m.err.contains("'--num-prompts' in runs[0].args of \(dir)/m.json would override capped.json"), "\(m.err)")
        // A shared prefix (vLLM's --random-prefix-len, which the file does not record) is part of each prompt's length.
        let prefixed = try vllmResult(dir, "prefixed.json", extra: ["--random-prefix-len", "16"])
        #expect(runCLI(["validate", prefixed, "--run-args=--random-prefix-len 16"]).out.contains("MAPE 0.0%"))
        func inputLen(_ runArgs: [String]) throws -> String? {
            let a = try Manifest(file: prefixed, runArgs: runArgs).entries[0].runs[0]
            return a.firstIndex(of: "--random-input-len").map { a[$0 + 1] }
        }
        #expect(try inputLen(["--random-prefix-len", "16"]) == "64" && inputLen([]) == "80")
        let long = runCLI(["validate", prefixed, "--run-args=--random-prefix-len 80"])
        #expect(long.code == 65 && long.err.contains("less the 80 tokens of --random-prefix-len gives 0 input tokens"), "\(long.err)")
    }

    /// A run that cannot be predicted is said once, counted, and fails the command; the JSON rows keep their errors.
    @Test func validateFailsWhenARunCannotBePredicted() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let res = try vllmResult(dir, "r.json")
        let r = runCLI(["validate", res, "--run-args=--gpu h100", "--json", dir + "/v.json"])
        let message = "The value 'h100' is invalid for '--gpu'"
        #expect(r.code == 65 && r.err.contains("1 of 1 run of \(res) could not be predicted"), "\(r.err)")
        #expect(r.out.components(separatedBy: message).count == 2, "the error once: \(r.out)")
        #expect(r.out.contains("r: not predicted: " + message))
        let rows = try #require(try object(try String(contentsOfFile: dir + "/v.json", encoding: .utf8))["rows"] as? [[String: Any]])
        #expect(rows.count > 1 && rows.allSatisfy { ($0["error"] as? String)?.hasPrefix(message) == true && $0["predicted"] is NSNull })
        #expect(r.out.components(separatedBy: "(not predicted)").count == rows.count + 1)
        // One run of two fails: the other is compared, the failing one counted.
        let small = ["--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "6"]
        let manifest: [String: Any] = ["version": 1, "runs": [
            ["id": "ok", "args": ["--model", "olmoe-1b-7b"] + small, "measured": ["output_throughput": 100.0, "mean_ttft_ms": 20.0]],
            ["id": "tp3", "args": ["--model", "mixtral-8x7b", "-tp", "3"] + small, "measured": ["output_throughput": 100.0, "mean_ttft_ms": 20.0]]]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: dir + "/m.json"))
        let m = runCLI(["validate", dir + "/m.json"])
        #expect(m.code == 65 && m.err.contains("1 of 2 runs of \(dir)/m.json could not be predicted"), "\(m.err)")
        #expect(m.out.contains("tp3: not predicted: --tensor-parallel-size 3 does not divide") && m.out.contains("held-out: 2 metrics"), "\(m.out)")
        #expect(m.out.components(separatedBy: "does not divide").count == 2)
    }

    /// Every key of a manifest run's `measured` is a metric (or the harness's repeats): a misspelt one is named.
    @Test func unknownMeasuredKeysAreNamed() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--model", "olmoe-1b-7b"] + Self.small
        for (measured, unknown) in [(["output_throughputt": 100.0], "unknown key 'output_throughputt'"),
                                    (["output_throughputt": 100.0, "mean_ttft_ms": 20.0, "p99_tpot": 3.0], "unknown keys 'output_throughputt', 'p99_tpot'")] {
            try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "a", "args": args, "measured": measured]]], options: [.sortedKeys])
                .write(to: URL(fileURLWithPath: dir + "/m.json"))
            let r = runCLI(["validate", dir + "/m.json"])
            #expect(r.code == 65 && r.err.contains("key 'runs[0].measured': \(unknown); known: 'output_throughput'"), "\(r.err)")
        }
        try JSONSerialization.data(withJSONObject: ["version": 1, "runs": [["id": "a", "args": args, "measured": ["output_throughput": 100.0, "repeats_ms": [1.0, 2.0]]]]])
            .write(to: URL(fileURLWithPath: dir + "/m.json"))
        let ok = runCLI(["validate", dir + "/m.json"])
        #expect(ok.code == 0 && ok.out.contains("held-out: 1 metrics"), "\(ok.err)")
    }

    @Test func timelineIsAChromeTrace() throws {
        let dir = try makeTempDir()
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--timeline", dir + "/t.json"] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        let o = try object(try String(contentsOfFile: dir + "/t.json", encoding: .utf8))
        let ev = try #require(o["traceEvents"] as? [[String: Any]])
        let steps = ev.filter { $0["name"] as? String == "step" }
        let reqs = ev.filter { ($0["name"] as? String)?.hasPrefix("request ") == true }
        #expect(reqs.count == 6)
        #expect(steps.count % 2 == 0 && !steps.isEmpty, "one step track per GPU (2 GPUs)")
        #expect(ev.allSatisfy { ["X", "M", "C"].contains($0["ph"] as? String ?? "") })
        // Same inputs, same bytes.
        _ = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--timeline", dir + "/t2.json"] + Self.small)
        #expect(try String(contentsOfFile: dir + "/t.json", encoding: .utf8) == String(contentsOfFile: dir + "/t2.json", encoding: .utf8))
        let hf = runCLI(["run", "--model", "olmoe-1b-7b", "--engine", "hf", "--timeline", dir + "/t3.json"])
        #expect(hf.code == 64 && hf.err.contains("--timeline"))
    }

    @Test func htmlReportsAreDeterministicAndSelfContained() throws {
        let dir = try makeTempDir()
        for f in ["a", "b"] {
            #expect(runCLI(["run", "--model", "olmoe-1b-7b", "--html", "\(dir)/\(f).html"] + Self.small).code == 0)
        }
        // The same bytes but for the command line it quotes (which names the output file).
        func body(_ f: String) throws -> [Substring] {
            try String(contentsOfFile: dir + "/\(f).html", encoding: .utf8).split(separator: "\n").filter { !$0.contains("class=\"cmd\"") }
        }
        let a = try String(contentsOfFile: dir + "/a.html", encoding: .utf8)
        #expect(try body("a") == body("b"))
        #expect(!a.contains("<script src") && !a.contains("<link ") && !a.contains("https://"))
        // A served run's result is a server's; the offline LLM class's says it is offline, as the text summary does.
        #expect(a.contains("Serving benchmark result") && !a.contains("Offline benchmark result"))
        #expect(runCLI(["run", "--model", "olmoe-1b-7b", "--usage-context", "offline", "--html", "\(dir)/o.html"] + Self.small).code == 0)
        let o = try String(contentsOfFile: dir + "/o.html", encoding: .utf8)
        #expect(o.contains("Offline benchmark result") && !o.contains("Serving benchmark result"))
    }

    @Test func planFoldsDuplicatesRanksByCostAndSaysWhyNothingFits() throws {
        let args = ["plan", "--model", "olmoe-1b-7b", "--gpu", "a100-sxm4-80gb,h100-sxm-80gb", "--max-gpus", "2", "--random-input-len", "64",
                    "--random-output-len", "8", "--num-prompts", "16", "--max-concurrency", "8"]
        let p = runCLI(args + ["--gpu-hour-usd", "a100-sxm4-80gb=1", "--gpu-hour-usd", "h100-sxm-80gb=100", "--json"])
        #expect(p.code == 0, "\(p.err)")
        let o = try object(p.out)
        let plans = try #require(o["plans"] as? [[String: Any]]).filter { $0["output_throughput"] != nil }
        #expect((o["ranked_by"] as? String)?.contains("$ per million") == true)
        // Ranked by cost: non-decreasing $/Mtok.
        let costs = plans.compactMap { $0["usd_per_million_output_tokens"] as? Double }
        #expect(costs == costs.sorted() && costs.count == plans.count)
        // No two rows on the same GPUs with identical results.
        var seen = Set<String>()
        for x in plans {
            let k = "\(x["gpu"]!) \(x["gpus"]!) \(x["output_throughput"]!) \(x["p99_ttft_ms"]!) \(x["p99_tpot_ms"]!)"
            #expect(seen.insert(k).inserted, "duplicate row \(k)")
        }
        let none = runCLI(["plan", "--model", "mixtral-8x7b", "--gpu", "a100-sxm4-40gb", "--max-gpus", "1", "--random-input-len", "64",
                           "--random-output-len", "8", "--num-prompts", "4"])
        #expect(none.code == 65 && none.out.contains("No plan could be simulated") && none.out.contains("does not fit"), "\(none.out)")
    }

    @Test func bareSaveResultWritesVLLMsFileName() throws {
        let dir = try makeTempDir()
        let r = runCLI(["run", "--model", "mistralai/Mixtral-8x7B-v0.1", "-tp", "2", "--max-concurrency", "2", "--save-result", "--result-dir", dir] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: dir + "/openai-infqps-concurrency2-Mixtral-8x7B-v0.1.json"))
        let named = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--save-result", "--result-dir", dir, "--result-filename", "x.json"] + Self.small)
        #expect(named.code == 0 && FileManager.default.fileExists(atPath: dir + "/x.json"), "\(named.err)")
        #expect(runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--result-dir", dir] + Self.small).code == 64)
        // --label takes the backend's place in the name; a ramp names its strategy and rates, as vLLM's does.
        let labelled = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--label", "mine", "--ramp-up-strategy", "linear", "--ramp-up-start-rps", "1",
                               "--ramp-up-end-rps", "4", "--save-result", "--result-dir", dir] + Self.small)
        #expect(labelled.code == 0 && FileManager.default.fileExists(atPath: dir + "/mine-ramp-up-linear-1qps-4qps-mixtral-8x7b.json"), "\(labelled.err)")
        let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/mine-ramp-up-linear-1qps-4qps-mixtral-8x7b.json"))) as? [String: Any])
        #expect(saved["label"] as? String == "mine" && saved["backend"] as? String == "openai")
    }

    @Test func helpHelpAndAlignedTables() {
        let h = runCLI(["help", "help"])
        #expect(h.code == 0 && h.out.contains("USAGE: moesim help"))
    }
}

/// A `vllm bench serve` command line works: its client flags are accepted and ignored (said once), vLLM's batch-limit
/// rules hold as vLLM applies them, and the run header names what the plan uses.
@Suite struct VLLMBenchCommandLineTests {
    static let small = ["--model", "mixtral-8x7b", "-tp", "2", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "6", "--json"]

    /// `moesim run` on the small Mixtral deployment plus `extra`: its exit code, JSON and stderr (SOURCE_DATE_EPOCH is
    /// fixed for the tests, so two results compare whole).
    static func result(_ extra: [String]) -> (code: Int32, out: String, err: String) { runCLI(["run"] + small + extra) }

    /// A vLLM command that spells out a default moesim models runs unchanged (with a note); another value is refused.
    @Test func restatedDefaultsAreAcceptedOtherValuesRefused() {
        let plain = Self.result([])
        let r = Self.result(["--dtype", "auto", "--block-size=16", "--scheduling-policy", "fcfs", "--swap-space", "4"])
        #expect(r.code == 0 && r.out == plain.out, "\(r.err)")
        #expect(r.err.contains("note: --dtype auto, --block-size 16, --scheduling-policy fcfs, --swap-space 4 accepted"), "\(r.err)")
        let f16 = Self.result(["--dtype", "float16"])
        #expect(f16.code == 64 && f16.err.contains("'--dtype' is a vLLM flag"), "\(f16.err)")
    }

    @Test func clientFlagsAreAcceptedAndIgnored() {
        let plain = Self.result([])
        let client = ["--endpoint", "/v1/completions", "--host", "127.0.0.1", "--port", "8000", "--base-url", "http://127.0.0.1:8000",
                      "--served-model-name", "mixtral", "--disable-tqdm", "--ready-check-timeout-sec", "600", "--trust-remote-code"]
        let r = Self.result(client)
        #expect(plain.code == 0 && r.code == 0, "\(r.err)")
        #expect(r.out == plain.out, "client flags changed the result")
        let notes = r.err.split(separator: "\n").filter { $0.contains("accepted and ignored") }
        #expect(notes.count == 1, "one note: \(r.err)")
        for f in client where f.hasPrefix("--") { #expect(notes.first?.contains(f) == true, "the note lacks \(f)") }
        #expect(notes.first?.contains("HTTP client and server") == true)
        // --ignore-eos is what moesim always does: same result, no note.
        let eos = Self.result(["--ignore-eos"])
        #expect(eos.code == 0 && eos.out == plain.out && !eos.err.contains("ignore"), "\(eos.err)")
        // Documented in run's help.
        let help = runCLI(["help", "run"]).out
        #expect(help.contains("--ignore-eos") && help.contains("accepted and ignored") && help.contains("--ready-check-timeout-sec"))
    }

    /// vLLM accepts its default --burstiness 1.0 with every request sent at once (nothing to shape); moesim too.
    @Test func defaultBurstinessWithEveryRequestAtOnce() {
        let plain = Self.result([])
        for b in ["1.0", "1"] {
            let r = Self.result(["--request-rate", "inf", "--burstiness", b])
            #expect(r.code == 0 && r.out.replacingOccurrences(of: "\"burstiness\": 1.0", with: "") == plain.out.replacingOccurrences(of: "\"burstiness\": 1.0", with: ""), "\(b): \(r.err)")
        }
    }

    /// vLLM lowers a default max_num_seqs to the token budget and a default budget to max_num_seqs x max_model_len
    /// (EngineArgs); each is said in a note and runs as if given explicitly.
    @Test func batchLimitsFollowVLLMsDefaults() {
        let lowered = runCLI(["run", "--model", "olmoe-1b-7b", "--max-num-batched-tokens", "32", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "6", "--json"])
        let explicit = runCLI(["run", "--model", "olmoe-1b-7b", "--max-num-batched-tokens", "32", "--max-num-seqs", "32", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "6", "--json"])
        #expect(lowered.code == 0 && lowered.out == explicit.out, "\(lowered.err)")
        #expect(lowered.err.contains("note: max_num_seqs is 32, lowered from vLLM 0.24's default for a100-sxm4-80gb in the serve usage context, 256"), "\(lowered.err)")
        #expect(!explicit.err.contains("note: max_num"), "\(explicit.err)")
        // OLMoE's max_position_embeddings is 4096: one sequence at a time gets a 4096-token budget, not the H200's 8192.
        let args = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--max-num-seqs", "1", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "3", "--json"]
        let one = runCLI(args), given = runCLI(args + ["--max-num-batched-tokens", "4096"])
        #expect(one.code == 0 && one.out == given.out, "\(one.err)")
        #expect(one.err.contains("note: max_num_batched_tokens is 4096, lowered from vLLM 0.24's default for h200-sxm-141gb in the serve usage context, 8192"), "\(one.err)")
    }

    /// The header shows the all-to-all backend where vLLM uses one (EP with DP > 1), and not with DP 1. vLLM 0.24's
    /// default is allgather_reducescatter, and it replaces the removed naive and pplx by it, saying so; the paper's
    /// older-vLLM profile keeps them.
    @Test func headerShowsTheBackendWhereItMatters() {
        let dp = runCLI(["run", "--model", "olmoe-1b-7b", "-dp", "2", "--enable-expert-parallel", "--all2all-backend", "deepep_high_throughput"] + CLITests.small)
        #expect(dp.code == 0 && dp.out.contains("--data-parallel-size 2 --enable-expert-parallel --all2all-backend deepep_high_throughput]"), "\(dp.out)")
        let removed = runCLI(["run", "--model", "olmoe-1b-7b", "-dp", "2", "--enable-expert-parallel", "--all2all-backend", "naive"] + CLITests.small)
        #expect(removed.code == 0 && removed.out.contains("--data-parallel-size 2 --enable-expert-parallel --all2all-backend allgather_reducescatter]"), "\(removed.out)")
        #expect(removed.err.contains("note: engine profile 'vllm' has no '--all2all-backend naive' (vLLM removed it); it falls back to allgather_reducescatter"), "\(removed.err)")
        let old = runCLI(["run", "--model", "olmoe-1b-7b", "-dp", "2", "--enable-expert-parallel", "--all2all-backend", "naive", "--engine-profile", "vllm-a100-hegde2025"] + CLITests.small)
        #expect(old.code == 0 && old.out.contains("--all2all-backend naive]") && !old.err.contains("falls back"), "\(old.out)\(old.err)")
        let deflt = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep"] + CLITests.small)
        #expect(deflt.code == 0 && deflt.out.contains("--enable-expert-parallel --all2all-backend allgather_reducescatter, strategy ep]"), "\(deflt.out)")
        let oldDefault = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--engine-profile", "vllm-a100-hegde2025"] + CLITests.small)
        #expect(oldDefault.code == 0 && oldDefault.out.contains("--enable-expert-parallel --all2all-backend pplx, strategy ep]"), "\(oldDefault.out)")
        let tp = runCLI(["run", "--model", "olmoe-1b-7b", "-tp", "2", "--enable-expert-parallel"] + CLITests.small)
        #expect(tp.code == 0 && !tp.out.contains("all2all"), "\(tp.out)")
    }
}

@Suite struct OfflineSummaryTests {
    /// `--usage-context offline` is what `vllm bench throughput` runs: its summary starts with that command's three lines,
    /// whose figures are the run's own; the serving context keeps vLLM's serving banner.
    @Test func offlineSummaryStartsWithVLLMBenchThroughputLines() throws {
        let args = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "6"]
        let offline = runCLI(args + ["--usage-context", "offline"])
        #expect(offline.code == 0, "\(offline.err)")
        let json = runCLI(args + ["--usage-context", "offline", "--json"])
        let j = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let rps = try #require(j["request_throughput"] as? Double), tps = try #require(j["total_token_throughput"] as? Double)
        let ops = try #require(j["output_throughput"] as? Double)
        let line = String(format: "Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s\n", rps, tps, ops)
        #expect(offline.out.contains(line + "Total num prompt tokens:  384\nTotal num output tokens:  48\n"), "\(offline.out)")
        #expect(offline.out.contains("Offline Benchmark Result (LLM.generate)") && !offline.out.contains("Serving Benchmark Result"))
        let serve = runCLI(args)
        #expect(serve.code == 0 && serve.out.contains("Serving Benchmark Result") && !serve.out.contains("Throughput: "), "\(serve.out)")
    }
}

/// `--host-speed` on the command line: checked, said, and only where a reference exists.
@Suite struct HostSpeedFlagTests {
    static let small = ["--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "4"]

    @Test func hostSpeedIsCheckedAndReported() throws {
        for bad in ["0", "-1", "fast", "1000"] {
            let r = runCLI(["run"] + Self.small + ["--host-speed", bad])
            #expect(r.code == 64 && r.err.contains("--host-speed"), "\(bad): \(r.err)")
        }
        let hf = runCLI(["run", "--engine", "hf", "--model", "olmoe-1b-7b", "--host-speed", "0.05"])
        #expect(hf.code == 64 && hf.err.contains("--host-speed"), "\(hf.err)")
        // A host far slower than the reference (whatever the fitted exponent): each request's first token comes later.
        let slow = runCLI(["run"] + Self.small + ["--host-speed", "50", "--max-concurrency", "1", "--json"])
        let ref = runCLI(["run"] + Self.small + ["--max-concurrency", "1", "--json"])
        #expect(slow.code == 0 && slow.err.contains("host costs x") && slow.err.contains("reference host"), "\(slow.err)")
        #expect(!ref.err.contains("host costs x"))
        let t = { (s: String) throws -> Double in
            try #require((try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])?["mean_ttft_ms"] as? Double)
        }
        #expect(try t(slow.out) > t(ref.out))
        // explain breaks down GPU time: it says the flag does not change what it shows.
        let x = runCLI(["explain", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--host-speed", "0.2"])
        #expect(x.code == 0 && x.err.contains("--host-speed") && x.err.contains("moesim run"), "\(x.err)")
    }
}

/// `--warm-token-counts`: what the engine ran before the run, for vLLM's first-use compiles of its fused MoE.
@Suite struct WarmTokenCountsFlagTests {
    static let lone = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--usage-context", "offline",
                       "--random-input-len", "1021", "--random-output-len", "1", "--num-prompts", "1"]

    @Test func warmTokenCountsAreCheckedAndTakenAsCompiled() throws {
        for bad in ["abc", "0", "12,", "-5", "1.5"] {
            let r = runCLI(Self.lone + ["--warm-token-counts", bad])
            #expect(r.code == 64 && r.err.contains("--warm-token-counts"), "\(bad): \(r.err)")
        }
        // A lone 1,021-token prompt: a configuration start-up did not compile (odd past 512 tokens), said in the notes.
        let cold = runCLI(Self.lone)
        #expect(cold.code == 0 && cold.out.contains("note: first use: 1 step without CUDA graphs (1021 tokens)"), "\(cold.out)")
        for warm in ["all", "879,15395"] {
            let r = runCLI(Self.lone + ["--warm-token-counts", warm])
            #expect(r.code == 0 && r.out.contains("Benchmark duration") && !r.out.contains("first use"), "\(warm): \(r.out)")
        }
    }
}

/// `--first-step-requests`: how many requests vLLM's first offline step holds (LLM.generate hands them to the engine
/// core one by one, and its first schedule takes those it has by then).
@Suite struct FirstStepRequestsFlagTests {
    static let run = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--usage-context", "offline",
                      "--random-input-len", "512", "--random-output-len", "16", "--num-prompts", "64"]

    func duration(_ out: String) -> Double? {
        out.split(separator: "\n").first { $0.hasPrefix("Benchmark duration (s):") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func theFirstStepShapesTheLaterStepsAndTheirFirstUses() throws {
        for bad in ["0", "-1", "x", "2.5"] {
            let r = runCLI(Self.run + ["--first-step-requests", bad])
            #expect(r.code == 64 && r.err.contains("--first-step-requests"), "\(bad): \(r.err)")
        }
        let served = runCLI(Array(Self.run.prefix(5)) + ["--num-prompts", "8", "--first-step-requests", "2"])
        #expect(served.code == 64 && served.err.contains("--usage-context offline"), "\(served.err)")
        // The HF engine's static batch has no such step, nor vLLM's compiles: both flags are refused, not ignored.
        for flag in ["--first-step-requests", "--warm-token-counts"] {
            let hf = runCLI(["run", "--model", "olmoe-1b-7b", "--engine", "hf", flag, "3"])
            #expect(hf.code == 64 && hf.err.contains(flag) && hf.err.contains("--engine hf"), "\(hf.err)")
        }
        // All 64 at once: two steps of 16,384 tokens (the budget start-up's memory profile compiled), nothing new.
        let all = runCLI(Self.run)
        #expect(all.code == 0 && !all.out.contains("first use"), "\(all.out)")
        // moesim says that it assumed the first step (a guess about vLLM), and how to give it.
        #expect(all.out.contains("note: first step: moesim schedules all 64 requests") && all.out.contains("--first-step-requests N"), "\(all.out)")
        // Three first: 1,536 tokens, then 16,384 (3 decodes with them), then the remaining 14,885 prompt tokens with
        // 34 decodes, as vLLM's step traces show for such a start: an odd count past 8,256 tokens, a new kernel.
        let three = runCLI(Self.run + ["--first-step-requests", "3"])
        #expect(three.code == 0 && (three.out + three.err).contains("note: --first-step-requests 3"), "\(three.err)")
        #expect(three.out.contains("first use: 1 step without CUDA graphs (14885 tokens)") && !three.out.contains("note: first step:"), "\(three.out)")
        let t3 = try #require(duration(three.out)), tAll = try #require(duration(all.out))
        #expect(t3 > tAll + 0.5, "\(t3) against \(tAll)")
        // As many as the run has (or more): every request at the first step, the default.
        let every = runCLI(Self.run + ["--first-step-requests", "64"])
        #expect(duration(every.out) == tAll && !(every.out + every.err).contains("note: --first-step-requests"))
    }
}

/// The first-step draw: an offline prediction rerun over the counts of requests vLLM's first step held in real runs
/// (the engine profile's `first_step_draw`), said as a range, a median and the chance of a first-use wait.
@Suite struct FirstStepDrawTests {
    static let run = FirstStepRequestsFlagTests.run

    /// The note's numbers: range low and high, median, chance of a wait (%), and the share of draws holding all (%).
    func note(_ out: String) -> (lo: Double, hi: Double, median: Double, chance: Double, all: Double)? {
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("note: first-step draw:") }) else { return nil }
        let nums = line.split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
        // "... 1 to 37 in the measured runs ... takes LO-HI s (median M s, 10th-90th percentile A-B s), and in C% ... all N
        // requests ..., as P% of draws do" (or "more than any measured draw held": none did)
        guard nums.count >= 11 else { return nil }
        return (nums[2], nums[3], nums[4], nums[9], nums.count > 11 ? nums[11] : 0)
    }

    @Test func anOfflineRunIsRerunOverTheMeasuredDraw() throws {
        let all = runCLI(Self.run)
        #expect(all.code == 0, "\(all.err)")
        let t = try #require(FirstStepRequestsFlagTests().duration(all.out))
        let n = try #require(note(all.out), "\(all.out)")
        // The prediction itself (every request at the first step) lies in the range; a first step of 3 requests meets
        // a new kernel (FirstStepRequestsFlagTests), so some draws wait and the range reaches past a second.
        #expect(n.lo <= t && t <= n.hi && n.lo <= n.median && n.median <= n.hi, "\(n) against \(t)")
        #expect(n.hi > t + 0.5 && n.chance > 0 && n.chance < 100, "\(n)")
        // 64 requests: only the draws of 64 or more hold all of them.
        #expect(n.all < 50, "\(n)")
        // Deterministic: the same command prints the same note.
        #expect(runCLI(Self.run).out == all.out)
    }

    @Test func noDrawWhereTheFirstStepIsGivenOrThereIsNone() {
        for extra in [["--first-step-requests", "3"], ["--warm-token-counts", "all"]] {
            let r = runCLI(Self.run + extra)
            #expect(r.code == 0 && !r.out.contains("first-step draw"), "\(extra): \(r.out)")
        }
        // A served run's requests arrive at their own times.
        let served = runCLI(["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--random-input-len", "512", "--random-output-len", "16", "--num-prompts", "16"])
        #expect(served.code == 0 && !served.out.contains("first-step draw"), "\(served.out)")
    }

    @Test func aBadDrawInTheEngineProfileIsNamed() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try String(contentsOfFile: "profiles/engines/vllm.json", encoding: .utf8)
        let draw = try #require(base.range(of: "\"first_step_draw\""))
        for (edit, words) in [("\"probability\": [\n      0.5,", "add up to"), ("\"requests\": [\n      3,", "ascending order"),
                              ("\"beyond\": 2", "a probability is 0 to 1")] {
            var text = base
            if edit.hasPrefix("\"beyond\"") {
                text = text.replacingOccurrences(of: "\"beyond\": 0.0", with: edit)
            } else {
                let key = String(edit.prefix(while: { $0 != "[" })) + "[\n      "
                let start = try #require(text.range(of: key, range: draw.lowerBound..<text.endIndex))
                let end = try #require(text.range(of: ",", range: start.upperBound..<text.endIndex))
                text.replaceSubrange(start.lowerBound..<end.upperBound, with: edit)
            }
            let file = dir + "/bad.json"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let r = runCLI(["run", "--model", "olmoe-1b-7b", "--engine-profile", file, "--usage-context", "offline", "--num-prompts", "4"])
            #expect(r.code != 0 && r.err.contains("first_step_draw") && r.err.contains(words), "\(edit): \(r.err)")
        }
    }
}

/// A run that waited for first-use compiles says what a warmed-up server shows: the same run with every size compiled.
@Suite struct WarmEngineNoteTests {
    static let cold = FirstStepRequestsFlagTests.run + ["--first-step-requests", "3"]

    /// The warm run's wall time in the note ("this run takes X s").
    func warmSeconds(_ out: String) -> Double? {
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("note: warm engine:") }),
              let r = line.range(of: "this run takes ") else { return nil }
        return Double(line[r.upperBound...].prefix(while: { "0123456789.".contains($0) }))
    }

    @Test func aRunThatCompiledIsRerunWarm() throws {
        let cold = runCLI(Self.cold)
        #expect(cold.code == 0 && cold.out.contains("note: first use:"), "\(cold.out)")
        let warm = runCLI(Self.cold + ["--warm-token-counts", "all"])
        #expect(warm.code == 0 && !warm.out.contains("first use:") && !warm.out.contains("warm engine"), "\(warm.out)")
        // The note's figure is the warm run's own, and the compile (about a second) is what it saves.
        let noted = try #require(warmSeconds(cold.out), "\(cold.out)")
        let tWarm = try #require(FirstStepRequestsFlagTests().duration(warm.out))
        let tCold = try #require(FirstStepRequestsFlagTests().duration(cold.out))
        #expect(abs(noted - tWarm) <= 0.0051 * max(tWarm, 1), "\(noted) against \(tWarm)")
        #expect(tCold > noted + 0.5, "\(tCold) against \(noted)")
        // Its median TTFT is the warm run's too (three significant digits), not the fresh one's.
        let ttft = { (out: String) -> Double? in
            out.split(separator: "\n").first { $0.hasPrefix("Median TTFT (ms):") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let line = try #require(cold.out.split(separator: "\n").first { $0.hasPrefix("note: warm engine:") })
        let r = try #require(line.range(of: "median TTFT "))
        let notedTTFT = try #require(Double(line[r.upperBound...].prefix { "0123456789.".contains($0) }))
        let warmTTFT = try #require(ttft(warm.out)), coldTTFT = try #require(ttft(cold.out))
        #expect(abs(notedTTFT - warmTTFT) <= 0.006 * warmTTFT && abs(notedTTFT - coldTTFT) > 0.1 * coldTTFT, "\(notedTTFT): warm \(warmTTFT), fresh \(coldTTFT)")
        // A run given part of what its engine ran before is rerun with every size: the note is the same.
        let partial = runCLI(Self.cold + ["--warm-token-counts", "8"])
        #expect(partial.out.contains("note: first use:") && warmSeconds(partial.out) == noted, "\(partial.out)")
        // The JSON result carries the note too.
        let json = runCLI(Self.cold + ["--json"])
        #expect(json.code == 0 && json.out.contains("warm engine: with every size compiled"), "\(json.out)")
    }

    /// vllm bench latency runs its batch --num-iters-warmup times first: the warm-ups compile what the batch meets,
    /// and the measured iterations do not wait (with no warm-up, only the first measured one does).
    @Test func aLatencyBenchmarkPaysItsCompilesInTheWarmUp() throws {
        let base = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--batch-size", "8", "--input-len", "3000",
                    "--output-len", "16", "--num-iters", "5", "--json"]
        func latencies(_ extra: [String]) throws -> [Double] {
            let r = runCLI(base + extra)
            #expect(r.code == 0 && !r.out.contains("warm engine"), "\(r.err)")
            let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            return try #require(o["latencies"] as? [Double])
        }
        let warmedUp = try latencies([]), none = try latencies(["--num-iters-warmup", "0"])
        let allWarm = try latencies(["--warm-token-counts", "all"])
        // This batch meets a step size start-up did not compile (a wait of about a second, WarmEngineNoteTests).
        #expect(warmedUp == allWarm, "\(warmedUp) against \(allWarm)")
        #expect(none[0] > warmedUp[0] + 0.5 && Array(none.dropFirst()) == Array(warmedUp.dropFirst()), "\(none) against \(warmedUp)")
    }

    @Test func noNoteWithoutACompile() {
        // Every request at the first step: this run meets no kernel start-up left out (FirstStepRequestsFlagTests).
        let r = runCLI(FirstStepRequestsFlagTests.run)
        #expect(r.code == 0 && !r.out.contains("first use:") && !r.out.contains("warm engine"), "\(r.out)")
    }
}

/// The offline intake: LLM.generate's front end hands a call's requests to the engine core one at a time, the core's
/// input thread builds each (hashing its prompt's blocks under prefix caching), and the first step, holding them all,
/// starts when the last is built; a serving request's intake adds to the next step's host time instead.
@Suite struct OfflineIntakeTests {
    static let run = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--random-input-len", "512",
                      "--random-output-len", "4", "--num-prompts", "64", "--json"]

    /// An engine profile like vllm's with the three intake costs set (microseconds at the reference host).
    func profile(_ dir: String, request: Double, block: Double, front: Double) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: "profiles/engines/vllm.json"))
        var j = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var p = try #require(j["parameters"] as? [String: Any])
        p["request_host_us"] = request; p["request_block_host_us"] = block; p["frontend_request_us"] = front
        j["parameters"] = p
        let file = dir + "/intake-\(request)-\(block)-\(front).json"
        try JSONSerialization.data(withJSONObject: j).write(to: URL(fileURLWithPath: file))
        return file
    }

    func duration(_ args: [String], _ file: String) throws -> Double {
        let r = runCLI(args + ["--engine-profile", file])
        #expect(r.code == 0, "\(r.err)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        return try #require(j["duration"] as? Double)
    }

    @Test func aCallWaitsForItsIntakeAndServingDoesNot() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let offline = Self.run + ["--usage-context", "offline"]
        let none = try profile(dir, request: 0, block: 0, front: 0)
        let base = try duration(offline, none)
        // The front end alone: 64 hand-overs of 1 ms before the first step, the schedule after it unchanged.
        let front = try duration(offline, try profile(dir, request: 0, block: 0, front: 1000))
        #expect(abs(front - base - 0.064) < 1e-6, "\(front) against \(base)")
        // The core alone: 32 full blocks of each 512-token prompt at 100 us, only with prefix caching.
        let blocks = try profile(dir, request: 0, block: 100, front: 0)
        let hashed = try duration(offline, blocks)
        #expect(abs(hashed - base - 64 * 32 * 100e-6) < 1e-6, "\(hashed) against \(base)")
        let unhashed = try duration(offline + ["--no-enable-prefix-caching"], blocks)
        #expect(abs(unhashed - (try duration(offline + ["--no-enable-prefix-caching"], none))) < 1e-9)
        // Both: the two stages overlap (the core builds one request while the front end hands over the next), so the
        // call waits for the first hand-over and then the slower stage, not for their sum.
        let both = try duration(offline, try profile(dir, request: 0, block: 100, front: 1000))
        #expect(abs(both - base - (0.001 + 64 * 32 * 100e-6)) < 1e-6, "\(both) against \(base)")
        // Serving: no front-end hand-over of a call; each request's intake is host time of the step after it.
        let servedBase = try duration(Self.run, none)
        #expect(try duration(Self.run, try profile(dir, request: 0, block: 0, front: 1000)) == servedBase)
        let servedBlocks = try duration(Self.run, blocks)
        #expect(servedBlocks > servedBase && servedBlocks < servedBase + 64 * 32 * 100e-6, "\(servedBlocks) against \(servedBase)")
    }
}
