import Foundation
import Testing
import SimKit
import Cluster
@testable import Serving

/// An idle vLLM engine core schedules a while after the first request reaches it (`idle_wake_us`): its input thread
/// takes in the requests that follow meanwhile, and they join the first step. In vLLM 0.24's serving step traces, 94%
/// of the requests sent 0.25-0.5 ms after the one that woke the core joined its step, 16% at 1.5-2 ms and none past
/// 4 ms (probe/vllm/idle_wake.py).
@Suite struct IdleWakeTests {
    /// Two one-token requests `gapUs` apart to an idle OLMoE engine on the H200, with the profile's wake-up or `wake`.
    func pair(gapUs: Double, wake: Double? = nil) throws -> RunResult {
        var d = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb")
        if let w = wake { d.engine.params["idle_wake_us"] = w }
        let w = Workload(requests: [Request(arrival: .seconds(0), inputTokens: 64, outputTokens: 1),
                                    Request(arrival: .microseconds(gapUs), inputTokens: 64, outputTokens: 1)],
                         maxConcurrency: nil, description: "two requests \(gapUs) us apart")
        return try VLLMSimulator(deployment: d, workload: w, seed: 0).run()
    }

    @Test func aRequestThatComesWhileTheCoreWakesJoinsItsFirstStep() throws {
        let d = try deployment("olmoe-1b-7b", gpu: "h200-sxm-141gb")
        let wake = d.hostParam("idle_wake_us"), input = d.hostParam("input_latency_us")
        #expect(wake > 300 && wake < 2000 && wake < input, "\(wake) of \(input)")
        // Sent within the wake-up: one step for both, and the second's first token comes as early as the first's.
        let close = try pair(gapUs: 0.5 * wake)
        #expect(close.steps == 1, "\(close.steps) steps")
        let ttft = try #require(close.perRequest?.ttftMs)
        #expect(abs(ttft[0] - ttft[1] - 0.5 * wake / 1e3) < 1e-6, "\(ttft)")
        // Sent after it: the core has scheduled the first alone; the second waits for a step of its own.
        let apart = try pair(gapUs: 1.5 * wake)
        #expect(apart.steps == 2, "\(apart.steps) steps")
        // Without the wake-up (the behaviour before), even requests 0.5 x wake apart go one at a time.
        #expect(try pair(gapUs: 0.5 * wake, wake: 0).steps == 2)
    }

    @Test func aLoneRequestKeepsTheInputLatencyAndAProfileRefusesAWakeUpLongerThanIt() throws {
        // The wake-up is part of input_latency_us: a lone request is scheduled input_latency_us after its send,
        // whatever the split.
        let a = try pair(gapUs: 1e6), b = try pair(gapUs: 1e6, wake: 0)
        let ta = try #require(a.perRequest?.ttftMs), tb = try #require(b.perRequest?.ttftMs)
        #expect(abs(ta[0] - tb[0]) < 1e-9 && abs(ta[1] - tb[1]) < 1e-9, "\(ta) against \(tb)")
        let err = inputError {
            _ = try EngineProfile(json: JSONNode(value: ["name": "bad", "engine": "vllm", "sources": ["derived: a test profile"],
                                                         "parameters": ["input_latency_us": 500, "idle_wake_us": 900]], file: "bad.json"))
        }
        #expect(err?.message.contains("idle_wake_us") == true && err?.message.contains("900") == true && err?.message.contains("bad.json") == true,
                "\(err?.message ?? "")")
    }
}
