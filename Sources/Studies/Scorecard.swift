import Foundation
import SimKit
import Cluster
import Serving

extension Reproduction {
    /// One claim of the paper, judged on the simulated study.
    public struct Claim: Sendable {
        public var id: String
        public var text: String
        public var reproduced: Bool
        public var evidence: String
    }

    func claimText(_ id: String) -> String {
        guard let cs = try? published.require("claims").array() else { return id }
        return cs.first { (try? $0.string("id")) == id }.flatMap { try? $0.string("text") } ?? id
    }

    public func claims() -> [Claim] {
        var out: [Claim] = []
        // EP/TP ordering.
        let ratios = Self.models.map { m in throughput(m, "tp").flatMap { tp in throughput(m, "ep").map { $0 / tp } } }
        if let a = ratios[0], let b = ratios[1], let c = ratios[2] {
            out.append(Claim(id: "ep-tp-ordering", text: claimText("ep-tp-ordering"), reproduced: a < b && b < c,
                             evidence: String(format: "EP/TP: Mixtral %.1f%%, OLMoE %.1f%%, Qwen %.1f%%", a * 100, b * 100, c * 100)))
        }
        // Hybrid last everywhere.
        var hybridLast = 0, total = 0
        for m in Self.models { for w in Self.workloads { for c in Self.concurrency {
            guard let h = throughput(m, "hybrid", w, c), let t = throughput(m, "tp", w, c), let e = throughput(m, "ep", w, c) else { continue }
            total += 1
            if h < min(t, e) { hybridLast += 1 }
        } } }
        out.append(Claim(id: "hybrid-last", text: claimText("hybrid-last"), reproduced: total > 0 && hybridLast == total,
                         evidence: "hybrid slowest in \(hybridLast) of \(total) configurations"))
        // Concurrency dominates the ANOVA.
        let an = anova()
        let shares = an.map { ($0.factor, $0.anova?.etaSquared ?? 0) }
        if let top = shares.max(by: { $0.1 < $1.1 }) {
            out.append(Claim(id: "concurrency-dominates", text: claimText("concurrency-dominates"), reproduced: top.0 == "concurrency",
                             evidence: shares.map { String(format: "%@ %.1f%%", $0.0, $0.1 * 100) }.joined(separator: ", ")))
        }
        // Qwen EP wins at concurrency 128.
        if let t = throughput("qwen1.5-moe-a2.7b", "tp", "decode-heavy", "128"), let e = throughput("qwen1.5-moe-a2.7b", "ep", "decode-heavy", "128") {
            // "Substantially": EP must lead by more than 10%, not merely edge ahead.
            out.append(Claim(id: "qwen-ep-wins-c128", text: claimText("qwen-ep-wins-c128"), reproduced: e > 1.1 * t,
                             evidence: String(format: "EP %.0f vs TP %.0f tok/s (%+.1f%%)", e, t, (e / t - 1) * 100)))
        }
        // Mixtral TP everywhere.
        var tpWins = 0, n = 0
        for w in Self.workloads { for c in Self.concurrency {
            guard let t = throughput("mixtral-8x7b", "tp", w, c), let e = throughput("mixtral-8x7b", "ep", w, c) else { continue }
            n += 1; if t >= e { tpWins += 1 }
        } }
        out.append(Claim(id: "mixtral-tp-everywhere", text: claimText("mixtral-tp-everywhere"), reproduced: n > 0 && tpWins == n,
                         evidence: "TP at least as fast as EP in \(tpWins) of \(n) Mixtral configurations"))
        // Hybrid saturates for Qwen at 32.
        if let h32 = throughput("qwen1.5-moe-a2.7b", "hybrid", "decode-heavy", "32"), let h128 = throughput("qwen1.5-moe-a2.7b", "hybrid", "decode-heavy", "128"),
           let t32 = throughput("qwen1.5-moe-a2.7b", "tp", "decode-heavy", "32"), let t128 = throughput("qwen1.5-moe-a2.7b", "tp", "decode-heavy", "128") {
            let gh = h128 / h32, gt = t128 / t32
            out.append(Claim(id: "hybrid-saturates-qwen", text: claimText("hybrid-saturates-qwen"), reproduced: gh < 1.15 && gh < gt,
                             evidence: String(format: "Qwen decode-heavy, concurrency 32 -> 128: hybrid x%.2f, TP x%.2f", gh, gt)))
        }
        // Diffusion ratio.
        let rs = Self.diffusionRows.compactMap { r in diffusion("dense", r).flatMap { d in diffusion("moe", r).map { d / $0 } } }
        if !rs.isEmpty {
            let mean = rs.reduce(0, +) / Double(rs.count)
            let within = Self.diffusionRows.filter { r in
                guard let p = pub(["table_vii", "rows", r, "ratio"]), let d = diffusion("dense", r), let m = diffusion("moe", r) else { return false }
                return abs(d / m / p - 1) <= 0.2
            }.count
            out.append(Claim(id: "diffusion-ratio", text: claimText("diffusion-ratio"), reproduced: within == Self.diffusionRows.count,
                             evidence: String(format: "dense/MoE %.1fx-%.1fx, mean %.1fx; within 20%% of the paper in %d of %d rows",
                                              rs.min()!, rs.max()!, mean, within, Self.diffusionRows.count)))
        }
        return out
    }

    /// The least mean TTFT any schedule could give when `n` identical prompts of `inputLen` tokens arrive at once:
    /// served one after another at datasheet peak on all GPUs, the k-th finishes at k x t, so the mean is (n+1)/2 x t.
    public static func ttftFloorMs(model: ModelArchitecture, gpu: GPUProfile, gpus: Int, prompts n: Int, inputLen: Int) -> Double {
        let t = 2 * model.activeParams * Double(inputLen) / (gpu.peakFLOPs * Double(gpus))
        return Double(n + 1) / 2 * t * 1e3
    }
}
