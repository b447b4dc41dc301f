import Foundation
import Testing
import Cluster
@testable import Serving

struct ConservationCase: Sendable, CustomTestStringConvertible {
    var model: String
    var plan: ParallelPlan
    var seed: UInt64
    var concurrency: Int?
    var testDescription: String { "\(model) \(plan.label) seed \(seed) concurrency \(concurrency.map(String.init) ?? "none")" }
}

@Suite struct VLLMSimulatorTests {
    @Test(arguments: [
        ConservationCase(model: "olmoe-1b-7b", plan: ParallelPlan(tp: 1), seed: 0, concurrency: 1),
        ConservationCase(model: "olmoe-1b-7b", plan: ParallelPlan(tp: 1), seed: 1, concurrency: 8),
        ConservationCase(model: "olmoe-1b-7b", plan: ParallelPlan(tp: 1), seed: 2, concurrency: nil),
        ConservationCase(model: "olmoe-1b-7b", plan: ParallelPlan.Strategy.ep.plan, seed: 3, concurrency: 16),
        ConservationCase(model: "qwen1.5-moe-a2.7b", plan: ParallelPlan.Strategy.hybrid.plan, seed: 4, concurrency: 32),
        ConservationCase(model: "mixtral-8x7b", plan: ParallelPlan.Strategy.tp.plan, seed: 5, concurrency: 64),
    ])
    func everyRequestEmitsExactlyItsTokens(_ c: ConservationCase) throws {
        let d = try deployment(c.model, plan: c.plan)
        let w = try randomWorkload(input: 96, output: 24, ratio: 0.5, prompts: 60, concurrency: c.concurrency, seed: c.seed)
        let r = try VLLMSimulator(deployment: d, workload: w, seed: c.seed).run()
        checkInvariants(r, w)
        #expect(r.gpus == c.plan.gpuCount)
        #expect(r.seed == c.seed)
    }

    /// A KV cache of ~1500 tokens for 32 concurrent requests of up to ~200 tokens forces preemption (recompute);
    /// every request still completes with all of its tokens.
    @Test(arguments: [UInt64(0), 1])
    func preemptionStillEmitsEveryToken(seed: UInt64) throws {
        let base = try deployment("olmoe-1b-7b")
        let mp = base.memoryPlan()
        let util = (mp.weightBytes + mp.reserveBytes + 1500 * mp.kvBytesPerToken) / base.gpu.memoryBytes
        let d = try deployment("olmoe-1b-7b", overrides: ["gpu_memory_utilization": util])
        let kvTokens = d.memoryPlan().kvTokens
        #expect(kvTokens >= 1000 && kvTokens <= 1500, "\(kvTokens)")
        let w = try randomWorkload(input: 100, output: 60, ratio: 0.5, prompts: 80, concurrency: 32, seed: seed)
        let r = try VLLMSimulator(deployment: d, workload: w, seed: seed).run()
        #expect(r.preemptions > 0)
        #expect(r.kvCapacityTokens == kvTokens)
        checkInvariants(r, w)
        #expect(r.peakKVUsage > 0.8)
    }

    @Test func requestLargerThanKVCacheIsRejected() throws {
        let base = try deployment("olmoe-1b-7b")
        let mp = base.memoryPlan()
        let util = (mp.weightBytes + mp.reserveBytes + 200 * mp.kvBytesPerToken) / base.gpu.memoryBytes
        let d = try deployment("olmoe-1b-7b", overrides: ["gpu_memory_utilization": util])
        let w = try randomWorkload(input: 300, output: 10, prompts: 3)
        let e = inputError { _ = try VLLMSimulator(deployment: d, workload: w, seed: 0).run() }
        #expect(e?.kind == .data)
        #expect(e?.message.contains("needs 310 tokens of KV cache") == true, "\(e?.message ?? "")")
    }

    @Test func throughputRisesWithConcurrency() throws {
        let d = try deployment("mixtral-8x7b", plan: ParallelPlan.Strategy.tp.plan)
        var previous = 0.0
        var results: [Double] = []
        for c in [1, 4, 16, 64] {
            let w = try randomWorkload(input: 128, output: 128, prompts: 100, concurrency: c)
            let r = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
            checkInvariants(r, w)
            results.append(r.outputThroughput)
            #expect(r.outputThroughput > previous, "\(results)")
            previous = r.outputThroughput
        }
        #expect(results.last! > 8 * results.first!, "\(results)")
    }

    @Test func sameSeedSameJSONDifferentSeedDiffers() throws {
        let d = try deployment("olmoe-1b-7b", plan: ParallelPlan.Strategy.ep.plan)
        func json(_ seed: UInt64) throws -> String {
            let w = try randomWorkload(input: 64, output: 16, ratio: 0.5, prompts: 40, concurrency: 8, seed: seed)
            return JSONWriter.write(try VLLMSimulator(deployment: d, workload: w, seed: seed).run().fields())
        }
        let a = try json(7), b = try json(7), c = try json(8)
        #expect(a == b)
        #expect(a != c)
        let parsed = try JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any]
        #expect(parsed?["seed"] as? Int == 7)
        #expect(parsed?["completed"] as? Int == 40)
    }

    @Test func inFlightCapIsMinOfConcurrencyAndPrompts() throws {
        let d = try deployment("olmoe-1b-7b")
        func json(_ c: Int?) throws -> String {
            let w = try randomWorkload(input: 64, output: 16, ratio: 0.3, prompts: 20, concurrency: c, seed: 3)
            return JSONWriter.write(try VLLMSimulator(deployment: d, workload: w, seed: 3).run().fields())
        }
        let capped = try json(20)
        #expect(try json(128) == capped)
        #expect(try json(nil) == capped)
        #expect(try json(5) != capped)
    }

    @Test func openLoopLowRateFollowsArrivals() throws {
        let d = try deployment("olmoe-1b-7b")
        let w = try randomWorkload(input: 64, output: 16, prompts: 20, rate: 2, seed: 4)
        let span = w.requests.last!.arrival.seconds
        #expect(span > 3)
        let r = try VLLMSimulator(deployment: d, workload: w, seed: 4).run()
        checkInvariants(r, w)
        #expect(r.durationS >= span)
        // At 2 req/s a small model is idle most of the time: the last request finishes soon after it arrives.
        #expect(r.durationS <= span + r.e2elMs.max / 1e3 + 1e-6)
        #expect(r.gpuBusyFraction < 0.5)
        // Unloaded: latency far below the closed-loop burst of the same requests.
        let burst = try VLLMSimulator(deployment: d, workload: try randomWorkload(input: 64, output: 16, prompts: 20, seed: 4), seed: 4).run()
        #expect(r.e2elMs.mean < burst.e2elMs.mean)
    }

    @Test func resultFieldsUseBenchmarkKeys() throws {
        let d = try deployment("olmoe-1b-7b")
        let w = try randomWorkload(input: 32, output: 8, prompts: 10)
        let r = try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
        let keys = r.fields().map(\.0)
        for k in ["duration", "completed", "request_throughput", "output_throughput", "total_token_throughput",
                  "mean_ttft_ms", "median_tpot_ms", "p99_itl_ms", "std_e2el_ms", "output_throughput_per_gpu", "step_time_breakdown_ms", "seed"] {
            #expect(keys.contains(k), "missing \(k)")
        }
        #expect(abs(r.outputThroughput - Double(r.totalOutputTokens) / r.durationS) < 1e-9)
        #expect(abs(r.requestThroughput - 10 / r.durationS) < 1e-9)
    }
}
