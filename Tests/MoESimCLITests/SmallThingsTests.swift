import Foundation
import Testing
@testable import MoESimCLI
@testable import Studies
import Cluster

/// Issue 24, item 5: the small things users trip on.
@Suite struct SmallThingsTests {
    static let small = ["--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "8", "--max-concurrency", "4"]

    /// (a) --strategy says how many GPUs it means when the count is left out, and takes --num-gpus.
    @Test func strategySaysItsGPUCountAndTakesNumGPUs() throws {
        let two = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep"] + Self.small)
        #expect(two.code == 0 && two.err.contains("--strategy ep means 2 GPUs") && two.err.contains("--num-gpus"), "\(two.err)")
        let four = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--num-gpus", "4", "--json"] + Self.small)
        #expect(four.code == 0 && !four.err.contains("means"), "\(four.err)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(four.out.utf8)) as? [String: Any])
        #expect(o["num_gpus"] as? Int == 4, "\(o["num_gpus"] ?? "none")")
        let ex = runCLI(["explain", "--model", "olmoe-1b-7b", "--strategy", "hybrid", "--num-gpus", "8", "--decode-seqs", "16", "--kv-len", "64"])
        #expect(ex.code == 0 && ex.out.contains("TP2 x DP4") && !ex.err.contains("means"), "\(ex.err)")
        let exNote = runCLI(["explain", "--model", "olmoe-1b-7b", "--strategy", "tp", "--decode-seqs", "16", "--kv-len", "64"])
        #expect(exNote.code == 0 && exNote.err.contains("--strategy tp means 2 GPUs"), "\(exNote.err)")
        for (args, flag) in [(["--num-gpus", "4"], "--num-gpus"), (["--strategy", "hybrid", "--num-gpus", "3"], "--num-gpus 3"),
                             (["--strategy", "baseline", "--num-gpus", "2"], "--num-gpus 2")] {
            let r = runCLI(["run", "--model", "olmoe-1b-7b"] + args + Self.small)
            #expect(r.code == 64 && r.err.contains(flag), "\(args): \(r.err)")
        }
    }

    /// (b) A missing --result-dir is created, as vLLM does; one that cannot be is an error naming it.
    @Test func resultDirIsCreated() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/results/today"
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", "--result-dir", target] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        let files = try FileManager.default.contentsOfDirectory(atPath: target)
        #expect(files.count == 1 && files[0].hasPrefix("openai-") && files[0].hasSuffix(".json"), "\(files)")
        try "x".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        let blocked = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", "--result-dir", dir + "/plain/sub"] + Self.small)
        #expect(blocked.code == 65 && blocked.err.contains(dir + "/plain/sub"), "\(blocked.err)")
        let file = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", "--result-dir", dir + "/plain"] + Self.small)
        #expect(file.code == 64 && file.err.contains(dir + "/plain") && file.err.contains("not a folder"), "\(file.err)")
    }

