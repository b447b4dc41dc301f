import Foundation
import SimKit
import Cluster
import Serving

/// One shard of a sweep or plan search: `index` in `0..<count`.
public struct Shard: Sendable, Equatable {
    public var index: Int
    public var count: Int
    public init(index: Int, count: Int) { self.index = index; self.count = count }

    /// `K/N`, or `N` alone with K from the job engine: Slurm's `SLURM_ARRAY_TASK_ID` (less
    /// `SLURM_ARRAY_TASK_MIN`, so that `--array=1-N` works too) or Kubernetes' `JOB_COMPLETION_INDEX`.
    public static func parse(_ v: String, flag: String = "--shard",
                             environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        func bad(_ what: String) -> InputError {
            InputError.usage("The value '\(v)' is invalid for '\(flag) <K/N>': \(what)")
        }
        let parts = v.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 1 || parts.count == 2, let n = Int(parts.last!) else {
            throw bad("expected K/N (shard K of N, K from 0) or N (K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)")
        }
        guard Limits.shards.contains(n) else { throw bad("N out of range; allowed a whole number in \(Limits.shards.lowerBound)...\(Limits.shards.upperBound)") }
        var k: Int
        if parts.count == 2 {
            guard let x = Int(parts[0]) else { throw bad("K must be a whole number in 0...\(n - 1)") }
            k = x
        } else if let s = env["SLURM_ARRAY_TASK_ID"] {
            guard let x = Int(s) else { throw bad("SLURM_ARRAY_TASK_ID is '\(s)', not a whole number") }
            k = x
            if let m = env["SLURM_ARRAY_TASK_MIN"] {
                guard let y = Int(m) else { throw bad("SLURM_ARRAY_TASK_MIN is '\(m)', not a whole number") }
                let (d, overflow) = k.subtractingReportingOverflow(y)
                guard !overflow else { throw bad("SLURM_ARRAY_TASK_ID \(k) - SLURM_ARRAY_TASK_MIN \(y) is out of range; allowed a whole number in 0...\(n - 1)") }
                k = d
            }
        } else if let s = env["JOB_COMPLETION_INDEX"] {
            guard let x = Int(s) else { throw bad("JOB_COMPLETION_INDEX is '\(s)', not a whole number") }
            k = x
        } else {
            throw bad("no K given and neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; write K/N")
        }
        guard (0..<n).contains(k) else { throw bad("K is \(k); allowed a whole number in 0...\(n - 1)") }
        return Shard(index: k, count: n)
    }
}

/// Splitting configurations into shards balanced by estimated cost, replicating them over seeds, and the
/// per-shard manifest that `moesim merge` reads.
public enum Sharding {
    /// The last value given for `flag` in a `moesim run` argument list.
    static func value(_ args: [String], _ flag: String) -> String? {
        var v: String?
        var i = 0
        while i < args.count { if args[i] == flag, i + 1 < args.count { v = args[i + 1]; i += 1 }; i += 1 }
        return v
    }

    /// A configuration's estimated cost in simulated tokens (the simulators' time grows with them): vLLM, the
    /// requests times (output tokens + prompt tokens / 256, a prefill chunk costing about one decode token per
    /// sequence) plus a fixed 100 for set-up; HF, the batch times the forwards. Only the ratios matter.
    public static func estimatedCost(_ args: [String]) -> Double {
        func num(_ f: String, _ d: Double) -> Double { value(args, f).flatMap(Double.init).map { $0.isFinite && $0 > 0 ? $0 : d } ?? d }
        if value(args, "--engine") == "hf" {
            let batch = num("--batch-size", 1)
            if value(args, "--generation") == "diffusion" {
                let gen = num("--gen-length", 128), block = num("--block-length", 32), steps = num("--diffusion-steps", 32)
                return 100 + batch * steps * max(1, gen / max(block, 1)) * 4
            }
            return 100 + batch * (num("--output-len", 64) + num("--input-len", 128) / 256)
        }
        let prompts = value(args, "--trace-limit").flatMap(Double.init) ?? (value(args, "--trace") != nil ? 1000 : num("--num-prompts", 1000))
        return 100 + prompts * (num("--random-output-len", 128) + num("--random-input-len", 1024) / 256)
    }

