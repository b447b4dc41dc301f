import Foundation
import Testing
import SimKit
@testable import Cluster

struct FloorCase: Sendable, CustomTestStringConvertible {
    var model: String
    var tp: Int
    var dp: Int
    var ep: Bool
    var testDescription: String { "\(model) tp\(tp) dp\(dp)\(ep ? " ep" : "")" }
}

@Suite struct PhysicsFloorTests {
    /// Over random batches, a step's GPU time is never below its non-expert FLOPs at peak or its weight and KV bytes at
    /// peak bandwidth on the busiest GPU (computed here from the architecture, not from the cost model).
    @Test(arguments: [
        FloorCase(model: "mixtral-8x7b", tp: 2, dp: 1, ep: false),
        FloorCase(model: "olmoe-1b-7b", tp: 1, dp: 2, ep: true),
        FloorCase(model: "qwen1.5-moe-a2.7b", tp: 1, dp: 1, ep: false),
    ])
    func stepNeverBeatsPhysics(_ c: FloorCase) throws {
        let store = Repo.store
        let m = try store.model(c.model)
        let gpu = try store.gpu("a100-sxm4-80gb")
        let plan = ParallelPlan(tp: c.tp, dp: c.dp, ep: c.ep)
        try plan.validate(for: m)
        let moe = try #require(m.moe)
        let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 1)
        let placement: ExpertPlacement? = c.ep ? .contiguous(experts: moe.experts, gpus: plan.gpuCount, moeLayers: m.moeLayerCount) : nil
        let cost = try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu),
                                     interconnect: plan.gpuCount > 1 ? try store.interconnect("dgx-a100") : nil,
                                     routing: routing, placement: placement, seed: 1)
        // Independent parameter counts per GPU (GQA models only).
        let h = Double(m.hidden), tp = Double(c.tp)
        let q = Double(m.heads * m.headDim), kv = Double(m.kvHeads * m.headDim)
        let attnProj = Double(m.layers) * (h * (q + 2 * kv) + q * h) / tp
        var ffnSharded = 0.0, routers = 0.0
        for f in m.ffn {
            ffnSharded += 3 * h * Double(f.denseIntermediate + f.sharedIntermediate) / tp
            routers += h * Double(f.experts)
        }
        let nonExpertParams = attnProj + ffnSharded + routers
        let lmHead = Double(m.vocab) * h / tp
        let kvBytesPerTokenLayer = m.kvBytesPerToken(tensorParallel: c.tp) / Double(m.layers)

        var rng = Xoshiro256(seed: 2024)
        var pick = Xoshiro256(seed: 1)
        var checked = 0
        for _ in 0..<150 {
            var batches: [BatchShape] = []
            for _ in 0..<c.dp {
                var b = BatchShape()
                for _ in 0..<rng.nextInt(below: 9) { b.addDecode(context: 1 + rng.nextInt(below: 4000)) }
                for _ in 0..<rng.nextInt(below: 3) {
                    b.addPrefill(chunk: 1 + rng.nextInt(below: 384), prefix: rng.nextInt(below: 1000), samples: rng.nextInt(below: 2) == 0)
                }
                batches.append(b)
            }
            guard batches.contains(where: { !$0.isEmpty }) else { continue }
            checked += 1
            let s = cost.stepCost(batches, pick: &pick)
            var flopsFloor = 0.0, bytesFloor = 0.0
            for b in batches where !b.isEmpty {
                let flops = 2 * Double(b.tokens) * nonExpertParams + 2 * Double(b.logitsRows) * lmHead
                let bytes = 2 * (nonExpertParams + (b.logitsRows > 0 ? lmHead : 0)) + b.decodeContext * kvBytesPerTokenLayer * Double(m.layers)
                flopsFloor = max(flopsFloor, flops / gpu.peakFLOPs * 1e6)
                bytesFloor = max(bytesFloor, bytes / gpu.peakBytesPerSecond * 1e6)
            }
            #expect(s.gpu >= flopsFloor, "\(c): \(s.gpu) us < FLOP floor \(flopsFloor) us for \(batches)")
            #expect(s.gpu >= bytesFloor, "\(c): \(s.gpu) us < byte floor \(bytesFloor) us for \(batches)")
            #expect(s.experts > 0)
            #expect(s.communication >= 0 && s.attention > 0 && s.denseGEMM > 0)
            if plan.gpuCount > 1 { #expect(s.communication > 0) } else { #expect(s.communication == 0) }
        }
        #expect(checked > 120)
    }
}

