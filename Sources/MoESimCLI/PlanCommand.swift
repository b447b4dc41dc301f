import Foundation
import Cluster
import Serving
import Studies

/// `moesim plan`: search plans, GPU types and counts for a model and workload under SLOs and cost.
enum PlanCommand {
    static let spec = CommandSpec(
        name: "plan", abstract: "Search plans (TP, DP, EP, hybrids), GPU types and counts under SLOs and cost.",
        usage: "moesim plan --model <name> --gpu <g1[,g2...]> --max-gpus <n> [workload options] [--slo-ttft-p99-ms <x>] [--slo-tpot-p99-ms <y>] [--gpu-hour-usd <gpu=price> ...]",
        discussion: """
        Enumerates every valid plan up to --max-gpus (powers of two), prunes plans that cannot fit in memory or
        cannot meet an SLO by a lower bound (said with the reason), simulates the rest in parallel with the vLLM
        engine, folds plans whose results are identical, and ranks them: SLO met first, then $ per million output
        tokens when --gpu-hour-usd prices are given, else output throughput per GPU (the key is printed). Prints the table, the Pareto
        frontier of throughput per GPU against P99 TPOT (also as an SVG with --svg, or an HTML report with --html),
        and why the winner wins. When nothing can be simulated it says why, with the reasons counted.

        Every deployment and workload flag of 'run' is taken: a searched dimension given (-tp, -dp, -pp,
        --enable-expert-parallel, --all2all-backend, --max-num-seqs, --strategy, --num-gpus, --replicas, a fixed
        --prefill-instances/--decode-instances split) is held at that value; any other (--kv-cache-dtype,
        --quantization, --routing, --max-num-batched-tokens, --gpu-memory-utilization, prefix caching, ...) applies to
        every candidate. The output says what was searched and what was held fixed.
        """,
        arguments: [],
        options: [
            OptionSpec("--model", "<name|config.json>", "The model."),
            OptionSpec("--gpu", "<names>", "Comma-separated GPU profiles to consider.", default: "a100-sxm4-80gb"),
            OptionSpec("--max-gpus", "<n>", "Largest GPU count.", default: "8"),
            OptionSpec("--slo-ttft-p99-ms", "<x>", "P99 time-to-first-token objective."),
            OptionSpec("--slo-tpot-p99-ms", "<y>", "P99 time-per-output-token objective."),
            OptionSpec("--gpu-hour-usd", "<gpu=price>", "Price of one GPU-hour (repeatable), for $ per million output tokens."),
            OptionSpec("--engine-profile", "<name|file>", "vLLM engine profile.", default: "vllm"),
            OptionSpec("--top", "<n>", "Rows of the ranked table to print.", default: "15"),
            OptionSpec("--svg", "<file>", "Write the Pareto chart as SVG."),
            OptionSpec("--html", "<file>", "Write a self-contained HTML report: the Pareto chart with labelled points and tooltips, the ranked table, step breakdowns."),
            OptionSpec("--threads", "<n>", "Worker threads.", default: "the number of cores"),
            OptionSpec("--json", nil, "Print the search as JSON."),
            OptionSpec("--seeds", "<n>", "Simulate each plan with n seeds; rank by the mean, print 95% intervals and say when the top plans tie.", default: "1"),
            OptionSpec("--shard", "<K/N>", "Simulate only shard K (0..N-1) of N of the search into --out; 'moesim merge' prints the whole plan. N alone: K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX."),
            OptionSpec("--out", "<dir>", "With --shard: where the shard's results go.", default: "plan-shard-K-of-N"),
            OptionSpec("--include-disaggregated", nil, "Also search disaggregated prefill/decode (xPyD instances of each single-instance plan)."),
        ] + whatIfOptions + RunOptions.clientNoOps + RunOptions.resultNaming)

