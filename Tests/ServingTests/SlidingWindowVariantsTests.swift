import Foundation
import Testing
import Cluster
@testable import Serving

/// Sliding windows given otherwise than gpt-oss's `layer_types` (Mistral's `sliding_window` alone, Qwen's
/// `use_sliding_window` and `max_window_layers`, Gemma's interleaving, `sliding_window: null`), `layer_types` kinds moesim
/// does not model, and vLLM 0.24's KV cache groups under pipeline parallelism. Every expected number is worked out from
/// vLLM 0.24.0's code (and the transformers config classes it reads) in the comment beside it.
@Suite struct SlidingWindowVariantsTests {
    static func parse(_ json: String) throws -> ModelArchitecture {
        try ModelArchitecture(hfConfig: try JSONNode.parse(data: Data(json.utf8), file: "config.json"), name: "x")
    }

    /// Mistral-7B-v0.1's config.json, with `extra` members added (or the window replaced).
    static func mistral(_ extra: String = #""sliding_window": 4096"#) -> String {
        #"{"model_type": "mistral", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 32000, "max_position_embeddings": 32768"#
            + (extra.isEmpty ? "" : ", " + extra) + "}"
    }

    /// A small Qwen2-style config of 28 layers with `extra` members.
    static func qwen(_ type: String, _ extra: String) -> String {
        #"{"model_type": "\#(type)", "hidden_size": 256, "num_hidden_layers": 28, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512, "moe_intermediate_size": 128, "vocab_size": 1000, "num_experts": 8, "num_experts_per_tok": 2, "sliding_window": 4096, \#(extra)}"#
    }

    /// Mistral-7B-v0.1 slides every layer: no `layer_types`, so the config is not interleaved and vLLM sets the whole
    /// model's window (`EngineArgs.create_engine_config`: CacheConfig.sliding_window = 4096), which llama.py's
    /// `Attention` takes for every layer. All layers alike is one KV cache group (`_get_kv_cache_groups_uniform_spec`),
    /// so the pool still costs every layer's bytes per token; the attention reads the window.
    /// With every layer sliding a sequence holds only its window's blocks (vLLM's SlidingWindowSpec: the window before
    /// the new tokens plus the new tokens, a block more for a window starting inside a block), and the KV cache size
    /// vLLM logs is max-model-len requests at peak each holding ceil(min(W - 1 + batched tokens, max-model-len) / block)
    /// + 1 blocks (get_max_concurrency_for_kv_cache_config).
    @Test func allSlidingSequencesHoldOnlyTheirWindow() throws {
        // 10,000 tokens, window 4,096, one new token, 16-token blocks: ceil((4,095 + 1) / 16) + 1 = 257 blocks, not 625.
        #expect(VLLMSimulator.Core.kvBlocks(10_000, new: 1, blockSize: 16, window: 4096, swGroups: 1, fullGroups: 0) == 257)
        #expect(VLLMSimulator.Core.kvBlocks(100, new: 1, blockSize: 16, window: 4096, swGroups: 1, fullGroups: 0) == 7)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moesim-mistral-\(getpid()).json")
        try Self.mistral().write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let store = Repo.store
        let g = try store.gpu("h200-sxm-141gb")
        let d = try Deployment(model: try store.model(url.path), gpu: g, interconnect: nil, plan: ParallelPlan(tp: 1), engine: try store.engine("vllm"),
                               routing: .uniform, overrides: ["max_num_batched_tokens": 8192])
        let mem = d.memoryPlan()
        let maxLen = d.model.maxPositions
        let perRequest = (min(4095 + 8192, maxLen) + 15) / 16 + 1
        let expected = Int(Double(Int(mem.kvBytes / (mem.kvBytesPerToken * 16))) / Double(perRequest) * Double(maxLen))
        #expect(VLLMSimulator.reportedKVCacheTokens(d, mem: mem) == expected)
        #expect(expected > mem.kvTokens || perRequest * 16 >= maxLen)
    }

