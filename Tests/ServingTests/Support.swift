import Foundation
import Testing
import Cluster
@testable import Serving

enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url = url.deletingLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()
    static var store: ProfileStore { ProfileStore(root: root + "/profiles") }
}

func makeTempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "moesim-serving-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A deployment from shipped profiles; the interconnect is the shipped default for multi-GPU plans.
func deployment(_ model: String, gpu: String = "a100-sxm4-80gb", plan: ParallelPlan = ParallelPlan(tp: 1), engine: String = "vllm",
                routing: RoutingSpec = .uniform, overrides: [String: Double] = [:]) throws -> Deployment {
    let store = Repo.store
    let g = try store.gpu(gpu)
    let ic = plan.gpuCount > 1 ? try store.defaultInterconnect(gpu: g.name, gpus: plan.gpuCount) : nil
    return try Deployment(model: try store.model(model), gpu: g, interconnect: ic, plan: plan, engine: try store.engine(engine),
                          routing: routing, overrides: overrides)
}

func randomWorkload(input: Int, output: Int, ratio: Double = 0, prompts: Int, rate: Double? = nil, concurrency: Int? = nil, seed: UInt64 = 0) throws -> Workload {
    try Workload.random(inputLen: input, outputLen: output, rangeRatio: ratio, numPrompts: prompts, requestRate: rate, burstiness: 1,
                        maxConcurrency: concurrency, seed: seed)
}

func inputError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> InputError? {
    do {
        try body()
        Issue.record("expected an InputError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as InputError {
        return e
    } catch {
        Issue.record("expected an InputError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Invariants every vLLM run must satisfy.
func checkInvariants(_ r: RunResult, _ w: Workload, sourceLocation: SourceLocation = #_sourceLocation) {
    let n = w.requests.count
    #expect(r.completed == n, sourceLocation: sourceLocation)
    #expect(r.totalOutputTokens == w.totalOutputTokens, sourceLocation: sourceLocation)
    #expect(r.totalInputTokens == w.totalInputTokens, sourceLocation: sourceLocation)
    #expect(r.ttftMs.count == n, sourceLocation: sourceLocation)
    #expect(r.e2elMs.count == n, sourceLocation: sourceLocation)
    // Every request streams exactly its output tokens: one TTFT plus (output - 1) inter-token gaps.
    #expect(r.itlMs.count == w.totalOutputTokens - n, sourceLocation: sourceLocation)
    #expect(r.tpotMs.count == w.requests.filter { $0.outputTokens > 1 }.count, sourceLocation: sourceLocation)
    #expect(r.peakKVUsage <= 1 && r.peakKVUsage > 0, sourceLocation: sourceLocation)
    #expect(r.meanKVUsage <= r.peakKVUsage + 1e-12, sourceLocation: sourceLocation)
    // Time never runs backwards.
    #expect(r.ttftMs.min > 0, sourceLocation: sourceLocation)
    if r.itlMs.count > 0 { #expect(r.itlMs.min >= 0, sourceLocation: sourceLocation) }
    if r.tpotMs.count > 0 { #expect(r.tpotMs.min >= 0, sourceLocation: sourceLocation) }
    #expect(r.ttftMs.min <= r.e2elMs.min, sourceLocation: sourceLocation)
    #expect(r.ttftMs.max <= r.e2elMs.max, sourceLocation: sourceLocation)
    #expect(r.ttftMs.mean <= r.e2elMs.mean, sourceLocation: sourceLocation)
    #expect(r.durationS > 0 && r.durationS * 1e3 >= r.e2elMs.max - 1e-6, sourceLocation: sourceLocation)
    #expect(r.gpuBusyFraction > 0 && r.gpuBusyFraction <= 1, sourceLocation: sourceLocation)
    #expect(r.steps >= w.requests.map(\.outputTokens).max()!, sourceLocation: sourceLocation)
}
