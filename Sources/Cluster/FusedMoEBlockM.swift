import Foundation

/// The row tile (`BLOCK_SIZE_M`) of vLLM's Triton fused MoE for bf16 experts: how many of an expert's token rows one
/// program computes. vLLM pads every expert's rows to a whole number of tiles (`moe_align_block_size`), so a routing
/// draw that leaves some experts just past a tile boundary costs more tiles, and more time, than the same pairs spread
/// evenly, as the kernel tables measured them. Read from vLLM 0.24.0's tuned configurations
/// (`profiles/kernels/vllm-0.24.0-fused-moe-block-m.json`, written by `profiles/tools/import_vllm_moe_block_m.py`).
public struct FusedMoEBlockM: Sendable {
    /// How Triton specializes an integer argument of a kernel it compiles: 1 (a constant), a multiple of 16, or neither
    /// (2, 1 and 0 here); a call whose integers specialize otherwise compiles the kernel again. vLLM's fused MoE and
    /// OpenAI's triton_kernels (`StepCostModel.mxfp4Kernels`) both meet it.
    @inline(__always)
    static func tritonSpecialization(_ x: Int) -> Int { x == 1 ? 1 : (x % 16 == 0 ? 2 : 0) }

    /// moesim GPU name -> vLLM device name.
    let devices: [String: String]
    /// Device name -> "E=<experts>,N=<width>" -> (token counts, tiles), sorted by token count.
    let configs: [String: [String: Tiles]]
    /// The configurations' compile times (`CompileTimes`), where the profiles ship them.
    public var compile: CompileTimes? = nil

    /// The tiles of one (GPU, experts, width) by token count: vLLM's tuned configuration, or its default rule.
    public struct Tiles: Sendable {
        /// Token counts of the tuned configuration and their tiles, sorted; empty: vLLM's default rule.
        let tokens: [Int], blockM: [Int]
        /// Per token count, which of the file's distinct whole configurations it uses (equal ones share an index):
        /// what the kernel is compiled for. Empty where the profile lists only the tiles.
        var kernel: [Int] = []
        /// The distinct whole configurations, by that index.
        var kernelConfigs: [KernelConfig] = []
        /// How long each configuration takes to compile (nil: no measurement shipped).
        var compile: CompileTimes? = nil

        /// The index into `tokens` of the tuned configuration for `t` tokens: the nearest token count
        /// (`try_get_optimal_moe_config`; the smaller count on a tie, as Python's `min` keeps the first).
        func nearest(_ t: Int) -> Int {
            var best = 0
            for i in 1..<tokens.count where abs(tokens[i] - t) < abs(tokens[best] - t) { best = i }
            return best
        }

        /// The tile for `tokens` tokens entering the kernel: the tuned configuration at the nearest token count,
        /// else vLLM's default (`get_default_config`: 16 rows up to 32 tokens, 32 up to 96, 64 up to 512, else 128).
        public func blockM(tokens t: Int) -> Int {
            guard !self.tokens.isEmpty else { return Self.defaultBlockM(t) }
            return blockM[nearest(t)]
        }

        /// Which compiled Triton kernel a fused-MoE call of `t` tokens (each routed to `topK` of `experts` experts,
        /// none elsewhere: no expert map) runs, as a number equal for calls that share one: the configuration (the
        /// tuned one's index, or vLLM 0.24's bf16 default rule's tiles, warps and stages) and how Triton specializes
        /// the call's integer arguments. `invoke_fused_moe_triton_kernel` passes `num_valid_tokens` = t x topK and `EM`
        /// (the sorted-token buffer, t x topK + experts x (BLOCK_SIZE_M - 1) from `moe_align_block_size`, or t x topK x
        /// BLOCK_SIZE_M where there are fewer rows than a tile, or with the naive block assignment of very small
        /// batches), and Triton compiles a kernel apart for an integer that is 1, a multiple of 16, or neither. The
        /// layer's second GEMM (top_k 1 over the t x topK rows) specializes its EM the same way. A call of a new
        /// number is a Triton compile in the middle of a step (vLLM 0.24's jit_monitor logs each with this key).
        public func kernelClass(tokens t: Int, experts: Int, topK: Int) -> Int {
            let rows = t * topK
            let bm = blockM(tokens: t)
            let config: Int
            if !kernel.isEmpty {
                config = kernel[nearest(t)]
            } else {
                let c = Self.defaultConfig(tokens: t, experts: experts)
                config = 1 << 30 | c.m << 20 | c.n << 11 | c.k << 3 | (c.group == 16 ? 4 : 0) | (c.warps == 8 ? 2 : 0) | (c.stages == 4 ? 1 : 0)
            }
            let spec = FusedMoEBlockM.tritonSpecialization
            let naive = rows * 4 <= experts
            var em1 = rows * bm, em2 = rows * bm
            if !naive {
                var em = rows + experts * (bm - 1)
                if rows < experts { em = min(rows * bm, em) }
                em1 = t < bm ? min(em, rows * bm) : em
                em2 = rows < bm ? min(em, rows * bm) : em
            }
            return config << 8 | (naive ? 64 : 0) | spec(rows) << 4 | spec(em1) << 2 | spec(em2)
        }