    /// The shard of each configuration: longest estimated cost first onto the least loaded shard (ties to the
    /// lower index), so shards take about equal time whatever the spread of costs. Deterministic.
    public static func assign(costs: [Double], shards n: Int) -> [Int] {
        precondition(n >= 1)
        var out = Array(repeating: 0, count: costs.count)
        if n == 1 { return out }
        let order = costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }
        // A binary heap of (load, shard): the least loaded shard, lowest index among equals.
        var heap: [(Double, Int)] = (0..<n).map { (0, $0) }
        func less(_ a: (Double, Int), _ b: (Double, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        func down(_ i0: Int) {
            var i = i0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, less(heap[l], heap[m]) { m = l }
                if r < heap.count, less(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m); i = m
            }
        }
        for i in order {
            out[i] = heap[0].1
            heap[0].0 += costs[i]
            down(0)
        }
        return out
    }

    /// Total estimated cost per shard.
    public static func loads(costs: [Double], assignment: [Int], shards n: Int) -> [Double] {
        var l = Array(repeating: 0.0, count: n)
        for (i, s) in assignment.enumerated() { l[s] += costs[i] }
        return l
    }

    /// Each configuration as `seeds` replicates with `--seed` base, base+1, ... (base: the configuration's own
    /// `--seed`, else 0), labelled on a `seed` axis; replicate r of configuration i gets index i x seeds + r.
    /// With one seed the configurations are returned unchanged.
    public static func replicate(_ configs: [SweepSpec.Configuration], seeds: Int) -> [SweepSpec.Configuration] {
        guard seeds > 1 else { return configs }
        var out: [SweepSpec.Configuration] = []
        out.reserveCapacity(configs.count * seeds)
        for c in configs {
            let base = value(c.args, "--seed").flatMap(UInt64.init) ?? 0
            var args: [String] = []
            var i = 0
            while i < c.args.count {
                if c.args[i] == "--seed", i + 1 < c.args.count { i += 2; continue }
                args.append(c.args[i]); i += 1
            }
            for r in 0..<seeds {
                let s = base &+ UInt64(r)
                out.append(SweepSpec.Configuration(index: c.index * seeds + r, grid: c.grid,
                                                   labels: c.labels.filter { $0.axis != "seed" } + [("seed", String(s))],
                                                   args: args + ["--seed", String(s)]))
            }
        }
        return out
    }

    /// A metric's text in a `results.jsonl` line (as the result printed it), or nil.
    static func metric(_ line: String, _ m: String) -> Double? {
        guard let r = line.range(of: "\"result\":{") else { return nil }
        let body = line[r.upperBound...]
        guard let k = body.range(of: "\"\(m)\":") else { return nil }
        return Double(String(body[k.upperBound...].prefix { $0 != "," && $0 != "}" }))
    }

    /// `summary.csv` of a replicated sweep: one row per configuration (its labels without the seed), the
    /// replicates that ran, then each metric's mean and the half-width of its 95% confidence interval (Student's t;
    /// empty with fewer than two replicates). `lines` holds every replicate's JSON line, by index.
    public static func summaryCSV(_ configs: [SweepSpec.Configuration], lines: [Int: String], seeds: Int) -> String {
        let axes = SweepRunner.axes(configs).filter { $0 != "seed" }
        var s = (["index", "grid"] + axes + ["replicates"] + SweepRunner.csvMetrics.flatMap { [$0 + "_mean", $0 + "_ci95"] })
            .map(SweepRunner.csvField).joined(separator: ",") + "\n"
        var groups: [Int: [SweepSpec.Configuration]] = [:]
        var order: [Int] = []
        for c in configs {
            let g = c.index / seeds
            if groups[g] == nil { order.append(g) }
            groups[g, default: []].append(c)
        }
        for g in order {
            let reps = groups[g]!, first = reps[0]
            let ok = reps.compactMap { lines[$0.index] }.filter { $0.contains("\"result\":{") }
            var row = [String(g), SweepRunner.csvField(first.grid)] + axes.map { SweepRunner.csvField(first.label($0) ?? "") }
            row.append(String(ok.count))
            for m in SweepRunner.csvMetrics {
                let ci = ConfidenceInterval(ok.compactMap { metric($0, m) })
                row.append(ci.n > 0 ? JSONWriter.number(ci.mean) : "")
                row.append(ci.halfWidth.map(JSONWriter.number) ?? "")
            }
            s += row.joined(separator: ",") + "\n"
        }
        return s
    }