@Suite struct KernelCostTests {
    @Test func gemmTableIsReturnedAtEveryMeasuredPoint() throws {
        let gpu = try Repo.store.gpu("a100-sxm4-80gb")
        let k = KernelCost(gpu: gpu)
        var n = 0
        for (shape, curve) in gpu.gemmCurves {
            for p in curve {
                let m = Int(p.m)
                let floor = k.floorUs(flops: 2 * p.m * Double(shape.n * shape.k), bytes: 2 * (p.m * Double(shape.k) + Double(shape.k * shape.n) + p.m * Double(shape.n)))
                let expected = max(p.us, floor, KernelCost.minKernelUs)
                #expect(relClose(k.gemmUs(m: m, n: shape.n, k: shape.k), expected, 0.01), "m \(m) n \(shape.n) k \(shape.k)")
                n += 1
            }
        }
        #expect(n > 1000)
        // A known point of the vidur A100 table.
        #expect(relClose(k.gemmUs(m: 1024, n: 14336, k: 4096), 555, 0.01))
        // Between measured points the value lies between them.
        let mid = k.gemmUs(m: 1184, n: 14336, k: 4096)
        #expect(mid >= 555 && mid <= 696)
    }

    @Test func rooflineForUnmeasuredShapeRespectsFloor() throws {
        let k = KernelCost(gpu: try Repo.store.gpu("a100-sxm4-80gb"))
        for (m, n, kk) in [(1, 1000, 3000), (100, 1000, 3000), (5000, 777, 999), (65536, 4096, 4096), (3, 14336, 4096)] {
            let M = Double(m), N = Double(n), K = Double(kk)
            let floor = k.floorUs(flops: 2 * M * N * K, bytes: 2 * (M * K + K * N + M * N))
            let t = k.gemmUs(m: m, n: n, k: kk)
            #expect(t >= floor)
            #expect(t >= KernelCost.minKernelUs)
        }
        #expect(k.gemmUs(m: 0, n: 10, k: 10) == 0)
    }

    @Test func gemmMonotoneInM() throws {
        let k = KernelCost(gpu: try Repo.store.gpu("a100-sxm4-80gb"))
        // Roofline shape (not in the table).
        var prev = 0.0
        for m in stride(from: 1, through: 8192, by: 7) {
            let t = k.gemmUs(m: m, n: 1000, k: 3000)
            #expect(t >= prev, "m \(m)"); prev = t
        }
        // Measured shape over the range where the measurements themselves increase (72 ... 32768).
        prev = 0
        for m in stride(from: 72, through: 32768, by: 37) {
            let t = k.gemmUs(m: m, n: 14336, k: 4096)
            #expect(t >= prev - 1e-9, "m \(m)"); prev = t
        }
    }

    @Test func expertCostRespectsFloorAndGrows() throws {
        let k = KernelCost(gpu: try Repo.store.gpu("a100-sxm4-80gb"), moeBlockM: 16)
        let h = 4096, inter = 14336
        var prev = 0.0
        for t in [1, 16, 17, 64, 256, 1024, 4096] {
            let us = k.expertUs(tokens: t, hidden: h, inter: inter)
            let floor = k.floorUs(flops: 6 * Double(t * h * inter), bytes: 6 * Double(h * inter))
            #expect(us >= floor)
            #expect(us >= prev)
            prev = us
        }
        #expect(k.expertUs(tokens: 0, hidden: h, inter: inter) == 0)
    }
}

@Suite struct InterconnectTests {
    static func synthetic() throws -> InterconnectProfile {
        let json: [String: Any] = [
            "name": "synthetic", "gpus": ["x"], "max_gpus": 8, "link_bandwidth_gbps": 100,
            "curves": [
                ["collective": "all_reduce", "gpus": 2, "points": [[1000, 10], [10000, 20], [100000, 60]]],
                ["collective": "send_recv", "gpus": 2, "points": [[1000, 5], [100000, 25], [1000000, 115]]],
            ],
            "sources": ["derived: test"],
        ]
        return try InterconnectProfile(json: JSONNode(value: json, file: "synthetic.json"))
    }