    /// Every deployment and workload flag of `run` plan does not define itself: a searched dimension given here is held
    /// at that value, any other is applied to every candidate (`held_fixed` in the output). `run`'s output flags are
    /// accepted only to be refused with what plan writes instead.
    static let whatIfOptions: [OptionSpec] = {
        let own: Set<String> = ["--model", "--gpu", "--engine-profile"]
        return (RunOptions.deployment + RunOptions.workload + RunOptions.output).filter { !own.contains($0.name) && !["--json", "--html"].contains($0.name) }
            .map { o in
                var o = o
                if o.name == "--num-gpus" {
                    o.help = "Searched; given, each plan's GPU count (one instance) is held at n; with --strategy, the strategy on n GPUs."
                    o.defaultText = "searched"
                } else if searchedFlags.contains(o.name) {
                    o.help = "Searched; given, the search holds it at this value. " + o.help
                    o.defaultText = "searched"
                } else if runOutputFlags.contains(o.name) {
                    o.help = "run's output flag, refused by plan (plan writes --json, --html and --svg; run the recommended plan for its result file)."
                    o.defaultText = nil
                } else {
                    o.help = "Held fixed for every candidate (as 'run'). " + o.help
                }
                return o
            }
    }()
    /// The `run` flags whose dimension plan searches (given, they hold it fixed).
    static let searchedFlags: Set<String> = ["--tensor-parallel-size", "--data-parallel-size", "--pipeline-parallel-size", "--enable-expert-parallel",
                                             "--all2all-backend", "--max-num-seqs", "--strategy", "--num-gpus", "--prefill-instances", "--decode-instances",
                                             "--prefill-tensor-parallel-size", "--replicas"]
    static let runOutputFlags: Set<String> = Set(RunOptions.output.map(\.name)).subtracting(["--json", "--html"])
    /// Flags of `run` that only apply to expert-parallel plans: given to plan, only EP candidates are searched.
    static let expertParallelOnly = ["--enable-eplb", "--num-redundant-experts", "--expert-placement"]

