import Foundation
import Cluster

/// A GPU at its power limit. Kernel tables are timed in short bursts, at the GPU's highest clock; run compute-bound
/// work back to back and within a fraction of a second the GPU reaches its power limit (700 W on the H100 and H200)
/// and lowers its SM clock (1,980 to about 1,400 MHz), so that a bf16 GEMM runs 8-15% below its burst rate
/// (`probe/vllm/gemm_sustained.py`: `probe/results/2026-12-04-h200-gemm-sustained`,
/// `probe/results/2026-12-07-h100-gemm-sustained`). vLLM's long prompt steps show it: their measured / predicted time
/// starts near 1 and drifts up by about 8% after a second of such steps (docs/accuracy.md, thirty-ninth session).
///
/// The state `s` (0 cool, 1 at the limit) follows the GPU's compute load, the share of time its tensor cores run
/// (`StepCostModel.computeShare` of the step's GPU time, times the GPU's busy share of the step), with
/// the GPU profile's time constant; idle time lets it fall back. A step whose compute share is `u` is slowed by
/// `1 + k * s * u`, `k = 1 / sustained_matmul_ratio - 1`: a memory-bound step hardly at all. GPUs without the two
/// measurements (`sustained_matmul_ratio`, `power_time_constant_s`) are never slowed.
struct PowerState {
    let k: Double, tauUs: Double
    private(set) var s = 0.0
    private var at = 0.0

    /// Never slowed.
    init() { k = 0; tauUs = 1 }

    init(gpu: GPUProfile) {
        if let r = gpu.sustainedMatmulRatio, let t = gpu.powerTimeConstantS {
            k = 1 / r - 1; tauUs = t * 1e6
        } else {
            k = 0; tauUs = 1
        }
    }

    var enabled: Bool { k > 0 }

    /// The compute share of a step (`StepCostModel.computeShare`), 0 without a power state (not computed then).
    func share(_ cost: StepCostModel, _ batches: [BatchShape], gpu: StepBreakdown) -> Double {
        enabled ? cost.computeShare(batches, gpuUs: gpu.gpu) : 0
    }

    /// A step starting at `t` (µs) whose compute share is `share`: its kernels slowed at the state as it stands, the
    /// state having cooled over the idle time since the last step.
    mutating func slowed(_ gpu: StepBreakdown, at t: Double, share: Double) -> StepBreakdown {
        guard enabled else { return gpu }
        cool(to: t)
        return gpu.throttled(1 + k * s * share)
    }

    /// The step priced by `slowed` ran from `t` for `us` µs with `gpuUs` of it on the GPU: its tensor cores were busy
    /// a share `share * gpuUs / us` of that time, which the state follows.
    mutating func ran(from t: Double, us: Double, share: Double, gpuUs: Double) {
        guard enabled, us > 0 else { return }
        cool(to: t)
        let load = share * min(1, gpuUs / us)
        s = load + (s - load) * exp(-us / tauUs)
        at = t + us
    }

    private mutating func cool(to t: Double) {
        if t > at { s *= exp(-(t - at) / tauUs); at = t }
    }
}

extension StepBreakdown {
    /// The GPU's kernels slowed by `f` (`PowerState`): attention, GEMMs and experts; collectives and host time not.
    func throttled(_ f: Double) -> StepBreakdown {
        guard f != 1 else { return self }
        var r = self
        r.attention *= f; r.denseGEMM *= f; r.experts *= f
        return r
    }
}
