import Foundation
import Testing
import Cluster
import SimKit
@testable import Serving

/// With prefix caching, requests behind one prompt prefix hold the same physical KV blocks, and a decode batch of them
/// reads those blocks from HBM once: the readers after the first find them in L2. vLLM's decode steps of 256
/// sequences behind a shared 1,024-token prefix ran 0.73-0.87x moesim's prediction with prefix caching on and 1.10x with
/// it off (OLMoE-1B-7B, the same shapes). A GPU profile's `shared_kv_read_ratio` prices the re-reads.
@Suite struct SharedPrefixDecodeTests {
    func workload(prompts: Int = 64) throws -> Workload {
        try Workload.random(inputLen: 128, outputLen: 48, rangeRatio: 0, numPrompts: prompts, requestRate: nil, burstiness: 1,
                            maxConcurrency: nil, seed: 1, prefixLen: 1024)
    }

    func olmoe(ratio: Double?) throws -> Deployment {
        var d = try deployment("olmoe-1b-7b", gpu: "h100-sxm-80gb")
        d.gpu.sharedKVReadRatio = ratio
        return d
    }

    @Test func aDecodeBatchReadsASharedPrefixOnceAtTheMeasuredRatio() throws {
        let d = try olmoe(ratio: 0.4)
        let cost = try d.costModel(seed: 0)
        var own = BatchShape(), shared = BatchShape(), alone = BatchShape()
        for _ in 0..<256 { own.addDecode(context: 1024 + 150); alone.addDecode(context: 150) }
        shared = own
        shared.decodeSharedContext = 255 * 1024; shared.decodeSharedReaders = 255
        let tOwn = cost.attentionKernelUs(own), tShared = cost.attentionKernelUs(shared), tAlone = cost.attentionKernelUs(alone)
        // The prefix's part of the time, re-read from L2 by all but the first sequence, costs 0.4 of itself.
        #expect(tShared < tOwn && tShared > tAlone)
        #expect(abs((tShared - tAlone) / (tOwn - tAlone) - 0.4) < 0.01)
        // Where the GPU's ratio was not measured, every read costs as its own.
        let unmeasured = try olmoe(ratio: nil).costModel(seed: 0)
        #expect(unmeasured.attentionKernelUs(shared) == unmeasured.attentionKernelUs(own))
    }

    @Test func aSlidingWindowDropsTheSharedPrefixFirst() {
        var b = BatchShape()
        for _ in 0..<8 { b.addDecode(context: 2047) }
        b.decodeSharedContext = 7 * 1024; b.decodeSharedReaders = 7
        // 8 x 2,048 tokens in a window of 1,536: the 512 oldest of each go, all of them shared: 7 re-readers keep 512.
        #expect(b.windowed(1536).decodeSharedContext == 7 * 512)
        #expect(b.windowed(512).decodeSharedContext == 0)
        #expect(b.windowed(4096) == b)
    }

    @Test func onlyPrefixCachingSharesTheBlocks() throws {
        let w = try workload()
        func run(_ ratio: Double?, caching: Bool) throws -> RunResult {
            var s = VLLMSimulator(deployment: try olmoe(ratio: ratio), workload: w, seed: 0)
            s.prefixCaching = caching
            return try s.run()
        }
        let measured = try run(0.4, caching: true), unmeasured = try run(nil, caching: true)
        #expect(measured.durationS < unmeasured.durationS * 0.97)
        #expect(measured.tpotMs.mean < unmeasured.tpotMs.mean)
        // Without prefix caching every request holds its own copy: nothing is shared, the ratio changes nothing.
        let off = try run(0.4, caching: false), offUnmeasured = try run(nil, caching: false)
        #expect(JSONWriter.write(off.fields()) == JSONWriter.write(offUnmeasured.fields()))
    }

    /// Eight requests that find a 1,024-token prefix cached by an earlier one decode together: each step, 7 of them
    /// re-read its 64 blocks (not 8: the first reads them from HBM), out of 8 contexts of 1,041-1,073 tokens.
    @Test func theRereadsAreTheSharersLessTheFirst() throws {
        var reqs = [Request(arrival: .seconds(0), inputTokens: 1040, outputTokens: 1, prefixKey: 7, sharedTokens: 1024)]
        for _ in 0..<8 { reqs.append(Request(arrival: .seconds(10), inputTokens: 1040, outputTokens: 33, prefixKey: 7, sharedTokens: 1024)) }
        var s = VLLMSimulator(deployment: try olmoe(ratio: 0.4), workload: Workload(requests: reqs, maxConcurrency: nil, description: "t"), seed: 0)
        s.prefixCaching = true
        let note = try #require(try s.run().notes.first { $0.hasPrefix("shared prefix:") })
        let share = try #require(Double(note.dropFirst("shared prefix: ".count).prefix { $0 != "%" }))
        #expect(share >= 100 * 7 * 1024 / (8 * 1073.0) - 0.5 && share <= 100 * 7 * 1024 / (8 * 1041.0) + 0.5, "\(note)")
        #expect(note.contains("0.40 of a token of its own"))
    }

    @Test func fastDecodePathCountsTheSharedBlocksAsTheSchedulerDoes() throws {
        let d = try olmoe(ratio: 0.4), w = try workload(prompts: 96)
        var slow = VLLMSimulator(deployment: d, workload: w, seed: 2)
        slow.fastDecode = false
        slow.prefixCaching = true
        var fast = VLLMSimulator(deployment: d, workload: w, seed: 2)
        fast.prefixCaching = true
        let a = try slow.run(), b = try fast.run()
        #expect(JSONWriter.write(a.fields()) == JSONWriter.write(b.fields()))
    }
}
