import Foundation
import Cluster
import Serving
import Studies

/// `moesim explain`: one engine step, per layer, per GPU, per component.
enum ExplainCommand {
    static let spec = CommandSpec(
        name: "explain", abstract: "Take one engine step apart: per layer, per GPU, per component, with the volumes moved.",
        usage: "moesim explain --model <name> [--gpu <name>] [--strategy <s> | plan flags] [--decode-seqs <n> --kv-len <n>] [--prefill-seqs <n> --prefill-len <n>] [--json]",
        discussion: """
        Shows where one step's time goes: attention, GEMMs, experts on every GPU (and the straggler), and each
        collective with the formula that gave its volume (the paper's eq. 2 for TP all-reduce, eq. 3 for EP
        all-to-all). Sequences are split evenly over DP ranks.

        Example (why TP and EP differ for OLMoE):
          moesim explain --model olmoe-1b-7b --strategy tp --decode-seqs 64 --kv-len 256
          moesim explain --model olmoe-1b-7b --strategy ep --decode-seqs 64 --kv-len 256
        With --engine hf it explains one forward of the Transformers engine instead (host versus GPU time):
          moesim explain --model llada-moe-7b --engine hf --engine-profile hf-a100-hegde2025 --generation diffusion --gen-length 64 --input-len 64
        """,
        arguments: [],
        options: RunOptions.deployment + RunOptions.workload.filter { ["--batch-size", "--input-len", "--generation", "--diffusion-steps", "--gen-length", "--block-length", "--cfg", "--expert-reuse", "--random-prefix-len"].contains($0.name) } + [
            OptionSpec("--decode-seqs", "<n>", "Decode sequences in the step.", default: "64"),
            OptionSpec("--kv-len", "<n>", "Cached tokens of each decode sequence.", default: "512"),
            OptionSpec("--prefill-seqs", "<n>", "Prompts prefilled in the step.", default: "0"),
            OptionSpec("--prefill-len", "<n>", "Tokens of each prompt.", default: "512"),
            OptionSpec("--seed", "<n>", "Routing seed.", default: "0"),
            OptionSpec("--json", nil, "Print the explanation as JSON."),
        ])

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options)
        let store = try ctx.store()
        let d = try RunOptions.deployment(a, store: store)
        if let n = RunOptions.strategyNote(a) { ctx.err(n + "\n") }
        if d.engine.kind == .hf {
            try RunOptions.refuseUnused(a, ["--decode-seqs", "--kv-len", "--prefill-seqs", "--prefill-len"] + RunOptions.vllmOnlyFlags.filter { a.has($0) },
                                        because: "by '--engine hf' (it explains one forward of --batch-size sequences at --input-len)")
            try explainHF(a, d, ctx); return
        }
        try RunOptions.refuseUnused(a, RunOptions.hfOnlyFlags, because: "by the vLLM engine's explanation (use --decode-seqs, --kv-len, --prefill-seqs, --prefill-len)")
        if a.string("--generation") == "diffusion" || d.model.isDiffusion {
            throw InputError.usage("vLLM cannot serve diffusion generation; explain it with '--engine hf --generation diffusion'")
        }
        let decodeSeqs = try a.int("--decode-seqs") ?? (a.has("--prefill-seqs") ? 0 : 64), kvLen = try a.int("--kv-len") ?? 512
        let prefillSeqs = try a.int("--prefill-seqs") ?? 0, prefillLen = try a.int("--prefill-len") ?? 512
        // The step must be one the scheduler can form under --max-num-seqs and --max-num-batched-tokens, when given:
        // decodes go to DP rank i % DP, prompts after them in turn (as the step below is built).
        do {
            let dp = d.plan.dataParallel
            var seqs = Array(repeating: 0, count: dp), tokens = Array(repeating: 0, count: dp)
            for r in 0..<dp {
                let dec = decodeSeqs / dp + (r < decodeSeqs % dp ? 1 : 0)
                let pre = prefillSeqs / dp + ((r - decodeSeqs % dp + dp) % dp < prefillSeqs % dp ? 1 : 0)
                seqs[r] = dec + pre; tokens[r] = dec + pre * prefillLen
            }
            let rank = dp > 1 ? " on its largest DP rank" : ""
            if let m = try a.positiveInt("--max-num-seqs"), let most = seqs.max(), most > m {
                throw InputError.usage("the step holds \(most) sequences\(rank) (--decode-seqs + --prefill-seqs); '--max-num-seqs \(m)' lets the scheduler run at most \(m): lower them or raise --max-num-seqs")
            }
            if let m = try a.positiveInt("--max-num-batched-tokens"), let most = tokens.max(), most > m {
                throw InputError.usage("the step computes \(most) tokens\(rank) (--decode-seqs + --prefill-seqs x --prefill-len); '--max-num-batched-tokens \(m)' lets the scheduler take at most \(m) (it would chunk the prompts): lower them or raise --max-num-batched-tokens")
            }
        }
        // What 'run' refuses, explain refuses: a context past the model's maximum or larger than the KV cache.
        for (flag, len, used) in [("--kv-len", kvLen + 1, decodeSeqs > 0), ("--prefill-len", prefillLen, prefillSeqs > 0)] where used {
            guard len <= d.model.maxPositions else {
                throw InputError.usage("\(flag) \(flag == "--kv-len" ? "\(kvLen) + the decoded token = \(len)" : "\(len)") tokens; \(d.model.name) accepts at most \(d.model.maxPositions) (max_position_embeddings)")
            }
            let mem = d.memoryPlan()
            try mem.check(model: d.model, plan: d.plan, gpu: d.gpu)
            guard len <= mem.kvTokens else {
                throw InputError.data("a sequence of \(len) tokens (\(flag)) needs more KV cache than \(d.model.name) under \(d.plan.vllmFlags) on \(d.gpu.name) holds: \(mem.kvTokens) tokens per DP rank")
            }
        }
        // The whole step's KV must fit as well, as the scheduler would require: sequences split over the DP ranks.
        let mem = d.memoryPlan()
        try mem.check(model: d.model, plan: d.plan, gpu: d.gpu)
        let dp = d.plan.dataParallel
        let perRank = Double((decodeSeqs + dp - 1) / dp) * Double(kvLen + 1) + Double((prefillSeqs + dp - 1) / dp) * Double(prefillLen)
        guard perRank <= Double(mem.kvTokens) else {
            throw InputError.data("the step holds \(Int(perRank)) tokens of KV cache per DP rank (--decode-seqs x (--kv-len + 1) + --prefill-seqs x --prefill-len); \(d.model.name) under \(d.plan.vllmFlags) on \(d.gpu.name) holds \(mem.kvTokens) per DP rank")
        }
        let e = try StepExplanation(deployment: d, decodeSeqs: decodeSeqs, kvLen: kvLen, prefillSeqs: prefillSeqs,
                                    prefillLen: prefillLen, seed: try RunOptions.seed(a))
        let serving = try ServingExplanation(a, deployment: d, decodeSeqs: decodeSeqs, kvLen: kvLen, prefillSeqs: prefillSeqs, prefillLen: prefillLen,
                                             seed: try RunOptions.seed(a), store: store)
        if a.has("--json") { ctx.out(JSONWriter.write(json(e) + serving.json) + "\n") } else { ctx.out(text(e) + serving.text) }
    }

    /// One forward of the Hugging Face engine: where the time goes between the GPU and the Python host.
    static func explainHF(_ a: ParsedArguments, _ d: Deployment, _ ctx: Context) throws {
        let sim = try RunOptions.hfSimulator(a, deployment: d, seed: try RunOptions.seed(a))
        let inputLen = sim.inputLen, sched = sim.diffusion
        let f = try sim.explainForward()
        let s = f.step
        if a.has("--json") {
            ctx.out(JSONWriter.write([("model", d.model.name), ("gpu", d.gpu.name), ("engine", d.engine.name), ("experts_impl", f.impl.rawValue),
                                      ("tokens", f.tokens), ("experts_hit_per_moe_layer", f.expertsHitPerLayer),
                                      ("forward_us", [("attention", s.attention), ("dense_gemm", s.denseGEMM), ("experts", s.experts),
                                                      ("communication", s.communication), ("host_and_sync", s.overhead), ("total", s.total)] as [(String, Any)]),
                                      ("memory_per_gpu_gb", memoryFields(sim.layout.memoryPlan(d)))]) + "\n")
            return
        }
        var t = "\(d.model.name) on \(d.plan.gpuCount)x \(d.gpu.name), Hugging Face engine '\(d.engine.name)', experts_impl \(f.impl.rawValue)\n"
        t += sched.map { "one denoising step: a bidirectional forward over \(f.tokens) positions (prompt \(inputLen) + \($0.genLength) generated), no KV cache\n" }
            ?? "one decode step of \(f.tokens) sequences at \(inputLen) cached tokens\n"
        let parts: [(String, Double)] = [("attention (GPU)", s.attention), ("dense GEMMs (GPU)", s.denseGEMM), ("experts (GPU)", s.experts),
                                         ("communication", s.communication), ("host Python + syncs", s.overhead)]
        let mx = parts.map(\.1).max() ?? 1
        for (n, v) in parts { t += "  " + n.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%9.3f ms  ", v / 1e3) + textBar(v, max: mx) + "\n" }
        t += String(format: "  %@%9.3f ms; the host's share is %.0f%%\n", "total".padding(toLength: 22, withPad: " ", startingAt: 0), s.total / 1e3, s.overhead / max(s.total, 1) * 100)
        if let moe = d.model.moe {
            t += String(format: "  each of the %d MoE layers hits %.1f of %d experts", d.model.moeLayerCount, f.expertsHitPerLayer, moe.experts)
            if f.impl == .eager {
                t += String(format: "; the eager loop pays %.0f us of Python and %.0f us of sync per hit expert, %.1f ms per forward",
                            d.param("host_per_expert_us"), d.param("sync_us"),
                            f.expertsHitPerLayer * Double(d.model.moeLayerCount) * (d.param("host_per_expert_us") + d.param("sync_us")) / 1e3)
            }
            t += "\n"
        }
        if d.plan.gpuCount > 1 {
            t += "under Transformers' \(sim.layout.expertParallel ? "EP" : "TP") plan (attention \(sim.layout.attention.rawValue), experts \(sim.layout.experts.rawValue)), "
                + memoryText(d, sim.layout.memoryPlan(d))
        }
        ctx.out(t)
    }

    static func json(_ e: StepExplanation) -> [(String, Any)] {
        let d = e.deployment
        return [
            ("model", d.model.name), ("gpu", d.gpu.name), ("plan", d.plan.vllmFlags), ("strategy", d.plan.strategy?.rawValue ?? NSNull()),
            ("all2all_backend", d.plan.all2allBackend.vllmName), ("routing", "\(d.routing)"),
            ("quantization", d.model.quantization.method), ("kv_cache_bytes_per_element", d.model.kvCacheBytes),
            ("nodes", d.topology.nodes), ("gpus_per_node", d.topology.gpusPerNode), ("network", d.topology.network?.name ?? NSNull()),
            ("memory_per_gpu_gb", memoryFields(d.memoryPlan())),
            ("tokens", e.batch.tokens), ("tokens_per_dp_rank", e.perRank.map(\.tokens)),
            ("layer", e.layer.map { c -> [(String, Any)] in
                [("component", c.name), ("time_us", c.us), ("flops", c.flops), ("bytes", c.bytes), ("bound", c.bound), ("formula", c.formula), ("source", c.source)] }),
            ("kernel_tables", e.kernelTables ?? NSNull()),
            ("sources", e.sources.map { x -> [(String, Any)] in [("component", x.component), ("sources", x.sources)] }),
            ("experts_per_gpu", e.expertsPerGPU.map { g -> [(String, Any)] in [("gpu", g.gpu), ("token_expert_pairs", g.tokens), ("experts_hit", g.experts), ("time_us", g.us)] }),
            ("straggler", e.straggler.map { s -> Any in [("gpu", s.gpu), ("extra_pairs", s.extraTokens), ("extra_pct", s.extraPct)] as [(String, Any)] } ?? NSNull()),
            ("step_us", [("attention", e.step.attention), ("dense_gemm", e.step.denseGEMM), ("experts", e.step.experts),
                         ("communication", e.step.communication), ("gpu_total", e.step.gpu)] as [(String, Any)]),
            ("pipeline", e.stages.isEmpty ? NSNull() : [
                ("stages", e.stages.map { st -> [(String, Any)] in
                    [("first_layer", st.layers.lowerBound), ("layers", st.layers.count), ("moe_layers", st.moeLayers), ("gpu_us", st.us),
                     ("send_to_next_us", st.sendUs), ("send_crosses_nodes", st.sendCrossesNodes), ("memory_per_gpu_gb", memoryFields(st.memory))] }),
                ("batch_latency_us", e.pipelineLatencyUs), ("interval_us", e.pipelineIntervalUs)] as [(String, Any)]),
        ]
    }

    static func memoryFields(_ m: MemoryPlan) -> [(String, Any)] {
        [("attention_weights", m.attentionWeightBytes / 1e9), ("dense_weights", m.denseWeightBytes / 1e9), ("expert_weights", m.expertWeightBytes / 1e9),
         ("embedding_weights", m.embeddingWeightBytes / 1e9), ("weights", m.weightBytes / 1e9), ("reserve", m.reserveBytes / 1e9),
         ("budget", m.budgetBytes / 1e9), ("kv_cache", m.kvBytes / 1e9), ("kv_bytes_per_token", m.kvBytesPerToken), ("kv_tokens", m.kvTokens)]
    }

    /// Memory per GPU as a user would compute it by hand: parameters x bytes per weight / sharding.
    static func memoryText(_ d: Deployment, _ plan: MemoryPlan? = nil) -> String {
        let m = plan ?? d.memoryPlan(), q = d.model.quantization
        var s = String(format: "memory per GPU: weights %.1f GB (attention %.1f, dense/shared/router %.1f, experts %.1f, embeddings+LM head %.1f) + reserve %.1f of %.1f GB usable; KV cache %.1f GB = %d tokens at %.0f bytes/token\n",
                       m.weightBytes / 1e9, m.attentionWeightBytes / 1e9, m.denseWeightBytes / 1e9, m.expertWeightBytes / 1e9, m.embeddingWeightBytes / 1e9,
                       m.reserveBytes / 1e9, m.budgetBytes / 1e9, m.kvBytes / 1e9, m.kvTokens, m.kvBytesPerToken)
        s += String(format: "  by hand: %.2fB params; weights %@, embeddings and LM head bf16; KV cache %@\n", d.model.totalParams / 1e9,
                    q.isQuantized ? "\(q.method) at \(String(format: "%.4g", q.expertBytes)) bytes (experts) and \(String(format: "%.4g", q.linearBytes)) (other linear layers)" : "bf16 (2 bytes)",
                    d.model.kvCacheBytes == 2 ? "bf16" : "fp8")
        return s
    }

    static func text(_ e: StepExplanation) -> String {
        let d = e.deployment
        var s = "\(d.model.name) on \(d.plan.gpuCount)x \(d.gpu.name)\n"
        if let st = d.plan.strategy { s += "strategy \(st.rawValue) = \(d.plan.vllmFlags)  (\(st.summary(d.plan)))\n" } else { s += "plan: \(d.plan.vllmFlags)\n" }
        if d.topology.isMultiNode { s += "nodes: \(d.topology.nodes) x \(d.topology.gpusPerNode) GPUs, network \(d.topology.network?.displayName ?? "none")\n" }
        if d.plan.expertParallel { s += "expert all-to-all backend: \(d.plan.all2allBackend.vllmName); routing: \(d.routing)\(d.plan.eplb ? "; EPLB with \(d.plan.redundantExperts) redundant experts per layer" : "")\n" }
        s += memoryText(d)
        s += "step: \(e.batch.decodeSequences) decode sequences (context \(Int(e.batch.decodeContext) / max(1, e.batch.decodeSequences)) each), \(e.batch.tokens - e.batch.decodeSequences) prefill tokens = \(e.batch.tokens) tokens"
        if e.perRank.count > 1 { s += "; per DP rank \(e.perRank.map { String($0.tokens) }.joined(separator: " / "))" }
        s += "\n\nOne \(d.model.isMoE ? "MoE" : "decoder") layer on the busiest GPU (\(e.layersOfKind.map { "\($0.1) \($0.0) layers" }.joined(separator: ", ")) in all):\n"
        let maxUs = e.layer.map(\.us).max() ?? 1
        s += "  " + "component".padding(toLength: 32, withPad: " ", startingAt: 0) + "    time     GFLOP       MB  bound\n"
        for c in e.layer {
            s += "  " + c.name.padding(toLength: 32, withPad: " ", startingAt: 0)
                + String(format: "%7.1f us %8.3f %8.2f  %-7@ ", c.us, c.flops / 1e9, c.bytes / 1e6, c.bound) + textBar(c.us, max: maxUs, width: 24) + "\n"
            s += "      " + c.formula + "\n"
            if !c.source.isEmpty { s += "      time: " + c.source + "\n" }
        }
        if !e.expertsPerGPU.isEmpty {
            s += "\nExperts per GPU in that layer (one routing draw):\n"
            let mx = e.expertsPerGPU.map(\.us).max() ?? 1
            for g in e.expertsPerGPU {
                s += String(format: "  GPU %d: %5d token-expert pairs, %3d experts hit, %8.1f us ", g.gpu, g.tokens, g.experts, g.us) + textBar(g.us, max: mx, width: 24) + "\n"
            }
            if let st = e.straggler { s += String(format: "  straggler: GPU %d with %+d pairs (%+.1f%%) over the mean; the layer waits for it\n", st.gpu, st.extraTokens, st.extraPct) }
        }
        let b = e.step
        s += "\nWhole step (GPU time, all layers):\n"
        let parts: [(String, Double)] = [("attention", b.attention), ("dense GEMMs", b.denseGEMM), ("experts", b.experts), ("communication", b.communication)]
        let mx = parts.map(\.1).max() ?? 1
        for (n, v) in parts { s += "  " + n.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%9.3f ms  ", v / 1e3) + textBar(v, max: mx) + "\n" }
        s += String(format: "  %@%9.3f ms (engine overhead comes on top; see 'moesim run')\n", "total".padding(toLength: 16, withPad: " ", startingAt: 0), b.gpu / 1e3)
        if !e.stages.isEmpty {
            s += "\nPipeline: \(e.stages.count) stages of \(d.plan.stageGPUs) GPU(s) each (vLLM splits the layers; the last stage holds the LM head):\n"
            let mx = e.stages.map(\.us).max() ?? 1
            for (k, st) in e.stages.enumerated() {
                s += String(format: "  stage %d: layers %3d-%-3d (%2d MoE) %9.3f ms ", k, st.layers.lowerBound, st.layers.upperBound - 1, st.moeLayers, st.us / 1e3)
                    + textBar(st.us, max: mx, width: 24)
                s += String(format: "  weights %.1f GB, KV %d tokens\n", st.memory.weightBytes / 1e9, st.memory.kvTokens)
                if st.sendUs > 0 {
                    s += String(format: "           -> send hidden states + residual (2 x %d tokens x %d x 2 B / TP %d per rank%@) %.3f ms%@\n",
                                e.perRank.map(\.tokens).max() ?? 0, d.model.hidden, d.plan.tensorParallel, d.plan.tensorParallel > 1 ? ", then all-gather" : "",
                                st.sendUs / 1e3, st.sendCrossesNodes ? " over the network (next stage on another node)" : "")
                }
            }
            s += String(format: "  one batch passes every stage in %.3f ms; with %d batches in flight a batch leaves every %.3f ms at best (the slowest stage),\n",
                        e.pipelineLatencyUs / 1e3, e.stages.count, e.pipelineIntervalUs / 1e3)
            s += "  if the scheduler has that many independent batches: a sequence's next token waits for its last one, so decode-only work\n"
            s += "  fills the pipeline only when the running sequences split into several batches (see 'moesim run')\n"
        }
        s += "\nWhere the times came from (\(e.kernelTables.map { "measured vLLM kernel tables: \($0)" } ?? "no measured vLLM kernel tables for this GPU/engine")):\n"
        for x in e.sources { s += "  " + x.component.padding(toLength: 22, withPad: " ", startingAt: 0) + x.sources.joined(separator: ", ") + "\n" }
        return s
    }
}
