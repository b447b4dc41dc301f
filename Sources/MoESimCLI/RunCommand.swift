import Foundation
import SimKit
import Cluster
import Serving
import Studies

/// `moesim run`: one deployment under one workload.
enum RunCommand {
    static let spec = CommandSpec(
        name: "run", abstract: "Simulate one deployment under one workload (vLLM benchmark flags).",
        usage: "moesim run --model <name|config.json> [--gpu <name>] [--strategy <s> | --tensor-parallel-size <n> ...] [workload options]",
        discussion: """
        Prints what vLLM's benchmark_serving.py would print for this deployment, predicted. With --engine hf the
        Transformers static-batch engine is simulated instead (--batch-size, --input-len, --output-len, or
        --generation diffusion with --diffusion-steps, --gen-length, --block-length).

        vllm bench serve's client flags that cannot change the result (--endpoint, --host, --port, --base-url,
        --served-model-name, --disable-tqdm, --ready-check-timeout-sec, --trust-remote-code) are accepted and ignored,
        with a note; --backend (default openai) and --label are recorded in the result file and name it, as vLLM's
        are; --ignore-eos is how moesim always runs. vLLM flags that would change a
        real run and are not modelled (--dtype float16, --block-size 32, ...) are refused by name; one that restates
        what moesim models (--dtype auto or bfloat16, --block-size 16, --scheduling-policy fcfs, --swap-space, which
        vLLM's V1 engine ignores) is accepted with a note. --batch-size, --input-len and --output-len on the vLLM
        engine run vllm bench latency (prefix caching off, as vLLM runs it).

        Example:
          moesim run --model mixtral-8x7b --gpu a100-sxm4-80gb --tensor-parallel-size 2 \\
            --dataset-name random --random-input-len 128 --random-output-len 128 --num-prompts 100 --max-concurrency 64
        """,
        arguments: [],
        options: RunOptions.deployment + RunOptions.workload + RunOptions.output + RunOptions.clientNoOps + RunOptions.resultNaming)

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options)
        let store = try ctx.store()
        // Every file the run will read (however named) is known before any output is claimed.
        RunOptions.preflight([args], store: store)
        let inputs = OutputFiles.inputs(a, except: nil)
        let resultFile = try VLLMResult.resultPath(a)
        // --result-dir is created when missing (vLLM: os.makedirs(result_dir, exist_ok=True)); a file in its way is refused now.
        let resultDir = resultFile != nil && a.string("--save-result") == "" ? a.string("--result-dir") : nil
        if let dir = resultDir, case let k = OutputFiles.kind(dir), k != .missing, k != .directory {
            throw InputError.usage("'--result-dir \(dir)' is not a folder; give a folder (it is created when missing)")
        }
        let note = try resultFile.flatMap { try OutputFiles.check($0, flag: "--save-result", inputs: inputs, store: store) }
        let vopt = try VLLMResult.options(a)
        if vopt.detailed && resultFile == nil && !a.has("--json") {
            throw InputError.usage("'--save-detailed' adds per-request arrays to the result JSON; give --json or --save-result too")
        }
        let timelineNote = try a.string("--timeline").flatMap { try OutputFiles.check($0, flag: "--timeline", inputs: inputs, store: store) }
        let htmlNote = try a.string("--html").flatMap { try OutputFiles.check($0, flag: "--html", inputs: inputs, store: store) }
        let progress = ctx.progress("simulating")
        var o = try Simulation.run(a, store: store, progress: { f in progress.update(f) })
        progress.finish()
        if let n = try hostSpread(o, args: args, store: store, ctx: ctx) { o.result.notes.append(n) }
        if let n = try firstStepDraw(o, args: args, store: store, ctx: ctx) { o.result.notes.append(n) }
        if let n = try warmEngine(o, args: args, store: store, ctx: ctx) { o.result.notes.append(n) }
        if let n = RunOptions.strategyNote(a) { ctx.err(n + "\n") }
        if let n = RunOptions.clientNote(a) { ctx.err(n + "\n") }
        if let n = a.restatedNote { ctx.err(n + "\n") }
        for n in o.notes { ctx.err(n + "\n") }
        let warnings = PricingWarnings.warnings(run: o)
        let (r, d, desc) = (o.result, o.deployment, o.workload)
        let json = JSONWriter.write(try VLLMResult.fields(o, a, vopt))
        if let f = resultFile {
            if let dir = resultDir, OutputFiles.kind(dir) == .missing {
                do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
                catch { throw InputError.data("--result-dir \(dir): cannot create the folder: \((error as NSError).localizedFailureReason ?? error.localizedDescription)") }
            }
            if let n = note { ctx.err(n) }
            try OutputFiles.write(json + "\n", to: f, flag: "--save-result", what: "the result")
        }
        if let f = a.string("--timeline") {
            if let n = timelineNote { ctx.err(n) }
            try OutputFiles.write(Timeline.chromeTrace(o), to: f, flag: "--timeline", what: "the timeline")
        }
        if let f = a.string("--html") {
            if let n = htmlNote { ctx.err(n) }
            try Reports.write(Reports.run(o, command: "moesim run " + args.joined(separator: " ")), to: f)
        }
        if a.has("--json") { ctx.out(json + "\n") } else { ctx.out(summary(r, d, desc, goodput: VLLMResult.goodput(r, vopt.goodput), options: vopt)) }
        // Last, once every output is written (an error before them would otherwise follow a warning).
        for w in warnings { ctx.err(w + "\n") }
    }

    /// The largest workload (completed requests) `hostSpread` reruns twice; above it the note names the flags instead.
    static let maxSpreadRequests = 100_000

    /// Where a vLLM prediction waits on the host for at least 5% of its step time and the engine profile states the
    /// spread of host speed measured across real hosts (`host_spread_low` / `host_spread_high`), the same run at host
    /// costs times each end of it (`--host-cost-scale`, same seed), as a note: what a faster or slower host of the same
    /// kind would likely show. nil otherwise, or when the run already sets `--host-cost-scale`.
    static func hostSpread(_ o: Simulation.Outcome, args: [String], store: ProfileStore, ctx: Context) throws -> String? {
        let d = o.deployment, r = o.result, b = r.breakdownUs
        let lo = d.param("host_spread_low"), hi = d.param("host_spread_high")
        guard d.engine.kind == .vllm, lo > 0, hi > lo, b.total > 0, d.overrides["host_cost_scale"] == nil else { return nil }
        let share = b.overhead / b.total
        guard share >= 0.05 else { return nil }
        // Two more runs of the whole workload: not for the largest ones, where they would triple a long run's time.
        if r.completed > maxSpreadRequests {
            return String(format: "host spread: %.0f%% of the engine's step time waits on the host; not rerun for a workload of more than %d requests (two more runs): --host-cost-scale %g and %g give the ends of the host spread measured across real H200 and H100 hosts",
                          share * 100, maxSpreadRequests, lo, hi)
        }
        let progress = ctx.progress("host spread")
        var ends: [RunResult] = []
        for (k, x) in [lo, hi].enumerated() {
            ends.append(try rerun(args + ["--host-cost-scale", String(x)], store: store) { f in progress.update((Double(k) + f) / 2) })
        }
        progress.finish()
        let f = figure
        return String(format: "host spread: %.0f%% of the engine's step time waits on the host (the engine core's work, the launches of steps without CUDA graphs); ", share * 100)
            + "vLLM's steps without graphs ran \(f(lo))-\(f(hi))x moesim's on the H200 and H100 hosts measured (engine profile \(d.engine.name)'s host_spread_low/high): "
            + "at host costs x\(f(lo)) / x\(f(hi)) this run takes \(f(ends[0].durationS)) / \(f(ends[1].durationS)) s, median TTFT \(f(ends[0].ttftMs.median)) / \(f(ends[1].ttftMs.median)) ms, "
            + "mean TPOT \(f(ends[0].tpotMs.mean)) / \(f(ends[1].tpotMs.mean)) ms (--host-cost-scale X runs at any other)"
    }

    /// Where the prediction waited for first-use compiles (the `first use:` note: a fresh engine meeting kernels its
    /// start-up did not compile), the same run with every size compiled beforehand (`--warm-token-counts all`, same
    /// seed), as a note: what a server warmed up at every size shows, the figure a planner sizing a long-running
    /// deployment wants beside a fresh engine's. nil otherwise.
    static func warmEngine(_ o: Simulation.Outcome, args: [String], store: ProfileStore, ctx: Context) throws -> String? {
        let d = o.deployment, r = o.result
        // vllm bench latency's batches pay their compiles in the warm-up iterations already (Simulation.benchLatency).
        guard d.engine.kind == .vllm, !d.allWarm, r.benchLatencyS == nil,
              r.waitedForFirstUse else { return nil }
        if r.completed > maxSpreadRequests {
            return "warm engine: not rerun for a workload of more than \(maxSpreadRequests) requests: --warm-token-counts all runs it with every size compiled beforehand"
        }
        let progress = ctx.progress("warm engine")
        let w: RunResult
        do {
            w = try rerun(args + ["--warm-token-counts", "all"], store: store) { f in progress.update(f) }
        } catch {
            // The run itself stands; the note says why its warm rerun could not be made.
            progress.finish()
            return "warm engine: not rerun: \(error)"
        }
        progress.finish()
        let f = figure
        return "warm engine: with every size compiled before the run (--warm-token-counts all: a server warmed up at every size, or one that met them all before), "
            + "this run takes \(f(w.durationS)) s, median TTFT \(f(w.ttftMs.median)) ms, mean TPOT \(f(w.tpotMs.mean)) ms "
            + "(the run above, which compiled them as it met them: \(f(r.durationS)) s, \(f(r.ttftMs.median)) ms, \(f(r.tpotMs.mean)) ms)"
    }

    /// The run again with `args` (the user's, with a flag appended: the last value given wins), for a note.
    static func rerun(_ args: [String], store: ProfileStore, progress: @escaping @Sendable (Double) -> Void) throws -> RunResult {
        try Simulation.run(try ParsedArguments(args, options: spec.options), store: store, progress: progress).result
    }

    /// A figure in a note: three significant digits, whole from 100 up.
    static func figure(_ x: Double) -> String { String(format: x >= 100 ? "%.0f" : "%.3g", x) }

    /// vLLM's offline first step holds the requests its engine core has received when it first schedules, a count
    /// that differs from run to run; which later steps meet a kernel start-up did not compile (a one-off wait of about
    /// a second) turns on it. Where moesim's prediction holds every request at the first step (the `first step:`
    /// note) and the engine profile states the measured draw (`first_step_draw`), the same run at each count of the
    /// draw below its request count (`--first-step-requests`, same seed), as a note: the range of wall times over the
    /// draw, its median, and the chance of a first-use wait. nil otherwise.
    static func firstStepDraw(_ o: Simulation.Outcome, args: [String], store: ProfileStore, ctx: Context) throws -> String? {
        let d = o.deployment, r = o.result
        // vllm bench latency's batches (--batch-size) are not LLM.generate's hand-over: no draw.
        guard d.engine.kind == .vllm, d.usageContext == .offline, r.benchLatencyS == nil, let draw = d.engine.firstStepDraw,
              r.notes.contains(where: { $0.hasPrefix(VLLMSimulator.firstStepNote) }) else { return nil }
        let n = r.completed
        let (below, all) = draw.outcomes(n: n)
        guard !below.isEmpty else { return nil }
        let lo = draw.requests.first!, hi = draw.requests.last!
        let measured = "vLLM's first step holds the requests its engine core has received when it first schedules, \(lo) to \(hi) in the measured runs (engine profile \(d.engine.name)'s first_step_draw)"
        if below.count * n > maxSpreadRequests {
            return "first-step draw: \(measured); not rerun for \(n) requests (\(below.count) more runs): --first-step-requests N runs any count of it"
        }
        var outcomes: [(s: Double, p: Double, stall: Bool)] = [(r.durationS, all, r.waitedForFirstUse)]
        let progress = ctx.progress("first-step draw")
        do {
            for (i, (k, p)) in below.enumerated() {
                let x = try rerun(args + ["--first-step-requests", String(k)], store: store) { f in progress.update((Double(i) + f) / Double(below.count)) }
                outcomes.append((x.durationS, p, x.waitedForFirstUse))
            }
        } catch {
            // The run itself stands; the note says why its draw could not be run.
            progress.finish()
            return "first-step draw: \(measured); not rerun: \(error)"
        }
        progress.finish()
        let total = outcomes.reduce(0) { $0 + $1.p }
        let sorted = outcomes.sorted { $0.s < $1.s }
        func quantile(_ q: Double) -> Double {
            var cum = 0.0
            for x in sorted { cum += x.p / total; if cum >= q - 1e-9 { return x.s } }
            return sorted.last!.s
        }
        let stall = outcomes.filter(\.stall).reduce(0) { $0 + $1.p } / total
        let f = figure
        return "first-step draw: \(measured); over that draw this run takes \(f(sorted.first!.s))-\(f(sorted.last!.s)) s (median \(f(quantile(0.5))) s, "
            + "10th-90th percentile \(f(quantile(0.1)))-\(f(quantile(0.9))) s), and in \(String(format: "%.0f", stall * 100))% of draws a step without CUDA graphs meets a kernel not yet compiled (a one-off wait); "
            + "the prediction above holds all \(n) requests at the first step, "
            + (all / total >= 0.005 ? "as \(String(format: "%.0f", all / total * 100))% of draws do" : "more than any measured draw held")
            + " (--first-step-requests N runs any other)"
    }

    /// The human summary, laid out like vLLM's benchmark_serving.py; in the offline usage context (`LLM.generate`, what
    /// `vllm bench throughput` runs) it starts with that command's three lines, then the latencies it does not report.
    static func summary(_ r: RunResult, _ d: Deployment, _ desc: String, goodput: Double? = nil, options: VLLMResult.Options = VLLMResult.Options()) -> String {
        var s = ""
        func header(_ t: String, _ c: Character) {
            let total = 50, pad = max(0, total - t.count), left = pad / 2
            s += String(repeating: c, count: left) + t + String(repeating: c, count: pad - left) + "\n"
        }
        func row(_ k: String, _ v: String) { s += k.padding(toLength: 40, withPad: " ", startingAt: 0) + " " + v + "\n" }
        func f2(_ x: Double) -> String { String(format: "%.2f", x) }
        s += "moesim prediction: \(d.summary)\nworkload: \(desc)\n"
        if let l = r.benchLatencyS {
            // vllm bench latency's own lines (vllm/benchmarks/latency.py); every simulated iteration is the same.
            s += "Avg latency: \(String(format: "%.6f", l)) seconds\n"
            let ls = r.benchLatencies.isEmpty ? [l] : r.benchLatencies
            for p in [10, 25, 50, 75, 90, 99] { s += "\(p)% percentile latency: \(String(format: "%.6f", RunResult.numpyPercentile(ls, Double(p)))) seconds\n" }
            header(" Offline Benchmark Result (LLM.generate, the simulated batches) ", "=")
        } else if d.usageContext == .offline {
            // vllm bench throughput's own lines (vllm/benchmarks/throughput.py), then what it does not print.
            s += "Throughput: \(f2(r.requestThroughput)) requests/s, \(f2(r.totalTokenThroughput)) total tokens/s, \(f2(r.outputThroughput)) output tokens/s\n"
            s += "Total num prompt tokens:  \(r.totalInputTokens)\nTotal num output tokens:  \(r.totalOutputTokens)\n"
            header(" Offline Benchmark Result (LLM.generate) ", "=")
        } else {
            header(" Serving Benchmark Result ", "=")
        }
        row("Successful requests:", "\(r.completed)")
        if r.benchLatencyS == nil, d.usageContext != .offline, d.engine.kind == .vllm { row("Failed requests:", "\(r.failed)") }
        row("Benchmark duration (s):", f2(r.durationS))
        row("Total input tokens:", "\(r.totalInputTokens)")
        row("Total generated tokens:", "\(r.totalOutputTokens)")
        row("Request throughput (req/s):", f2(r.requestThroughput))
        if let g = goodput { row("Request goodput (req/s):", f2(g)) }
        row("Output token throughput (tok/s):", f2(r.outputThroughput))
        if let p = r.peaks {
            row("Peak output token throughput (tok/s):", f2(p.maxOutputTokensPerS))
            row("Peak concurrent requests:", f2(Double(p.maxConcurrentRequests)))
        }
        row("Total Token throughput (tok/s):", f2(r.totalTokenThroughput))
        let titles = ["ttft": ("Time to First Token", "TTFT", r.ttftMs), "tpot": ("Time per Output Token (excl. 1st token)", "TPOT", r.tpotMs),
                      "itl": ("Inter-token Latency", "ITL", r.itlMs), "e2el": ("End-to-end Latency", "E2EL", r.e2elMs)]
        for metric in options.metrics {
            let (title, short, m) = titles[metric]!
            header(title, "-")
            row("Mean \(short) (ms):", f2(m.mean)); row("Median \(short) (ms):", f2(m.median))
            let ps = r.samples.map { $0.percentiles(metric, options.percentiles) } ?? options.percentiles.map { $0 == 99 ? m.p99 : .nan }
            for (p, v) in zip(options.percentiles, ps) { row("P\(VLLMResult.pKey(p)) \(short) (ms):", f2(v)) }
        }
        header(" moesim ", "-")
        row("Output throughput per GPU (tok/s):", f2(r.outputThroughput / Double(r.gpus)))
        let pp = d.plan.pipelineParallel
        row(pp > 1 ? "Engine batches (through \(pp) stages):" : "Engine steps:", "\(r.steps)")
        let b = r.breakdownUs
        row(pp > 1 ? "Mean batch, all stages (ms):" : "Mean step (ms):", String(format: "%.3f = attn %.3f + dense %.3f + experts %.3f + comm %.3f + overhead %.3f",
                                       b.total / 1e3, b.attention / 1e3, b.denseGEMM / 1e3, b.experts / 1e3, b.communication / 1e3, b.overhead / 1e3))
        if r.kvCapacityTokens > 0 {
            row("KV cache (tokens per DP rank):", "\(r.kvCapacityTokens), peak use \(String(format: "%.1f%%", r.peakKVUsage * 100))")
            row("Preemptions:", "\(r.preemptions)")
        }
        row("GPU busy:", String(format: "%.1f%%", r.gpuBusyFraction * 100))
        row("Seed:", "\(r.seed)")
        for n in r.notes { s += "note: \(n)\n" }
        header("", "=")
        return s
    }
}
