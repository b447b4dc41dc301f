import Foundation
import Cluster
import Serving

/// A simulation as a Chrome trace (the JSON trace-event format that ui.perfetto.dev and chrome://tracing open):
/// engine steps per GPU, each split into its components, a tokens-per-step counter, and every request's lifetime
/// (waiting and prefill until its first token, then decode) on as few rows as do not overlap. Times are simulated
/// microseconds from the first request's send.
public enum Timeline {
    /// GPU tracks drawn at most (all GPUs of a plan step in lockstep in moesim; the rest would repeat them).
    public static let maxGPUTracks = 16

    static func num(_ d: Double) -> String { JSONWriter.number((d * 1000).rounded() / 1000) }

    public static func chromeTrace(_ o: Simulation.Outcome) -> String {
        let r = o.result, d = o.deployment
        var ev: [String] = []
        func meta(_ pid: Int, _ tid: Int?, _ kind: String, _ name: String) {
            ev.append("{\"name\":\"\(kind)\",\"ph\":\"M\",\"pid\":\(pid)" + (tid.map { ",\"tid\":\($0)" } ?? "") + ",\"args\":{\"name\":\(JSONWriter.quote(name))}}")
        }
        func slice(_ name: String, _ cat: String, _ pid: Int, _ tid: Int, _ ts: Double, _ dur: Double, _ args: String = "") {
            ev.append("{\"name\":\(JSONWriter.quote(name)),\"cat\":\"\(cat)\",\"ph\":\"X\",\"pid\":\(pid),\"tid\":\(tid),\"ts\":\(num(ts)),\"dur\":\(num(max(dur, 0)))" + (args.isEmpty ? "" : ",\"args\":{\(args)}") + "}")
        }
        let names = ["attention", "dense GEMMs", "experts", "communication", "engine overhead"]
        /// One engine's GPUs (process `pid`) and its steps.
        func engine(_ pid: Int, _ title: String, _ plan: ParallelPlan, _ steps: [RunResult.StepRecord]) {
            let shown = min(plan.gpuCount, maxGPUTracks)
            meta(pid, nil, "process_name", title)
            ev.append("{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":\(pid),\"args\":{\"sort_index\":\(pid)}}")
            let tp = max(plan.tensorParallel, 1), pp = plan.pipelineParallel
            // GPU g (vLLM's rank order DP, PP, TP) runs stage (g / TP) % PP of DP rank g / (TP x PP).
            func stage(_ g: Int) -> Int { (g / tp) % pp }
            for g in 0..<shown {
                let rank = g / (tp * pp)
                meta(pid, g, "thread_name", "GPU \(g)" + (plan.dataParallel > 1 ? " (DP rank \(rank))" : "") + (pp > 1 ? " stage \(stage(g))" : ""))
            }
            for s in steps {
                let p = s.parts
                let parts = [p.attention, p.denseGEMM, p.experts, p.communication, p.overhead]
                let total = p.total
                if let st = s.stages {
                    // Pipeline: each GPU shows the batch while its stage runs it.
                    for g in 0..<shown where stage(g) < st.count {
                        slice("batch", "step", pid, g, st[stage(g)].startUs, st[stage(g)].us, "\"tokens\":\(s.tokens),\"sequences\":\(s.sequences),\"stage\":\(stage(g))")
                    }
                    ev.append("{\"name\":\"tokens per step\",\"ph\":\"C\",\"pid\":\(pid),\"ts\":\(num(s.startUs)),\"args\":{\"tokens\":\(s.tokens),\"sequences\":\(s.sequences)}}")
                    continue
                }
                for g in 0..<shown {
                    slice("step", "step", pid, g, s.startUs, total, "\"tokens\":\(s.tokens),\"sequences\":\(s.sequences)")
                    var at = s.startUs
                    for (k, v) in parts.enumerated() where v > 0 {
                        slice(names[k], "component", pid, g, at, v)
                        at += v
                    }
                }
                ev.append("{\"name\":\"tokens per step\",\"ph\":\"C\",\"pid\":\(pid),\"ts\":\(num(s.startUs)),\"args\":{\"tokens\":\(s.tokens),\"sequences\":\(s.sequences)}}")
            }
        }
        let gpus = d.plan.gpuCount
        let shown = min(gpus, maxGPUTracks)
        let pp = d.plan.pipelineParallel
        if let many = r.timeline?.instances {
            // Several instances: one process each after the requests (pid 3, 4, ...), with its own plan's GPUs.
            for (k, inst) in many.enumerated() {
                engine(3 + k, "\(inst.role) instance \(inst.index): \(inst.plan.vllmFlags)", inst.plan, inst.steps)
            }
        } else {
            engine(1, "engine: \(d.summary)", d.plan, r.timeline?.steps ?? [])
        }
        if let pr = r.perRequest {
            meta(2, nil, "process_name", "requests (client view)")
            ev.append("{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":2,\"args\":{\"sort_index\":2}}")
            // Rows: each request on the lowest row free at its send time.
            var rowFree: [Double] = []
            let order = pr.sendMs.indices.sorted { (pr.sendMs[$0], $0) < (pr.sendMs[$1], $1) }
            for i in order {
                let start = pr.sendMs[i] * 1e3, first = start + pr.ttftMs[i] * 1e3, end = start + pr.e2elMs[i] * 1e3
                var row = rowFree.firstIndex { $0 <= start } ?? rowFree.count
                if row == rowFree.count { rowFree.append(0); meta(2, row, "thread_name", "row \(row)") } else { row = Int(row) }
                rowFree[row] = end
                slice("request \(i)", "request", 2, row, start, end - start,
                      "\"input_len\":\(pr.inputLens[i]),\"output_len\":\(pr.outputLens[i]),\"ttft_ms\":\(num(pr.ttftMs[i])),\"e2el_ms\":\(num(pr.e2elMs[i]))")
                slice("waiting + prefill", "request", 2, row, start, first - start)
                slice("decode", "request", 2, row, first, end - first)
            }
        }
        var notes = (r.timeline?.instances).map { ["\($0.count) engine instances (\(d.summary)), each its own process below the requests"] } ?? []
        notes += ["moesim simulation (not a measurement); times are simulated microseconds",
                     "components of a step are its totals over all layers, laid end to end (per-layer interleaving not shown)",
                     (pp > 1 ? "pipeline parallelism: each GPU shows the batches its stage runs (whole-stage slices, no per-component split); up to \(pp) batches in flight"
                             : "all GPUs of the plan step in lockstep in moesim") + (gpus > shown ? "; \(shown) of \(gpus) GPUs drawn" : "")]
        if let t = r.timeline, t.droppedSteps > 0 {
            notes.append("only the first \(t.instances.map { $0.reduce(0) { $0 + $1.steps.count } } ?? t.steps.count) steps recorded; \(t.droppedSteps) later steps left out")
        }
        return "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"model\":\(JSONWriter.quote(d.model.name)),\"deployment\":\(JSONWriter.quote(d.summary)),\"workload\":\(JSONWriter.quote(o.workload)),\"notes\":[\(notes.map(JSONWriter.quote).joined(separator: ","))]},\n\"traceEvents\":[\n"
            + ev.joined(separator: ",\n") + "\n]}\n"
    }
}