    /// The what-ifs of `a` for `search`: filters on the searched dimensions and the flags every candidate gets.
    static func whatIf(_ a: ParsedArguments, args: [String], search: inout PlanSearch, store: ProfileStore) throws -> PlanSearch.WhatIf {
        var w = PlanSearch.WhatIf()
        for f in runOutputFlags where a.has(f) {
            throw InputError.usage("'\(f)' is an output flag of 'run'; plan prints its search (--json for every plan's figures, --html for a report, --svg for the chart); run the recommended plan with 'moesim run' for its result file")
        }
        if let e = a.string("--engine"), e != "vllm" {
            throw InputError.usage("'--engine \(e)': plan searches vLLM deployments (--engine vllm); for the Hugging Face engine use 'moesim run --engine hf'")
        }
        if a.has("--include-disaggregated") {
            for f in ["--prefill-instances", "--decode-instances", "--replicas"] where a.has(f) {
                throw InputError.usage("'--include-disaggregated' searches the prefill/decode split itself; do not combine it with '\(f)' (give --prefill-instances and --decode-instances alone to hold one split fixed)")
            }
        }
        if a.has("--replicas") && a.has("--prefill-instances") {
            throw InputError.usage("'--replicas' and '--prefill-instances' describe different clusters; for disaggregated prefill/decode give --prefill-instances and --decode-instances")
        }
        let disagg = a.has("--prefill-instances") || a.has("--include-disaggregated")
        if !disagg {
            for f in ["--decode-instances", "--prefill-tensor-parallel-size", "--kv-transfer-bandwidth-gbps", "--kv-transfer-latency-us"] where a.has(f) {
                throw InputError.usage("'\(f)' is not used without disaggregated prefill/decode (give --prefill-instances, or --include-disaggregated to search the split)")
            }
        }
        if try a.has("--router") && !disagg && (a.positiveInt("--replicas") ?? 1) == 1 {
            throw InputError.usage("'--router' is not used with one engine instance (give --replicas, --prefill-instances or --include-disaggregated)")
        }
        w.tp = try a.positiveInt("--tensor-parallel-size")
        w.dp = try a.positiveInt("--data-parallel-size")
        w.pp = try a.positiveInt("--pipeline-parallel-size")
        w.maxNumSeqs = try a.positiveInt("--max-num-seqs")
        if let s = try a.choice("--strategy", ParallelPlan.Strategy.allCases.map(\.rawValue)) {
            for f in ["--tensor-parallel-size", "--data-parallel-size", "--enable-expert-parallel", "--pipeline-parallel-size"] where a.has(f) {
                throw InputError.usage("'--strategy' sets the plan's shape; do not combine it with '\(f)'")
            }
            let st = ParallelPlan.Strategy(rawValue: s)!
            w.strategy = st
            if let n = try a.positiveInt("--num-gpus") { _ = try st.plan(gpus: n) }
        }
        w.gpuCount = try a.positiveInt("--num-gpus")
        if let n = w.gpuCount, n > search.maxGPUs {
            throw InputError.usage("'--num-gpus \(n)' is above --max-gpus \(search.maxGPUs)")
        }
        if a.has("--enable-expert-parallel") || expertParallelOnly.contains(where: a.has) || a.has("--all2all-backend") { w.ep = true }
        if w.ep == true, search.model.moe == nil { throw InputError.usage("\(search.model.name) is dense: expert parallelism and its flags do not apply") }
        if let b = try a.choice("--all2all-backend", ParallelPlan.All2AllBackend.accepted) {
            w.backend = b
            if w.dp == 1 { try RunOptions.refuseUnused(a, ["--all2all-backend"], because: RunOptions.all2allNeedsDP) }
        }
        w.dpLocal = try a.positiveInt("--data-parallel-size-local")
        if a.has("--data-parallel-size-local") && a.has("--gpus-per-node") {
            throw InputError.usage("'--data-parallel-size-local' sets the GPUs per node (x TP); do not combine it with '--gpus-per-node'")
        }
        if let n = try a.positiveInt("--gpus-per-node") { search.gpusPerNode = n }
        w.noPipeline = a.has("--speculative-config")
        w.replicas = try a.positiveInt("--replicas") ?? 1
        if let x = try a.positiveInt("--prefill-instances") { w.disaggregated = (x, try a.positiveInt("--decode-instances") ?? 1) }
        w.prefillTP = try a.positiveInt("--prefill-tensor-parallel-size")
        w.memoryUtilization = try a.double("--gpu-memory-utilization")
        if let u = w.memoryUtilization, !(u > 0 && u <= 1) { throw a.invalid("--gpu-memory-utilization", a.string("--gpu-memory-utilization")!, "must be in (0, 1]") }
        w.engineProfile = a.string("--engine-profile") ?? "vllm"
        w.eplb = a.has("--enable-eplb")
        w.redundantExperts = try a.int("--num-redundant-experts") ?? 0
        // Values every candidate would refuse alike are refused here, once, naming the flag.
        if let v = a.string("--interconnect") { _ = try store.interconnect(v) }
        if let v = a.string("--network") { _ = try store.network(v) }
        if let v = a.string("--routing") { _ = try RoutingSpec(parsing: v) }
        if let v = a.string("--speculative-config") { _ = try SpeculativeConfig(json: v) }
        _ = try a.choice("--usage-context", Deployment.UsageContext.allCases.map(\.rawValue))
        _ = try a.choice("--router", RouterPolicy.allCases.map(\.rawValue))
        _ = try store.engine(w.engineProfile)
        for f in ["--max-num-batched-tokens", "--replicas", "--decode-instances"] { _ = try a.positiveInt(f) }
        for f in ["--kv-transfer-bandwidth-gbps", "--kv-transfer-latency-us"] { _ = try a.double(f) }
        if a.has("--async-scheduling") && a.has("--no-async-scheduling") {
            throw InputError.usage("'--async-scheduling' and '--no-async-scheduling' contradict each other; give one")
        }
        if a.has("--enable-prefix-caching") && a.has("--no-enable-prefix-caching") {
            throw InputError.usage("'--enable-prefix-caching' and '--no-enable-prefix-caching' contradict each other; give one")
        }
        // Pass-through flags, in the order given; the searched ones are the candidates' own.
        let passOptions = RunOptions.deployment.filter { !searchedFlags.contains($0.name) && !["--model", "--gpu", "--engine-profile", "--engine"].contains($0.name) }
        var seen = Set<String>()
        for x in args {
            let name = x.split(separator: "=", maxSplits: 1).first.map(String.init) ?? x
            let flag = ParsedArguments.shortFlags[name] ?? name
            guard a.has(flag), seen.insert(flag).inserted else { continue }
            if searchedFlags.contains(flag) || passOptions.contains(where: { $0.name == flag }) || flag == "--engine" {
                let value = a.string(flag) ?? ""
                w.heldFixed.append((flag, value))
                guard let o = passOptions.first(where: { $0.name == flag }) else { continue }
                let pair = o.value == nil ? [flag] : [flag, value]
                switch flag {
                case "--interconnect": w.multiGPUOnly += pair
                case "--network": w.multiNodeOnly += pair
                case "--kv-transfer-bandwidth-gbps", "--kv-transfer-latency-us": w.disaggregatedOnly += pair
                case "--router" where w.disaggregated == nil && w.replicas == 1: w.disaggregatedOnly += pair
                default: w.args += pair
                }
            }
        }
        return w
    }

