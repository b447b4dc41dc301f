import Foundation
import Testing
import Cluster
@testable import Serving

/// The fast path for stretches of pure decode steps must change nothing: every metric, byte for byte.
@Suite struct FastDecodeTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var model: String
        var plan: ParallelPlan
        var input: Int, output: Int, ratio: Double, prompts: Int
        var rate: Double?
        var concurrency: Int?
        var overrides: [String: Double] = [:]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "closed loop, short outputs", model: "mixtral-8x7b", plan: ParallelPlan(tp: 2), input: 128, output: 128, ratio: 0, prompts: 200, concurrency: 64),
        Case(name: "closed loop, long outputs, mixed lengths", model: "olmoe-1b-7b", plan: ParallelPlan(tp: 1), input: 512, output: 400, ratio: 0.5, prompts: 40, concurrency: 16),
        Case(name: "open loop arrivals", model: "qwen1.5-moe-a2.7b", plan: ParallelPlan(tp: 2), input: 256, output: 200, ratio: 0.3, prompts: 60, rate: 4),
        Case(name: "tight KV cache with preemption", model: "olmoe-1b-7b", plan: ParallelPlan(tp: 1), input: 300, output: 300, ratio: 0.2, prompts: 30,
             concurrency: 30, overrides: ["gpu_memory_utilization": 0.2, "activation_profile": 0, "activation_reserve_gb": 2]),
        Case(name: "sliding-window layers, tight KV cache (slow path)", model: "gpt-oss-20b", plan: ParallelPlan(tp: 1), input: 300, output: 300, ratio: 0.2, prompts: 30,
             concurrency: 30, overrides: ["gpu_memory_utilization": 0.1842, "activation_profile": 0, "activation_reserve_gb": 1]),
        Case(name: "expert parallel (DP ranks: slow path)", model: "olmoe-1b-7b", plan: ParallelPlan(tp: 1, dp: 2, ep: true), input: 128, output: 64, ratio: 0, prompts: 40, concurrency: 16),
    ]

    @Test(arguments: cases)
    func fastPathGivesIdenticalResults(_ c: Case) throws {
        let d = try deployment(c.model, plan: c.plan, overrides: c.overrides)
        let w = try randomWorkload(input: c.input, output: c.output, ratio: c.ratio, prompts: c.prompts, rate: c.rate, concurrency: c.concurrency, seed: 3)
        var slow = VLLMSimulator(deployment: d, workload: w, seed: 3)
        slow.fastDecode = false
        let fast = VLLMSimulator(deployment: d, workload: w, seed: 3)
        let a = try slow.run(), b = try fast.run()
        #expect(JSONWriter.write(a.fields()) == JSONWriter.write(b.fields()))
        #expect(a.steps == b.steps && a.itlMs.count == b.itlMs.count)
        if c.overrides["gpu_memory_utilization"] != nil { #expect(a.preemptions > 0, "the tight-KV case should preempt") }
    }
}