    @Test func mistralSlidesEveryLayer() throws {
        let m = try Self.parse(Self.mistral())
        #expect(m.slidingWindow == 4096 && m.slidingLayers == 32 && m.slidingLayerFlags == Array(repeating: true, count: 32))
        #expect(m.kvCacheGroups == nil)
        // 32 layers x 2 (K, V) x 8 heads x 128 dims x 2 bytes = 131,072 bytes a token, nothing given up to the window.
        #expect(m.kvPoolBytesPerToken(tensorParallel: 1) == 131_072 && m.kvBytesPerToken(tensorParallel: 1) == 131_072)
        #expect(m.kvCacheCaveat == nil)
        // MistralConfig's default window is 4,096 when the key is absent; null (Mistral-7B-v0.2) is none, and so is 0
        // (vLLM's ModelConfig turns 0 into None).
        let absent = try Self.parse(Self.mistral(""))
        #expect(absent.slidingWindow == 4096 && absent.slidingLayers == 32)
        for none in [#""sliding_window": null"#, #""sliding_window": 0"#] {
            let m = try Self.parse(Self.mistral(none))
            #expect(m.slidingWindow == 0 && m.slidingLayers == 0 && m.slidingLayerFlags.isEmpty && m.kvCacheCaveat == nil)
        }
        // Every layer's attention reads at most the window (StepCostModel.attentionKernelsUs).
        let store = Repo.store
        let d = try Deployment(model: m, gpu: try store.gpu("h100-sxm-80gb"), interconnect: nil, plan: ParallelPlan(tp: 1),
                               engine: try store.engine("vllm"), routing: .uniform, overrides: [:])
        let cost = try d.costModel(seed: 0)
        var long = BatchShape()
        for _ in 0..<8 { long.addDecode(context: 16_384) }
        #expect(abs(cost.attentionKernelsUs(long) - 32 * cost.attentionKernelUs(long.windowed(4096))) < 1e-9)
        #expect(cost.attentionKernelsUs(long) < 32 * cost.attentionKernelUs(long))
    }

    /// Mixtral's class default is None and its profiles say null; Qwen1.5-MoE's 32,768 is dropped with
    /// `use_sliding_window` false (Qwen2MoeConfig sets 0, vLLM reads none). Of the shipped profiles only gpt-oss slides
    /// (gpt_oss.py: every even layer), and only Llama 4 carries a caveat (its chunked local attention).
    @Test func shippedProfilesSlideOnlyWhereVLLMDoes() throws {
        let store = Repo.store
        for name in store.names("models") {
            let m = try store.model(name)
            switch name {
            case "gpt-oss-20b":
                #expect(m.slidingWindow == 128 && m.slidingLayers == 12 && m.slidingLayerFlags == (0..<24).map { $0 % 2 == 0 })
            case "gpt-oss-120b":
                #expect(m.slidingWindow == 128 && m.slidingLayers == 18 && m.slidingLayerFlags == (0..<36).map { $0 % 2 == 0 })
            default:
                #expect(m.slidingWindow == 0 && m.slidingLayers == 0 && m.kvCacheGroups == nil, "\(name)")
                #expect(m.kvPoolBytesPerToken(tensorParallel: 1) == m.kvBytesPerToken(tensorParallel: 1), "\(name)")
            }
            #expect((m.kvCacheCaveat != nil) == name.hasPrefix("llama-4"), "\(name)")
        }
        // Llama 4 (llama4.py): the layers with rotary embeddings (no_rope_layers' default: all but every 4th) use chunked
        // local attention over attention_chunk_size 8,192; 48 layers give 36 such. Counted as full attention, and said.
        let scout = try store.model("llama-4-scout")
        #expect(scout.kvCacheCaveat?.contains("36 of 48 layers use chunked local attention (8192-token chunks)") == true)
    }

