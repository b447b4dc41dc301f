import Foundation
import Cluster
import Serving
import Studies

/// `moesim profiles list|show|check`.
enum ProfilesCommand {
    static let spec = CommandSpec(
        name: "profiles", abstract: "List, show and check model, GPU, interconnect and engine profiles.",
        usage: "moesim profiles list | show <kind> <name|file> | check <file>...",
        discussion: "Kinds: models, gpus, interconnects, engines. 'check' validates any profile file, shipped or your own, and prints what it read.",
        arguments: [("<action>", "list, show or check"), ("<args>", "kind and name for show; files for check")],
        options: [])

    static let kinds = ["models", "gpus", "interconnects", "engines"]

    static func execute(_ args: [String], _ ctx: Context) throws {
        let a = try ParsedArguments(args, options: spec.options, maxPositionals: 64)
        let store = try ctx.store()
        guard let action = a.positionals.first else { throw InputError.usage("Missing expected argument '<action>' (list, show or check)") }
        switch action {
        case "list":
            for k in kinds {
                ctx.out("\(k):\n")
                for n in store.names(k) { ctx.out("  \(n)\(try describe(kind: k, path: "\(store.root)/\(k)/\(n).json", store: store).map { "  — \($0)" } ?? "")\n") }
            }
        case "show":
            guard a.positionals.count == 3 else { throw InputError.usage("usage: moesim profiles show <kind> <name|file>") }
            let kind = a.positionals[1]
            guard kinds.contains(kind) else { throw InputError.usage("The value '\(kind)' is invalid for '<kind>'. Please provide one of \(quotedChoices(kinds))") }
            let path = try store.resolve(kind, a.positionals[2], flag: "<name>")
            ctx.out(try String(contentsOfFile: path, encoding: .utf8))
        case "check":
            let files = Array(a.positionals.dropFirst())
            guard !files.isEmpty else { throw InputError.usage("Missing expected argument '<file>'") }
            for f in files {
                let kind = try guessKind(f)
                ctx.out("\(f): ok (\(kind)) — \(try describe(kind: kind, path: f, store: store) ?? "")\n")
            }
        default:
            throw InputError.usage("The value '\(action)' is invalid for '<action>'. Please provide one of 'list', 'show' or 'check'")
        }
    }

    static func guessKind(_ f: String) throws -> String {
        let j = try JSONNode.load(file: f)
        if j.has("config") || j.has("model_type") { return "models" }
        if j.has("peak_bf16_tflops") { return "gpus" }
        if j.has("curves") { return "interconnects" }
        if j.has("engine") { return "engines" }
        throw j.fail("cannot tell the profile kind: expected 'config'/'model_type' (model), 'peak_bf16_tflops' (GPU), 'curves' (interconnect) or 'engine' (engine)")
    }

    /// Loads a profile fully (so every check runs) and returns a one-line description.
    static func describe(kind: String, path: String, store: ProfileStore) throws -> String? {
        switch kind {
        case "models":
            let m = try store.model(path)
            var s = String(format: "%@, %d layers, hidden %d, %.2fB params (%.2fB active)", m.family, m.layers, m.hidden, m.totalParams / 1e9, m.activeParams / 1e9)
            if let moe = m.moe { s += ", \(moe.experts) experts top-\(moe.topK)" + (moe.sharedIntermediate > 0 ? " + shared \(moe.sharedIntermediate)" : "") }
            if m.isDiffusion { s += ", diffusion" }
            return s
        case "gpus":
            let g = try store.gpu(path)
            let measured = g.gemmCurves.values.reduce(0) { $0 + $1.count }
            return String(format: "%.0f GB, %.0f TFLOP/s bf16, %.0f GB/s, %d measured GEMMs", g.memoryGB, g.peakTFLOPs, g.bandwidthGBps, measured)
        case "interconnects":
            let ic = try store.interconnect(path)
            let cs = Collective.allCases.filter { !ic.gpuCounts($0).isEmpty }.map { "\($0.rawValue)\(ic.gpuCounts($0))" }
            return "\(ic.gpus.joined(separator: ", ")); " + cs.joined(separator: " ") + ic.mergedPoints.map { "; note: \($0)" }.joined()
        case "engines":
            let e = try store.engine(path)
            return "\(e.kind.rawValue) engine, \(e.params.count) parameters set\(e.fitParameters.isEmpty ? "" : ", fits \(e.fitParameters.joined(separator: ", "))")"
        default: return nil
        }
    }
}
