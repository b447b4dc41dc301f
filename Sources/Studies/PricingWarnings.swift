import Foundation
import Cluster
import Serving

/// Warnings for `run` and `explain` (stderr): a component that takes a large share of a step while priced far from
/// its roofline (its floor at the GPU's datasheet peak FLOPs and bandwidth), or priced by an assumption (the fitted
/// shape model for an unmeasured expert shape, a roofline-ratio estimate, the bare roofline) rather than a measured
/// table. Neither is necessarily wrong (a fused-MoE kernel can run at a few percent of peak), but a figure that rests
/// on either deserves a look before it is trusted.
public enum PricingWarnings {
    /// A component is "far from its roofline" below this fraction of it.
    public static let rooflineFraction = 0.10
    /// Only components taking at least this share of the layer's time are reported.
    public static let significantShare = 0.20
    /// Sources that are assumptions rather than measurements (`KernelSource` raw values).
    static let assumed: [(source: String, what: String)] = [
        (KernelSource.shapeModel.rawValue, "the fused-MoE shape model fitted to other expert shapes (this shape is not in the measured tables: extrapolated)"),
        (KernelSource.estimate.rawValue, "a measured time carried to this case by a roofline ratio (a quantized kernel from the measured bf16 one, or a kernel measured on another GPU by datasheet bandwidth)"),
        (KernelSource.roofline.rawValue, "the datasheet roofline at an achieved-rate factor (no measured table applies)"),
    ]

    /// Whether a stderr line is one of these warnings (every one says what share of the layer the component takes).
    public static func isPricingWarning<S: StringProtocol>(_ line: S) -> Bool {
        line.hasPrefix("warning: ") && line.contains(" of the layer")
    }

    /// Stderr without these warnings (for checks of what else a command says).
    public static func withoutPricingWarnings(_ err: String) -> String {
        err.split(separator: "\n", omittingEmptySubsequences: false).filter { !isPricingWarning($0) }.joined(separator: "\n")
    }

    /// The warnings for one explained step; `step` names it in the message ("a decode step of 512 sequences").
    public static func warnings(_ e: StepExplanation, step: String) -> [String] {
        let d = e.deployment, g = d.gpu
        let fp8 = d.model.quantization.fp8Compute
        let peak = (fp8 ? g.peakFP8TFLOPs.map { $0 * 1e12 } : nil) ?? g.peakFLOPs
        let total = e.layer.reduce(0) { $0 + $1.us }
        guard total > 0 else { return [] }
        var out: [String] = []
        for c in e.layer where c.us > 0 && c.us / total >= significantShare {
            let share = String(format: "%.0f%%", c.us / total * 100)
            if c.bound != "network" {
                let floorUs = max(c.flops / peak, c.bytes / g.peakBytesPerSecond) * 1e6
                let fraction = floorUs / c.us
                if fraction < rooflineFraction {
                    out.append(String(format: "warning: %@ in %@ runs at %.1f%% of %@'s roofline (%.1f us against a floor of %.1f us for %.1f GFLOP and %.1f MB at the datasheet's %.0f TFLOP/s%@ and %.0f GB/s; %@ of the layer); its time comes from: %@. A kernel that far from its roofline is worth checking against a measurement of this case",
                                      c.name, step, fraction * 100, g.name, c.us, floorUs, c.flops / 1e9, c.bytes / 1e6, peak / 1e12, fp8 ? " fp8" : "",
                                      g.peakBytesPerSecond / 1e9, share, c.source.isEmpty ? "the cost model" : c.source))
                }
            }
            for a in assumed where c.source.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(a.source) }) {
                out.append("warning: \(c.name) in \(step) (\(share) of the layer) rests on \(a.what), not on a measurement: \(c.source)")
            }
        }
        return out
    }

    /// `run`'s warnings: a prefill step (one chunk per DP rank of the mean prompt, up to the token budget) and a
    /// decode step at the run's mean batch, both explained on the run's deployment. Empty for the HF engine.
    public static func warnings(run o: Simulation.Outcome) -> [String] {
        let d = o.deployment, r = o.result
        guard d.engine.kind == .vllm, r.steps > 0, r.completed > 0 else { return [] }
        let dp = d.plan.dataParallel
        let meanIn = max(1, r.totalInputTokens / r.completed), meanOut = max(1, r.totalOutputTokens / r.completed)
        let chunk = min(meanIn, Int(d.param("max_num_batched_tokens")))
        // Decode: the sequences a step held on average (output tokens per step), at half the mean context.
        let seqs = max(1, min(r.totalOutputTokens / r.steps, Int(d.param("max_num_seqs")) * dp))
        var out: [String] = []
        var seen = Set<String>()
        for (what, decode, prefill, len) in [("a prefill step (\(dp) x \(chunk) prompt tokens)", 0, dp, chunk),
                                              ("a decode step (\(seqs) sequences)", seqs, 0, meanIn + meanOut / 2)] {
            guard let e = try? StepExplanation(deployment: d, decodeSeqs: decode, kvLen: len, prefillSeqs: prefill, prefillLen: len, seed: r.seed) else { continue }
            for w in warnings(e, step: what) where seen.insert(w).inserted { out.append(w) }
        }
        return out
    }
}
