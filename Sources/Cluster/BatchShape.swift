import Foundation

/// What one data-parallel rank runs in one engine step, reduced to the sums the cost model needs.
public struct BatchShape: Sendable, Equatable {
    /// New tokens this step (decode tokens plus prefill chunk tokens).
    public var tokens: Int = 0
    /// Sequences scheduled this step.
    public var sequences: Int = 0
    /// Decode sequences (one new token each).
    public var decodeSequences: Int = 0
    /// Sum over decode sequences of the tokens each attends to (its cached context plus the new token).
    public var decodeContext: Double = 0
    /// The part of `decodeContext` in KV blocks that another decode sequence of the step read first: with prefix
    /// caching, sequences behind one cached prefix hold the same physical blocks, and every reader after the first
    /// finds them in the GPU's L2 cache (`GPUProfile.sharedKVReadRatio`). For each group of sequences sharing blocks,
    /// their shared tokens summed less the most any of them holds.
    public var decodeSharedContext: Double = 0
    /// The decode sequences that re-read such blocks (each group's sequences less its first reader).
    public var decodeSharedReaders: Int = 0
    /// Sum over prefill chunks of query-key pairs: q x (prefix + (q + 1) / 2) causal, q x (prefix + q) bidirectional.
    public var prefillPairs: Double = 0
    /// Sum over prefill chunks of the tokens whose K and V are read (prefix plus chunk).
    public var prefillContext: Double = 0
    /// Prefill chunks this step.
    public var prefillSequences: Int = 0
    /// Rows of the LM head computed (one per sequence that samples a token this step).
    public var logitsRows: Int = 0
    /// Speculative decoding: draft tokens verified by decode sequences beyond their one new token each.
    public var verifyTokens: Int = 0

    public init() {}

    /// Adds a decode sequence that has `context` tokens cached before this step.
    @inlinable public mutating func addDecode(context: Int) {
        tokens += 1; sequences += 1; decodeSequences += 1
        decodeContext += Double(context + 1)
        logitsRows += 1
    }

    /// Adds a decode sequence verifying `drafts` speculative tokens: 1 + drafts new tokens through the linear
    /// layers and the LM head, attention reading the cached context once (vLLM runs verification as a decode
    /// batch of a few query tokens per sequence).
    @inlinable public mutating func addVerify(context: Int, drafts: Int) {
        tokens += 1 + drafts; sequences += 1; decodeSequences += 1; verifyTokens += drafts
        decodeContext += Double(context + 1 + drafts)
        logitsRows += 1 + drafts
    }

    /// Adds a prefill chunk of `chunk` tokens after `prefix` already-computed tokens.
    @inlinable public mutating func addPrefill(chunk: Int, prefix: Int, samples: Bool, bidirectional: Bool = false) {
        tokens += chunk; sequences += 1; prefillSequences += 1
        let q = Double(chunk), p = Double(prefix)
        prefillPairs += bidirectional ? q * (p + q) : q * (p + (q + 1) / 2)
        prefillContext += p + q
        if samples { logitsRows += 1 }
    }

    public var isEmpty: Bool { tokens == 0 }

    /// The batch as a sliding-window layer of `window` tokens attends: a decode sequence reads at most the window
    /// (the mean context clipped, the batch keeping only sums), each prompt token at most `window` keys.
    public func windowed(_ window: Int) -> BatchShape {
        var b = self
        let w = Double(window)
        if decodeSequences > 0 {
            b.decodeContext = min(decodeContext, Double(decodeSequences) * w)
            // A shared prefix is the context's oldest tokens: the first to leave the window, by the mean a sequence
            // loses for each re-reader.
            let lost = (decodeContext - b.decodeContext) / Double(decodeSequences)
            b.decodeSharedContext = max(0, decodeSharedContext - Double(decodeSharedReaders) * lost)
            if b.decodeSharedContext == 0 { b.decodeSharedReaders = 0 }
        }
        let promptTokens = Double(tokens - decodeSequences - verifyTokens)
        if prefillSequences > 0 {
            b.prefillPairs = min(prefillPairs, promptTokens * w)
            b.prefillContext = min(prefillContext, promptTokens + Double(prefillSequences) * w)
        }
        return b
    }
}

/// Time of one engine step by component, in microseconds.
public struct StepBreakdown: Sendable, Equatable, Codable {
    public var attention: Double = 0
    public var denseGEMM: Double = 0
    public var experts: Double = 0
    public var communication: Double = 0
    public var overhead: Double = 0

    public init() {}

    public var gpu: Double { attention + denseGEMM + experts + communication }
    public var total: Double { gpu + overhead }

    public static func + (a: StepBreakdown, b: StepBreakdown) -> StepBreakdown {
        var r = a
        r.attention += b.attention; r.denseGEMM += b.denseGEMM; r.experts += b.experts
        r.communication += b.communication; r.overhead += b.overhead
        return r
    }
    public static func += (a: inout StepBreakdown, b: StepBreakdown) { a = a + b }

    public func scaled(_ f: Double) -> StepBreakdown {
        var r = self
        r.attention *= f; r.denseGEMM *= f; r.experts *= f; r.communication *= f; r.overhead *= f
        return r
    }
}
