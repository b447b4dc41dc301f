import Foundation
import SimKit
import Cluster
import Serving

/// Runs one simulation from `moesim run` arguments, with either engine. Shared by `run`, `sweep`,
/// `calibrate`, `validate` and `reproduce`, so that a manifest's `args` mean exactly what the command line means.
public enum Simulation {
    public struct Outcome {
        public var result: RunResult
        public var deployment: Deployment
        public var workload: String
        /// The workload's warnings and notes, for stderr.
        public var notes: [String] = []
    }

    public static func run(arguments args: [String], store: ProfileStore, engineOverride: EngineProfile? = nil,
                           progress: (@Sendable (Double) -> Void)? = nil) throws -> Outcome {
        let a = try ParsedArguments(args, options: RunOptions.deployment + RunOptions.workload + RunOptions.output)
        // Argument lists of sweeps and manifests: their results go to the command's own outputs.
        try RunOptions.refuseUnused(a, RunOptions.output.map(\.name), because: "in a spec's or manifest's arguments (the command writes the results)")
        return try run(a, store: store, engineOverride: engineOverride, progress: progress)
    }

    /// The engine a run's argument list uses ('vllm' unless --engine says otherwise).
    public static func engineKind(_ args: [String]) -> String {
        var kind = "vllm"
        for (i, x) in args.enumerated() {
            if x == "--engine", i + 1 < args.count { kind = args[i + 1] }
            else if x.hasPrefix("--engine=") { kind = String(x.dropFirst("--engine=".count)) }
        }
        return kind
    }

    public static func run(_ a: ParsedArguments, store: ProfileStore, engineOverride: EngineProfile? = nil,
                           progress: (@Sendable (Double) -> Void)? = nil) throws -> Outcome {
        if (a.string("--engine") ?? "vllm") == "vllm", latencyFlags.contains(where: a.has) {
            return try benchLatency(a, store: store, engineOverride: engineOverride)
        }
        let d = try RunOptions.deployment(a, store: store, engineOverride: engineOverride)
        let seed = try RunOptions.seed(a)
        switch d.engine.kind {
        case .vllm:
            if a.string("--generation") == "diffusion" {
                throw InputError.usage("vLLM does not support diffusion generation; use '--engine hf'")
            }
            if d.model.isDiffusion { throw InputError.usage("\(d.model.name) is a diffusion model; vLLM cannot serve it: use '--engine hf --generation diffusion'") }
            for f in ["--diffusion-steps", "--gen-length", "--block-length", "--experts-impl", "--cfg", "--expert-reuse"] where a.has(f) {
                throw InputError.usage("'\(f)' applies to '--engine hf'; the vLLM engine takes the benchmark's workload flags")
            }
            var w = try RunOptions.workload(a, seed: seed)
            let refused = try applyMaxModelLen(&w, d)
            if let k = try a.positiveInt("--first-step-requests"), k < w.requests.count {
                // The engine core's first schedule holds the first k requests; the rest reach it during that step
                // (sent just after its wake-up, which would otherwise take them in too).
                let after = SimTime.microseconds(d.hostParam("idle_wake_us") + 1)
                for i in k..<w.requests.count { w.requests[i].arrival = after }
                w.notes.append("note: --first-step-requests \(k): vLLM's first step holds the first \(k) of the \(w.requests.count) requests, the rest join from the second step")
            }
            let whatIf = d.overrides["host_cost_scale"]
            if let s = d.hostSpeedS {
                w.notes.append(String(format: "host costs x%.3f: --host-speed %.4g s against ", d.hostScale, s)
                               + "engine profile \(d.engine.name)'s reference host at " + String(format: "%.4g s (exponent %.3g)", d.param("host_speed_reference_s"), d.param("host_speed_exponent"))
                               + (whatIf.map { String(format: ", times --host-cost-scale %.4g", $0) } ?? ""))
            } else if let x = whatIf {
                w.notes.append(String(format: "host costs x%.4g (--host-cost-scale, a what-if) against engine profile ", x) + "\(d.engine.name)'s reference host")
            }
            if a.has("--save-detailed") {
                // Each request's inter-token latencies are kept: 8 bytes per output token, and an array per request.
                try Limits.checkMemory(Double(w.totalOutputTokens) * 8 + Double(w.requests.count) * 64, what: "--save-detailed's per-request ITLs of \(w.totalOutputTokens) output tokens",
                                       flag: "--num-prompts or --random-output-len")
            }
            if var many = try RunOptions.instanceSimulator(a, deployment: d, workload: w, seed: seed, store: store) {
                // The multi-instance path keeps what the single-instance one keeps on request.
                many.recordRequestITLs = a.has("--save-detailed")
                many.recordTimeline = a.has("--timeline")
                var r = try many.run()
                r.failedRequests = refused
                return Outcome(result: r, deployment: d, workload: w.description, notes: d.notes + w.notes)
            }
            var sim = try RunOptions.vllmSimulator(a, deployment: d, workload: w, seed: seed, store: store)
            sim.progress = progress
            sim.recordRequestITLs = a.has("--save-detailed")
            sim.recordTimeline = a.has("--timeline")
            var r = try sim.run()
            r.failedRequests = refused
            return Outcome(result: r, deployment: d, workload: w.description, notes: d.notes + w.notes)
        case .hf:
            if a.has("--timeline") { throw InputError.usage("'--timeline' records the vLLM engine's steps; the HF engine's static batch has none to show (its forwards are in 'moesim explain --engine hf')") }
            let sim = try RunOptions.hfSimulator(a, deployment: d, seed: seed)
            let batch = sim.batchSize, inputLen = sim.inputLen, sched = sim.diffusion
            let desc = sched.map { "diffusion: batch \(batch), prompt \(inputLen), \($0.steps) steps, gen \($0.genLength), block \($0.blockLength)" }
                ?? "static batch \(batch) x \(inputLen) in / \(sim.outputLen) out"
            return Outcome(result: try sim.run(), deployment: d, workload: desc, notes: d.notes)
        }
    }

