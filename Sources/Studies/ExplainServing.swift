import Foundation
import SimKit
import Cluster
import Serving

/// `explain` for the serving features, one step each: what a speculative verify step costs against a plain decode
/// step, what a prefix-cache hit saves a prefill, and what moving a prompt's KV cache between disaggregated
/// instances takes.
public struct ServingExplanation {
    public var text = ""
    public var json: [(String, Any)] = []

    public init(_ a: ParsedArguments, deployment d: Deployment, decodeSeqs: Int, kvLen: Int, prefillSeqs: Int, prefillLen: Int,
                seed: UInt64, store: ProfileStore) throws {
        try RunOptions.refuseUnused(a, ["--replicas", "--router"],
                                    because: "by 'explain' (a router acts between steps, not inside one; see 'moesim run --replicas')")
        let cost = try d.costModel(seed: seed)
        let dp = d.plan.dataParallel
        var pick = Xoshiro256(seed: seed, stream: 0xE2)
        func step(_ add: (inout BatchShape) -> Void, _ n: Int) -> StepBreakdown {
            var ranks = Array(repeating: BatchShape(), count: dp)
            for i in 0..<n { add(&ranks[i % dp]) }
            return cost.stepCost(ranks, pick: &pick)
        }
        if let specText = a.string("--speculative-config") {
            guard decodeSeqs > 0 else { throw InputError.usage("'--speculative-config' speeds up decode steps: give --decode-seqs") }
            let sp = try SpeculativeConfig(json: specText)
            let k = sp.numSpeculativeTokens
            let plain = step({ $0.addDecode(context: kvLen) }, decodeSeqs)
            let verify = step({ $0.addVerify(context: kvLen, drafts: k) }, decodeSeqs)
            var draft = 0.0
            switch sp.method {
            case .ngram: draft = 0
            case .draft_model:
                // The draft deployment 'run' would use (a diffusion draft refused, its memory counted with the target's).
                guard let dd = try RunOptions.speculative(a, deployment: d, store: store).1 else { break }
                var ranks = Array(repeating: BatchShape(), count: dp)
                for i in 0..<decodeSeqs { ranks[i % dp].addDecode(context: kvLen) }
                draft = try dd.costModel(seed: seed).stepCost(ranks, pick: &pick).gpu * Double(k)
            default: draft = plain.gpu * Double(k) / Double(d.model.layers)
            }
            let e = sp.expectedTokensPerStep()
            let perTokenPlain = plain.gpu, perTokenSpec = (verify.gpu + draft) / e
            text += "\nSpeculative decoding (\(sp.description)):\n"
            text += String(format: "  plain decode step of %d sequences      %9.3f ms, 1 token each\n", decodeSeqs, plain.gpu / 1e3)
            text += String(format: "  verify step (%d tokens per sequence)   %9.3f ms\n", k + 1, verify.gpu / 1e3)
            let how = sp.method == .draft_model ? "the draft model" : sp.method == .ngram ? "n-gram lookups, no GPU" : "one target layer each"
            text += String(format: "  %d draft forwards (%@): %.3f ms\n", k, how, draft / 1e3)
            text += String(format: "  tokens per step: (1 - a^(k+1)) / (1 - a) = %.3f, so %.3f ms per token against %.3f ms: %@\n",
                           e, perTokenSpec / 1e3, perTokenPlain / 1e3, perTokenSpec < perTokenPlain ? String(format: "%.2fx faster", perTokenPlain / perTokenSpec) : "it does not pay at this batch")
            json.append(("speculative", [("config", sp.description), ("plain_step_us", plain.gpu), ("verify_step_us", verify.gpu), ("draft_us", draft),
                                         ("expected_tokens_per_step", e), ("us_per_token_plain", perTokenPlain), ("us_per_token_speculative", perTokenSpec)] as [(String, Any)]))
        }
        if a.has("--enable-prefix-caching") {
            guard prefillSeqs > 0 else { throw InputError.usage("'--enable-prefix-caching' saves prefill work: give --prefill-seqs and --prefill-len") }
            let bs = Int(d.param("block_size"))
            let shared = try a.int("--random-prefix-len") ?? 0
            guard shared > 0, shared < prefillLen else { throw InputError.usage("give '--random-prefix-len' (the cached tokens of each prompt), below --prefill-len") }
            let hit = shared / bs * bs
            let cold = step({ $0.addPrefill(chunk: prefillLen, prefix: 0, samples: true) }, prefillSeqs)
            let warm = step({ $0.addPrefill(chunk: prefillLen - hit, prefix: hit, samples: true) }, prefillSeqs)
            text += "\nPrefix caching (block size \(bs)): each prompt's first \(hit) of \(prefillLen) tokens are cached (whole blocks of the \(shared) shared)\n"
            text += String(format: "  prefill step of %d prompts, nothing cached  %9.3f ms\n  the same with the prefix cached          %9.3f ms (%.0f%% less)\n",
                           prefillSeqs, cold.gpu / 1e3, warm.gpu / 1e3, (1 - warm.gpu / cold.gpu) * 100)
            json.append(("prefix_caching", [("cached_tokens_per_prompt", hit), ("cold_prefill_us", cold.gpu), ("cached_prefill_us", warm.gpu)] as [(String, Any)]))
        } else if a.has("--random-prefix-len") {
            throw InputError.usage("'--random-prefix-len' is used by 'explain' only with '--enable-prefix-caching'")
        }
        if let sim = try RunOptions.instanceSimulator(a, deployment: d, workload: Workload(requests: [], maxConcurrency: nil, description: ""), seed: seed, store: store),
           let pre = sim.prefill {
            let tokens = prefillSeqs > 0 ? prefillLen : kvLen
            let bytes = InstanceSimulator.kvBytesPerTokenPerGPU(prefill: pre.deployment, decode: sim.instances.deployment)
            let us = InstanceSimulator.kvTransferUs(tokens: tokens, bytesPerTokenPerGPU: bytes, linkGBps: sim.kvLinkGBps, latencyUs: sim.kvLatencyUs)
            text += "\nDisaggregated prefill/decode (\(pre.count) prefill x \(pre.deployment.plan.vllmFlags), \(sim.instances.count) decode x \(d.plan.vllmFlags)):\n"
            text += String(format: "  one prompt of %d tokens moves %.2f MB of KV cache through the busiest GPU's link (%.0f bytes per token: the larger of a prefill GPU's and a decode GPU's shard, layers of the largest stage x 2 (K, V) x KV heads per GPU x head dim x bytes)\n",
                           tokens, Double(tokens) * bytes / 1e6, bytes)
            text += String(format: "  at %g GB/s per GPU%@%@ it moves in %.3f ms, which every request's TTFT includes\n", sim.kvLinkGBps, sim.kvPath.map { " (\($0))" } ?? "",
                           sim.kvLatencyUs > 0 ? String(format: " plus %g us", sim.kvLatencyUs) : "", us / 1e3)
            json.append(("kv_transfer", [("tokens", tokens), ("bytes_per_token_per_gpu", bytes), ("link_gbps", sim.kvLinkGBps), ("time_us", us)] as [(String, Any)]))
        }
    }
}
