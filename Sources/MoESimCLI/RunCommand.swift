import Foundation
import SimKit
import Cluster
import Serving

/// `moesim run`: one deployment under one workload.
enum RunCommand {
    static let output: [OptionSpec] = [
        OptionSpec("--json", nil, "Print one JSON object with the benchmark's key names."),
        OptionSpec("--save-result", "<file>", "Also write the JSON result to a file."),
    ]
    static let spec = CommandSpec(
        name: "run", abstract: "Simulate one deployment under one workload (vLLM benchmark flags).",
        usage: "moesim run --model <name|config.json> [--gpu <name>] [--strategy <s> | --tensor-parallel-size <n> ...] [workload options]",
        discussion: """
        Prints what vLLM's benchmark_serving.py would print for this deployment, predicted. With --engine hf the
        Transformers static-batch engine is simulated instead (--batch-size, --input-len, --output-len, or
        --generation diffusion with --diffusion-steps, --gen-length, --block-length).

        Example:
          moesim run --model mixtral-8x7b --gpu a100-sxm4-80gb --tensor-parallel-size 2 \\
            --dataset-name random --random-input-len 128 --random-output-len 128 --num-prompts 100 --max-concurrency 64
        """,
        arguments: [],
        options: RunOptions.deployment + RunOptions.workload + output)

    /// Simulates the run the parsed options describe (either engine).
    static func simulate(_ a: ParsedArguments, store: ProfileStore, progress: ProgressLine? = nil) throws -> (RunResult, Deployment, String) {
        let d = try RunOptions.deployment(a, store: store)
        let seed = try RunOptions.seed(a)
        switch d.engine.kind {
        case .vllm:
            if a.has("--generation"), a.string("--generation") == "diffusion" {
                throw InputError.usage("vLLM does not support diffusion generation; use '--engine hf'")
            }
            if d.model.isDiffusion { throw InputError.usage("\(d.model.name) is a diffusion model; vLLM cannot serve it: use '--engine hf --generation diffusion'") }
            for f in ["--batch-size", "--input-len", "--output-len", "--diffusion-steps", "--gen-length", "--block-length", "--experts-impl"] where a.has(f) {
                throw InputError.usage("'\(f)' applies to '--engine hf'; the vLLM engine takes the benchmark's workload flags")
            }
            let w = try RunOptions.workload(a, seed: seed)
            var sim = VLLMSimulator(deployment: d, workload: w, seed: seed)
            if let p = progress { sim.progress = { f in p.update(f) } }
            return (try sim.run(), d, w.description)
        case .hf:
            let gen = try a.choice("--generation", ["autoregressive", "diffusion"]) ?? (d.model.isDiffusion ? "diffusion" : "autoregressive")
            var sched: DiffusionSchedule? = nil
            let inputLen = try a.int("--input-len") ?? 128
            if gen == "diffusion" {
                let genLen = try a.int("--gen-length") ?? 128
                sched = try DiffusionSchedule(steps: try a.int("--diffusion-steps") ?? 128, genLength: genLen, blockLength: try a.int("--block-length") ?? genLen)
            }
            let implName = try a.choice("--experts-impl", HFSimulator.ExpertsImpl.allCases.map(\.rawValue)) ?? d.engine.defaultExpertsImpl
            guard let impl = HFSimulator.ExpertsImpl(rawValue: implName) else {
                throw InputError.data("engine profile \(d.engine.name): experts_impl '\(implName)' is not one of \(quotedChoices(HFSimulator.ExpertsImpl.allCases.map(\.rawValue)))")
            }
            let sim = try HFSimulator(deployment: d, batchSize: try a.int("--batch-size") ?? 1, inputLen: inputLen,
                                      outputLen: try a.int("--output-len") ?? 64, diffusion: sched, cfg: a.has("--cfg"),
                                      expertsImpl: impl, expertReuse: try a.double("--expert-reuse") ?? 0, seed: seed)
            let desc = sched.map { "diffusion: batch \(try! a.int("--batch-size") ?? 1), prompt \(inputLen), \($0.steps) steps, gen \($0.genLength), block \($0.blockLength)" }
                ?? "static batch \(sim.batchSize) x \(inputLen) in / \(sim.outputLen) out"
            return (try sim.run(), d, desc)
        }
    }

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options)
        let store = try ctx.store()
        let progress = ctx.progress("simulating")
        let (r, d, desc) = try simulate(a, store: store, progress: progress)
        progress.finish()
        let json = JSONWriter.write(resultFields(r, d, desc))
        if let f = a.string("--save-result") {
            do { try (json + "\n").write(toFile: f, atomically: true, encoding: .utf8) }
            catch { throw InputError.data("\(f): cannot write the result: \(error.localizedDescription)") }
        }
        if a.has("--json") { ctx.out(json + "\n") } else { ctx.out(summary(r, d, desc)) }
    }

    static func resultFields(_ r: RunResult, _ d: Deployment, _ desc: String) -> [(String, Any)] {
        [("model", d.model.name), ("gpu", d.gpu.name), ("plan", d.plan.vllmFlags), ("strategy", d.plan.strategy?.rawValue ?? NSNull()),
         ("engine", d.engine.name), ("workload", desc)] + r.fields()
    }

    /// The human summary, laid out like vLLM's benchmark_serving.py.
    static func summary(_ r: RunResult, _ d: Deployment, _ desc: String) -> String {
        var s = ""
        func header(_ t: String, _ c: Character) {
            let total = 50, pad = max(0, total - t.count), left = pad / 2
            s += String(repeating: c, count: left) + t + String(repeating: c, count: pad - left) + "\n"
        }
        func row(_ k: String, _ v: String) { s += k.padding(toLength: 40, withPad: " ", startingAt: 0) + " " + v + "\n" }
        func f2(_ x: Double) -> String { String(format: "%.2f", x) }
        s += "moesim prediction: \(d.summary)\nworkload: \(desc)\n"
        header(" Serving Benchmark Result ", "=")
        row("Successful requests:", "\(r.completed)")
        row("Benchmark duration (s):", f2(r.durationS))
        row("Total input tokens:", "\(r.totalInputTokens)")
        row("Total generated tokens:", "\(r.totalOutputTokens)")
        row("Request throughput (req/s):", f2(r.requestThroughput))
        row("Output token throughput (tok/s):", f2(r.outputThroughput))
        row("Total Token throughput (tok/s):", f2(r.totalTokenThroughput))
        for (title, short, m) in [("Time to First Token", "TTFT", r.ttftMs), ("Time per Output Token (excl. 1st token)", "TPOT", r.tpotMs),
                                  ("Inter-token Latency", "ITL", r.itlMs), ("End-to-end Latency", "E2EL", r.e2elMs)] {
            header(title, "-")
            row("Mean \(short) (ms):", f2(m.mean)); row("Median \(short) (ms):", f2(m.median)); row("P99 \(short) (ms):", f2(m.p99))
        }
        header(" moesim ", "-")
        row("Output throughput per GPU (tok/s):", f2(r.outputThroughput / Double(r.gpus)))
        row("Engine steps:", "\(r.steps)")
        let b = r.breakdownUs
        row("Mean step (ms):", String(format: "%.3f = attn %.3f + dense %.3f + experts %.3f + comm %.3f + overhead %.3f",
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
