import Foundation
import Testing
import Cluster
import Serving
@testable import Studies
@testable import MoESimCLI

/// vLLM 0.24's own benchmark client, result files and engine limits, as users pass them: `vllm bench serve`'s
/// ramp-up and detailed results, `vllm bench throughput`'s file, `--max-model-len` with vLLM's spelling and its
/// start-up check, chunked prefill off and the performance modes.
@Suite struct VLLMBenchServeTests {
    static let small = VLLMHabitsTests.small
    func object(_ s: String) throws -> [String: Any] { try VLLMHabitsTests().object(s) }

    @Test func rampUpRunsAndIsWrittenAsVLLMWritesIt() throws {
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--ramp-up-strategy", "linear", "--ramp-up-start-rps", "1", "--ramp-up-end-rps", "10", "--json"] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        let o = try object(r.out)
        #expect(o["ramp_up_strategy"] as? String == "linear" && o["ramp_up_start_rps"] as? Int == 1 && o["ramp_up_end_rps"] as? Int == 10)
        #expect(o["request_rate"] as? String == "inf")
        // Six requests of seed 0 on vLLM's linear ramp: the last is sent about 1.8 s in (the first gap alone is 0.8 s at
        // 1 req/s); all at once would finish in well under a second.
        let duration = try #require(o["duration"] as? Double)
        #expect(duration > 1.5, "duration \(duration)")
        let fixed = runCLI(["run", "--model", "olmoe-1b-7b", "--json"] + Self.small)
        let flat = try object(fixed.out)
        #expect(((flat["duration"] as? Double) ?? 9) < 1.0)
        #expect(flat["ramp_up_strategy"] == nil)
    }

    @Test(arguments: [
        (["--ramp-up-strategy", "linear", "--ramp-up-start-rps", "1", "--ramp-up-end-rps", "5", "--request-rate", "3"], "leave --request-rate out"),
        (["--ramp-up-strategy", "linear", "--ramp-up-start-rps", "1"], "needs both"),
        (["--ramp-up-strategy", "exponential", "--ramp-up-start-rps", "0", "--ramp-up-end-rps", "5"], "must be 1 or more"),
        (["--ramp-up-strategy", "linear", "--ramp-up-start-rps", "6", "--ramp-up-end-rps", "5"], "at least --ramp-up-start-rps (6)"),
        (["--ramp-up-strategy", "step", "--ramp-up-start-rps", "1", "--ramp-up-end-rps", "5"], "--ramp-up-strategy"),
        (["--ramp-up-end-rps", "5"], "without '--ramp-up-strategy"),
        (["--ramp-up-strategy", "linear", "--ramp-up-start-rps", "1", "--ramp-up-end-rps", "5", "--usage-context", "offline"], "--usage-context offline"),
    ])
    func rampUpIsCheckedAsVLLMChecksIt(_ args: [String], _ fragment: String) {
        let r = runCLI(["run", "--model", "olmoe-1b-7b"] + args + Self.small)
        #expect(r.code == 64 && r.err.contains(fragment), "\(args): \(r.err)")
    }

