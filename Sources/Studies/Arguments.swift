import Foundation
import Cluster

/// One option a command accepts.
public struct OptionSpec: Sendable {
    public var name: String
    /// Value placeholder (`<n>`); nil for a flag that takes no value.
    public var value: String?
    public var help: String
    public var defaultText: String?

    public init(_ name: String, _ value: String?, _ help: String, default d: String? = nil) {
        self.name = name; self.value = value; self.help = help; self.defaultText = d
    }
    var usage: String { value.map { "\(name) \($0)" } ?? name }
}

/// Parsed command-line arguments; lookups throw usage errors worded like swift-argument-parser's.
public struct ParsedArguments: Sendable {
    public var values: [String: String] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []
    /// Repeated options (e.g. `--gpu-hour-usd a=1 --gpu-hour-usd b=2`), in order.
    public var repeated: [String: [String]] = [:]
    /// vLLM flags of `unmodelledVLLMFlags` given with a value that restates what moesim models (`--dtype auto`,
    /// `--block-size 16`), accepted as `flag value` and said in `restatedNote`.
    public var restated: [String] = []
    let specs: [String: OptionSpec]

    /// vLLM's short flags, spelled out where the command takes the long one.
    public static let shortFlags = ["-tp": "--tensor-parallel-size", "-dp": "--data-parallel-size", "-pp": "--pipeline-parallel-size"]
    /// Options that take several values in a row, as vLLM's argparse `nargs="+"` does (`--goodput ttft:500 tpot:50`).
    public static let multiValued: Set<String> = ["--goodput"]
    /// Options whose value is itself a list of flags (`explain --compare "--strategy ep"`): the next argument is taken
    /// whatever it starts with.
    public static let flagsValued: Set<String> = ["--compare"]
    /// Options whose value may be left out, as vLLM's `--save-result` (a flag there): alone they read as "".
    public static let optionalValue: Set<String> = ["--save-result"]

    /// vLLM flags (of `vllm serve` and `vllm bench serve`) that would change a real run's results and that moesim does
    /// not model, with what moesim does instead: refused by name rather than as unknown.
    public static let unmodelledVLLMFlags: [String: String] = [
        "--dtype": "moesim prices the checkpoint's own precision (bf16, or its quantization_config); --quantization fp8 and --kv-cache-dtype are modelled",
        "--block-size": "the KV cache's block size is the engine profile's block_size (16, vLLM's default; --engine-profile takes another)",
        "--swap-space": "moesim keeps every weight and KV block on the GPUs",
        "--cpu-offload-gb": "moesim keeps every weight and KV block on the GPUs",
        "--kv-cache-memory-bytes": "moesim sizes the KV cache from --gpu-memory-utilization",
        "--num-gpu-blocks-override": "moesim sizes the KV cache from --gpu-memory-utilization",
        "--max-num-partial-prefills": "moesim prefills one partial prompt at a time, vLLM's default",
        "--max-long-partial-prefills": "moesim prefills one partial prompt at a time, vLLM's default",
        "--long-prefill-token-threshold": "moesim prefills one partial prompt at a time, vLLM's default",
        "--scheduling-policy": "moesim schedules first come, first served (vLLM's default fcfs)",
        "--cudagraph-capture-sizes": "give --max-cudagraph-capture-size or --enforce-eager, which moesim models",
        "--compilation-config": "give --max-cudagraph-capture-size or --enforce-eager, which moesim models",
        "--disable-custom-all-reduce": "collectives are priced as measured with vLLM's defaults",
        "--enable-lora": "LoRA adapters are not modelled",
        "--use-beam-search": "moesim samples one sequence per request",
        "--logprobs": "moesim does not price returning log-probabilities",
        "--min-tokens": "moesim generates exactly the requested output tokens",
        "--min-p": "moesim prices --temperature, --top-k and --top-p sampling only",
        "--repetition-penalty": "moesim prices --temperature, --top-k and --top-p sampling only",
        "--frequency-penalty": "moesim prices --temperature, --top-k and --top-p sampling only",
        "--presence-penalty": "moesim prices --temperature, --top-k and --top-p sampling only",
    ]