        /// `get_default_config`'s row tile for bf16 experts: 16 rows up to 32 tokens, 32 up to 96, 64 up to 512, else 128.
        @inline(__always)
        static func defaultBlockM(_ t: Int) -> Int { t <= 32 ? 16 : t <= 96 ? 32 : t <= 512 ? 64 : 128 }

        /// vLLM 0.24's `get_default_config` for bf16 experts: tiles, warps and stages by token count; GROUP_SIZE_M 16
        /// where an expert averages over 128 tokens.
        static func defaultConfig(tokens t: Int, experts: Int) -> KernelConfig {
            KernelConfig(m: defaultBlockM(t), n: t <= 64 ? 64 : 128, k: t <= 64 ? 128 : 64, group: t / max(experts, 1) > 128 ? 16 : 1,
                         warps: t <= 128 ? 4 : 8, stages: t <= 32 ? 4 : 3)
        }

        /// The whole configuration a call of `t` tokens is compiled for: the tuned one at the nearest token count, else
        /// the default rule's (nil where the profile lists only a tuned file's tiles).
        public func config(tokens t: Int, experts: Int) -> KernelConfig? {
            if tokens.isEmpty { return Self.defaultConfig(tokens: t, experts: experts) }
            guard !kernel.isEmpty, !kernelConfigs.isEmpty else { return nil }
            return kernelConfigs[kernel[nearest(t)]]
        }

        /// How long the compile of the kernels a call of `t` tokens runs takes, as a ratio to the reference
        /// configuration's (`CompileTimes`); 1 where nothing is known.
        public func compileRatio(tokens t: Int, experts: Int) -> Double {
            guard let c = config(tokens: t, experts: experts), let times = compile else { return 1 }
            return times.ratio(c)
        }
    }

    /// One configuration of the Triton kernel, as vLLM passes it: the tiles (constexpr arguments), GROUP_SIZE_M, and
    /// the warps and stages it is compiled with.
    public struct KernelConfig: Hashable, Sendable {
        public let m, n, k, group, warps, stages: Int

        /// From a tuned file's entry as the profile writes it ("BLOCK_SIZE_K=64,BLOCK_SIZE_M=128,...,num_warps=8").
        public init?(_ text: String) {
            var v: [String: Int] = [:]
            for part in text.split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let x = Int(kv[1]) else { return nil }
                v[String(kv[0])] = x
            }
            guard let m = v["BLOCK_SIZE_M"], let n = v["BLOCK_SIZE_N"], let k = v["BLOCK_SIZE_K"] else { return nil }
            self.init(m: m, n: n, k: k, group: v["GROUP_SIZE_M"] ?? 1, warps: v["num_warps"] ?? 4, stages: v["num_stages"] ?? 3)
        }