    /// A result file of a ramped run is predicted with its ramp: moesim's own result file, read back by validate,
    /// gives back its own figures (and with the ramp keys left out, different ones).
    @Test func validateReadsTheRampFromAResultFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moesim-ramp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ramp.json").path
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--ramp-up-strategy", "exponential", "--ramp-up-start-rps", "2", "--ramp-up-end-rps", "40",
                        "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "40", "--save-result", file])
        #expect(r.code == 0, "\(r.err)")
        let v = runCLI(["validate", file, "--json", dir.appendingPathComponent("v.json").path])
        #expect(v.code == 0, "\(v.err)")
        #expect(v.out.contains("MAPE 0.0%"), "\(v.out)")
        var o = try object(try String(contentsOfFile: file, encoding: .utf8))
        o["ramp_up_strategy"] = nil
        try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: file))
        let flat = runCLI(["validate", file])
        #expect(flat.code == 0 && !flat.out.contains("MAPE 0.0%"), "\(flat.out)")
        o["ramp_up_strategy"] = "sawtooth"
        try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: file))
        let bad = runCLI(["validate", file])
        #expect(bad.code == 65 && bad.err.contains("'ramp_up_strategy' is \"sawtooth\""), "\(bad.err)")
    }

    @Test func humanReadableIntsAreReadAsVLLMReadsThem() throws {
        let cases: [(String, Int?)] = [("32768", 32768), ("32k", 32000), ("32K", 32768), ("25.6k", 25600), ("1m", 1_000_000), ("2M", 2_097_152),
                                       ("-1", -1), ("1.5K", nil), ("k", nil), ("3x", nil), (".5k", nil), ("1.2.3k", nil)]
        for (text, value) in cases { #expect(ParsedArguments.humanReadableInt(text) == value, "\(text)") }
        let env = ["--model", "olmoe-1b-7b", "--random-input-len", "3000", "--random-output-len", "4", "--num-prompts", "6", "--json"]
        let k = runCLI(["run", "--max-num-batched-tokens", "4K"] + env), n = runCLI(["run", "--max-num-batched-tokens", "4096"] + env)
        #expect(k.code == 0 && n.code == 0, "\(k.err)")
        func duration(_ s: String) throws -> Double? { try object(s)["duration"] as? Double }
        #expect(try duration(k.out) == duration(n.out))
        let bad = runCLI(["run", "--max-num-batched-tokens", "1.5K"] + env)
        #expect(bad.code == 64 && bad.err.contains("8k = 8,000 or 8K = 8,192"), "\(bad.err)")
    }

    @Test func maxModelLenLimitsRequestsAndIsCheckedAgainstTheModel() throws {
        let short = runCLI(["run", "--model", "olmoe-1b-7b", "--max-model-len", "70"] + Self.small)
        #expect(short.code == 64 && short.err.contains("every one of the 6 requests is longer than max_model_len 70 (--max-model-len)"), "\(short.err)")
        let fits = runCLI(["run", "--model", "olmoe-1b-7b", "--max-model-len", "72", "--json"] + Self.small)
        #expect(fits.code == 0, "\(fits.err)")
        let long = runCLI(["run", "--model", "olmoe-1b-7b", "--max-model-len", "8K"] + Self.small)
        #expect(long.code == 64 && long.err.contains("at most 4096 tokens (max_position_embeddings)"), "\(long.err)")
        let zero = runCLI(["run", "--model", "olmoe-1b-7b", "--max-model-len", "0"] + Self.small)
        #expect(zero.code == 64 && zero.err.contains("-1 / auto"), "\(zero.err)")
        let hf = runCLI(["run", "--model", "olmoe-1b-7b", "--engine", "hf", "--max-model-len", "100"])
        #expect(hf.code == 64 && hf.err.contains("'--max-model-len' is not used by '--engine hf'"), "\(hf.err)")
    }

    /// A request longer than max_model_len with its output: vLLM's server refuses it alone (HTTP 400), and `vllm bench
    /// serve` counts it in `failed`, leaves it out of the metrics and keeps its place in the detailed arrays; the offline
    /// `LLM` stops its output at max_model_len, and fails the whole call on a prompt of max_model_len tokens.
    @Test func requestsPastMaxModelLenFailAloneOrAreCapped() throws {
        let dir = NSTemporaryDirectory() + "moesim-maxlen-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mixed = ["run", "--model", "olmoe-1b-7b", "--max-model-len", "1024", "--random-input-len", "850", "--random-output-len", "200",
                     "--random-range-ratio", "0.2", "--num-prompts", "40", "--request-rate", "20"]
        let served = runCLI(mixed + ["--save-result", "--save-detailed", "--result-dir", dir, "--result-filename", "r.json"])
        #expect(served.code == 0 && served.err.contains("requests have prompt + output tokens above max_model_len 1024 (--max-model-len); vLLM's server refuses them (HTTP 400)"), "\(served.err)")
        #expect(served.out.contains("Failed requests:"))
        let r = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any])
        let completed = try #require(r["completed"] as? Int), failed = try #require(r["failed"] as? Int)
        #expect(completed > 0 && failed > 0 && completed + failed == 40 && r["num_prompts"] as? Int == 40, "\(completed) \(failed)")
        let ins = try #require(r["input_lens"] as? [Int]), outs = try #require(r["output_lens"] as? [Int]), errors = try #require(r["errors"] as? [String])
        #expect(ins.count == 40 && outs.count == 40 && (r["start_times"] as? [Double])?.count == 40)
        // Each refused request keeps its place: no output, the server's error; the others ran within the limit.
        for i in 0..<40 {
            if errors[i].isEmpty { #expect(ins[i] + outs[i] <= 1024) } else { #expect(outs[i] == 0 && errors[i].contains("maximum context length is 1024 tokens")) }
        }
        #expect(errors.filter { !$0.isEmpty }.count == failed)
        #expect(r["total_input_tokens"] as? Int == zip(ins, errors).filter { $0.1.isEmpty }.reduce(0) { $0 + $1.0 })
        // The same requests without a limit: every one completes.
        let all = runCLI(Array(mixed.prefix(3)) + Array(mixed.dropFirst(5)) + ["--json"])
        let allCompleted = try object(all.out)["completed"] as? Int
        #expect(all.code == 0 && allCompleted == 40, "\(all.err)")
        // Offline: outputs stop at max_model_len; a prompt that fills it fails the call.
        let offline = runCLI(["run", "--model", "olmoe-1b-7b", "--usage-context", "offline", "--max-model-len", "70", "--json"] + Self.small)
        let o = try object(offline.out)
        #expect(offline.code == 0 && o["completed"] as? Int == 6 && (o["total_output_tokens"] as? Int).map { $0 < 48 } == true
                && offline.err.contains("vLLM stops them there (finish reason 'length')"), "\(offline.err)")
        let full = runCLI(["run", "--model", "olmoe-1b-7b", "--usage-context", "offline", "--max-model-len", "64"] + Self.small)
        #expect(full.code == 64 && full.err.contains("the decoder prompt (length 64)") && full.err.contains("LLM.generate fails the whole call"), "\(full.err)")
    }

    /// Peak output tokens a second and peak concurrent requests, as vllm bench serve's calculate_metrics counts them
    /// from each request's start, TTFT and ITLs (one-second buckets from the first start), on one engine and on replicas.
    @Test func peaksAreVLLMsBucketsOfTheDetailedRecord() throws {
        let dir = try makeTempDir()
        for (k, extra) in [[], ["--replicas", "2"]].enumerated() {
            let name = "p\(k).json"
            let r = runCLI(["run", "--model", "olmoe-1b-7b", "--random-input-len", "256", "--random-output-len", "64", "--random-range-ratio", "0.5",
                            "--num-prompts", "120", "--request-rate", "30", "--burstiness", "0.5", "--save-result", "--save-detailed",
                            "--result-dir", dir, "--result-filename", name] + extra)
            #expect(r.code == 0 && r.out.contains("Peak output token throughput (tok/s):") && r.out.contains("Peak concurrent requests:"), "\(r.err)")
            let d = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))) as? [String: Any])
            let starts = try #require(d["start_times"] as? [Double]), ttfts = try #require(d["ttfts"] as? [Double])
            let itls = try #require(d["itls"] as? [[Double]])
            let ends = starts.indices.map { starts[$0] + ttfts[$0] + itls[$0].reduce(0, +) }
            let t0 = starts.min()!, buckets = Int((ends.max()! - t0).rounded(.up)) + 1
            var tok = [Double](repeating: 0, count: buckets), conc = [Int](repeating: 0, count: buckets)
            for i in starts.indices {
                var t = starts[i] + ttfts[i]
                tok[Int(t - t0)] += 1
                for x in itls[i] { t += x; let b = Int(t - t0); if b < buckets { tok[b] += 1 } }
                for b in Int(starts[i] - t0)...Int(ends[i] - t0) { conc[b] += 1 }
            }
            #expect(d["max_output_tokens_per_s"] as? Double == tok.max(), "\(extra)")
            #expect(d["max_concurrent_requests"] as? Int == conc.max(), "\(extra)")
            #expect(conc.max()! > 1 && tok.max()! > 64)
        }
    }

    /// Any percentile a result file holds (`--metric-percentiles 50,90,99.9`) is compared, from the run's samples: a
    /// file moesim wrote is predicted exactly; a manifest's `measured` takes such keys too, and a misspelt one is named.
    @Test func validateComparesEveryPercentileKey() throws {
        let dir = try makeTempDir()
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--random-input-len", "256", "--random-output-len", "32", "--num-prompts", "40",
                        "--request-rate", "10", "--metric-percentiles", "50,90,99.9", "--save-result", dir + "/pct.json"])
        #expect(r.code == 0, "\(r.err)")
        let v = runCLI(["validate", dir + "/pct.json", "--json", dir + "/v.json"])
        #expect(v.code == 0, "\(v.err)")
        let rows = try #require(try object(try String(contentsOfFile: dir + "/v.json", encoding: .utf8))["rows"] as? [[String: Any]])
        for k in ["p50_ttft_ms", "p90_itl_ms", "p99.9_e2el_ms", "max_output_tokens_per_s", "max_concurrent_requests"] {
            let row = try #require(rows.first { $0["metric"] as? String == k }, "no row for \(k)")
            #expect(abs(try #require(row["relative_error"] as? Double)) < 1e-9, "\(row)")
        }
        #expect(Manifest.percentileKey("p99.9_itl_ms")! == (99.9, "itl") && Manifest.percentileKey("p1e2_ttft_ms") == nil && Manifest.percentileKey("p90_foo_ms") == nil)
        let m = dir + "/m.json"
        try #"{"version": 1, "runs": [{"id": "a", "args": ["--model", "olmoe-1b-7b", "--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "8"], "measured": {"p90_ttft_ms": 30, "p90_tftt_ms": 3}}]}"#
            .write(toFile: m, atomically: true, encoding: .utf8)
        let bad = runCLI(["validate", m])
        #expect(bad.code == 65 && bad.err.contains("'p90_tftt_ms'"), "\(bad.err)")
    }

    /// vLLM's result files as Python writes them: a metric without samples is NaN (read as not measured); a bad
    /// setting is named with its key and value, not turned into odd arrival times.
    @Test func validateNamesBadResultKeysAndReadsPythonsNaN() throws {
        let dir = try makeTempDir()
        let base = #"{"model_id": "olmoe-1b-7b", "num_prompts": 10, "request_rate": RATE, "burstiness": BURST, "max_concurrency": null, "duration": DUR, "completed": 10, "total_input_tokens": 5120, "total_output_tokens": 1280, "mean_ttft_ms": TTFT, "median_ttft_ms": 30, "mean_tpot_ms": 5, "input_lens": [512, 512, 512, 512, 512, 512, 512, 512, 512, 512], "output_lens": [128, 128, 128, 128, 128, 128, 128, 128, 128, 128]}"#
        func file(_ name: String, rate: String = "5.0", burst: String = "1.0", dur: String = "3.0", ttft: String = "30") throws -> String {
            let f = dir + "/" + name + ".json"
            try base.replacingOccurrences(of: "RATE", with: rate).replacingOccurrences(of: "BURST", with: burst)
                .replacingOccurrences(of: "DUR", with: dur).replacingOccurrences(of: "TTFT", with: ttft).write(toFile: f, atomically: true, encoding: .utf8)
            return f
        }
        let nan = runCLI(["validate", try file("nan", ttft: "NaN"), "--json", dir + "/nan-v.json"])
        #expect(nan.code == 0, "\(nan.err)")
        let rows = try #require(try object(try String(contentsOfFile: dir + "/nan-v.json", encoding: .utf8))["rows"] as? [[String: Any]])
        #expect(!rows.contains { $0["metric"] as? String == "mean_ttft_ms" } && rows.contains { $0["metric"] as? String == "median_ttft_ms" })
        for (f, fragment) in [(try file("rate", rate: "-1"), "key 'request_rate' is -1"), (try file("burst", burst: "0"), "key 'burstiness' is 0"),
                              (try file("dur", dur: "-3"), "key 'duration' is -3"), (try file("inf", dur: "Infinity"), "key 'duration' is null (or NaN or Infinity)")] {
            let r = runCLI(["validate", f])
            #expect(r.code == 65 && (r.err + r.out).contains(fragment), "\(r.out)\n\(r.err)")
        }
        // Elsewhere a NaN token is still malformed JSON, and one inside a string is text.
        #expect(JSONDocument.pythonNonFiniteAsNull(Data(#"{"a": "NaN", "b": NaNx}"#.utf8)) == nil)
        let profile = dir + "/gpu.json"
        try #"{"version": 1, "kind": "gpu", "name": "x", "memory_gb": NaN}"#.write(toFile: profile, atomically: true, encoding: .utf8)
        let p = runCLI(["profiles", "check", profile])
        #expect(p.code == 65 && p.err.contains("malformed JSON"), "\(p.err)")
    }

    /// vllm bench serve seeds NumPy's global generator at start-up (np.random.seed), which fails on a seed of 2^32 or
    /// more even with every request at once; the offline benchmark's generators take any seed.
    @Test func servingSeedsAreNumPysRange() throws {
        let big = runCLI(["run", "--model", "olmoe-1b-7b", "--seed", "4294967296"] + Self.small)
        #expect(big.code == 64 && big.err.contains("np.random.seed"), "\(big.err)")
        let top = runCLI(["run", "--model", "olmoe-1b-7b", "--seed", "4294967295"] + Self.small)
        #expect(top.code == 0, "\(top.err)")
        let offline = runCLI(["run", "--model", "olmoe-1b-7b", "--usage-context", "offline", "--seed", "4294967296"] + Self.small)
        #expect(offline.code == 0, "\(offline.err)")
    }

    /// vLLM refuses to start when the KV cache cannot hold one max_model_len request, and names the longest it could;
    /// moesim says so and runs the requests, and `auto` picks that length, as vLLM's auto-fit does.
    @Test func maxModelLenStartUpCheckAndAutoFit() throws {
        let tight = ["run", "--model", "mixtral-8x7b", "--gpu", "a100-sxm4-80gb", "-tp", "2", "--gpu-memory-utilization", "0.58"] + Self.small
        let warned = runCLI(tight)
        #expect(warned.code == 0 && warned.err.contains("warning: vLLM 0.24 would not start: one request of the model's max_position_embeddings (32768)"), "\(warned.err)")
        let suggested = try #require(warned.err.components(separatedBy: "give --max-model-len ").dropFirst().first?.split(separator: " ").first.flatMap { Int($0) })
        #expect(suggested > 1000 && suggested < 32768)
        let auto = runCLI(tight + ["--max-model-len", "auto"])
        #expect(auto.code == 0 && auto.err.contains("max_model_len is \(suggested), the longest") && !auto.err.contains("would not start"), "\(auto.err)")
        let given = runCLI(tight + ["--max-model-len", String(suggested)])
        #expect(given.code == 0 && !given.err.contains("would not start"), "\(given.err)")
        let over = runCLI(tight + ["--max-model-len", String(suggested + 16)])
        #expect(over.err.contains("one request of --max-model-len \(suggested + 16)"), "\(over.err)")
    }

    /// A harness job's engine arguments become flags (max_model_len, gpu_memory_utilization, the CUDA graph sizes);
    /// one moesim does not model is an error naming it, and inert ones pass.
    @Test func harnessEngineArgsMapOrAreRefused() throws {
        func args(_ engine: String) throws -> [String] {
            let prov = try JSONNode.parse(data: Data(#"{"model": "olmoe-1b-7b", "gpu": ["NVIDIA H200, 143771 MiB"], "engine_args": \#(engine)}"#.utf8), file: "p.json")
            return try Manifest.harnessDeployment(prov, given: [], file: "p.json")
        }
        let a = try args(#"{"max_model_len": 2048, "gpu_memory_utilization": 0.8, "compilation_config": {"cudagraph_capture_sizes": [1, 2, 4, 8]}, "seed": 0, "dtype": "bfloat16", "load_format": "dummy"}"#)
        for pair in [["--max-model-len", "2048"], ["--gpu-memory-utilization", "0.8"], ["--max-cudagraph-capture-size", "8"]] {
            #expect(a.joined(separator: " ").contains(pair.joined(separator: " ")), "\(a)")
        }
        for (engine, fragment) in [(#"{"enable_lora": true}"#, "engine_args.enable_lora is true"),
                                   (#"{"dtype": "float16"}"#, "engine_args.dtype is \"float16\""),
                                   (#"{"compilation_config": {"mode": 0}}"#, "compilation_config.mode is 0")] {
            do {
                _ = try args(engine)
                Issue.record("\(engine): no error")
            } catch let e as InputError {
                #expect(e.message.contains(fragment), "\(engine): \(e.message)")
            }
        }
    }

    static let store = ProfileStore(root: Repo.root + "/profiles")

    func deployment(_ args: [String]) throws -> Deployment {
        let a = try ParsedArguments(args, options: RunOptions.deployment + RunOptions.workload)
        return try RunOptions.deployment(a, store: Self.store)
    }

    /// vLLM 0.24's batch defaults beyond the GPU and usage context: --performance-mode throughput doubles both,
    /// DeepEP's low-latency kernels between DP ranks take a 256-token budget, and without chunked prefill the budget
    /// is at least max_model_len (vllm/engine/arg_utils.py, _set_default_max_num_seqs_and_batched_tokens_args).
    @Test func batchDefaultsFollowVLLMsRules() throws {
        let h200 = ["--model", "qwen3-30b-a3b", "--gpu", "h200-sxm-141gb"]
        let base = try deployment(h200)
        #expect(base.param("max_num_seqs") == 1024 && base.param("max_num_batched_tokens") == 8192)
        let thr = try deployment(h200 + ["--performance-mode", "throughput"])
        #expect(thr.param("max_num_seqs") == 2048 && thr.param("max_num_batched_tokens") == 16384)
        let set = try deployment(h200 + ["--performance-mode", "throughput", "--max-num-seqs", "64"])
        #expect(set.param("max_num_seqs") == 64 && set.param("max_num_batched_tokens") == 16384)
        let ll = try deployment(h200 + ["-dp", "2", "--enable-expert-parallel", "--all2all-backend", "deepep_low_latency"])
        #expect(ll.param("max_num_batched_tokens") == 256 && ll.param("max_num_seqs") == 256, "max_num_seqs lowered to the budget")
        let noChunk = try deployment(h200 + ["--no-enable-chunked-prefill", "--max-model-len", "32768"])
        #expect(noChunk.param("max_num_batched_tokens") == 32768 && !noChunk.chunkedPrefill)
        let e = #expect(throws: InputError.self) { try deployment(h200 + ["--no-enable-chunked-prefill", "--max-num-batched-tokens", "4096"]) }
        #expect(e?.message.contains("is smaller than max_model_len (40960)") == true, "\(e?.message ?? "")")
        #expect(throws: InputError.self) { try deployment(h200 + ["--enable-chunked-prefill", "--no-enable-chunked-prefill"]) }
    }

    /// Without chunked prefill a prompt waits until it fits a step whole: a long prompt behind short ones starts later,
    /// and the run takes longer than with vLLM's default chunking. Interactivity mode pads small decode batches less.
    @Test func chunkedPrefillOffAndInteractivityChangeTheRun() throws {
        let args = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--random-input-len", "3000", "--random-output-len", "50", "--num-prompts", "64", "--json"]
        func duration(_ extra: [String]) throws -> Double {
            let r = runCLI(args + extra)
            #expect(r.code == 0, "\(r.err)")
            return try #require(try object(r.out)["duration"] as? Double)
        }
        #expect(try duration(["--no-enable-chunked-prefill"]) > duration([]) * 1.03)
        #expect(try duration(["--enable-chunked-prefill"]) == duration([]))
        let small = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--random-input-len", "64", "--random-output-len", "64", "--num-prompts", "13", "--json"]
        let fine = runCLI(small + ["--performance-mode", "interactivity"]), coarse = runCLI(small)
        let f = try #require(try object(fine.out)["mean_tpot_ms"] as? Double), c = try #require(try object(coarse.out)["mean_tpot_ms"] as? Double)
        #expect(f < c, "13 sequences replay a 13-token graph, not a 16-token one: \(f) vs \(c)")
    }

    /// vLLM's `--save-detailed` result file is replayed request by request: its prompt and output lengths, sent at its
    /// `start_times` (uncapped) or on vLLM's schedule for the seed (capped, or without start times). A file moesim wrote
    /// of a Poisson run comes back with its own figures; with start times added at vLLM's instants too; a failed
    /// request (an error text, 0 tokens) is left out.
    @Test func validateReplaysAVLLMDetailedResult() throws {
        let dir = try makeTempDir()
        let file = dir + "/detailed.json"
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--request-rate", "20", "--random-input-len", "300", "--random-output-len", "40",
                        "--random-range-ratio", "0.5", "--num-prompts", "30", "--save-detailed", "--save-result", file])
        #expect(r.code == 0, "\(r.err)")
        let v = runCLI(["validate", file])
        #expect(v.code == 0 && v.out.contains("MAPE 0.0%"), "\(v.out)\n\(v.err)")
        // vLLM 0.24 also writes start_times (perf_counter seconds): the instants it sent each request.
        var o = try object(try String(contentsOfFile: file, encoding: .utf8))
        let at = try Workload.arrivalTimes(count: 30, requestRate: 20, burstiness: 1, rampUp: nil, seed: 0)
        o["start_times"] = at.map { 81_234.5 + $0 }
        try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: file))
        let s = runCLI(["validate", file])
        #expect(s.code == 0 && s.out.contains("MAPE 0.0%"), "\(s.out)\n\(s.err)")
        // Another seed's schedule in start_times is a different run.
        o["start_times"] = try Workload.arrivalTimes(count: 30, requestRate: 20, burstiness: 1, rampUp: nil, seed: 9).map { 5.0 + $0 }
        try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: file))
        #expect(!runCLI(["validate", file]).out.contains("MAPE 0.0%"))
        // A failed request is not replayed; a held flag is refused.
        var errs = Array(repeating: "", count: 30); errs[3] = "HTTP 500"
        var outs = try #require(o["output_lens"] as? [Int]); outs[3] = 0
        o["errors"] = errs; o["output_lens"] = outs; o["start_times"] = at.map { 7.0 + $0 }
        try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: file))
        let f = runCLI(["validate", file, "--json", dir + "/v.json"])
        #expect(f.code == 0, "\(f.err)")
        let rows = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/v.json"))) as? [String: Any])?["rows"] as? [[String: Any]])
        #expect(!rows.isEmpty)
        let held = runCLI(["validate", file, "--run-args=--random-input-len 100"])
        #expect(held.code == 64 && held.err.contains("input_lens, output_lens"), "\(held.err)")
    }

    /// `vllm bench throughput --output-json`'s file: the model and lengths come from --run-args (the file has neither),
    /// the request count from the file, and lengths that do not make its token total are refused.
    @Test func validateReadsAVLLMBenchThroughputFile() throws {
        let dir = try makeTempDir()
        let file = dir + "/throughput.json"
        try #"{"elapsed_time": 11.27, "num_requests": 1024, "total_num_tokens": 655360, "requests_per_second": 90.86, "tokens_per_second": 58151.7}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let ok = runCLI(["validate", file, "--run-args=--model olmoe-1b-7b --gpu h200-sxm-141gb --random-input-len 512 --random-output-len 128"])
        #expect(ok.code == 0 && ok.out.contains("elapsed_time") && ok.out.contains("11.27"), "\(ok.out)\n\(ok.err)")
        let same = runCLI(["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--usage-context", "offline", "--num-prompts", "1024",
                           "--random-input-len", "512", "--random-output-len", "128", "--json"])
        let predicted = try #require(try object(same.out)["elapsed_time"] as? Double)
        #expect(ok.out.contains(String(format: "%.2f", predicted)), "the offline run's elapsed time \(predicted): \(ok.out)")
        // A run that cannot be predicted is named in the JSON too (and the command exits 65).
        let failing = runCLI(["validate", file, "--run-args=--model olmoe-1b-7b --random-input-len 512 --random-output-len 128 --max-model-len 500", "--json", dir + "/f.json"])
        #expect(failing.code == 65, "\(failing.err)")
        let fj = try object(try String(contentsOfFile: dir + "/f.json", encoding: .utf8))
        let notPredicted = try #require(fj["runs_not_predicted"] as? [[String: Any]])
        #expect(notPredicted.count == 1 && (notPredicted[0]["error"] as? String)?.contains("longer than the maximum model length of 500") == true, "\(notPredicted)")
        #expect((fj["rows"] as? [[String: Any]])?.allSatisfy { $0["run_failed"] as? Bool == true } == true)
        let noModel = runCLI(["validate", file])
        #expect(noModel.code == 65 && noModel.err.contains("does not record the model"), "\(noModel.err)")
        let wrong = runCLI(["validate", file, "--run-args=--model olmoe-1b-7b --random-input-len 512 --random-output-len 256"])
        #expect(wrong.code == 65 && wrong.err.contains("key 'total_num_tokens' is 655360"), "\(wrong.err)")
        let held = runCLI(["validate", file, "--run-args=--model olmoe-1b-7b --random-input-len 512 --random-output-len 128 --num-prompts 5"])
        #expect(held.code == 64 && held.err.contains("num_requests 1024"), "\(held.err)")
    }

    /// `vllm bench latency`'s flags on the vLLM engine: one offline batch repeated, with prefix caching off as vLLM's
    /// latency benchmark sets it (a cold batch every iteration); with --enable-prefix-caching the prompts are cached
    /// after the first iteration (warm batches, and with no warm-up a cold first one in the average); its result
    /// file's keys; and `validate` on such a file with the batch given in --run-args.
    @Test func benchLatencyRunsAsVLLMsLatencyBenchmark() throws {
        let base = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--batch-size", "8", "--input-len", "1024", "--output-len", "64", "--json"]
        func latency(_ extra: [String]) throws -> (avg: Double, all: [Double]) {
            let r = runCLI(base + extra)
            #expect(r.code == 0, "\(r.err)")
            let o = try object(r.out)
            #expect(o["elapsed_time"] == nil && (o["percentiles"] as? [String: Double])?["99"] != nil)
            return (try #require(o["avg_latency"] as? Double), try #require(o["latencies"] as? [Double]))
        }
        let cold = try latency([]), warm = try latency(["--enable-prefix-caching"])
        #expect(warm.avg < cold.avg * 0.97, "warm \(warm) cold \(cold)")
        #expect(try latency(["--no-enable-prefix-caching"]).avg == cold.avg && cold.all.count == 30)
        let first = try latency(["--enable-prefix-caching", "--num-iters-warmup", "0", "--num-iters", "5"])
        // The first measured iteration is cold: as long as a cold batch, and a little longer for the engine core's
        // hashing of each prompt's blocks, which it does with prefix caching on.
        #expect(first.all.count == 5 && first.all[0] > cold.avg && first.all[0] / cold.avg - 1 < 0.03 && first.all[1] == warm.all[0], "the first measured iteration cold: \(first.all)")
        #expect(abs(first.avg - (first.all[0] + 4 * warm.all[0]) / 5) < 1e-12)
        let text = runCLI(Array(base.dropLast()))
        #expect(text.out.contains("Avg latency: ") && text.out.contains("99% percentile latency: "), "\(text.out)")
        let mixed = runCLI(base + ["--num-prompts", "10"])
        #expect(mixed.code == 64 && mixed.err.contains("'--num-prompts' is not used by vllm bench latency"), "\(mixed.err)")
        let hf = runCLI(["run", "--model", "olmoe-1b-7b", "--engine", "hf", "--num-iters", "3"])
        #expect(hf.code == 64 && hf.err.contains("--num-iters"), "\(hf.err)")
        let dir = try makeTempDir()
        try #"{"avg_latency": \#(cold.avg * 1.1), "latencies": [1], "percentiles": {"50": 1}}"#.write(toFile: dir + "/lat.json", atomically: true, encoding: .utf8)
        let v = runCLI(["validate", dir + "/lat.json", "--run-args=--model olmoe-1b-7b --gpu h200-sxm-141gb --batch-size 8 --input-len 1024 --output-len 64"])
        #expect(v.code == 0 && v.out.contains("avg_latency") && v.out.contains("-9.1%"), "\(v.out)\n\(v.err)")
        let missing = runCLI(["validate", dir + "/lat.json", "--run-args=--model olmoe-1b-7b"])
        #expect(missing.code == 65 && missing.err.contains("does not record the batch size"), "\(missing.err)")
    }
}