    /// (c) `date` as vLLM writes it (%Y%m%d-%H%M%S), from the clock, or from SOURCE_DATE_EPOCH for byte-identical runs.
    @Test func resultDateAsVLLMWritesIt() throws {
        #expect(try VLLMResult.date(environment: ["SOURCE_DATE_EPOCH": "0"]) == "19700101-000000")
        #expect(try VLLMResult.date(environment: ["SOURCE_DATE_EPOCH": "86399"]) == "19700101-235959")
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let c = Calendar.current.dateComponents(in: TimeZone.current, from: now)
        let local = String(format: "%04d%02d%02d-%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        #expect(try VLLMResult.date(environment: [:], now: now) == local)
        for bad in ["yesterday", "-5", "1.5"] {
            #expect(throws: InputError.self) { try VLLMResult.date(environment: ["SOURCE_DATE_EPOCH": bad]) }
        }
        // The CLI writes it (the tests set SOURCE_DATE_EPOCH: the same bytes twice).
        let a = runCLI(["run", "--model", "olmoe-1b-7b", "--json"] + Self.small), b = runCLI(["run", "--model", "olmoe-1b-7b", "--json"] + Self.small)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(a.out.utf8)) as? [String: Any])
        #expect(o["date"] as? String == (try VLLMResult.date()) && a.out == b.out)
        let keys = a.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(keys.dropFirst().first?.hasPrefix("\"date\": \"") == true, "date is vLLM's first key")
    }

    /// (d) run and explain warn on stderr when a large component is priced far from its roofline, or by an assumption
    /// (an expert shape not in the measured tables), and not where the prices are measured and near their roofline.
    @Test func warningsForFiguresFarFromRooflineOrAssumed() throws {
        // DeepSeek-V3 DP16 x EP16, a prefill step: the fp8 fused MoE at a few percent of the H200's peak.
        let ds = ["--model", "deepseek-v3", "--gpu", "h200-sxm-141gb", "--data-parallel-size", "16", "--data-parallel-size-local", "8",
                  "--enable-expert-parallel", "--all2all-backend", "deepep_low_latency", "--routing", "zipf:1.0"]
        let ex = runCLI(["explain"] + ds + ["--decode-seqs", "0", "--prefill-seqs", "16", "--prefill-len", "1024"])
        #expect(ex.code == 0, "\(ex.err)")
        let line = try #require(ex.err.split(separator: "\n").first { $0.hasPrefix("warning: experts") && $0.contains("roofline") }, "\(ex.err)")
        // The fraction it quotes is the one the explained layer implies (time against max(FLOPs / peak, bytes / bandwidth)).
        let pct = try #require(Double(line.components(separatedBy: "runs at ")[1].components(separatedBy: "%")[0]))
        #expect(pct < PricingWarnings.rooflineFraction * 100, "\(line)")
        let run = runCLI(["run"] + ds + ["--num-prompts", "32", "--random-input-len", "1024", "--random-output-len", "4", "--max-concurrency", "32"])
        #expect(run.code == 0 && run.err.contains("warning: experts (slowest GPU) in a prefill step") && !run.out.contains("warning:"), "\(run.err)")
        // OLMoE's expert shape is not among the A100's measured shapes: priced by the fitted shape model, said so.
        let olmoe = runCLI(["explain", "--model", "olmoe-1b-7b", "--tensor-parallel-size", "2", "--decode-seqs", "64", "--kv-len", "256"])
        #expect(olmoe.code == 0 && olmoe.err.contains("rests on the fused-MoE shape model") && olmoe.err.contains("not in the measured tables"), "\(olmoe.err)")
        // Measured shapes near their roofline: nothing to say.
        for m in [["mixtral-8x7b", "--tensor-parallel-size", "2"], ["qwen3-30b-a3b", "--gpu", "h200-sxm-141gb"]] {
            let r = runCLI(["explain", "--model"] + m + ["--decode-seqs", "64", "--kv-len", "256"])
            #expect(r.code == 0 && r.err.isEmpty, "\(m): \(r.err)")
        }
    }

    /// (e) explain --compare puts two plans' step side by side: per component, both times, and why they differ.
    @Test func explainComparesTwoPlans() throws {
        let base = ["explain", "--model", "olmoe-1b-7b", "--decode-seqs", "64", "--kv-len", "256"]
        let r = runCLI(base + ["--strategy", "tp", "--compare", "--strategy ep"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("A: 2x a100-sxm4-80gb [--tensor-parallel-size 2]") && r.out.contains("B: 2x a100-sxm4-80gb [--tensor-parallel-size 1 --data-parallel-size 2 --enable-expert-parallel]"), "\(r.out)")
        #expect(r.out.contains("Why they differ") && r.out.contains("EP dispatch + combine") && r.out.contains("TP all-reduce"), "\(r.out)")
        // The side-by-side figures are each plan's own explanation.
        let j = runCLI(base + ["--strategy", "tp", "--compare", "--strategy ep", "--json"])
        let o = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
        let a = runCLI(base + ["--strategy", "tp", "--json"]), b = runCLI(base + ["--strategy", "ep", "--json"])
        let oa = try #require(try JSONSerialization.jsonObject(with: Data(a.out.utf8)) as? [String: Any])
        let ob = try #require(try JSONSerialization.jsonObject(with: Data(b.out.utf8)) as? [String: Any])
        func total(_ x: [String: Any]?) -> Double? { (x?["step_us"] as? [String: Any])?["gpu_total"] as? Double }
        #expect(total(o["a"] as? [String: Any]) == total(oa) && total(o["b"] as? [String: Any]) == total(ob))
        let diff = try #require((o["difference_us"] as? [String: Any])?["gpu_total"] as? Double)
        #expect(abs(diff - (total(ob)! - total(oa)!)) < 1e-9)
        let reasons = try #require(o["reasons"] as? [String])
        #expect(reasons.first?.hasPrefix("EP dispatch + combine") == true, "the largest difference first: \(reasons)")
        // Any flag may differ (a GPU), and a bad compare value names the flag.
        let gpu = runCLI(base + ["-tp", "2", "--compare", "--gpu h100-sxm-80gb"])
        #expect(gpu.code == 0 && gpu.out.contains("B: 2x h100-sxm-80gb [--tensor-parallel-size 2]"), "\(gpu.out) \(gpu.err)")
        let bad = runCLI(base + ["--compare", "--nonsense 3"])
        #expect(bad.code == 64 && bad.err.contains("--compare") && bad.err.contains("--nonsense"), "\(bad.err)")
        // Both sides are the same model's same step: another model, another step shape or seed is refused, not
        // silently explained under A's name.
        for other in ["--model mixtral-8x7b", "--decode-seqs 8", "--kv-len 64", "--prefill-seqs 1", "--seed 3", "--json"] {
            let r = runCLI(base + ["-tp", "2", "--compare", other])
            let flag = String(other.split(separator: " ")[0])
            #expect(r.code == 64 && r.out.isEmpty && r.err.contains("'\(flag)' is not a plan, GPU or engine flag") && r.err.contains("--compare"), "\(other): \(r.err)")
        }
        let model = runCLI(base + ["-tp", "2", "--compare", "--model mixtral-8x7b"])
        #expect(model.err.contains("run explain once for each"), "\(model.err)")
        // What deploys the step may still differ: the interconnect, an engine profile.
        let ic = runCLI(base + ["-tp", "2", "--compare", "--interconnect pcie-gen4"])
        #expect(ic.code == 0 && ic.out.contains("B: 2x a100-sxm4-80gb [--tensor-parallel-size 2]"), "\(ic.err)")
    }

    /// (f) --interconnect says where the collectives' times came from: the GPU's measured vLLM tables take precedence
    /// over a default-candidate interconnect profile's curves (the numbers do not move), a named PCIe profile prices
    /// them itself, and a profile of another GPU system is warned about.
    @Test func interconnectSaysWhereCollectivesCameFrom() throws {
        let base = ["explain", "--model", "mixtral-8x7b", "-tp", "2", "--decode-seqs", "32", "--json"]
        func object(_ r: (code: Int32, out: String, err: String)) throws -> [String: Any] {
            #expect(r.code == 0, "\(r.err)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        }
        func allReduce(_ o: [String: Any]) -> [String: Any]? {
            (o["layer"] as? [[String: Any]])?.first { ($0["component"] as? String)?.hasPrefix("TP all-reduce (after attention)") == true }
        }
        let plain = runCLI(base), h100 = runCLI(base + ["--interconnect", "dgx-h100"]), pcie = runCLI(base + ["--interconnect", "pcie-gen4"])
        let (po, ho, co) = (try object(plain), try object(h100), try object(pcie))
        #expect(po["interconnect"] as? String == "dgx-a100" && ho["interconnect"] as? String == "dgx-h100" && co["interconnect"] as? String == "pcie-gen4")
        let ps = try #require(allReduce(po)?["source"] as? String), hs = try #require(allReduce(ho)?["source"] as? String)
        #expect(ps.contains("measured vLLM kernel tables a100-sxm-vllm-0.14.0") && ps.contains("precedence over interconnect dgx-a100's curves"), "\(ps)")
        #expect(hs.contains("measured vLLM kernel tables a100-sxm-vllm-0.14.0") && hs.contains("precedence over interconnect dgx-h100's curves"), "\(hs)")
        // The tables priced both: the same time; the PCIe profile's own curve is slower and says so.
        #expect(allReduce(po)?["time_us"] as? Double == allReduce(ho)?["time_us"] as? Double)
        let cs = try #require(allReduce(co)?["source"] as? String)
        #expect(cs.contains("interconnect pcie-gen4's curves") && !cs.contains("kernel tables"), "\(cs)")
        #expect((allReduce(co)?["time_us"] as? Double ?? 0) > (allReduce(po)?["time_us"] as? Double ?? .infinity))
        // Warned: a profile of H100 hosts under A100s; not warned: the A100 PCIe profile, or the default.
        #expect(h100.err.contains("warning: --interconnect dgx-h100: profile dgx-h100 describes h100-sxm-80gb hosts, not a100-sxm4-80gb"), "\(h100.err)")
        #expect(!pcie.err.contains("warning") && !plain.err.contains("--interconnect"), "\(pcie.err) \(plain.err)")
        // run: the header names the interconnect; a named one gets a note saying what priced the collectives.
        let run = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2", "--interconnect", "dgx-h100"] + Self.small)
        #expect(run.code == 0 && run.out.contains("], interconnect dgx-h100, engine vllm"), "\(run.out)")
        #expect(run.err.contains("note: --interconnect dgx-h100: all_reduce at 2 GPUs from the measured vLLM kernel tables a100-sxm-vllm-0.14.0"), "\(run.err)")
        let quiet = runCLI(["run", "--model", "mixtral-8x7b", "-tp", "2"] + Self.small)
        #expect(quiet.code == 0 && quiet.out.contains("], interconnect dgx-a100, engine vllm") && !quiet.err.contains("--interconnect"), "\(quiet.err)")
        let one = runCLI(["run", "--model", "olmoe-1b-7b"] + Self.small)
        #expect(one.code == 0 && !one.out.contains("interconnect"), "one GPU has no interconnect: \(one.out)")
    }
}

@Suite struct HarnessDeploymentTests {
    /// A flag given for a harness file wins over its provenance however it is spelt: vLLM's -tp as
    /// --tensor-parallel-size (it used to be appended after -tp, and the later value won).
    @Test func shortFlagsWinOverTheProvenance() throws {
        let prov = try JSONNode.parse(data: Data(#"{"model": "olmoe-1b-7b", "gpu": ["NVIDIA H200, 143771 MiB"], "engine_args": {"tensor_parallel_size": 1, "max_num_seqs": 64}}"#.utf8), file: "p.json")
        for given in [["-tp", "2"], ["--tensor-parallel-size", "2"], ["--tensor-parallel-size=2"]] {
            let args = try Manifest.harnessDeployment(prov, given: given, file: "p.json")
            #expect(!args.contains("1") && args.contains("--max-num-seqs"), "\(given): \(args)")
        }
        let none = try Manifest.harnessDeployment(prov, given: [], file: "p.json")
        #expect(none.suffix(4) == ["--max-num-seqs", "64", "--tensor-parallel-size", "1"] || none.contains("--tensor-parallel-size"), "\(none)")
    }
}

@Suite struct ProfileNameCaseTests {
    /// Shipped model and GPU names are found whatever their letter case, as they are usually written; the run is the
    /// same run, and a name that matches nothing in any case is still refused with the choices.
    @Test func shippedNamesIgnoreLetterCase() throws {
        let args = SmallThingsTests.small + ["--json"]
        let lower = runCLI(["run", "--model", "mixtral-8x7b", "--gpu", "h100-sxm-80gb", "-tp", "2"] + args)
        let mixed = runCLI(["run", "--model", "Mixtral-8x7B", "--gpu", "H100-SXM-80GB", "-tp", "2"] + args)
        #expect(lower.code == 0 && mixed.code == 0, "\(mixed.err)")
        // The result file echoes the model as typed (model_id, tokenizer_id), as vLLM's does; everything else is the same.
        func result(_ out: String) throws -> NSDictionary {
            var d = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
            for k in ["model_id", "tokenizer_id", "date"] { d[k] = nil }
            return d as NSDictionary
        }
        #expect(try result(lower.out) == result(mixed.out))
        let bad = runCLI(["run", "--model", "Mixtral-9x7B"] + args)
        #expect(bad.code == 64 && bad.err.contains("'Mixtral-9x7B' is invalid for '--model'"), "\(bad.err)")
    }
}

/// `explain` shows the vLLM engine core's side of the step: how vLLM runs it (CUDA-graph mode), the host time against
/// the GPU time, and for a step without graphs the operations its layers run from the host.
@Suite struct ExplainEngineCoreTests {
    @Test func graphlessPrefillIsHostBoundAndNamesItsOperations() {
        let ex = runCLI(["explain", "--model", "qwen1.5-moe-a2.7b", "--gpu", "h200-sxm-141gb", "--prefill-seqs", "1", "--prefill-len", "700"])
        #expect(ex.code == 0, "\(ex.err)")
        #expect(ex.out.contains("Engine core") && ex.out.contains("no CUDA graph"), "\(ex.out)")
        // Qwen1.5-MoE: 23 operations a layer, of which the fused MoE's 9 and its gated shared expert's 7 (run inside
        // the fused MoE's custom op, SharedFusedMoE) are priced as one MoE layer.
        #expect(ex.out.contains("168 operations one at a time outside the fused MoE (23 per layer"), "\(ex.out)")
        #expect(ex.out.contains("24 fused-MoE layers priced whole with the shared experts their custom op runs"), "\(ex.out)")
        // A lone 700-token prompt on an H200 waits for the host, not the GPU.
        let host = ex.out.components(separatedBy: "graphs): host ").last?.split(separator: " ").first.flatMap { Double($0) } ?? 0
        let gpu = ex.out.components(separatedBy: "against GPU ").last?.split(separator: " ").first.flatMap { Double($0) } ?? 0
        #expect(host > 2 * gpu && gpu > 0, "host \(host) ms, GPU \(gpu) ms")
        // Given a slower host, the section says so and its host time grows with it.
        let slow = runCLI(["explain", "--model", "qwen1.5-moe-a2.7b", "--gpu", "h200-sxm-141gb", "--prefill-seqs", "1", "--prefill-len", "700", "--host-speed", "0.1"])
        #expect(slow.code == 0 && slow.out.contains("at this host, --host-speed 0.1 s: host costs x"), "\(slow.out)")
        let slowHost = slow.out.components(separatedBy: "graphs): host ").last?.split(separator: " ").first.flatMap { Double($0) } ?? 0
        #expect(slowHost > host, "host \(slowHost) ms at 0.1 s against \(host) ms at the reference host")
    }

    @Test func decodeReplaysAFullGraphAndTheHFEngineHasNoEngineCore() {
        let ex = runCLI(["explain", "--model", "mixtral-8x7b", "--gpu", "h200-sxm-141gb", "--decode-seqs", "64", "--kv-len", "600"])
        #expect(ex.code == 0 && ex.out.contains("replayed from one full CUDA graph") && !ex.out.contains("operations one at a time"), "\(ex.out)")
        let hf = runCLI(["explain", "--model", "olmoe-1b-7b", "--engine", "hf", "--batch-size", "4", "--input-len", "64"])
        #expect(hf.code == 0 && !hf.out.contains("Engine core"), "\(hf.err)")
    }
}

/// A vLLM prediction without `--host-speed` says that its host costs are the profile's reference host's, and how to
/// give one's own; with the flag the note goes (the run states the scale it applied instead).
@Suite struct HostAssumptionNoteTests {
    @Test func runSaysWhichHostItAssumes() {
        let base = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--num-prompts", "20", "--random-input-len", "64", "--random-output-len", "8"]
        let plain = runCLI(base)
        #expect(plain.code == 0 && plain.out.contains("note: host: engine profile vllm's reference host") && plain.out.contains("--host-speed"), "\(plain.out)")
        let given = runCLI(base + ["--host-speed", "0.07"])
        #expect(given.code == 0 && !given.out.contains("note: host:"), "\(given.out)")
    }
}

/// A host-bound vLLM prediction is printed again at the ends of the host spread measured across real H200 and H100 hosts
/// (the engine profile's host_spread_low/high, `--host-cost-scale`); a GPU-bound one, or one that sets the scale
/// itself, is not.
@Suite struct HostSpreadTests {
    static let hostBound = ["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--usage-context", "offline", "--num-prompts", "8",
                            "--random-input-len", "2048", "--random-output-len", "8", "--max-num-batched-tokens", "2048", "--max-num-seqs", "256"]

    /// The number right after `marker` (spaces skipped).
    static func number(after marker: String, in s: String) -> Double? {
        guard let rest = s.components(separatedBy: marker).dropFirst().first else { return nil }
        return Double(String(rest.drop { $0 == " " }.prefix { $0.isNumber || $0 == "." }))
    }

    @Test func hostBoundRunPrintsTheSpreadAndItBracketsTheRun() throws {
        let r = runCLI(Self.hostBound)
        #expect(r.code == 0, "\(r.err)")
        // The ends are the shipped profile's (they move when the manifest grows): read them from it.
        let vllm = try Repo.store.engine("vllm")
        // As the note writes them (three significant digits: 0.8 for 0.80).
        let lo = RunCommand.figure(vllm.value("host_spread_low")), hi = RunCommand.figure(vllm.value("host_spread_high"))
        #expect(vllm.value("host_spread_low") < 1 && vllm.value("host_spread_high") > 1)
        let note = r.out.split(separator: "\n").first { $0.hasPrefix("note: host spread:") }.map(String.init) ?? ""
        #expect(note.contains("\(lo)-\(hi)x") && note.contains("--host-cost-scale"), "\(r.out)")
        let duration = Self.number(after: "Benchmark duration (s):", in: r.out) ?? 0
        let fast = Self.number(after: "this run takes ", in: note) ?? 0
        let slow = Self.number(after: "this run takes \(String(format: "%.3g", fast)) / ", in: note) ?? 0
        #expect(fast > 0 && fast < duration && duration < slow, "x\(lo) \(fast) s, as predicted \(duration) s, x\(hi) \(slow) s: \(note)")
        // The ends are the runs --host-cost-scale gives, and the output is the same every time.
        let low = runCLI(Self.hostBound + ["--host-cost-scale", lo])
        #expect(low.code == 0 && low.out.contains(String(format: "Benchmark duration (s):                  %.2f", fast)), "\(low.out)")
        #expect(!low.out.contains("note: host spread:"), "a run that sets the scale gets no spread: \(low.out)")
        #expect(runCLI(Self.hostBound).out == r.out)
    }

    @Test func gpuBoundRunHasNoSpreadAndBadScalesAreRefused() {
        let gpuBound = runCLI(["run", "--model", "mixtral-8x7b", "--gpu", "h200-sxm-141gb", "--num-prompts", "64", "--random-input-len", "128",
                               "--random-output-len", "64", "--max-concurrency", "64"])
        #expect(gpuBound.code == 0 && !gpuBound.out.contains("note: host spread:"), "\(gpuBound.out)")
        for bad in ["0", "-1", "25", "nan", "x"] {
            let r = runCLI(["run", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--num-prompts", "4", "--host-cost-scale", bad])
            #expect(r.code != 0 && r.err.contains("--host-cost-scale") && r.err.contains(bad), "\(bad): \(r.err)")
        }
        let hf = runCLI(["run", "--model", "olmoe-1b-7b", "--engine", "hf", "--batch-size", "2", "--input-len", "16", "--output-len", "4", "--host-cost-scale", "2"])
        #expect(hf.code != 0 && hf.err.contains("--host-cost-scale"), "\(hf.err)")
    }

    @Test func explainScalesTheEngineCoreAndSaysSo() {
        let base = ["explain", "--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb", "--prefill-seqs", "1", "--prefill-len", "2048"]
        let plain = runCLI(base), twice = runCLI(base + ["--host-cost-scale", "2"])
        let host = Self.number(after: "graphs): host ", in: plain.out) ?? 0, host2 = Self.number(after: "graphs): host ", in: twice.out) ?? 0
        #expect(host > 0 && abs(host2 - 2 * host) < 0.01, "host \(host) ms, x2: \(host2) ms")
        #expect(twice.out.contains("with host costs x2 (--host-cost-scale)") && twice.err.contains("'--host-cost-scale' scales"), "\(twice.out)\n\(twice.err)")
    }
}
