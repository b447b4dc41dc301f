import Foundation

/// The row tile (`BLOCK_SIZE_M`) of vLLM's Triton fused MoE for bf16 experts: how many of an expert's token rows one
/// program computes. vLLM pads every expert's rows to a whole number of tiles (`moe_align_block_size`), so a routing
/// draw that leaves some experts just past a tile boundary costs more tiles, and more time, than the same pairs spread
/// evenly, as the kernel tables measured them. Read from vLLM 0.24.0's tuned configurations
/// (`profiles/kernels/vllm-0.24.0-fused-moe-block-m.json`, written by `profiles/tools/import_vllm_moe_block_m.py`).
public struct FusedMoEBlockM: Sendable {
    /// moesim GPU name -> vLLM device name.
    let devices: [String: String]
    /// Device name -> "E=<experts>,N=<width>" -> (token counts, tiles), sorted by token count.
    let configs: [String: [String: Tiles]]

    /// The tiles of one (GPU, experts, width) by token count: vLLM's tuned configuration, or its default rule.
    public struct Tiles: Sendable {
        /// Token counts of the tuned configuration and their tiles, sorted; empty: vLLM's default rule.
        let tokens: [Int], blockM: [Int]

        /// The tile for `tokens` tokens entering the kernel: the tuned configuration at the nearest token count
        /// (`try_get_optimal_moe_config`; the smaller count on a tie, as Python's `min` keeps the first), else vLLM's
        /// default (`get_default_config`: 16 rows up to 32 tokens, 32 up to 96, 64 up to 512, else 128).
        public func blockM(tokens t: Int) -> Int {
            guard !self.tokens.isEmpty else { return t <= 32 ? 16 : t <= 96 ? 32 : t <= 512 ? 64 : 128 }
            var best = 0
            for i in 1..<self.tokens.count where abs(self.tokens[i] - t) < abs(self.tokens[best] - t) { best = i }
            return blockM[best]
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
        configs = c
    }

    /// The tiles vLLM uses for `experts` experts of width `width` on `gpu` (looked up once per deployment).
    public func tiles(gpu: String, experts: Int, width: Int) -> Tiles {
        devices[gpu].flatMap { configs[$0]?["E=\(experts),N=\(width)"] } ?? Tiles(tokens: [], blockM: [])
    }

    /// The tile for `tokens` tokens entering the fused MoE of `experts` experts of width `width` on `gpu`.
    public func blockM(gpu: String, experts: Int, width: Int, tokens: Int) -> Int {
        tiles(gpu: gpu, experts: experts, width: width).blockM(tokens: tokens)
    }
}
