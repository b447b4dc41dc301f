import Foundation

/// How a checkpoint's weights are stored, as vLLM names the method (`quant_method` in `quantization_config`, or
/// `--quantization`), and what that costs: bytes per weight (scales included) and whether the GEMMs run on the
/// GPU's fp8 tensor cores (w8a8) or dequantize to bf16 (weight-only formats).
///
/// Bytes per weight, scales counted:
/// - `fp8` with `weight_block_size` [bn, bk] (DeepSeek-V3/R1, Kimi-K2, Qwen3-FP8): 1 byte + one fp32 scale per
///   bn x bk block; without blocks (vLLM's online `--quantization fp8`): 1 byte, one scale per tensor.
/// - `mxfp4` (gpt-oss): experts only, 4 bits + one 8-bit E8M0 scale per 32 values = 0.53125 bytes; attention,
///   router, embeddings and LM head stay bf16 (`modules_to_not_convert`).
/// - `awq` / `gptq` (`bits`, `group_size`): bits/8 + a fp16 scale and a `bits`-wide zero point per group;
///   `group_size` -1 is one group per output channel.
/// - `compressed-tensors`: the `num_bits` of its first config group's weights; w8a8 when its input activations
///   are 8-bit floats (`type` "float") too.
/// Embeddings, LM head, norms and routers are never quantized by these methods.
public struct Quantization: Sendable, Equatable, CustomStringConvertible {
    /// vLLM's name of the method, or "none".
    public var method: String
    /// Bytes per routed-expert weight.
    public var expertBytes: Double
    /// Bytes per weight of the other linear layers (attention projections, dense MLPs, shared experts).
    public var linearBytes: Double
    /// Whether activations are quantized too, so GEMMs run at the GPU's fp8 peak where it has one.
    public var fp8Compute: Bool
    public var detail: String
    /// fp8 with block scales (`weight_block_size`, as DeepSeek-V3 ships): vLLM's block-scaled fp8 kernels, whose
    /// measured tables (`fp8_block` in the H100/H200 kernel tables) apply.
    public var fp8BlockScaled: Bool = false
    /// The measured quantized fused-MoE table of vLLM's kernel for these experts, by the key the H100/H200 kernel
    /// tables use (AIConfigurator's moe_dtype): "fp8_block", "w4a16_mxfp4" (gpt-oss's MXFP4), "int4_wo" (4-bit integer
    /// weight-only: AWQ, GPTQ, compressed-tensors w4a16, all run by vLLM's Marlin MoE); nil where none applies (other
    /// bit widths, compressed-tensors fp8/int8, and per-tensor fp8: the package's only per-tensor fp8 rows are ModelOpt
    /// FP8 through FlashInfer CUTLASS, 2-4x the bf16 Triton time at the same shape and degree and 2-4x the same
    /// backend's block-scaled rows, not the Triton fp8 kernel vLLM's Fp8MoEMethod runs for `fp8` without blocks).
    public var moeTable: String? = nil

    public static let none = Quantization(method: "none", expertBytes: 2, linearBytes: 2, fp8Compute: false, detail: "bf16 weights")
    public var isQuantized: Bool { method != "none" }
    public var description: String { isQuantized ? "\(method) (\(detail))" : "none (bf16)" }

    /// vLLM's `--quantization` names this accepts (with `awq_marlin`/`gptq_marlin` read as `awq`/`gptq`).
    public static let methods = ["fp8", "mxfp4", "awq", "awq_marlin", "gptq", "gptq_marlin", "compressed-tensors"]

    public static func fp8(block: (Int, Int)?) -> Quantization {
        let scale = block.map { 4.0 / Double($0.0 * $0.1) } ?? 0
        return Quantization(method: "fp8", expertBytes: 1 + scale, linearBytes: 1 + scale, fp8Compute: true,
                            detail: block.map { "fp8 e4m3 weights and activations, \($0.0)x\($0.1) blocks with fp32 scales" } ?? "fp8 e4m3 weights and activations, per-tensor scales",
                            fp8BlockScaled: block != nil, moeTable: block != nil ? "fp8_block" : nil)
    }

    public static let mxfp4 = Quantization(method: "mxfp4", expertBytes: 0.5 + 1.0 / 32, linearBytes: 2, fp8Compute: false,
                                           detail: "experts MXFP4 (4-bit values, 8-bit scale per 32), the rest bf16; weight-only, bf16 compute",
                                           moeTable: "w4a16_mxfp4")