    /// Values of `unmodelledVLLMFlags` that restate what moesim models, so a vLLM command that spells out a default
    /// runs unchanged (nil: any value, for a flag vLLM's V1 engine ignores).
    public static let restatableVLLMValues: [String: Set<String>?] = [
        "--dtype": ["auto", "bfloat16", "bf16"], "--block-size": ["16"], "--scheduling-policy": ["fcfs"],
        "--swap-space": nil,
    ]

    /// The note for `restated` flags, or nil.
    public var restatedNote: String? {
        guard !restated.isEmpty else { return nil }
        return "note: \(restated.joined(separator: ", ")) accepted: \(restated.count == 1 ? "it restates" : "they restate") what moesim models "
            + "(bf16 weights, 16-token KV blocks, first-come-first-served scheduling; vLLM's V1 engine ignores --swap-space)"
    }

    /// Tokenises `args` against `options`: `--name value`, `--name=value`, and value-less flags.
    public init(_ args: [String], options: [OptionSpec], maxPositionals: Int = 0) throws {
        var specs: [String: OptionSpec] = [:]
        for o in options { specs[o.name] = o }
        self.specs = specs
        var args = args
        for (i, x) in args.enumerated() {
            let key = x.split(separator: "=", maxSplits: 1).first.map(String.init) ?? x
            if let long = Self.shortFlags[key], specs[long] != nil { args[i] = long + x.dropFirst(key.count) }
        }
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--") {
                var name = a, inline: String? = nil
                if let eq = a.firstIndex(of: "=") { name = String(a[..<eq]); inline = String(a[a.index(after: eq)...]) }
                guard let spec = specs[name] else {
                    if let allowed = Self.restatableVLLMValues[name] {
                        let v = inline ?? (i + 1 < args.count ? args[i + 1] : "")
                        if allowed.map({ $0.contains(v.lowercased()) }) ?? !v.isEmpty {
                            restated.append("\(name) \(v)")
                            if inline == nil { i += 1 }
                            i += 1
                            continue
                        }
                    }
                    if let why = Self.unmodelledVLLMFlags[name] {
                        throw InputError.usage("'\(name)' is a vLLM flag that would change a real run's results, and moesim does not model it: \(why); leave it out")
                    }
                    let close = options.map(\.name).filter { Self.distance($0, name) <= 2 }
                    throw InputError.usage("Unknown option '\(name)'" + (close.isEmpty ? "" : ". Did you mean '\(close[0])'?"))
                }
                if spec.value == nil {
                    guard inline == nil else { throw InputError.usage("The option '\(name)' takes no value") }
                    flags.insert(name)
                } else {
                    let v: String
                    if let inl = inline { v = inl }
                    else {
                        if Self.optionalValue.contains(name), i + 1 >= args.count || args[i + 1].hasPrefix("-") { v = "" }
                        else {
                            guard i + 1 < args.count, !(args[i + 1].hasPrefix("--")) || Self.flagsValued.contains(name) else { throw InputError.usage("Missing value for '\(spec.usage)'") }
                            v = args[i + 1]; i += 1
                        }
                    }
                    values[name] = v
                    repeated[name, default: []].append(v)
                    if Self.multiValued.contains(name) {
                        while i + 1 < args.count, !args[i + 1].hasPrefix("-") {
                            i += 1
                            repeated[name, default: []].append(args[i])
                            values[name] = (values[name] ?? "") + " " + args[i]
                        }
                    }
                }
            } else {
                guard positionals.count < maxPositionals else { throw InputError.usage("Unexpected argument '\(a)'") }
                positionals.append(a)
            }
            i += 1
        }
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }

    public func has(_ name: String) -> Bool { values[name] != nil || flags.contains(name) }
    public func string(_ name: String) -> String? { values[name] }

    public func invalid(_ name: String, _ v: String, _ what: String) -> InputError {
        InputError.usage("The value '\(v)' is invalid for '\(specs[name]?.usage ?? name)': \(what)")
    }

    /// vLLM flags whose values may be written as vLLM's `human_readable_int` reads them (`8k` = 8,000, `8K` = 8,192).
    public static let humanReadableInts: Set<String> = ["--max-num-batched-tokens", "--max-model-len"]

    /// vLLM's `human_readable_int` (vllm/utils/argparse_utils.py): a whole number, or a number with a decimal suffix
    /// k, m, g, t (x 1e3 ... 1e12; decimals allowed, the product truncated) or a binary suffix K, M, G, T (x 2^10 ...
    /// 2^40; whole numbers only). Nil when `text` is none of these.
    public static func humanReadableInt(_ text: String) -> Int? {
        let v = text.trimmingCharacters(in: .whitespaces)
        if let i = Int(v) { return i }
        guard let suffix = v.last, v.count >= 2 else { return nil }
        let number = String(v.dropLast())
        guard number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), number.first?.isNumber == true, number.last?.isNumber == true,
              number.filter({ $0 == "." }).count <= 1 else { return nil }
        let decimal: [Character: Double] = ["k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12]
        let binary: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let m = decimal[suffix], let x = Double(number) {
            let p = x * m
            return p < 9e18 ? Int(p) : nil
        }
        if let m = binary[suffix], let x = Int(number) { return x.multipliedReportingOverflow(by: m).overflow ? nil : x * m }
        return nil
    }

    /// A whole-number flag; flags listed in `Limits.flags` must lie in their range.
    public func int(_ name: String) throws -> Int? {
        guard let v = values[name] else { return nil }
        let range = Limits.flags[name]
        let parsed = Self.humanReadableInts.contains(name) ? Self.humanReadableInt(v) : Int(v)
        guard let i = parsed else {
            let how = Self.humanReadableInts.contains(name) ? " (as vLLM: 8192, 8k = 8,000 or 8K = 8,192)" : ""
            throw invalid(name, v, "expected \(range.map(\.description) ?? "a whole number")\(how)")
        }
        if let r = range, !r.contains(Double(i)) { throw invalid(name, v, "out of range; allowed \(r)") }
        return i
    }

    public func positiveInt(_ name: String) throws -> Int? {
        guard let i = try int(name) else { return nil }
        guard i > 0 else { throw invalid(name, values[name]!, "must be positive") }
        return i
    }

    /// A number flag; `inf` only where its range allows it. Flags listed in `Limits.flags` must lie in their range.
    public func double(_ name: String) throws -> Double? {
        guard let v = values[name] else { return nil }
        let range = Limits.flags[name]
        if v == "inf", case .realOrInfinity? = range { return .infinity }
        guard let d = Double(v), d.isFinite else { throw invalid(name, v, "expected \(range.map(\.description) ?? "a finite number")") }
        if let r = range, !r.contains(d) { throw invalid(name, v, "out of range; allowed \(r)") }
        return d
    }

    public func choice(_ name: String, _ choices: [String]) throws -> String? {
        guard let v = values[name] else { return nil }
        guard choices.contains(v) else {
            throw InputError.usage("The value '\(v)' is invalid for '\(specs[name]?.usage ?? name)'. Please provide one of \(quotedChoices(choices))")
        }
        return v
    }
}

