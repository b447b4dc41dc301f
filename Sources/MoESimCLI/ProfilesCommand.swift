import Foundation
import Cluster
import Serving
import Studies

/// `moesim profiles list|show|check`.
enum ProfilesCommand {
    static let spec = CommandSpec(
        name: "profiles", abstract: "List, show and check model, GPU, interconnect and engine profiles.",
        usage: "moesim profiles list | show <kind> <name|file> | check <file>... | kernels [<name>...] [--loso]",
        discussion: "Kinds: models, gpus, interconnects, engines. 'check' validates any profile file, shipped or your own, and prints what it read. 'kernels' describes the measured vLLM kernel tables (profiles/kernels/): provenance, the fused-MoE shape model fitted to them and its error; --loso adds the leave-one-shape-out error (each measured expert shape predicted by the model fitted on the others).",
        arguments: [("<action>", "list, show, check or kernels"), ("<args>", "kind and name for show; files for check; table names for kernels (default: all)")],
        options: [OptionSpec("--loso", nil, "with 'kernels': leave-one-shape-out error of the fused-MoE shape model")])

    static let kinds = ["models", "gpus", "interconnects", "networks", "engines"]

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 64)
        let store = try ctx.store()
        guard let action = a.positionals.first else { throw InputError.usage("Missing expected argument '<action>' (list, show or check)") }
        if a.has("--loso") && action != "kernels" { throw InputError.usage("'--loso' is used only by 'profiles kernels'") }
        switch action {
        case "list":
            if a.positionals.count > 1 { throw InputError.usage("Unexpected argument '\(a.positionals[1])': 'profiles list' lists every shipped profile") }
            for k in kinds {
                ctx.out("\(k):\n")
                for n in store.names(k) { ctx.out("  \(n)\(try describe(kind: k, path: "\(store.root)/\(k)/\(n).json", store: store).map { "  — \($0)" } ?? "")\n") }
            }
        case "show":
            guard a.positionals.count == 3 else { throw InputError.usage("usage: moesim profiles show <kind> <name|file>") }
            let kind = a.positionals[1]
            guard kinds.contains(kind) else { throw InputError.usage("The value '\(kind)' is invalid for '<kind>'. Please provide one of \(quotedChoices(kinds))") }
            let path = try store.resolve(kind, a.positionals[2], flag: "<name>")
            ctx.out(try readInputText(path, kind: kind == "models" ? .modelConfig : .profile))
        case "check":
            let files = Array(a.positionals.dropFirst())
            guard !files.isEmpty else { throw InputError.usage("Missing expected argument '<file>'") }
            for f in files {
                let kind = try guessKind(f)
                ctx.out("\(f): ok (\(kind)) — \(try describe(kind: kind, path: f, store: store) ?? "")\n")
            }
        case "kernels":
            var names = Array(a.positionals.dropFirst())
            if names.isEmpty { names = store.names("kernels") }
            for n in names { ctx.out(kernelsReport(try store.kernelTables(n), loso: a.has("--loso"))) }
        default:
            throw InputError.usage("The value '\(action)' is invalid for '<action>'. Please provide one of 'list', 'show', 'check' or 'kernels'")
        }
    }

    /// The shape model, its in-sample error and (with `loso`) its leave-one-shape-out error on one table.
    static func kernelsReport(_ t: VLLMKernelTables, loso: Bool) -> String {
        let m = t.shapeModel
        var s = "\(t.name): vLLM \(t.frameworkVersion) kernels for \(t.gpuName) (\(t.provenance))\n"
        s += String(format: "  fused-MoE shape model: time = bytes / %.0f GB/s + flops / %.1f TFLOP/s + %.2f us x hit experts + %.1f us\n",
                    m.bytesPerUs / 1e3, m.flopsPerUs / 1e6, m.perExpertUs, m.floorUs)
        let ins = t.inSampleError()
        s += String(format: "  in-sample over %d rows: mean |error| %.1f%%, median %.1f%%\n", t.fitRows.count, ins.meanAbsPct, ins.medianAbsPct)
        s += "  measured shapes (hidden x inter, top-k of experts: TP/EP degrees):\n"
        for sh in t.moeShapes {
            let d = t.measuredDegrees(sh)
            s += "    \(sh): " + d.map { $0.ep > 1 ? "EP\($0.ep)" : "TP\($0.tp)" }.joined(separator: " ") + " (" + (d.first?.distributions.joined(separator: ", ") ?? "") + ")\n"
        }
        if loso && t.moeShapes.count < 2 {
            s += "  leave-one-shape-out: none (one measured shape; moesim uses this table only at its measured shape and degrees)\n"
        } else if loso {
            s += "  leave-one-shape-out (model fitted without the shape, predicting its rows at the collector's routing;\n"
            s += "  as moesim prices an unmeasured shape: scaled by the nearest remaining measured shape at the same TP/EP and tokens):\n"
            s += "    shape                                 rows  mean |err|  median |err|  mean signed  | model alone: mean |err|\n"
            let rows = t.leaveOneShapeOut(corrected: true), plain = t.leaveOneShapeOut(corrected: false)
            for (r, q) in zip(rows, plain) {
                s += "    " + "\(r.shape)".padding(toLength: 36, withPad: " ", startingAt: 0)
                s += String(format: "%6d  %8.1f%%  %10.1f%%  %+10.1f%%  | %8.1f%%\n", r.rows, r.meanAbsPct, r.medianAbsPct, r.meanSignedPct, q.meanAbsPct)
            }
            func weighted(_ x: [(shape: MoEShape, rows: Int, meanAbsPct: Double, medianAbsPct: Double, meanSignedPct: Double)]) -> Double {
                x.reduce(0.0) { $0 + $1.meanAbsPct * Double($1.rows) } / Double(max(x.reduce(0) { $0 + $1.rows }, 1))
            }
            s += String(format: "    all shapes, row-weighted mean |error| %.1f%% (model alone %.1f%%)\n", weighted(rows), weighted(plain))
        }
        // The measured quantized fused-MoE tables (H100/H200), each with its own shape model (the fp8 block-scaled
        // one is used for unmeasured shapes; the others only at their measured shapes and degrees).
        for key in VLLMKernelTables.quantizedMoEKeys { if let f = t.quantizedMoE[key] { s += "\n" + kernelsReport(f, loso: loso) } }
        return s
    }

    static func guessKind(_ f: String) throws -> String {
        let j = try JSONNode.load(file: f)
        if j.has("config") || j.has("model_type") { return "models" }
        if j.has("peak_bf16_tflops") { return "gpus" }
        if j.has("curves") { return "interconnects" }
        if j.has("nic_bus_bandwidth_gbps") { return "networks" }
        if j.has("engine") { return "engines" }
        if j.has("moe") && j.has("moe_routing") { return "kernels" }
        throw j.fail("cannot tell the profile kind: expected 'config'/'model_type' (model), 'peak_bf16_tflops' (GPU), 'curves' (interconnect), 'engine' (engine) or 'moe' with 'moe_routing' (kernel tables)")
    }

    /// Loads a profile fully (so every check runs) and returns a one-line description.
    static func describe(kind: String, path: String, store: ProfileStore) throws -> String? {
        switch kind {
        case "models":
            let m = try store.model(path)
            var s = String(format: "%@, %d layers, hidden %d, %.2fB params (%.2fB active)", m.family, m.layers, m.hidden, m.totalParams / 1e9, m.activeParams / 1e9)
            if m.quantization.isQuantized { s += ", \(m.quantization.method)" }
            if let moe = m.moe { s += ", \(moe.experts) experts top-\(moe.topK)" + (moe.sharedIntermediate > 0 ? " + shared \(moe.sharedIntermediate)" : "") }
            if m.isDiffusion { s += ", diffusion" }
            return s
        case "gpus":
            let g = try store.gpu(path)
            let measured = g.gemmCurves.values.reduce(0) { $0 + $1.count }
            return String(format: "%.1f GB (%.0f GiB), %.0f TFLOP/s bf16, %.0f GB/s, %d measured GEMMs", g.memoryGB, g.memoryGB * 1e9 / 1_073_741_824, g.peakTFLOPs, g.bandwidthGBps, measured)
        case "interconnects":
            let ic = try store.interconnect(path)
            let cs = Collective.allCases.filter { !ic.gpuCounts($0).isEmpty }.map { "\($0.rawValue)\(ic.gpuCounts($0))" }
            return "\(ic.gpus.joined(separator: ", ")); " + cs.joined(separator: " ") + ic.mergedPoints.map { "; note: \($0)" }.joined()
        case "networks":
            let n = try store.network(path)
            let eps = (n.deepepNormal + n.deepepLowLatency).map { String($0.ep) }.uniqued()
            return String(format: "%.0f GB/s per NIC x %d per node, %.1f us latency; %@", n.nicBusGBps, n.nicsPerNode, n.latencyUs,
                          eps.isEmpty ? "no DeepEP figures" : "DeepEP figures at EP " + eps.joined(separator: "/"))
        case "kernels":
            let t = try store.kernelTables(path)
            return "vLLM \(t.frameworkVersion) kernel tables for \(t.gpuName) (\(t.provenance)): \(t.moeShapes.count) fused-MoE shapes"
        case "engines":
            let e = try store.engine(path)
            return "\(e.kind.rawValue) engine, \(e.params.count) parameters set\(e.fitParameters.isEmpty ? "" : ", fits \(e.fitParameters.joined(separator: ", "))")"
        default: return nil
        }
    }
}

extension Array where Element == String {
    func uniqued() -> [String] { var seen = Set<String>(); return filter { seen.insert($0).inserted } }
}
