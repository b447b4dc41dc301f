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
        all-to-all). Sequences are split evenly over DP ranks. Then the vLLM engine core's side: how vLLM runs the
        step (full or piecewise CUDA graphs, or none), its host time against the GPU time, and for a step without
        graphs the operations its layers run from the host (a lone 700-token Qwen1.5-MoE prompt waits for the host).

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
            OptionSpec("--compare", "<plan flags>", "Put this step beside the same step under another plan, e.g. --compare \"--strategy ep\" or --compare \"-tp 2 --enable-expert-parallel\" (its plan flags replace this plan's; other deployment flags, such as --gpu, --interconnect or --engine-profile, replace theirs; the model and the step stay): times per component side by side and the reasons for the difference."),
        ])

    /// Notes and warnings are held until the explanation is made, then written before it: a flag refused late (after a
    /// deployment note was due) ends in its error alone, as every other failed command does.
    static func execute(_ args: [String], _ ctx: Context) throws {
        final class Held { var err = "", out = "" }
        let held = Held()
        var inner = ctx
        inner.err = { held.err += $0 }
        inner.out = { held.out += $0 }
        try explain(args, inner)
        if !held.err.isEmpty { ctx.err(held.err) }
        ctx.out(held.out)
    }

    private static func explain(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options)
        let store = try ctx.store()
        if let other = a.string("--compare") {
            let bArgs = try compareArgs(args, other)
            let b = try ParsedArguments(bArgs, options: spec.options)
            let ea = try step(a, store: store, ctx: ctx, label: "plan A"), eb = try step(b, store: store, ctx: ctx, label: "plan B")
            let aFlags = planFlags(args), bFlags = planFlags(bArgs)
            if a.has("--json") {
                ctx.out(JSONWriter.write(compareJSON(ea.e, eb.e, aFlags, bFlags)) + "\n")
            } else {
                ctx.out(compareText(ea.e, eb.e, aFlags, bFlags))
            }
            return
        }
        let d = try RunOptions.deployment(a, store: store)
        if let n = RunOptions.strategyNote(a) { ctx.err(n + "\n") }
        for n in d.notes { ctx.err(n + "\n") }
        if d.engine.kind == .hf {
            try RunOptions.refuseUnused(a, ["--decode-seqs", "--kv-len", "--prefill-seqs", "--prefill-len"] + RunOptions.vllmOnlyFlags.filter { a.has($0) },
                                        because: "by '--engine hf' (it explains one forward of --batch-size sequences at --input-len)")
            try explainHF(a, d, ctx); return
        }
        for flag in ["--host-speed", "--host-cost-scale"] where a.has(flag) {
            ctx.err("note: '\(flag)' scales the engine's host time, which this breakdown of GPU time leaves out (the engine core's section and 'moesim run' add it)\n")
        }
        let x = try step(a, store: store, ctx: ctx, deployment: d)
        if a.has("--json") { ctx.out(JSONWriter.write(json(x.e) + x.serving.json) + "\n") } else { ctx.out(text(x.e) + x.serving.text) }
    }

    /// One vLLM step explained (its warnings on stderr), for the options in `a`.
    static func step(_ a: ParsedArguments, store: ProfileStore, ctx: Context, deployment: Deployment? = nil, label: String = "") throws -> (e: StepExplanation, serving: ServingExplanation) {
        let d = try deployment ?? RunOptions.deployment(a, store: store)
        if deployment == nil, d.engine.kind == .hf { throw InputError.usage("'--compare' puts two vLLM steps side by side; it does not apply to '--engine hf'") }
        if deployment == nil { for n in d.notes { ctx.err("\(label): \(n)\n") } }
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
        let stepName = "this step (" + [decodeSeqs > 0 ? "\(decodeSeqs) decode sequences at \(kvLen) cached tokens" : nil,
                                        prefillSeqs > 0 ? "\(prefillSeqs) prompts of \(prefillLen) tokens" : nil].compactMap { $0 }.joined(separator: " and ")
            + (label.isEmpty ? ")" : ", \(label))")
        let serving = try ServingExplanation(a, deployment: d, decodeSeqs: decodeSeqs, kvLen: kvLen, prefillSeqs: prefillSeqs, prefillLen: prefillLen,
                                             seed: try RunOptions.seed(a), store: store)
        // Said once the step stands (an error after them would hide behind them).
        for w in PricingWarnings.warnings(e, step: stepName) { ctx.err(w + "\n") }
        return (e, serving)
    }

    /// What `--compare` may change: the deployment flags of `run` other than the model.
    static let compareFlags: Set<String> = Set(RunOptions.deployment.map(\.name)).subtracting(["--model"])
    /// The flags `--compare` keeps from the command line (the model and the step), for its error.
    static let compareKept = spec.options.map(\.name).filter { !compareFlags.contains($0) && !["--json", "--compare"].contains($0) && !RunOptions.hfOnlyFlags.contains($0) && $0 != "--generation" }

    /// Flags that make up the parallel plan: `--compare`'s plan replaces all of them when it gives any.
    static let planShapeFlags: Set<String> = ["--strategy", "--num-gpus", "--tensor-parallel-size", "--data-parallel-size", "--pipeline-parallel-size",
                                              "--enable-expert-parallel", "--all2all-backend", "--enable-eplb", "--num-redundant-experts",
                                              "--expert-placement", "--data-parallel-size-local"]

    /// The arguments as (normalized flag, the tokens it took), in order.
    static func flagGroups(_ args: [String]) -> [(flag: String, tokens: [String])] {
        var out: [(String, [String])] = []
        var i = 0
        while i < args.count {
            let x = args[i]
            let head = x.split(separator: "=", maxSplits: 1).first.map(String.init) ?? x
            let name = ParsedArguments.shortFlags[head] ?? head
            let takesValue = spec.options.first { $0.name == name }?.value != nil
            if takesValue && !x.contains("=") && i + 1 < args.count { out.append((name, [x, args[i + 1]])); i += 2 }
            else { out.append((name, [x])); i += 1 }
        }
        return out
    }

    /// The second step's arguments: the first's with `--compare` gone and every flag the compared plan gives replaced
    /// by its value (all plan-shape flags when it gives one of them).
    static func compareArgs(_ args: [String], _ other: String) throws -> [String] {
        let extra = other.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !extra.isEmpty else { throw InputError.usage("'--compare' needs the other plan's flags, e.g. --compare \"--strategy ep\" or --compare \"-tp 2 --enable-expert-parallel\"") }
        let given = flagGroups(extra)
        for g in given where g.flag == "--compare" || !g.flag.hasPrefix("-") || !spec.options.contains(where: { $0.name == g.flag }) {
            throw InputError.usage("The value '\(other)' is invalid for '--compare <plan flags>': '\(g.tokens[0])' is not a flag of explain")
        }
        // Both sides explain the same model's same step: only what deploys it (plan, GPU, interconnect, engine and
        // their what-ifs) may differ.
        for g in given where !compareFlags.contains(g.flag) {
            throw InputError.usage("The value '\(other)' is invalid for '--compare <plan flags>': '\(g.tokens[0])' is not a plan, GPU or engine flag. --compare explains the same model's same step under another deployment, so the model and the step (\(compareKept.joined(separator: ", "))) are kept from the command line"
                                   + (g.flag == "--model" ? "; to compare two models, run explain once for each" : ""))
        }
        let names = Set(given.map(\.flag))
        let shape = !names.isDisjoint(with: planShapeFlags)
        var kept: [String] = []
        for g in flagGroups(args) where g.flag != "--compare" && !names.contains(g.flag) && !(shape && planShapeFlags.contains(g.flag)) { kept += g.tokens }
        return kept + extra
    }

    /// The deployment flags of a step's arguments (what the comparison labels A and B), without the step's shape.
    static func planFlags(_ args: [String]) -> String {
        let step: Set<String> = ["--model", "--decode-seqs", "--kv-len", "--prefill-seqs", "--prefill-len", "--seed", "--json", "--compare"]
        return flagGroups(args).filter { !step.contains($0.flag) }.flatMap(\.tokens).joined(separator: " ")
    }

    static func stepParts(_ e: StepExplanation) -> [(String, Double)] {
        [("attention", e.step.attention), ("dense GEMMs", e.step.denseGEMM), ("experts", e.step.experts), ("communication", e.step.communication), ("total (GPU)", e.step.gpu)]
    }

    /// Components of the two layers by name (A's order, then B's own), with each side's entry.
    static func pairedComponents(_ a: StepExplanation, _ b: StepExplanation) -> [(name: String, a: StepExplanation.Component?, b: StepExplanation.Component?)] {
        var names: [String] = []
        for c in a.layer + b.layer where !names.contains(c.name) { names.append(c.name) }
        return names.map { n in (n, a.layer.first { $0.name == n }, b.layer.first { $0.name == n }) }
    }

    static func compareJSON(_ a: StepExplanation, _ b: StepExplanation, _ af: String, _ bf: String) -> [(String, Any)] {
        [("a", [("flags", af)] + json(a)), ("b", [("flags", bf)] + json(b)),
         ("difference_us", stepParts(a).indices.map { i -> (String, Any) in
             let k = ["attention", "dense_gemm", "experts", "communication", "gpu_total"][i]
             return (k, stepParts(b)[i].1 - stepParts(a)[i].1) }),
         ("layer_differences", pairedComponents(a, b).map { p -> [(String, Any)] in
             [("component", p.name), ("a_us", p.a?.us ?? 0), ("b_us", p.b?.us ?? 0), ("difference_us", (p.b?.us ?? 0) - (p.a?.us ?? 0)),
              ("a_formula", p.a?.formula ?? NSNull()), ("b_formula", p.b?.formula ?? NSNull())] }),
         ("reasons", reasons(a, b))]
    }

    /// Why the steps differ, largest layer difference first: each component's time on both sides with what it does
    /// there (its formula, FLOPs, bytes and bound), then memory and the straggler.
    static func reasons(_ a: StepExplanation, _ b: StepExplanation) -> [String] {
        var out: [String] = []
        let pairs = pairedComponents(a, b).sorted { abs(($0.b?.us ?? 0) - ($0.a?.us ?? 0)) > abs(($1.b?.us ?? 0) - ($1.a?.us ?? 0)) }
        for p in pairs {
            let da = p.a?.us ?? 0, db = p.b?.us ?? 0
            guard abs(db - da) >= 0.05 * max(da, db, 1e-9) else { continue }
            func side(_ c: StepExplanation.Component?) -> String {
                guard let c else { return "none (this plan has no such component)" }
                return String(format: "%.1f us, %.3f GFLOP, %.2f MB, %@-bound: %@", c.us, c.flops / 1e9, c.bytes / 1e6, c.bound, c.formula)
            }
            out.append(String(format: "%@: %+.1f us per layer (%@). A: %@. B: %@", p.name, db - da,
                              da > 0 ? String(format: "%+.0f%%", (db / da - 1) * 100) : "only in B", side(p.a), side(p.b)))
        }
        let ma = a.deployment.memoryPlan(), mb = b.deployment.memoryPlan()
        out.append(String(format: "memory per GPU: weights %.1f GB in A, %.1f GB in B; KV cache %d tokens per DP rank in A, %d in B",
                          ma.weightBytes / 1e9, mb.weightBytes / 1e9, ma.kvTokens, mb.kvTokens))
        for (n, e) in [("A", a), ("B", b)] {
            if let s = e.straggler { out.append(String(format: "%@'s expert layer waits for GPU %d with %+d token-expert pairs (%+.1f%%) over the mean", n, s.gpu, s.extraTokens, s.extraPct)) }
        }
        return out
    }

    /// A component's source without its parenthesised detail (the reasons below give it in full).
    static func shortSource(_ s: String?) -> String {
        guard let s, !s.isEmpty else { return "-" }
        return s.components(separatedBy: " (").first ?? s
    }

    static func compareText(_ a: StepExplanation, _ b: StepExplanation, _ af: String, _ bf: String) -> String {
        var s = "\(a.deployment.model.name): one step, two plans\n  A: \(a.deployment.plan.gpuCount)x \(a.deployment.gpu.name) [\(a.deployment.plan.vllmFlags)]  (\(af))\n"
        s += "  B: \(b.deployment.plan.gpuCount)x \(b.deployment.gpu.name) [\(b.deployment.plan.vllmFlags)]  (\(bf))\n"
        s += "step: \(a.batch.decodeSequences) decode sequences, \(a.batch.tokens - a.batch.decodeSequences) prefill tokens = \(a.batch.tokens) tokens\n\n"
        s += "Whole step (GPU time, all layers):\n"
        let pa = stepParts(a), pb = stepParts(b)
        s += TextTable.render(["", "A ms", "B ms", "B - A ms", "B / A"], pa.indices.map { i in
            [pa[i].0, String(format: "%.3f", pa[i].1 / 1e3), String(format: "%.3f", pb[i].1 / 1e3), String(format: "%+.3f", (pb[i].1 - pa[i].1) / 1e3),
             pa[i].1 > 0 ? String(format: "%.2f", pb[i].1 / pa[i].1) : "-"]
        }, align: ["l", "r", "r", "r", "r"], indent: "  ")
        s += "\nOne MoE layer on the busiest GPU:\n"
        s += TextTable.render(["component", "A us", "B us", "B - A us", "A source", "B source"], pairedComponents(a, b).map { p in
            [p.name, p.a.map { String(format: "%.1f", $0.us) } ?? "-", p.b.map { String(format: "%.1f", $0.us) } ?? "-",
             String(format: "%+.1f", (p.b?.us ?? 0) - (p.a?.us ?? 0)), shortSource(p.a?.source), shortSource(p.b?.source)]
        }, align: ["l", "r", "r", "r", "l", "l"], indent: "  ")
        s += "\nWhy they differ (largest first):\n"
        for r in reasons(a, b) { s += "  - " + r + "\n" }
        return s
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
            ("interconnect", d.interconnect?.name ?? NSNull()),
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
        // Under vLLM the experts' bytes in memory may differ from the format's (`Quantization.vllmResidentExpertBytes`).
        let resident = d.engine.kind == .vllm ? d.model.vllmExpertBytesPerParam(tensorParallel: d.plan.moeShardGPUs, expertParallel: d.plan.expertParallel) : q.expertBytes
        let held = abs(resident - q.expertBytes) > 1e-9
            ? String(format: " (vLLM holds %.4g: the checkpoint's scales stay beside the kernel's swizzled copy)", resident) : ""
        s += String(format: "  by hand: %.2fB params; weights %@, embeddings and LM head bf16; KV cache %@\n", d.model.totalParams / 1e9,
                    q.isQuantized ? "\(q.method) at \(String(format: "%.4g", q.expertBytes)) bytes (experts)\(held) and \(String(format: "%.4g", q.linearBytes)) (other linear layers)" : "bf16 (2 bytes)",
                    d.model.kvCacheBytes == 2 ? "bf16" : "fp8")
        return s
    }

    /// The vLLM engine core's side of the step (the engine profile's host costs at its reference host, or at the
    /// host `--host-speed` gives): how vLLM runs
    /// the busiest DP rank's batch (CUDA-graph mode), the host time the clock charges, and, for a step without graphs,
    /// the operations its layers launch one at a time (ModelArchitecture.hostOps).
    static func hostText(_ e: StepExplanation) -> String {
        let d = e.deployment
        guard d.engine.kind == .vllm, d.plan.pipelineParallel == 1 else { return "" }
        let rank = e.perRank.max { $0.tokens < $1.tokens } ?? e.batch
        guard rank.tokens > 0, let r = try? VLLMSimulator.replaySteps([rank], deployment: d, seed: 0).first else { return "" }
        let mode = ["FULL": "replayed from one full CUDA graph", "PIECEWISE": "piecewise CUDA graphs, attention launched between the pieces",
                    "NONE": "no CUDA graph (more tokens than the largest capture size, --enforce-eager, or DP without graphs)"][r.mode] ?? r.mode
        let host = d.hostSpeedS.map { String(format: "at this host, --host-speed %.4g s: host costs x%.3f", $0, d.hostScale) }
            ?? (d.overrides["host_cost_scale"].map { String(format: "at the profile's reference host with host costs x%.4g (--host-cost-scale)", $0) }
                ?? "at the profile's reference host; '--host-speed' scales it")
        var s = String(format: "\nEngine core (vLLM host work %@):\n  %@: host %.3f ms against GPU %.3f ms, so the step takes %.3f ms%@\n",
                       host, mode, r.hostUs / 1e3, r.gpuUs / 1e3, r.stepUs / 1e3, d.param("async_scheduling") >= 0.5 ? " (async scheduling: the longer of the two)" : " (host and GPU one after the other)")
        let extra = rank.prefillSequences > 0 && r.mode != "FULL" ? d.model.extraAttentionHostOps(decodes: rank.decodeSequences > 0, prompts: true) : 0
        if extra > 0 {
            s += String(format: "  MLA runs the prompt tokens through their own attention path%@: %d more operations (%d a layer) at %.0f us each\n",
                        rank.decodeSequences > 0 ? " beside the decodes' absorbed one" : "", extra, extra / max(1, d.model.layers), VLLMSimulator.eagerHost(d).operationUs)
        }
        if r.mode == "NONE" {
            let m = d.model
            let perLayer = Set((0..<m.layers).map { m.hostOps(layer: $0) }).sorted().map(String.init).joined(separator: " or ")
            let h = VLLMSimulator.eagerHost(d)
            switch h.pricing {
            case .moeLayersWhole:
                var whole: [String] = []
                if h.moeLayers > 0 { whole.append(String(format: "%d fused-MoE layers priced whole (%.0f us each)", h.moeLayers, h.moeLayerUs)) }
                if h.sharedMoELayers > 0 {
                    whole.append(String(format: "%d fused-MoE layers priced whole with the shared experts their custom op runs (%.0f us each)", h.sharedMoELayers, h.sharedMoELayerUs))
                }
                if h.groupedTopKLayers > 0 {
                    whole.append(String(format: "DeepSeek-V2's compiled grouped top-k in %d MoE layers (%.0f us each)", h.groupedTopKLayers, h.groupedTopKUs))
                }
                let outside = String(format: "%.1f ms outside the layers", h.fixedUs / 1e3)
                s += String(format: "  without graphs the host runs %d operations one at a time outside the fused MoE (%@ per layer with the fused MoE's, counted from vLLM's model code), %@\n",
                            h.operations, perLayer, whole.isEmpty ? outside : whole.joined(separator: ", ") + " and " + outside)
            case .perOperation:
                s += "  without graphs the host runs \(h.operations) operations one at a time (\(perLayer) per layer, counted from vLLM's model code)\n"
            case .perLayer:
                s += "  without graphs the host launches \(h.layers) layers' kernels one at a time (the profile prices a layer)\n"
            }
        }
        return s
    }

    static func text(_ e: StepExplanation) -> String {
        let d = e.deployment
        var s = "\(d.model.name) on \(d.plan.gpuCount)x \(d.gpu.name)\n"
        if let st = d.plan.strategy { s += "strategy \(st.rawValue) = \(d.plan.vllmFlags)  (\(st.summary(d.plan)))\n" } else { s += "plan: \(d.plan.vllmFlags)\n" }
        if let ic = d.interconnect { s += "interconnect: \(ic.name) (\(ic.displayName))\n" }
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
        s += hostText(e)
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