/// A subcommand: its name, one-line abstract, discussion, options and positional argument.
public struct CommandSpec: @unchecked Sendable {
    public var name: String
    public var abstract: String
    public var usage: String
    public var discussion: String
    public var arguments: [(String, String)]
    public var options: [OptionSpec]

    public init(name: String, abstract: String, usage: String, discussion: String, arguments: [(String, String)], options: [OptionSpec]) {
        self.name = name; self.abstract = abstract; self.usage = usage; self.discussion = discussion
        self.arguments = arguments; self.options = options
    }

    /// Help in swift-argument-parser's OVERVIEW / USAGE / ARGUMENTS / OPTIONS layout.
    public var help: String {
        var s = "OVERVIEW: \(abstract)\n"
        if !discussion.isEmpty { s += "\n\(discussion)\n" }
        s += "\nUSAGE: \(usage)\n"
        if !arguments.isEmpty {
            s += "\nARGUMENTS:\n"
            for (a, h) in arguments { s += "  " + a.padding(toLength: max(a.count, 30), withPad: " ", startingAt: 0) + " " + h + "\n" }
        }
        s += "\nOPTIONS:\n"
        for o in options + [OptionSpec("--help", nil, "Show help information.")] {
            let left = "  " + o.usage
            var line = left.count < 34 ? left.padding(toLength: 34, withPad: " ", startingAt: 0) : left + "\n" + String(repeating: " ", count: 34)
            line += o.help
            if let d = o.defaultText { line += " (default: \(d))" }
            s += line + "\n"
        }
        return s
    }
}