    @Test func exactAtMeasuredPointsAndLinearBeyond() throws {
        let ic = try Self.synthetic()
        #expect(ic.timeUs(.allReduce, bytes: 1000, gpus: 2) == 10)
        #expect(abs(ic.timeUs(.allReduce, bytes: 10000, gpus: 2)! - 20) < 1e-9)
        #expect(abs(ic.timeUs(.allReduce, bytes: 100000, gpus: 2)! - 60) < 1e-9)
        // Below the first point: the latency floor.
        #expect(ic.timeUs(.allReduce, bytes: 10, gpus: 2) == 10)
        // Between points: linear in bytes.
        #expect(abs(ic.timeUs(.allReduce, bytes: 55000, gpus: 2)! - 40) < 1e-9)
        // Past the end: the curve's bandwidth at its largest size (60 us per 100000 bytes), which here is
        // steeper than the last segment's (40 us per 90000 bytes).
        let slope = max(40.0 / 90000, 60.0 / 100000)
        for b in [200000.0, 1e6, 1e8] {
            #expect(relClose(ic.timeUs(.allReduce, bytes: b, gpus: 2)!, 60 + slope * (b - 100000), 1e-9))
        }
        #expect(ic.timeUs(.allReduce, bytes: 100, gpus: 1) == 0)
        #expect(ic.timeUs(.allReduce, bytes: 0, gpus: 2) == 0)
    }

    @Test func missingAllToAllDerivedFromSendRecv() throws {
        let ic = try Self.synthetic()
        for p in [2, 4, 8] {
            for b in [5000.0, 400000.0, 5e6] {
                let a2a = try #require(ic.timeUs(.allToAll, bytes: b, gpus: p))
                let sr = try #require(ic.timeUs(.sendRecv, bytes: b * Double(p - 1) / Double(p), gpus: 2))
                #expect(abs(a2a - sr) < 1e-9)
            }
        }
        // Shipped dgx-a100 has no all_to_all curve either.
        let dgx = try Repo.store.interconnect("dgx-a100")
        #expect(dgx.gpuCounts(.allToAll).isEmpty)
        let a2a = try #require(dgx.timeUs(.allToAll, bytes: 1_048_576, gpus: 2))
        #expect(a2a == dgx.timeUs(.sendRecv, bytes: 524_288, gpus: 2))
    }

    @Test func shippedCurveIsTheMonotoneEnvelopeAtPoints() throws {
        let path = Repo.root + "/profiles/interconnects/dgx-a100.json"
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let curves = try #require(obj["curves"] as? [[String: Any]])
        let ar2 = try #require(curves.first { ($0["collective"] as? String) == "all_reduce" && ($0["gpus"] as? Int) == 2 })
        let points = try #require(ar2["points"] as? [[Double]])
        let ic = try Repo.store.interconnect("dgx-a100")
        // At each measured size the profile returns the lower monotone envelope: the fastest time measured at
        // that size or any larger one (a larger message cannot finish sooner).
        let sorted = points.sorted { $0[0] < $1[0] }
        for (i, p) in sorted.enumerated() {
            let envelope = sorted[i...].map { $0[1] }.min()!
            #expect(relClose(ic.timeUs(.allReduce, bytes: p[0], gpus: 2)!, envelope, 1e-9), "\(p)")
            #expect(ic.timeUs(.allReduce, bytes: p[0], gpus: 2)! <= p[1] * (1 + 1e-9))
        }
    }

    /// Past the largest measured size, a collective must keep growing with the message (it cannot beat the link
    /// bandwidth). Several shipped curves (dgx-a100 all_reduce at 2/4/8 GPUs, dgx-h100 all_reduce 2/4/8 and
    /// send_recv 2) end with a flat or slightly falling (noisy) last segment, and the extrapolation clamps that
    /// slope to zero, so e.g. a 1 GB all-reduce on dgx-a100 costs the same 430 us as 64 MiB.
    @Test
    func extrapolationGrowsPastLastPoint() throws {
        let store = Repo.store
        for name in store.names("interconnects") {
            let ic = try store.interconnect(name)
            for c in Collective.allCases {
                for p in ic.gpuCounts(c) {
                    let last = try #require(ic.curves[c]?[p]?.maxBytes)
                    let t1 = ic.timeUs(c, bytes: last, gpus: p)!
                    let t2 = ic.timeUs(c, bytes: 2 * last, gpus: p)!
                    let t4 = ic.timeUs(c, bytes: 4 * last, gpus: p)!
                    #expect(t2 > t1, "\(name) \(c.rawValue) x\(p): \(t1) us at \(last) B, \(t2) us at twice that")
                    #expect(relClose(t4 - t2, 2 * (t2 - t1), 1e-6))
                    // Never faster than the link: each GPU moves at least (P-1)/P of the buffer.
                    #expect(t4 >= 4 * last * Double(p - 1) / Double(p) / (ic.linkBandwidthGBps * 1e9) * 1e6,
                            "\(name) \(c.rawValue) x\(p)")
                }
            }
        }
    }
}