        init(m: Int, n: Int, k: Int, group: Int, warps: Int, stages: Int) {
            self.m = m; self.n = n; self.k = k; self.group = group; self.warps = warps; self.stages = stages
        }
    }

    /// How long Triton compiles the fused-MoE layer's two kernels for each configuration, as a ratio to one reference
    /// configuration (`profiles/kernels/vllm-0.24.0-fused-moe-compile.json`, measured by probe/vllm/moe_compile.py and
    /// written by profiles/tools/import_moe_compile.py): the measured ratio where the configuration (tiles, warps,
    /// stages) was measured, else the file's line in the tile's multiply-accumulates per warp. GROUP_SIZE_M only
    /// reorders the programs; it did not change the compile time measured.
    public struct CompileTimes: Sendable {
        struct Key: Hashable { let m, n, k, warps, stages: Int }
        let measured: [Key: Double]
        let intercept: Double, perKMACPerWarp: Double

        public init(json j: JSONNode) throws {
            var m: [Key: Double] = [:]
            for row in try j.require("relative").array() {
                let c = try row.require("config").array().map { try $0.int(in: 1...65536) }
                guard c.count == 5 else { throw row.fail("has a 'config' of \(c.count) numbers; it lists BLOCK_SIZE_M, BLOCK_SIZE_N, BLOCK_SIZE_K, num_warps and num_stages") }
                m[Key(m: c[0], n: c[1], k: c[2], warps: c[3], stages: c[4])] = try row.double("ratio", in: 0.01...100)
            }
            measured = m
            let f = try j.require("fit")
            intercept = try f.double("intercept", in: -100...100)
            perKMACPerWarp = try f.double("per_kmac_per_warp", in: 0...100)
        }

        /// The compile time of `c` over the reference's; never below a tenth.
        public func ratio(_ c: KernelConfig) -> Double {
            if let r = measured[Key(m: c.m, n: c.n, k: c.k, warps: c.warps, stages: c.stages)] { return r }
            return max(0.1, intercept + perKMACPerWarp * Double(c.m * c.n * c.k) / Double(max(c.warps, 1)) / 1000)
        }
    }

    public init(json j: JSONNode) throws {
        var d: [String: String] = [:]
        let g = try j.require("gpus")
        for k in g.keys ?? [] { d[k] = try g.string(k) }
        devices = d
        var c: [String: [String: Tiles]] = [:]
        let cs = try j.require("configs")
        for dev in cs.keys ?? [] {
            let shapes = try cs.require(dev)
            for shape in shapes.keys ?? [] {
                let rows = try shapes.require(shape)
                var pairs: [(Int, Int)] = []
                for k in rows.keys ?? [] {
                    guard let m = Int(k), m > 0 else { throw rows.fail("has key '\(k)'; token counts are positive integers") }
                    pairs.append((m, try rows.int(k, in: 1...1024)))
                }
                guard !pairs.isEmpty else { throw rows.fail("holds no token counts") }
                pairs.sort { $0.0 < $1.0 }
                c[dev, default: [:]][shape] = Tiles(tokens: pairs.map(\.0), blockM: pairs.map(\.1))
            }
        }
        // The whole configurations, where the profile has them: each shape's distinct ones numbered in the order
        // of its token counts.
        if let ks = j.optional("kernels") {
            for dev in ks.keys ?? [] {
                let shapes = try ks.require(dev)
                for shape in shapes.keys ?? [] {
                    let rows = try shapes.require(shape)
                    guard var t = c[dev]?[shape] else { throw shapes.fail("has shape '\(shape)', which 'configs' lacks") }
                    var ids: [String: Int] = [:]
                    var kernel: [Int] = []
                    var whole: [KernelConfig] = []
                    for m in t.tokens {
                        let k = try rows.string(String(m))
                        if ids[k] == nil {
                            ids[k] = ids.count
                            guard let c = KernelConfig(k) else { throw rows.fail("has '\(k)' at \(m) tokens; a configuration lists BLOCK_SIZE_M, BLOCK_SIZE_N and BLOCK_SIZE_K (and GROUP_SIZE_M, num_warps, num_stages) as NAME=integer") }
                            whole.append(c)
                        }
                        kernel.append(ids[k]!)
                    }
                    guard rows.keys?.count == t.tokens.count else { throw rows.fail("lists \(rows.keys?.count ?? 0) token counts; 'configs' lists \(t.tokens.count)") }
                    t.kernel = kernel
                    t.kernelConfigs = whole
                    c[dev]![shape] = t
                }
            }
        }
        configs = c
    }

    /// The tiles vLLM uses for `experts` experts of width `width` on `gpu` (looked up once per deployment).
    public func tiles(gpu: String, experts: Int, width: Int) -> Tiles {
        var t = devices[gpu].flatMap { configs[$0]?["E=\(experts),N=\(width)"] } ?? Tiles(tokens: [], blockM: [])
        t.compile = compile
        return t
    }

    /// The tile for `tokens` tokens entering the fused MoE of `experts` experts of width `width` on `gpu`.
    public func blockM(gpu: String, experts: Int, width: Int, tokens: Int) -> Int {
        tiles(gpu: gpu, experts: experts, width: width).blockM(tokens: tokens)
    }
}