    /// `preloaded`: every simulation's result from the shards (`moesim merge`), instead of simulating here.
    static func execute(_ args: [String], _ ctx: Context, preloaded: (results: [Int: Result<RunResult, PlanSearch.PlanRunError>], seconds: Double, configurations: Int)? = nil) throws {
        let a = try ParsedArguments(args, options: spec.options)
        guard let modelArg = a.string("--model") else { throw InputError.usage("Missing expected argument '--model <name|config.json>'") }
        let store = try ctx.store()
        var model = try store.model(modelArg)
        var heldWorkload: [(flag: String, value: String)] = []
        let gpus = (a.string("--gpu") ?? "a100-sxm4-80gb").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        guard !gpus.isEmpty, !gpus.contains(""), Set(gpus).count == gpus.count else {
            throw InputError.usage("The value '\(a.string("--gpu") ?? "")' is invalid for '--gpu <name,...>': expected GPU names separated by commas, each once")
        }
        for g in gpus { _ = try store.gpu(g) }
        let maxGPUs = try a.positiveInt("--max-gpus") ?? 8
        var prices: [String: Double] = [:]
        for p in a.repeated["--gpu-hour-usd"] ?? [] {
            let parts = p.split(separator: "=")
            if parts.count == 2, !gpus.contains(String(parts[0])) {
                let known = (try? store.gpu(String(parts[0]))) != nil
                throw InputError.usage("The value '\(p)' is invalid for '--gpu-hour-usd <gpu=price>': " + (known
                    ? "\(parts[0]) is not among the GPUs searched (--gpu \(gpus.joined(separator: ","))); add it to --gpu or price one of \(quotedChoices(gpus))"
                    : "no GPU profile '\(parts[0])'; the GPUs searched are \(quotedChoices(gpus))"))
            }
            guard parts.count == 2, let v = Double(parts[1]), v > 0, v <= 1e6 else {
                throw InputError.usage("The value '\(p)' is invalid for '--gpu-hour-usd <gpu=price>': expected one of \(quotedChoices(gpus)) = a price in (0, 1000000], e.g. \(gpus[0])=1.80")
            }
            prices[String(parts[0])] = v
        }
        try RunOptions.refuseUnused(a, RunOptions.hfOnlyFlags + ["--generation"], because: "by 'plan', which searches vLLM deployments")
        // Pass the workload flags through to each simulated run.
        var workloadArgs: [String] = []
        for o in RunOptions.workload where a.has(o.name) {
            if o.value == nil { workloadArgs.append(o.name) } else { workloadArgs += [o.name, a.string(o.name)!] }
            heldWorkload.append((o.name, a.string(o.name) ?? ""))
        }
        if let e = a.string("--engine-profile") { workloadArgs += ["--engine-profile", e] }
        try RunOptions.applyModelWhatIfs(a, to: &model)
        let ttft = try a.double("--slo-ttft-p99-ms"), tpot = try a.double("--slo-tpot-p99-ms")
        for (n, v) in [("--slo-ttft-p99-ms", ttft), ("--slo-tpot-p99-ms", tpot)] where v != nil && !(v! > 0) {
            throw a.invalid(n, a.string(n)!, "must be positive")
        }
        var search = PlanSearch(model: model, modelArg: modelArg, gpus: gpus, maxGPUs: maxGPUs, workloadArgs: workloadArgs,
                                sloTTFTp99Ms: ttft, sloTPOTp99Ms: tpot, prices: prices)
        search.includeDisaggregated = a.has("--include-disaggregated")
        search.what = try whatIf(a, args: args, search: &search, store: store)
        search.use(engine: try store.engine(search.what.engineProfile))
        if !model.isMoE { try RunOptions.refuseUnused(a, ["--routing"], because: "by the dense model \(model.name) (it has no experts)") }
        let held = search.what.heldFixed + heldWorkload
        let threads = try a.positiveInt("--threads") ?? ProcessInfo.processInfo.activeProcessorCount
        search.seeds = try a.positiveInt("--seeds") ?? 1
        RunOptions.preflight([args], store: store)
        if let sh = try a.string("--shard").map({ try Shard.parse($0) }) {
            guard preloaded == nil else { throw InputError.usage("'--shard' is not for a merge") }
            for f in ["--svg", "--json", "--top", "--html"] where a.has(f) { throw InputError.usage("'\(f)' applies to the whole plan: give it to 'moesim merge' runs' plan flags, not with '--shard'") }
            try PlanShards.runShard(&search, shard: sh, out: try OutputFiles.directory(a) ?? "plan-shard-\(sh.index)-of-\(sh.count)", args: args, store: store, threads: threads, ctx: ctx)
            return
        }
        if a.has("--out") { throw InputError.usage("'--out' applies with '--shard' (plan prints its results)") }
        if a.has("--top") && a.has("--json") { throw InputError.usage("'--top' shortens the printed table; '--json' lists every plan (leave out one of them)") }
        // Read before the search runs: a bad value ends in its error alone, not after the whole plan and its notes.
        let top = try a.positiveInt("--top") ?? 15
        let svgNote = try a.string("--svg").flatMap { try OutputFiles.check($0, flag: "--svg", inputs: OutputFiles.inputs(a, except: nil), store: store) }
        let htmlNote = try a.string("--html").flatMap { try OutputFiles.check($0, flag: "--html", inputs: OutputFiles.inputs(a, except: nil), store: store) }
        // Notes wait for an answer: a plan that fails (no shape fits, nothing simulated) ends in its error alone.
        let notes = [RunOptions.clientNote(a, also: RunOptions.resultNaming), a.restatedNote].compactMap { $0 } + search.notes
        // Held flags that leave no plan shape at all are a usage error, before anything runs.
        if search.candidates().isEmpty {
            let given = search.what.heldFixed.map { $0.value.isEmpty ? $0.flag : "\($0.flag) \($0.value)" }.joined(separator: " ")
            throw InputError.usage("no plan of \(model.name) on \(gpus.joined(separator: ",")) up to \(maxGPUs) GPUs fits the flags held fixed (\(given)); hold fewer of them or allow more GPUs (--max-gpus)")
        }
        let progress = ctx.progress("planning", afterSeconds: 0.5)
        let start = Date()
        let ranked: [PlanSearch.Evaluated]
        if let pre = preloaded {
            let p = try search.prepare(store: store)
            guard p.configurations.count == pre.configurations else {
                throw InputError.data("the plan now needs \(p.configurations.count) simulations; the shards ran \(pre.configurations) (profiles or moesim changed?)")
            }
            ranked = search.finish(p, results: pre.results)
        } else {
            ranked = try search.run(store: store, threads: threads) { d, n in progress.update(Double(d) / Double(n), detail: "\(d)/\(n) plans simulated") }
        }
        progress.finish()
        let answered = ranked.contains(where: { $0.result != nil })
        if answered { for n in notes { ctx.err(n + "\n") } }
        let elapsed = preloaded?.seconds ?? Date().timeIntervalSince(start)
        let frontier = PlanSearch.pareto(ranked)
        if let f = a.string("--svg") {
            if answered, let n = svgNote { ctx.err(n) }
            try OutputFiles.write(paretoSVG(ranked, frontier: frontier, model: model.name), to: f, flag: "--svg", what: "the chart")
        }
        let searched = search.searchedDimensions(search.candidates())
        let body = text(ranked, frontier: frontier, elapsed: elapsed, top: top, search: search, searched: searched, held: held) + PlanShards.intervalsText(ranked, seeds: search.seeds, top: top)
        if let f = a.string("--html") {
            if answered, let n = htmlNote { ctx.err(n) }
            try Reports.write(Reports.plan(ranked, frontier: frontier, search: search, rankingKey: search.rankingKey, text: body), to: f)
        }
        if a.has("--json") { ctx.out(JSONWriter.write(json(ranked, frontier: frontier, elapsed: elapsed, rankingKey: search.rankingKey, searched: searched, held: held, search: search) + PlanShards.intervalsJSON(ranked, seeds: search.seeds)) + "\n") }
        else { ctx.out(body) }
        // A search that simulated nothing has no answer: its reasons are printed above, and the exit status says so.
        if !answered {
            throw InputError.data("no plan could be simulated for \(model.name): all \(ranked.count) candidates were pruned or failed (the reasons are listed\(a.has("--json") ? " in the JSON's plans" : " above"))")
        }
    }

    /// When SLOs are given and no simulated plan meets them: the plan closest to them, the one whose worst ratio of
    /// P99 to its objective (TTFT, TPOT) is smallest, with that ratio. nil when a plan meets them or none are given.
    static func closestToSLO(_ r: [PlanSearch.Evaluated], search: PlanSearch) -> (plan: PlanSearch.Evaluated, ratio: Double, what: String)? {
        let sim = r.filter { $0.result != nil }
        guard search.sloTTFTp99Ms != nil || search.sloTPOTp99Ms != nil, !sim.isEmpty, !sim.contains(where: \.meetsSLO) else { return nil }
        func miss(_ e: PlanSearch.Evaluated) -> (Double, String) {
            var worst = (0.0, "")
            if let t = search.sloTTFTp99Ms, e.meanP99TTFTms / t > worst.0 { worst = (e.meanP99TTFTms / t, String(format: "P99 TTFT %.1f ms against %g ms", e.meanP99TTFTms, t)) }
            if let t = search.sloTPOTp99Ms, e.meanP99TPOTms / t > worst.0 { worst = (e.meanP99TPOTms / t, String(format: "P99 TPOT %.2f ms against %g ms", e.meanP99TPOTms, t)) }
            return worst
        }
        // Ties (the same ratio) go to the higher-ranked plan.
        var best = sim[0], (ratio, what) = miss(sim[0])
        for e in sim.dropFirst() { let m = miss(e); if m.0 < ratio { best = e; ratio = m.0; what = m.1 } }
        return (best, ratio, what)
    }

    static func row(_ e: PlanSearch.Evaluated) -> [(String, Any)] {
        var f: [(String, Any)] = [("plan", e.candidate.label), ("gpu", e.candidate.gpu), ("gpus", e.candidate.gpus), ("flags", e.candidate.args.joined(separator: " "))]
        switch e.verdict {
        case .simulated(let r):
            f += [("status", e.meetsSLO ? "meets SLO" : "misses SLO"), ("output_throughput", e.meanOutputThroughput),
                  ("output_throughput_per_gpu", e.meanOutputThroughput / Double(r.gpus)), ("p99_ttft_ms", e.meanP99TTFTms), ("p99_tpot_ms", e.meanP99TPOTms),
                  ("usd_per_million_output_tokens", e.usdPerMTok ?? NSNull()), ("same_as", e.sameAs)]
        case .doesNotFit(let why): f += [("status", "does not fit"), ("reason", why)]
        case .cannotMeetSLO(let why): f += [("status", "cannot meet SLO (pruned)"), ("reason", why)]
        case .failed(let why): f += [("status", "failed"), ("reason", why)]
        }
        return f
    }

    /// The search as JSON. `recommended` is the top plan only when it meets the SLOs (or none are given); when no plan
    /// meets them it is null and `closest_to_slo` holds the plan nearest to them (with `slo_miss_factor`, its worst
    /// P99 over its objective), else that key is null.
    static func json(_ r: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], elapsed: Double, rankingKey: String,
                     searched: [(dimension: String, flag: String, values: [String])] = [], held: [(flag: String, value: String)] = [],
                     search: PlanSearch? = nil) -> [(String, Any)] {
        let closest = search.flatMap { closestToSLO(r, search: $0) }
        return [("candidates", r.count), ("simulated", r.filter { $0.result != nil }.count), ("seconds", elapsed), ("ranked_by", rankingKey),
         ("searched", searched.map { d -> [(String, Any)] in [("dimension", d.dimension), ("flag", d.flag), ("values", d.values.map { Int($0).map { $0 as Any } ?? $0 })] }),
         ("held_fixed", held.map { h -> [(String, Any)] in [("flag", h.flag), ("value", h.value.isEmpty ? true as Any : h.value)] }),
         ("recommended", closest == nil ? (r.first.map { $0.result != nil ? row($0) as Any : NSNull() } ?? NSNull()) : NSNull()),
         ("closest_to_slo", closest.map { c -> Any in row(c.plan) + [("slo_miss_factor", c.ratio)] } ?? NSNull()),
         ("pareto", frontier.map(\.candidate.label)), ("plans", r.map(row))]
    }

