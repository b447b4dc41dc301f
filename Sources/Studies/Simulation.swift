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
        let d = try RunOptions.deployment(a, store: store, engineOverride: engineOverride)
        let seed = try RunOptions.seed(a)
        switch d.engine.kind {
        case .vllm:
            if a.string("--generation") == "diffusion" {
                throw InputError.usage("vLLM does not support diffusion generation; use '--engine hf'")
            }
            if d.model.isDiffusion { throw InputError.usage("\(d.model.name) is a diffusion model; vLLM cannot serve it: use '--engine hf --generation diffusion'") }
            for f in ["--batch-size", "--input-len", "--output-len", "--diffusion-steps", "--gen-length", "--block-length", "--experts-impl", "--cfg", "--expert-reuse"] where a.has(f) {
                throw InputError.usage("'\(f)' applies to '--engine hf'; the vLLM engine takes the benchmark's workload flags")
            }
            var w = try RunOptions.workload(a, seed: seed)
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
                return Outcome(result: try many.run(), deployment: d, workload: w.description, notes: d.notes + w.notes)
            }
            var sim = try RunOptions.vllmSimulator(a, deployment: d, workload: w, seed: seed, store: store)
            sim.progress = progress
            sim.recordRequestITLs = a.has("--save-detailed")
            sim.recordTimeline = a.has("--timeline")
            return Outcome(result: try sim.run(), deployment: d, workload: w.description, notes: d.notes + w.notes)
        case .hf:
            if a.has("--timeline") { throw InputError.usage("'--timeline' records the vLLM engine's steps; the HF engine's static batch has none to show (its forwards are in 'moesim explain --engine hf')") }
            let sim = try RunOptions.hfSimulator(a, deployment: d, seed: seed)
            let batch = sim.batchSize, inputLen = sim.inputLen, sched = sim.diffusion
            let desc = sched.map { "diffusion: batch \(batch), prompt \(inputLen), \($0.steps) steps, gen \($0.genLength), block \($0.blockLength)" }
                ?? "static batch \(batch) x \(inputLen) in / \(sim.outputLen) out"
            return Outcome(result: try sim.run(), deployment: d, workload: desc, notes: d.notes)
        }
    }

    /// The result as ordered JSON fields: what was run, then the benchmark's keys.
    public static func fields(_ o: Outcome) -> [(String, Any)] {
        [("model", o.deployment.model.name), ("gpu", o.deployment.gpu.name), ("plan", o.deployment.plan.vllmFlags),
         ("strategy", o.deployment.plan.strategy?.rawValue ?? NSNull()), ("engine", o.deployment.engine.name),
         ("workload", o.workload)] + o.result.fields()
    }
}