    /// Requests longer than max_model_len, as vLLM 0.24 treats them (read from its code). Serving (`vllm serve`): the
    /// OpenAI server refuses a completion whose prompt exceeds max_model_len less its max_tokens (HTTP 400, "This
    /// model's maximum context length is ...", vllm/renderers/params.py), and `vllm bench serve` counts it in `failed`
    /// and leaves it out of every metric; the request is taken out of the workload (its refusal is immediate, so it
    /// holds no concurrency slot and no later send moves) and returned. Offline (`LLM.generate`): a prompt of
    /// max_model_len tokens or more fails the whole call (vllm/v1/engine/input_processor.py), and an output that would
    /// run past max_model_len stops there (FINISHED_LENGTH_CAPPED in the scheduler's check_stop), so it is shortened.
    static func applyMaxModelLen(_ w: inout Workload, _ d: Deployment) throws -> [RunResult.FailedRequest] {
        let maxLen = d.maxLen
        guard maxLen > 0, w.requests.contains(where: { $0.inputTokens + $0.outputTokens > maxLen }) else { return [] }
        let source = d.maxModelLen == nil ? "\(d.model.name)'s max_position_embeddings" : "--max-model-len"
        if d.usageContext == .offline {
            if let i = w.requests.firstIndex(where: { $0.inputTokens >= maxLen }) {
                let p = w.requests[i].inputTokens
                throw InputError.usage(p > maxLen
                    ? "request \(i + 1): the decoder prompt (length \(p)) is longer than the maximum model length of \(maxLen) (\(source)); vLLM's LLM.generate fails the whole call on it"
                    : "request \(i + 1): the decoder prompt (length \(p)) plus the number of requested output tokens (at least 1) is longer than the maximum model length of \(maxLen) (\(source)); vLLM's LLM.generate fails the whole call on it")
            }
            var capped = 0, cut = 0
            for i in w.requests.indices where w.requests[i].inputTokens + w.requests[i].outputTokens > maxLen {
                let keep = maxLen - w.requests[i].inputTokens
                cut += w.requests[i].outputTokens - keep
                w.requests[i].outputTokens = keep
                capped += 1
            }
            w.notes.append("note: \(capped) of \(w.requests.count) requests would run past max_model_len \(maxLen) (\(source)); vLLM stops them there (finish reason 'length'), so their outputs are \(cut) tokens shorter in all")
            return []
        }
        var kept: [Request] = [], refused: [RunResult.FailedRequest] = []
        kept.reserveCapacity(w.requests.count)
        for (i, r) in w.requests.enumerated() {
            if r.inputTokens + r.outputTokens <= maxLen { kept.append(r); continue }
            refused.append(.init(index: i, inputTokens: r.inputTokens, sendMs: Double(r.arrival.ns) / 1e6,
                                 error: "HTTP 400: This model's maximum context length is \(maxLen) tokens. However, you requested \(r.outputTokens) output tokens and your prompt contains \(r.inputTokens) input tokens, for a total of \(r.inputTokens + r.outputTokens) tokens. Please reduce the length of the input prompt or the number of requested output tokens."))
        }
        guard !kept.isEmpty else {
            throw InputError.usage("every one of the \(refused.count) requests is longer than max_model_len \(maxLen) (\(source)) with its output (the first: \(w.requests[0].inputTokens) + \(w.requests[0].outputTokens) tokens); vLLM's server would refuse them all. Shorten the requests or raise --max-model-len")
        }
        w.requests = kept
        w.notes.append("warning: \(refused.count) of \(refused.count + kept.count) requests have prompt + output tokens above max_model_len \(maxLen) (\(source)); vLLM's server refuses them (HTTP 400), and they are counted in 'failed' and left out of every metric, as vllm bench serve leaves them")
        return refused
    }