    /// What a shard directory holds, in `shard.json`: enough for `moesim merge` to check that the shards belong
    /// together and that each is complete.
    public struct Manifest: Sendable {
        /// "sweep", or "plan" (then `args` are the plan's flags, without --shard, --out and --threads).
        public var kind = "sweep"
        public var args: [String] = []
        /// A plan shard's simulation time, so that the merged plan reports the search's compute time.
        public var seconds = 0.0
        public var spec: String
        public var name: String
        public var grid: String?
        public var seeds: Int
        public var shard: Shard
        public var configurations: Int
        public var indexes: [Int]

        public init(spec: String, name: String, grid: String?, seeds: Int, shard: Shard, configurations: Int, indexes: [Int]) {
            self.spec = spec; self.name = name; self.grid = grid; self.seeds = seeds; self.shard = shard
            self.configurations = configurations; self.indexes = indexes
        }

        public init(kind: String, args: [String], shard: Shard, seeds: Int, configurations: Int, indexes: [Int], seconds: Double) {
            self.init(spec: "", name: kind, grid: nil, seeds: seeds, shard: shard, configurations: configurations, indexes: indexes)
            self.kind = kind; self.args = args; self.seconds = seconds
        }

        public static let file = "shard.json"

        public var json: String {
            JSONWriter.write([("moesim_shard", 1), ("kind", kind)] + (kind == "plan" ? [("args", args as Any), ("seconds", seconds)] : []) + [("spec", spec), ("name", name), ("grid", grid ?? NSNull()),
                              ("seeds", seeds), ("shard", shard.index), ("shards", shard.count),
                              ("configurations", configurations), ("indexes", indexes)]) + "\n"
        }

        public init(directory: String) throws {
            let path = directory + "/" + Self.file
            guard FileManager.default.fileExists(atPath: path) else {
                throw InputError.data("\(path): cannot read (is '\(directory)' the --out of a 'moesim sweep --shard' run?)")
            }
            let o = try JSONNode.load(file: path)
            guard (try? o.int("moesim_shard")) == 1,
                  let spec = try? o.string("spec"), let name = try? o.string("name"), let seeds = try? o.int("seeds"),
                  let k = try? o.int("shard"), let n = try? o.int("shards"), let total = try? o.int("configurations"),
                  let idx = try? o.require("indexes").array().map({ try $0.int() }), Limits.shards.contains(n), (0..<n).contains(k), Limits.seeds.contains(seeds),
                  (0...Limits.maxConfigurations * Limits.seeds.upperBound).contains(total) else {
                throw InputError.data("\(path): not a moesim shard manifest (version 1) or a value out of range")
            }
            self.init(spec: spec, name: name, grid: try o.optional("grid")?.string(), seeds: seeds, shard: Shard(index: k, count: n),
                      configurations: total, indexes: idx)
            kind = try o.optional("kind")?.string() ?? "sweep"
            guard kind == "sweep" || kind == "plan" else { throw InputError.data("\(path): kind '\(kind)'; this moesim merges 'sweep' and 'plan' shards") }
            args = try o.optional("args")?.array().map { try $0.string() } ?? []
            seconds = try o.optional("seconds")?.double() ?? 0
        }
    }
}
