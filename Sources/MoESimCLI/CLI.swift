import Foundation
import Cluster
import Serving
import Studies

/// The `moesim` command line: dispatch, help and exit codes (64 usage, 65 bad data).
public enum CLI {
    public static let commands: [CommandSpec] = [
        RunCommand.spec, ExplainCommand.spec, SweepCommand.spec, MergeCommand.spec, ReproduceCommand.spec, CalibrateCommand.spec, ValidateCommand.spec, PlanCommand.spec, ProfilesCommand.spec,
    ]

    public static var overview: String {
        var s = """
        OVERVIEW: moesim simulates Mixture-of-Experts LLM serving on GPU clusters.

        Predicts what vLLM's benchmark would print for a model, GPU, parallel plan and workload, from measured
        kernel and collective profiles, expert routing and a model of the serving engine.

        USAGE: moesim <subcommand> [options]

        SUBCOMMANDS:

        """
        for c in commands { s += "  " + c.name.padding(toLength: 14, withPad: " ", startingAt: 0) + c.abstract + "\n" }
        s += "  help          Show help for a subcommand.\n\n  See 'moesim help <subcommand>' for detailed help.\n"
        return s
    }

    /// Runs the tool with `args` (without the program name); returns the exit code.
    public static func main(_ args: [String], out: @escaping (String) -> Void = { print($0, terminator: "") },
                            err: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) -> Int32 {
        do {
            guard let first = args.first else { out(overview); return 0 }
            let rest = Array(args.dropFirst())
            if first == "help" || first == "--help" || first == "-h" {
                if let sub = rest.first {
                    if sub == "help" { out("OVERVIEW: Show help for a subcommand.\n\nUSAGE: moesim help [<subcommand>]\n\n  With no subcommand, lists them all.\n"); return 0 }
                    guard let c = commands.first(where: { $0.name == sub }) else {
                        throw InputError.usage("Unknown subcommand '\(sub)'. Please provide one of \(quotedChoices(commands.map(\.name)))")
                    }
                    out(c.help)
                } else { out(overview) }
                return 0
            }
            if first == "--version" { out("moesim 0.1.0\n"); return 0 }
            guard let c = commands.first(where: { $0.name == first }) else {
                throw InputError.usage("Unknown subcommand '\(first)'. Please provide one of \(quotedChoices(commands.map(\.name)))")
            }
            if rest.contains("--help") || rest.contains("-h") { out(c.help); return 0 }
            let ctx = Context(out: out, err: err)
            // Every file the command reads is recorded here; its outputs are checked against them (OutputFiles).
            try FileRegistry.$current.withValue(FileRegistry()) {
                switch c.name {
                case "run": try RunCommand.execute(rest, ctx)
                case "explain": try ExplainCommand.execute(rest, ctx)
                case "sweep": try SweepCommand.execute(rest, ctx)
                case "merge": try MergeCommand.execute(rest, ctx)
                case "reproduce": try ReproduceCommand.execute(rest, ctx)
                case "calibrate": try CalibrateCommand.execute(rest, ctx)
                case "validate": try ValidateCommand.execute(rest, ctx)
                case "plan": try PlanCommand.execute(rest, ctx)
                case "profiles": try ProfilesCommand.execute(rest, ctx)
                default: preconditionFailure("unhandled command \(c.name)")
                }
            }
            return 0
        } catch let e as InputError {
            err("Error: \(e.message)\n")
            if e.kind == .usage, let first = args.first, commands.contains(where: { $0.name == first }) {
                err("Help:  moesim help \(first)\n")
            }
            return e.kind == .usage ? 64 : 65
        } catch {
            err("Error: \(error)\n")
            return 65
        }
    }
}

/// Where a command writes, and whether stderr is a terminal (for progress lines).
public struct Context {
    public var out: (String) -> Void
    public var err: (String) -> Void
    public var interactive: Bool = isatty(2) != 0

    public func store() throws -> ProfileStore { try ProfileStore.locate() }

    /// A progress reporter that draws on stderr only on a terminal and only once `afterSeconds` have passed.
    public func progress(_ label: String, afterSeconds: Double = 1) -> ProgressLine {
        ProgressLine(label: label, enabled: interactive, after: afterSeconds)
    }
}

/// A single self-overwriting progress line on stderr.
public final class ProgressLine: @unchecked Sendable {
    let label: String, enabled: Bool, after: Double
    let start = Date()
    var shown = false
    var lastDraw = 0.0
    let lock = NSLock()

    init(label: String, enabled: Bool, after: Double) { self.label = label; self.enabled = enabled; self.after = after }

    /// `fraction` is clamped to 0...1; with `etaIsBound` (work with a ceiling, such as an optimiser's evaluation budget)
    /// the time left is printed as an upper bound.
    public func update(_ fraction: Double, detail: String = "", etaIsBound: Bool = false) {
        let fraction = min(max(fraction.isFinite ? fraction : 0, 0), 1)
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let t = Date().timeIntervalSince(start)
        guard t >= after, t - lastDraw > 0.1 || fraction >= 1 else { return }
        lastDraw = t
        shown = true
        let width = 30, filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: min(filled, width)) + String(repeating: ".", count: max(0, width - filled))
        let eta = fraction > 0 ? max(t / fraction - t, 0) : 0
        let left = fraction <= 0 ? "" : fraction >= 1 ? ", finishing" : String(format: ", %@%.1fs left", etaIsBound ? "at most " : "~", eta)
        FileHandle.standardError.write(Data(String(format: "\r%@ [%@] %3.0f%%  %.1fs elapsed%@  %@\u{1B}[K", label, bar, fraction * 100, t, left, detail).utf8))
    }

    public func finish() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