    /// `vllm bench latency`'s flags: with the vLLM engine they ask for that benchmark.
    static let latencyFlags = ["--batch-size", "--input-len", "--output-len", "--num-iters-warmup", "--num-iters"]

    /// `vllm bench latency` (vllm/benchmarks/latency.py): the offline `LLM` generates one batch of `--batch-size`
    /// prompts of `--input-len` random tokens and `--output-len` outputs (EOS ignored), `--num-iters-warmup` times and
    /// then `--num-iters` times, reporting each iteration's latency. vLLM turns prefix caching off for this benchmark
    /// (`parser.set_defaults(enable_prefix_caching=False)`: "prefix caching skews the latency numbers"), so every
    /// iteration computes its prompts: one cold batch. With `--enable-prefix-caching` the prompts, the same every
    /// iteration, are cached after the first: moesim runs the cold batch, then the same prompts the moment it ends,
    /// and every iteration after the first takes the warm batch's time (with no warm-up the first measured one is cold).
    static func benchLatency(_ a0: ParsedArguments, store: ProfileStore, engineOverride: EngineProfile?) throws -> Outcome {
        var a = a0
        if let u = a.string("--usage-context"), u != "offline" {
            throw InputError.usage("'--batch-size', '--input-len' and '--output-len' run vllm bench latency, which drives vLLM's offline LLM class; leave out '--usage-context \(u)' (or give a serving workload: --random-input-len, --random-output-len, --num-prompts)")
        }
        a.values["--usage-context"] = "offline"
        // vLLM's latency benchmark defaults prefix caching off.
        if !a.has("--enable-prefix-caching") { a.flags.insert("--no-enable-prefix-caching") }
        try RunOptions.refuseUnused(a, ["--num-prompts", "--first-step-requests", "--request-rate", "--burstiness", "--max-concurrency", "--trace", "--trace-limit", "--trace-time-scale",
                                        "--dataset-name", "--dataset-path", "--random-input-len", "--random-output-len", "--random-range-ratio", "--random-prefix-len",
                                        "--replicas", "--prefill-instances", "--decode-instances", "--save-detailed", "--goodput"] + RunOptions.rampUpFlags,
                                    because: "by vllm bench latency, which --batch-size, --input-len and --output-len ask for on the vLLM engine (one batch of random prompts; the serving benchmark takes the workload flags instead; '--engine hf' for Transformers' static batch)")
        let d = try RunOptions.deployment(a, store: store, engineOverride: engineOverride)
        let seed = try RunOptions.seed(a)
        let batch = try a.positiveInt("--batch-size") ?? 8, inLen = try a.positiveInt("--input-len") ?? 32, outLen = try a.positiveInt("--output-len") ?? 128
        let warmups = try a.int("--num-iters-warmup") ?? 10
        guard warmups >= 0 else { throw a.invalid("--num-iters-warmup", a.string("--num-iters-warmup")!, "must be 0 or more") }
        if let n = try a.int("--num-iters"), n < 1 { throw a.invalid("--num-iters", "\(n)", "must be 1 or more") }
        guard inLen + outLen <= d.maxLen else {
            throw InputError.usage("--input-len \(inLen) + --output-len \(outLen) = \(inLen + outLen) tokens; \(d.model.name) accepts at most \(d.maxLen) (\(d.maxLenSource))")
        }
        try Limits.checkWork(tokens: 2 * Double(batch) * Double(inLen + outLen), flag: "--batch-size, --input-len or --output-len")
        // Each row of vLLM's random prompts is its own (np.random.randint over 10,000 token ids): a prefix of its own,
        // the whole prompt, which only its own later iterations share.
        func batchRequests(at t: Double) -> [Request] {
            (0..<batch).map { Request(arrival: .seconds(t), inputTokens: inLen, outputTokens: outLen, prefixKey: 0x4C41_5445_0000_0000 | UInt64($0 + 1), sharedTokens: inLen) }
        }
        let desc = "vllm bench latency: batch \(batch) x \(inLen) in / \(outLen) out"
        func simulate(_ reqs: [Request], _ dep: Deployment) throws -> (RunResult, VLLMSimulator) {
            let w = Workload(requests: reqs, maxConcurrency: nil, description: desc)
            let sim = try RunOptions.vllmSimulator(a, deployment: dep, workload: w, seed: seed, store: store)
            return (try sim.run(), sim)
        }
        // The engine's first batch meets the step sizes start-up did not compile (a first-use wait, `VLLMSimulator.
        // FirstUse`); every later batch of the same prompts meets the same sizes, compiled by then: it is priced with
        // every size warm. So the warm-up iterations, not the measured ones, pay the compiles (with no warm-up, the
        // first measured iteration does).
        var warmDep = d
        warmDep.allWarm = true
        var (result, sim) = try simulate(batchRequests(at: 0), d)
        let coldFirst = result.durationS, iters = try a.int("--num-iters") ?? 30
        let compiled = result.waitedForFirstUse
        let (later, _) = compiled ? try simulate(batchRequests(at: 0), warmDep) : (result, sim)
        let cold = later.durationS
        if warmups > 0 { result = later }
        var latencies = Array(repeating: cold, count: iters)
        if warmups == 0 { latencies[0] = coldFirst }
        var note = "every iteration a cold batch (vLLM's latency benchmark runs with prefix caching off unless --enable-prefix-caching)"
        if compiled {
            note += warmups == 0
                ? String(format: "; the first measured iteration, with no warm-up, waits for the first-use compiles of its step sizes (%.4f s), the later ones do not", coldFirst)
                : String(format: "; the warm-up iterations compiled the batch's step sizes (a first-use wait of the engine's first batch: %.4f s against %.4f s), so the measured ones do not wait", coldFirst, cold)
        }
        if sim.prefixCaching {
            // From the second iteration each prompt's whole blocks are cached: a batch of other step sizes, whose sizes
            // the first such batch compiles (a warm-up from the second on, else the first or second measured one).
            let (firstPair, _) = try simulate(batchRequests(at: 0) + batchRequests(at: coldFirst), d)
            let warmFirst = firstPair.durationS - coldFirst
            var warm = warmFirst
            if compiled || firstPair.waitedForFirstUse {
                let (pair, _) = try simulate(batchRequests(at: 0) + batchRequests(at: cold), warmDep)
                warm = pair.durationS - cold
                result = warmups >= 2 ? pair : firstPair
            } else {
                result = firstPair
            }
            latencies = Array(repeating: warm, count: iters)
            if warmups == 1 { latencies[0] = warmFirst }
            if warmups == 0 {
                latencies[0] = coldFirst
                if iters > 1 { latencies[1] = warmFirst }
            }
            note = String(format: "--enable-prefix-caching: after the first iteration each prompt's whole blocks are cached, so a batch computes only their last partial blocks (%.4f s warm, %.4f s cold%@)",
                          warm, coldFirst, warmups == 0 ? ", the first measured iteration, with no warm-up" : ", the warm-up's")
                + (warmFirst != warm ? String(format: "; the first cached batch waits for the first-use compiles of its step sizes (%.4f s)%@", warmFirst, warmups >= 2 ? ", in the warm-up" : "") : "")
        }
        let latency = latencies.reduce(0, +) / Double(latencies.count)
        result.benchLatencyS = latency
        result.benchLatencies = latencies
        // vllm bench latency reports no throughput: the two-batch simulation's elapsed time is not a figure of it.
        result.offline = false
        result.notes.append("vllm bench latency: " + note)
        return Outcome(result: result, deployment: d, workload: desc, notes: d.notes)
    }

    /// The result as ordered JSON fields: what was run, then the benchmark's keys.
    public static func fields(_ o: Outcome) -> [(String, Any)] {
        [("model", o.deployment.model.name), ("gpu", o.deployment.gpu.name), ("plan", o.deployment.plan.vllmFlags),
         ("strategy", o.deployment.plan.strategy?.rawValue ?? NSNull()), ("engine", o.deployment.engine.name),
         ("workload", o.workload)] + o.result.fields()
    }
}