    /// Bytes per routed-expert weight as vLLM 0.24 holds them in GPU memory (what its "Model loading took" counts),
    /// for experts of `hidden` x `intermediate` (per GPU): `expertBytes`, but for `mxfp4` under vLLM's TRITON MXFP4
    /// backend (what 0.24 picks on Hopper) the checkpoint-layout E8M0 scales stay registered beside the swizzled copy
    /// the kernel reads (`Mxfp4MoEMethod._setup_kernel` assigns the converted weights and keeps the scales in
    /// `w13/w2_precision_config` without replacing the scale parameters), and the swizzled copy's rows are padded to
    /// 256 (`HopperMXScaleLayout`, 8 warps): 0.5 + 1/32 + 1/32 x that padding; and each GPU's intermediate size is
    /// first rounded up to 64 (`mxfp4_round_up_hidden_size_and_intermediate_size`: gpt-oss's 2,880 is whole, 1,440 at
    /// TP 2 becomes 1,472). Against vLLM 0.24.0's logged model memory on an H100 and an H200 (2026-12-05,
    /// probe/results/2026-12-05-h100-vllm-x): gpt-oss-20b 13.40 GiB by this count (13.58 logged, 12.80 with 0.53125),
    /// gpt-oss-120b 64.15 (64.67 logged, 60.69). Hopper's layout is assumed on other GPUs too (an A100 would run
    /// vLLM's Marlin backend instead, whose padding differs: not measured).
    public func vllmResidentExpertBytes(hidden: Int, intermediate: Int) -> Double {
        guard method == "mxfp4", hidden > 0, intermediate > 0 else { return expertBytes }
        func pad(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }
        let i = pad(intermediate, 64), grown = Double(i) / Double(intermediate)
        // w13's scales (2I rows) are two thirds of the expert's scales, w2's (H rows) one third.
        let swizzled = (2 * Double(pad(2 * i, 256)) / Double(2 * i) + Double(pad(hidden, 256)) / Double(hidden)) / 3
        return grown * (0.5 + (1 + swizzled) / 32)
    }

    public static func intN(_ method: String, bits: Int, group: Int, hidden: Int) -> Quantization {
        let g = Double(group > 0 ? group : hidden)
        let b = Double(bits) / 8 + 2 / g + Double(bits) / 8 / g
        return Quantization(method: method, expertBytes: b, linearBytes: b, fp8Compute: false,
                            detail: "int\(bits) weights, group \(group > 0 ? String(group) : "per channel"), fp16 scales; weight-only, bf16 compute",
                            moeTable: bits == 4 ? "int4_wo" : nil)
    }

    /// Reads `quantization_config` from a Hugging Face config (nil when absent).
    public static func read(config c: JSONNode, hidden: Int) throws -> Quantization? {
        guard let q = try c.optionalObject("quantization_config") else { return nil }
        let method = try q.string("quant_method").lowercased()
        switch method {
        case "fp8":
            if let b = q.optional("weight_block_size") {
                let v = try b.array().map { try $0.int(in: Limits.quantization["block"]!) }
                guard v.count == 2 else { throw b.fail("expected [rows, columns]") }
                return .fp8(block: (v[0], v[1]))
            }
            return .fp8(block: nil)
        case "mxfp4":
            return .mxfp4
        case "awq", "gptq", "awq_marlin", "gptq_marlin":
            let bits = try q.int("bits", in: Limits.quantization["bits"]!)
            let group = try q.int("group_size", in: Limits.quantization["group_size"]!)
            guard group == -1 || group >= 1 else { throw try q.require("group_size").fail("is 0; use -1 (per channel) or a positive group") }
            return .intN(method.hasPrefix("awq") ? "awq" : "gptq", bits: bits, group: group, hidden: hidden)
        case "compressed-tensors":
            guard let groups = try q.optionalObject("config_groups"), let first = groups.keys?.sorted().first,
                  let g = try groups.optionalObject(first) else {
                throw q.fail("compressed-tensors needs config_groups with a weights scheme")
            }
            let w = try g.require("weights")
            let bits = try w.int("num_bits", in: Limits.quantization["bits"]!)
            let wFloat = (try w.optional("type")?.string() ?? "int") == "float"
            var actFP8 = false
            let activations = try g.optionalObject("input_activations")
            if let a = activations {
                actFP8 = try a.int("num_bits", in: Limits.quantization["bits"]!) == 8 && (try a.optional("type")?.string() ?? "int") == "float"
            }
            let b = Double(bits) / 8
            return Quantization(method: "compressed-tensors", expertBytes: b, linearBytes: b, fp8Compute: actFP8 && wFloat && bits == 8,
                                detail: "\(wFloat ? "fp" : "int")\(bits) weights\(actFP8 ? ", fp8 activations" : ", weight-only"); per-channel scales not counted (<0.1%)",
                                moeTable: !wFloat && bits == 4 && activations == nil ? "int4_wo" : nil)
        default:
            throw try q.require("quant_method").fail("is \"\(method)\"; supported: \(quotedChoices(["fp8", "mxfp4", "awq", "gptq", "compressed-tensors"]))")
        }
    }
}

/// The KV cache's element type (`--kv-cache-dtype`, vLLM's names).
public enum KVCacheDType: String, Sendable, CaseIterable {
    case auto, bfloat16, fp8, fp8_e4m3, fp8_e5m2
    public var bytes: Double { self == .auto || self == .bfloat16 ? 2 : 1 }
}