    /// Qwen2/Qwen3 (transformers 5.x): `sliding_window` survives only with `use_sliding_window`, and the default
    /// `layer_types` slide the layers from `max_window_layers` on. vLLM's qwen2.py sets no per-layer window, so the
    /// whole model's applies to every layer, or to none when `layer_types` mixes kinds, which `Qwen2Model` refuses
    /// unless max_window_layers == num_hidden_layers.
    @Test func qwenFollowsVLLMNotTheHFDocs() throws {
        // use_sliding_window false (Qwen2.5's configs): no window at all.
        let off = try Self.parse(Self.qwen("qwen2", #""use_sliding_window": false, "max_window_layers": 21"#))
        #expect(off.slidingLayers == 0 && off.slidingWindow == 0)
        // use_sliding_window with max_window_layers 28 of 28: layer_types all full_attention (none from layer 28 on), not
        // interleaved, so CacheConfig.sliding_window = 4096 and every layer slides, though the HF docs would slide none.
        for fam in ["qwen2", "qwen3"] {
            let all = try Self.parse(Self.qwen(fam, #""use_sliding_window": true, "max_window_layers": 28"#))
            #expect(all.slidingWindow == 4096 && all.slidingLayers == 28 && all.kvCacheGroups == nil)
            // max_window_layers 0: every layer sliding_attention, again not interleaved: all 28.
            #expect(try Self.parse(Self.qwen(fam, #""use_sliding_window": true, "max_window_layers": 0"#)).slidingLayers == 28)
            // max_window_layers 21 of 28: layers 21-27 sliding, the rest full: interleaved, and vLLM's assertion fails.
            let e = try #require(inputError { _ = try Self.parse(Self.qwen(fam, #""use_sliding_window": true, "max_window_layers": 21"#)) })
            #expect(e.description.contains("config.json") && e.description.contains("max_window_layers") && e.description.contains("21")
                    && e.description.contains("Sliding window for some but all layers is not supported"))
        }
        // Qwen2-MoE: the default layer_types slide the even layers below max_window_layers, which interleaves them, so
        // no whole-model window, and qwen2_moe.py sets none per layer: all full attention (no error: no assertion there).
        let moe = try Self.parse(Self.qwen("qwen2_moe", #""use_sliding_window": true, "max_window_layers": 21"#))
        #expect(moe.slidingLayers == 0 && moe.slidingWindow == 0)
        // Qwen3-MoE makes no layer_types: with use_sliding_window every layer takes the whole model's window.
        let q3 = try Self.parse(Self.qwen("qwen3_moe", #""use_sliding_window": true, "max_window_layers": 21"#))
        #expect(q3.slidingWindow == 4096 && q3.slidingLayers == 28)
        #expect(try Self.parse(Self.qwen("qwen3_moe", #""use_sliding_window": false"#)).slidingLayers == 0)
    }

    /// Gemma 2 alternates (default layer_types: even layers slide); Gemma 3 slides all but every
    /// `sliding_window_pattern`-th layer (6 by default). gemma2.py and gemma3.py give the window per layer from
    /// layer_types, and vLLM groups the kinds (`_get_kv_cache_groups_uniform_page_size`).
    @Test func gemmaInterleavesByPattern() throws {
        let base = #""hidden_size": 256, "num_hidden_layers": 26, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "intermediate_size": 512, "vocab_size": 1000"#
        // Gemma 2, 26 layers: 13 sliding (even) and 13 full: one group of 13 of each.
        let g2 = try Self.parse(#"{"model_type": "gemma2", \#(base), "sliding_window": 4096}"#)
        #expect(g2.slidingWindow == 4096 && g2.slidingLayers == 13 && g2.slidingLayerFlags == (0..<26).map { $0 % 2 == 0 })
        let k2 = try #require(g2.kvCacheGroups)
        #expect(k2.size == 13 && k2.full == 1 && k2.sliding == 1)
        // Gemma 3, 26 layers, pattern 6: full at 5, 11, 17, 23 (4), 22 sliding. 22 >= 1.5 x 4, so groups of 4: one full
        // group, ceil(22 / 4) = 6 sliding groups; the pool gives up 1 x 4 layers a token: 4 x 2 x 1 x 256 x 2 = 4,096 bytes.
        let g3 = try Self.parse(#"{"model_type": "gemma3_text", \#(base), "sliding_window": 512}"#)
        #expect(g3.slidingWindow == 512 && g3.slidingLayers == 22)
        let k3 = try #require(g3.kvCacheGroups)
        #expect(k3.size == 4 && k3.full == 1 && k3.sliding == 6)
        #expect(g3.kvPoolBytesPerToken(tensorParallel: 1) == 4096)
        // An explicit pattern of 2 alternates (the full layers are the odd ones).
        let p2 = try Self.parse(#"{"model_type": "gemma3_text", \#(base), "sliding_window": 512, "sliding_window_pattern": 2}"#)
        #expect(p2.slidingLayers == 13 && p2.slidingLayerFlags == (0..<26).map { $0 % 2 == 0 })
    }

    /// A family moesim does not name: its config class may make `layer_types` (OLMo 3's, EXAONE 4's), so a window
    /// without them is not applied, and the caveat says so; `sliding_window_pattern` (Cohere 2's rule: all but every
    /// p-th layer) or `layer_types` say where the sliding layers are, and the llama.py rule applies.
    @Test func unnamedFamiliesNeedTheirLayers() throws {
        let base = #""model_type": "olmo3", "hidden_size": 64, "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64, "vocab_size": 100, "sliding_window": 32"#
        let bare = try Self.parse("{\(base)}")
        #expect(bare.slidingLayers == 0 && bare.kvCacheCaveat?.contains("sliding_window 32 is not applied") == true)
        // Pattern 4 over 8 layers: full at 3 and 7, the other 6 sliding; one group of 2 full, ceil(6 / 2) = 3 sliding.
        let p4 = try Self.parse(#"{\#(base), "sliding_window_pattern": 4}"#)
        #expect(p4.slidingLayerFlags == [true, true, true, false, true, true, true, false] && p4.kvCacheCaveat == nil)
        let g = try #require(p4.kvCacheGroups)
        #expect(g.size == 2 && g.full == 1 && g.sliding == 3)
        // layer_types all full_attention: not interleaved, so the whole model's window reaches every layer.
        let full = Array(repeating: "\"full_attention\"", count: 8).joined(separator: ", ")
        let uniform = try Self.parse("{\(base), \"layer_types\": [\(full)]}")
        #expect(uniform.slidingLayers == 8)
        // Llama 4 with attention_chunk_size null chunks nothing (llama4.py: `not self.nope and config.attention_chunk_size`).
        let llama4 = #"{"model_type": "llama4_text", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64, "intermediate_size_mlp": 128, "vocab_size": 100, "num_local_experts": 4, "num_experts_per_tok": 1, "attention_chunk_size": null}"#
        #expect(try Self.parse(llama4).kvCacheCaveat == nil)
        #expect(try Self.parse(llama4.replacingOccurrences(of: "null", with: "64")).kvCacheCaveat?.contains("3 of 4 layers use chunked local attention (64-token chunks)") == true)
    }

    /// gpt_oss.py slides every even layer whatever layer_types says, unless layer_types is uniform: then it is not
    /// interleaved, the whole model's window applies, and the odd layers slide too.
    @Test func gptOssSlidesByLayerParity() throws {
        let base = #""model_type": "gpt_oss", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 100, "num_local_experts": 4, "num_experts_per_tok": 2, "intermediate_size": 64, "sliding_window": 32"#
        let odd = try Self.parse(#"{\#(base), "layer_types": ["full_attention", "sliding_attention", "full_attention", "sliding_attention"]}"#)
        #expect(odd.slidingLayerFlags == [true, false, true, false])
        let uniform = try Self.parse(#"{\#(base), "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention"]}"#)
        #expect(uniform.slidingLayers == 4)
        // No layer_types: GptOssConfig alternates them, as gpt_oss.py does.
        #expect(try Self.parse("{\(base)}").slidingLayerFlags == [true, false, true, false])
    }

    /// layer_types entries: "full_attention", "sliding_attention", "chunked_attention" (llama.py builds it as full
    /// attention) and the legacy "attention" are read; linear attention and Mamba layers keep a fixed-size state in vLLM,
    /// not a KV cache, and are an error naming the file, the entry and the value. A sliding window with MLA is refused
    /// as vLLM refuses it.
    @Test func unmodelledLayerKindsAreNamed() throws {
        let base = #""model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64, "vocab_size": 100, "sliding_window": 32"#
        let mixed = try Self.parse(#"{\#(base), "layer_types": ["sliding_attention", "chunked_attention"]}"#)
        #expect(mixed.slidingLayerFlags == [true, false] && mixed.kvCacheCaveat == nil)
        #expect(try Self.parse(#"{\#(base), "layer_types": ["attention", "full_attention"]}"#).slidingLayers == 0)
        for kind in ["linear_attention", "mamba"] {
            let e = try #require(inputError { _ = try Self.parse(#"{\#(base), "layer_types": ["full_attention", "\#(kind)"]}"#) })
            #expect(e.description.contains("config.json: key 'layer_types[1]'") && e.description.contains("\"\(kind)\""), "\(e)")
        }
        let mla = #"{"model_type": "deepseek_v2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "moe_intermediate_size": 32, "vocab_size": 100, "n_routed_experts": 4, "num_experts_per_tok": 2, "kv_lora_rank": 16, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16, "sliding_window": 32}"#
        #expect(inputError { _ = try Self.parse(mla) }?.description.contains("MLA is not supported for slidingwindow") == true)
    }

    /// Pipeline parallelism: vLLM groups the whole model's layers and projects each group onto a stage; a stage's block
    /// is one page of its largest projected group. gpt-oss-120b, 36 layers (even ones sliding: 18 + 18, one group of 18
    /// each), PP 4 splits 9/9/9/9 (`get_pp_indices`): stage 0 holds sliding 0, 2, 4, 6, 8 and full 1, 3, 5, 7, so 5;
    /// stage 1 full 9-17 odd (5), and so on: every stage 5 layers x 2 x 8 heads x 64 x 2 bytes = 10,240 bytes a token,
    /// where the stage's share of the whole pool (18 x 2,048 x 9 / 36) was 9,216: 10% fewer blocks.
    @Test func eachStagePaysItsLargestProjectedGroup() throws {
        let store = Repo.store
        let m = try store.model("gpt-oss-120b")
        let gpu = try store.gpu("h200-sxm-141gb")
        let stages = MemoryPlan.stages(model: m, plan: ParallelPlan(tp: 1, pp: 4), gpu: gpu, placement: nil, memoryUtilization: 0.9,
                                       reserveGB: 3, blockSize: 16)
        #expect(stages.map(\.kvBytesPerToken) == [10_240, 10_240, 10_240, 10_240])
        for s in stages { #expect(s.kvBlocks == Int(s.kvBytes / (10_240 * 16))) }
        // Without PP the pool is the full group's 18 layers: 36,864 bytes a token, as before.
        let whole = MemoryPlan.stages(model: m, plan: ParallelPlan(tp: 1), gpu: gpu, placement: nil, memoryUtilization: 0.9, reserveGB: 3, blockSize: 16)
        #expect(whole.map(\.kvBytesPerToken) == [36_864])
        // The engine's plan is the stage with the fewest blocks, and vLLM's logged size counts its blocks of 5 layers.
        let d = try deployment("gpt-oss-120b", gpu: "h200-sxm-141gb", plan: ParallelPlan(tp: 1, pp: 4))
        let mem = d.memoryPlan()
        #expect(mem.kvBytesPerToken == 10_240 && mem.kvBlocks == d.stageMemoryPlans().map(\.kvBlocks).min())
        // gpt-oss-20b at PP 2: 12 layers a stage, 6 of each kind, the same as its share (12 x 2,048 x 12 / 24).
        let small = try deployment("gpt-oss-20b", gpu: "h200-sxm-141gb", plan: ParallelPlan(tp: 1, pp: 2))
        #expect(small.stageMemoryPlans().map(\.kvBytesPerToken) == [12_288, 12_288])
    }

    /// Groups take their kind's layers in turn (layers[i::groups]), so a stage's layers spread over them. A Gemma 3-style
    /// 48 layers, full every 6th (5, 11, ..., 47: 8) and 40 sliding: groups of 8, one full group and 5 sliding ones, the
    /// j-th holding the sliding layers j, j + 6, j + 12, ... (layer i's residue i mod 6). At PP 3 (16 layers a stage)
    /// stage 0 holds residues 0-3 three times and 4, 5 twice: 3 layers of a group at most; stages 1 and 2 likewise 3.
    /// Contiguous groups of 8 would put 8 in one stage; the stage's share would be 8 x 16 / 48 = 2.67.
    @Test func groupsDealLayersInTurn() throws {
        let m = try Self.parse(#"{"model_type": "gemma3_text", "hidden_size": 256, "num_hidden_layers": 48, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "intermediate_size": 512, "vocab_size": 1000, "sliding_window": 1024}"#)
        let groups = try #require(m.kvCacheGroupLayers)
        #expect(groups.count == 6)
        #expect(groups[0] == Array(stride(from: 5, to: 48, by: 6)))
        for j in 0..<5 { #expect(groups[1 + j] == Array(stride(from: j, to: 48, by: 6))) }
        // One layer's page a token: 2 x 1 head x 256 x 2 bytes = 1,024.
        #expect(m.kvPoolBytesPerToken(tensorParallel: 1, stage: 0..<48) == 8 * 1024)
        for r in ParallelPlan(tp: 1, pp: 3).stageLayerRanges(layers: 48) {
            #expect(m.kvPoolBytesPerToken(tensorParallel: 1, stage: r) == 3 * 1024)
        }
        // An architecture changed in code without per-layer flags keeps the stage's share of the whole pool.
        var edited = m
        edited.slidingLayers = 39
        #expect(edited.kvCacheGroupLayers == nil)
        #expect(edited.kvPoolBytesPerToken(tensorParallel: 1, stage: 0..<16) == edited.kvPoolBytesPerToken(tensorParallel: 1) * (16.0 / 48))
    }

    /// Same config, same architecture: the reader is deterministic, and a shipped name and its config agree.
    @Test func readingIsDeterministic() throws {
        #expect(try Self.parse(Self.mistral()) == (try Self.parse(Self.mistral())))
        let file = try Repo.store.model(Repo.root + "/profiles/models/gpt-oss-120b.json"), named = try Repo.store.model("gpt-oss-120b")
        #expect(file.slidingLayerFlags == named.slidingLayerFlags && file.slidingWindow == named.slidingWindow && file.kvCacheCaveat == named.kvCacheCaveat)
    }
}