    /// "Searched: ..." and "Held fixed: ..." lines.
    static func dimensionsText(_ searched: [(dimension: String, flag: String, values: [String])], _ held: [(flag: String, value: String)]) -> String {
        var s = "Searched: " + (searched.isEmpty ? "nothing (one candidate)" : searched.map { "\($0.dimension) \($0.values.joined(separator: ", "))" }.joined(separator: "; ")) + "\n"
        s += "Held fixed: " + (held.isEmpty ? "nothing given" : held.map { $0.value.isEmpty ? $0.flag : "\($0.flag) \($0.value)" }.joined(separator: ", "))
            + "; every other 'run' flag at its default\n"
        return s
    }

    static func text(_ r: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], elapsed: Double, top: Int, search: PlanSearch,
                     searched: [(dimension: String, flag: String, values: [String])] = [], held: [(flag: String, value: String)] = []) -> String {
        let sim = r.filter { $0.result != nil }
        var s = String(format: "%d candidate plans for %@: %d simulated, %d pruned, in %.1f s\n", r.count + r.reduce(0) { $0 + $1.sameAs.count }, search.model.name, sim.count + sim.reduce(0) { $0 + $1.sameAs.count }, r.count - sim.count, elapsed)
        let folded = sim.reduce(0) { $0 + $1.sameAs.count }
        if folded > 0 { s += "\(folded) simulated plan\(folded == 1 ? "" : "s") came out identical to another on the same GPUs (a larger --max-num-seqs than any DP rank holds) and \(folded == 1 ? "is" : "are") folded into it (marked +N).\n" }
        s += dimensionsText(searched, held)
        s += "Ranked by \(search.rankingKey)." + (search.seeds > 1 ? " Figures are means over \(search.seeds) seeds." : "") + "\n\n"
        if !sim.isEmpty {
            let rows: [[String]] = sim.prefix(top).enumerated().map { i, e in
                let x = e.result!
                return ["\(i + 1)", e.candidate.label + (e.sameAs.isEmpty ? "" : " (+\(e.sameAs.count))"), String(format: "%.0f", e.meanOutputThroughput),
                        String(format: "%.1f", e.meanOutputThroughput / Double(x.gpus)), String(format: "%.1f", e.meanP99TTFTms), String(format: "%.2f", e.meanP99TPOTms),
                        e.usdPerMTok.map { String(format: "%.3f", $0) } ?? "-", search.sloTTFTp99Ms == nil && search.sloTPOTp99Ms == nil ? "-" : e.meetsSLO ? "met" : "missed"]
            }
            s += TextTable.render(["rank", "plan", "tok/s", "tok/s/GPU", "P99 TTFT ms", "P99 TPOT ms", "$/Mtok", "SLO"], rows, align: ["r", "l", "r", "r", "r", "r", "r", "l"])
            if sim.count > top { s += "  ... \(sim.count - top) more (--top)\n" }
        } else {
            s += "No plan could be simulated: every candidate was pruned or failed (reasons below). Try a larger --max-gpus, another --gpu, looser SLOs or a shorter workload.\n"
        }
        let closest = closestToSLO(r, search: search)
        if closest != nil {
            s += "\nNo simulated plan meets the SLO, so none is recommended; the table is ranked by how they would rank if it were met. Loosen the SLO or allow more GPUs (--max-gpus).\n"
        }
        let pruned = r.filter { $0.result == nil }
        if !pruned.isEmpty {
            s += "\nNot simulated (\(pruned.count)):\n"
            var reasons: [String: [String]] = [:]
            var order: [String] = []
            for e in pruned {
                let why: String
                switch e.verdict {
                case .doesNotFit(let w): why = "does not fit: " + w
                case .cannotMeetSLO(let w): why = "cannot meet SLO: " + w
                case .failed(let w): why = "failed: " + w
                case .simulated: continue
                }
                if reasons[why] == nil { order.append(why) }
                reasons[why, default: []].append(e.candidate.label)
            }
            for w in order.prefix(12) { s += "  \(reasons[w]!.count) plan\(reasons[w]!.count == 1 ? "" : "s"): \(w)  [e.g. \(reasons[w]![0])]\n" }
            if order.count > 12 { s += "  ... and \(order.count - 12) other reasons (--json lists every plan)\n" }
        }
        s += "\nPareto frontier (throughput per GPU vs P99 TPOT): " + frontier.map(\.candidate.label).joined(separator: "; ") + "\n"
        if let c = closest {
            s += String(format: "\nClosest to the SLO: %@  (%@): %@, %.3gx the objective\n", c.plan.candidate.label, c.plan.candidate.args.joined(separator: " "), c.what, c.ratio)
        } else if let best = sim.first, let b = best.result {
            s += "\nRecommended: \(best.candidate.label)  (\(best.candidate.args.joined(separator: " ")))" + (best.usdPerMTok.map { String(format: ", $%.3f per million output tokens", $0) } ?? "") + "\n"
            if let second = sim.dropFirst().first(where: { $0.candidate.gpu != best.candidate.gpu || $0.candidate.tp != best.candidate.tp || $0.candidate.ep != best.candidate.ep || $0.candidate.dp != best.candidate.dp || $0.candidate.pp != best.candidate.pp }), let r2 = second.result {
                s += String(format: "  vs runner-up %@: %.0f vs %.0f tok/s per GPU.\n", second.candidate.label, best.meanOutputThroughput / Double(b.gpus), second.meanOutputThroughput / Double(r2.gpus))
                let parts: [(String, Double, Double)] = [("attention", b.breakdownUs.attention, r2.breakdownUs.attention), ("dense GEMMs", b.breakdownUs.denseGEMM, r2.breakdownUs.denseGEMM),
                                                         ("experts", b.breakdownUs.experts, r2.breakdownUs.experts), ("communication", b.breakdownUs.communication, r2.breakdownUs.communication),
                                                         ("engine overhead", b.breakdownUs.overhead, r2.breakdownUs.overhead)]
                s += String(format: "  mean step %.2f ms vs %.2f ms; tokens per step %.1f vs %.1f. Where the time goes (ms per step):\n", b.breakdownUs.total / 1e3, r2.breakdownUs.total / 1e3,
                            Double(b.totalOutputTokens + b.totalInputTokens) / Double(b.steps), Double(r2.totalOutputTokens + r2.totalInputTokens) / Double(r2.steps))
                s += TextTable.render(["component", "winner", "runner-up", "difference"], parts.sorted(by: { abs($0.1 - $0.2) > abs($1.1 - $1.2) }).map { n, x, y in
                    [n, String(format: "%.3f", x / 1e3), String(format: "%.3f", y / 1e3), String(format: "%+.3f", (x - y) / 1e3)]
                }, indent: "    ")
            }
        }
        return s
    }

    /// Every simulated plan as a point (not joined), the frontier joined and labelled; the same chart as the HTML report's.
    static func paretoSVG(_ r: [PlanSearch.Evaluated], frontier: [PlanSearch.Evaluated], model: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + Reports.paretoChart(r, frontier: frontier, model: model) + "\n"
    }
}
