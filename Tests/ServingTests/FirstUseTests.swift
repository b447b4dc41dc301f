import Foundation
import Testing
import Cluster
@testable import Serving

/// vLLM 0.24 compiles its Triton fused MoE (bf16 experts) for each kernel configuration and integer specialization on
/// first use after start-up; a step that needs one waits for the compile (`VLLMSimulator.FirstUse`). On an H100 on
/// 2026-12-06 every stall of the step traces matched a compile vLLM's jit_monitor logged
/// (probe/results/2026-12-06-h100-vllm-ac): OLMoE's odd token counts past 512 (num_valid_tokens = 8 x tokens is then
/// no multiple of 16) and its batches past 8,256 tokens (GROUP_SIZE_M 16), each once per engine.
@Suite struct FirstUseTests {
    func olmoe() throws -> Deployment { try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb") }

    @Test func kernelClassesFollowVLLMsConfigurationAndTritonsSpecialization() throws {
        let c = try olmoe().costModel(seed: 0)
        let k = { (t: Int) throws -> Int in try #require(c.fusedMoEKernelClass(tokens: t)) }
        // No tuned file for OLMoE's E=64, N=1024 on the H200: the default rule. 1,024 and 2,048 tokens share tiles,
        // warps and stages and are multiples of 16 after x8: one kernel.
        #expect(try k(1024) == k(2048))
        // An odd count is not, so Triton compiles another; all odd counts from 513 to 8,255 share it.
        #expect(try k(1021) != k(1024))
        #expect(try k(1021) == k(879) && k(1021) == k(8255))
        // Past 8,256 tokens (128 an expert) GROUP_SIZE_M is 16: another configuration, odd or not.
        #expect(try k(16384) != k(1024) && k(15395) != k(16384) && k(15395) != k(1021))
        // Tiles of 64 rows from 97 to 512 tokens, 32 below: other kernels again.
        #expect(try k(300) != k(1024) && k(64) != k(300))
        // A tuned file (Mixtral on the H200): counts nearest one key with the same remainders share a kernel.
        let m = try deployment("mixtral-8x7b", gpu: "h200-sxm-141gb").costModel(seed: 0)
        #expect(m.fusedMoEKernelClass(tokens: 3806) == m.fusedMoEKernelClass(tokens: 5494))
        #expect(m.fusedMoEKernelClass(tokens: 3806) != m.fusedMoEKernelClass(tokens: 3808))
        // The A100's tables (vLLM 0.14) carry no tiles, and expert parallelism moves tokens first: not modelled.
        #expect(try deployment("olmoe-1b-7b", gpu: "a100-sxm4-80gb").costModel(seed: 0).fusedMoEKernelClass(tokens: 1021) == nil)
        let ep = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb", plan: ParallelPlan(tp: 2, ep: true))
        #expect(try ep.costModel(seed: 0).fusedMoEKernelClass(tokens: 1021) == nil)
    }

    /// One lone prompt: 1,021 tokens run without CUDA graphs in a configuration start-up never ran; 1,024 tokens in
    /// the one its warm-up forward of min(max_num_seqs, budget) = 1,024 tokens compiled.
    func lone(_ tokens: Int, _ edit: (inout Deployment) -> Void = { _ in }) throws -> RunResult {
        var d = try olmoe()
        d.usageContext = .offline
        edit(&d)
        return try VLLMSimulator(deployment: d, workload: try randomWorkload(input: tokens, output: 1, prompts: 1), seed: 0).run()
    }

    @Test func aStepOfANewConfigurationWaitsForTheCompile() throws {
        let cold = try lone(1021), warmed = try lone(1024)
        let us = try olmoe().hostParam("moe_first_use_us")
        #expect(us > 100_000)
        #expect(cold.notes.contains { $0.hasPrefix("first use: 1 step without CUDA graphs (1021 tokens)") }, "\(cold.notes)")
        #expect(!warmed.notes.contains { $0.hasPrefix("first use") })
        // The wait is the compile's, on top of the step (which 3 tokens more hardly change).
        #expect(abs(cold.durationS - warmed.durationS - us / 1e6) < 0.01, "\(cold.durationS) against \(warmed.durationS)")
        // An engine that ran an odd count of the same configuration before, or every size, does not wait.
        let ranBefore = try lone(1021) { $0.warmTokenCounts = [879] }
        let allWarm = try lone(1021) { $0.allWarm = true }
        let otherConfig = try lone(1021) { $0.warmTokenCounts = [300, 15395] }
        #expect(abs(ranBefore.durationS - warmed.durationS) < 0.01 && abs(allWarm.durationS - warmed.durationS) < 0.01)
        #expect(abs(otherConfig.durationS - cold.durationS) < 1e-9)
        // A profile without the cost (or another engine) does not model it.
        let off = try lone(1021) { $0.engine.params["moe_first_use_us"] = 0 }
        #expect(abs(off.durationS - warmed.durationS) < 0.01 && !off.notes.contains { $0.hasPrefix("first use") })
    }

    @Test func anEnginePaysEachConfigurationOnce() throws {
        // Two 1,021-token prompts a second apart: two steps of the same new configuration, one compile.
        var d = try olmoe()
        let two = try VLLMSimulator(deployment: d, workload: try randomWorkload(input: 1021, output: 1, prompts: 2, rate: 1), seed: 0).run()
        #expect(two.notes.contains { $0.hasPrefix("first use: 1 step ") }, "\(two.notes)")
        // A decode batch of 1,024 sequences (past the 512 captured) that shrinks as requests finish passes through
        // odd sizes (and the prompts, about 6,144 tokens in one step, may be odd too): one compile for them all.
        d.usageContext = .offline
        let w = try randomWorkload(input: 6, output: 24, ratio: 0.5, prompts: 1024)
        let r = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        let note = try #require(r.notes.first { $0.hasPrefix("first use") })
        #expect(note.hasPrefix("first use: 1 step "), "\(note)")
        // The same inputs and seed: the same run.
        let again = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        #expect(again.durationS == r.durationS && again.notes == r.notes)
    }

    /// gpt-oss's MXFP4 experts run OpenAI's triton_kernels, whose routing kernels are compiled for the token count
    /// rounded up to 32 (vLLM's jit_monitor on 2026-12-06, probe/results/2026-12-06-h100-vllm-ac2) and for Triton's
    /// specialization of the count itself (a multiple of 16 or not).
    @Test func mxfp4RoutingKernelsCompileForEachSizeOf32Tokens() throws {
        var d = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb")
        d.usageContext = .offline
        let c = try d.costModel(seed: 0)
        #expect(c.fusedMoEKernelClass(tokens: 2048) == nil)
        let k = { (t: Int) throws -> Int in try #require(c.mxfp4Kernels(tokens: t))[0] }
        #expect(try k(2017) == k(2031) && k(2032) == k(2048) && k(2031) != k(2032) && k(2049) != k(2017))
        // A lone 2,048-token prompt runs without CUDA graphs (gpt-oss captures up to 1,024) at a size start-up never
        // ran (its memory profile ran 16,384 tokens and its warm-up forward 1,024): one compile of the routing kernels,
        // its GEMMs' shapes being the memory profile's.
        let run = { (tokens: Int, warm: [Int]) throws -> RunResult in
            var e = d
            e.warmTokenCounts = warm
            return try VLLMSimulator(deployment: e, workload: try randomWorkload(input: tokens, output: 1, prompts: 1), seed: 0).run()
        }
        let cold = try run(2048, []), warm = try run(2048, [2032])
        #expect(cold.notes.contains { $0.hasPrefix("first use: 1 step") && $0.contains("mxfp4_routing_first_use_us") && $0.contains("no GEMM compiled") }, "\(cold.notes)")
        #expect(!warm.notes.contains { $0.hasPrefix("first use") })
        #expect(abs(cold.durationS - warm.durationS - d.hostParam("mxfp4_routing_first_use_us") / 1e6) < 1e-6)
    }

    /// triton_kernels' two expert GEMMs compile for their row tile and for Triton's specialization of the token count
    /// (the first), the row count (the second) and the grid's m (both). The sixth session's H200 serving job of
    /// gpt-oss-20b (probe/results/2026-12-04-h200-vllm-f/gptoss20b-serve) stalled 4.3 s at 1,274 tokens and at 4,111, with
    /// routing-only stalls of about 1 s at 4,701 tokens and a dozen other odd counts between them: 1,274 and 4,701
    /// tokens give grids of 71 and 178 blocks, 4,111 one of 160, a multiple of 16.
    @Test func mxfp4GEMMsCompileForEachRowTileAndSpecialization() throws {
        let c = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb").costModel(seed: 0)
        let gemms = { (t: Int) throws -> [Int] in Array(try #require(c.mxfp4Kernels(tokens: t)).dropFirst()) }
        #expect(try gemms(1274) == gemms(4701) && gemms(1274) != gemms(4111) && gemms(4111) == gemms(4111 + 16 * 32))
        // A multiple of 16 tokens is the memory profile's specialization (8,192 tokens serving); 520 tokens is the
        // first count with the 128-row tile (65 rows an expert), whose multiples of 16 the CUDA-graph capture ran.
        #expect(try gemms(1280) == gemms(8192) && gemms(519) != gemms(520))
        #expect(try StepCostModel.Mxfp4Kernel(kernel: gemms(1274)[0]) == .gatherMatmul && StepCostModel.Mxfp4Kernel(kernel: gemms(1274)[1]) == .scatterMatmul)
        // gpt-oss-120b's 128 experts: 2,036 tokens are 63 rows an expert, a 64-row tile, which neither the capture
        // (up to 1,024 tokens: 32 rows) nor the memory profile (128) ran.
        let big = try deployment("gpt-oss-120b", gpu: "h200-sxm-141gb").costModel(seed: 0)
        let tile = { (t: Int) throws -> Int in try #require(big.mxfp4Kernels(tokens: t))[1] >> 8 }
        #expect(try tile(2036) == 6 && tile(2080) == 7 && tile(1024) == 5)
        // A fresh serving engine's lone prompts: 1,274 tokens waits for the routing kernels and both GEMMs; after it,
        // 4,701 tokens for the routing kernels alone and 4,111 for all three again.
        var d = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb")
        d.usageContext = .serve
        let wait = { (tokens: Int, warm: [Int]) throws -> Double in
            var e = d
            e.warmTokenCounts = warm
            let w = try randomWorkload(input: tokens, output: 1, prompts: 1)
            let cold = try VLLMSimulator(deployment: e, workload: w, seed: 0).run()
            e.warmTokenCounts = warm + [tokens]
            return cold.durationS - (try VLLMSimulator(deployment: e, workload: w, seed: 0).run()).durationS
        }
        let routing = d.hostParam("mxfp4_routing_first_use_us") / 1e6, gemm = d.hostParam("mxfp4_matmul_first_use_us") / 1e6
        #expect(gemm > 1)
        #expect(abs(try wait(1274, []) - routing - 2 * gemm) < 1e-6)
        let note = try VLLMSimulator(deployment: d, workload: try randomWorkload(input: 1274, output: 1, prompts: 1), seed: 0).run().notes.first { $0.hasPrefix("first use") }
        #expect(note?.contains("for each of 2 GEMM compiles") == true, "\(note ?? "no first-use note")")
        #expect(abs(try wait(4701, [1274]) - routing) < 1e-6)
        #expect(abs(try wait(4111, [1274, 4701]) - routing - 2 * gemm) < 1e-6)
    }

    /// Triton's compile of the kernel takes longer for larger tiles: measured per configuration on an H100 on
    /// 2026-12-06 (probe/results/2026-12-06-h100-moe-compile) as a ratio to the configuration moe_first_use_us was
    /// measured on (128 x 128 x 64 tiles, 8 warps, 3 stages).
    @Test func theCompileTakesLongerForLargerTiles() throws {
        let o = try olmoe().costModel(seed: 0)
        // OLMoE's default rule past 512 tokens is the reference; at 29 tokens 16 x 64 x 128 tiles, 4 warps, 4 stages.
        #expect(abs(o.fusedMoECompileRatio(tokens: 1021) - 1) < 1e-9)
        let small = o.fusedMoECompileRatio(tokens: 29)
        #expect(small > 0.7 && small < 0.9, "\(small)")
        // Mixtral's tuned H200 file runs 128 x 256 x 64 tiles from 256 tokens up: 1.7 times the reference.
        let m = try deployment("mixtral-8x7b", gpu: "h200-sxm-141gb").costModel(seed: 0)
        let big = m.fusedMoECompileRatio(tokens: 2048)
        #expect(big > 1.5 && big < 1.9, "\(big)")
        // A lone 2,048-token Mixtral prompt on a fresh engine waits that much longer than an OLMoE one.
        var d = try deployment("mixtral-8x7b", gpu: "h200-sxm-141gb")
        d.usageContext = .offline
        let w = try randomWorkload(input: 2048, output: 1, prompts: 1)
        let cold = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        d.allWarm = true
        let warm = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        let us = try olmoe().hostParam("moe_first_use_us")
        #expect(abs((cold.durationS - warm.durationS) - us * big / 1e6) < 0.01, "\(cold.durationS) against \(warm.durationS)")
    }

    @Test func compileTimesOutsideTheMeasurementFollowTheFittedLine() throws {
        let doc = #"{"relative": [{"config": [128, 128, 64, 8, 3], "ratio": 1}], "fit": {"intercept": 0.5, "per_kmac_per_warp": 0.004}}"#
        let t = try FusedMoEBlockM.CompileTimes(json: JSONNode.parse(data: Data(doc.utf8), file: "compile.json"))
        let measured = try #require(FusedMoEBlockM.KernelConfig("BLOCK_SIZE_K=64,BLOCK_SIZE_M=128,BLOCK_SIZE_N=128,GROUP_SIZE_M=16,num_stages=3,num_warps=8"))
        #expect(t.ratio(measured) == 1)
        // 64 x 64 x 64 tiles over 4 warps: 65.536 thousand multiply-accumulates a warp.
        let other = try #require(FusedMoEBlockM.KernelConfig("BLOCK_SIZE_K=64,BLOCK_SIZE_M=64,BLOCK_SIZE_N=64,num_warps=4"))
        #expect(abs(t.ratio(other) - (0.5 + 0.004 * 65.536)) < 1e-9)
        #expect(FusedMoEBlockM.KernelConfig("BLOCK_SIZE_M=64,num_warps=4") == nil)
        let bad = #"{"relative": [{"config": [128, 128, 64], "ratio": 1}], "fit": {"intercept": 0.5, "per_kmac_per_warp": 0.004}}"#
        #expect(throws: InputError.self) { try FusedMoEBlockM.CompileTimes(json: JSONNode.parse(data: Data(bad.utf8), file: "compile.json")) }
    }
}
