import Foundation

extension ModelArchitecture {
    /// The Hugging Face `model_type` values this parser understands.
    public static let supportedFamilies = [
        "mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "llama", "mistral", "qwen2", "qwen3",
        "deepseek_v2", "deepseek_v3", "llada", "llada_moe", "lladamoe", "gpt_oss", "kimi_k2", "llama4", "llama4_text",
    ]

    /// Reads an architecture from a Hugging Face `config.json` object.
    ///
    /// - Parameters:
    ///   - config: the parsed config (the file itself, or the `config` member of a shipped model profile).
    ///   - name: the model's name in reports.
    ///   - diffusion: overrides the generation kind; by default LLaDA families are diffusion models.
    /// - Throws: `InputError.data` naming the file, the key and the bad value.
    public init(hfConfig outer: JSONNode, name: String, diffusion: Bool? = nil) throws {
        guard outer.isObject else { throw outer.fail("expected a config object, found \(outer.described)") }
        // Multimodal wrappers (Llama 4) keep the language model's sizes in `text_config`.
        let c = try outer.optionalObject("text_config") ?? outer
        let type = try c.optional("model_type")?.string() ?? ""
        let fam = type.lowercased()
        guard Self.supportedFamilies.contains(fam) || c.has("num_experts") || c.has("hidden_size") else {
            throw InputError.data("\(c.file): key 'model_type' has unsupported value \"\(type)\"; supported: \(quotedChoices(Self.supportedFamilies))")
        }
        self.name = name
        self.family = fam
        let isLLaDA = fam == "llada"
        // Every size is a positive whole number in its range (`Limits.model`), so that no product of sizes overflows.
        func firstInt(_ keys: [String], _ kind: String) throws -> Int? {
            for k in keys where c.has(k) { return try c.int(k, in: Limits.model[kind]!) }
            return nil
        }
        func need(_ keys: [String], _ kind: String) throws -> Int {
            if let v = try firstInt(keys, kind) { return v }
            throw InputError.data("\(c.file): missing key '\(keys[0])' (model_type \"\(type)\")")
        }
        hidden = try need(isLLaDA ? ["d_model", "hidden_size"] : ["hidden_size", "d_model"], "hidden")
        layers = try need(isLLaDA ? ["n_layers", "num_hidden_layers"] : ["num_hidden_layers", "n_layers"], "layers")
        heads = try need(isLLaDA ? ["n_heads", "num_attention_heads"] : ["num_attention_heads", "n_heads"], "heads")
        kvHeads = try firstInt(["num_key_value_heads", "n_kv_heads"], "heads") ?? heads
        guard kvHeads <= heads else {
            throw InputError.data("\(c.file): num_key_value_heads (\(kvHeads)) exceeds num_attention_heads (\(heads))")
        }
        if let hd = try firstInt(["head_dim"], "head_dim") { headDim = hd }
        else {
            guard hidden >= heads else {
                throw InputError.data("\(c.file): hidden_size (\(hidden)) is smaller than num_attention_heads (\(heads)), giving a head dimension of 0; give head_dim")
            }
            headDim = hidden / heads
        }
        vocab = try need(isLLaDA ? ["embedding_size", "vocab_size"] : ["vocab_size", "embedding_size"], "vocab")
        let weightTying = try c.bool("weight_tying", default: false)
        tieEmbeddings = try c.bool("tie_word_embeddings", default: weightTying)
        maxPositions = try firstInt(["max_position_embeddings", "max_sequence_length"], "positions") ?? 4096
        guard heads % kvHeads == 0 else {
            throw InputError.data("\(c.file): num_attention_heads (\(heads)) is not a multiple of num_key_value_heads (\(kvHeads))")
        }
        let attnBias = try c.bool("attention_bias", default: false)
        let qkvBiasKey = try c.bool("qkv_bias", default: false)
        let includeBias = try c.bool("include_qkv_bias", default: false)
        qkvBias = fam == "qwen2_moe" || fam == "qwen2" || attnBias || qkvBiasKey || includeBias
        quantization = try Quantization.read(config: c, hidden: hidden) ?? Quantization.read(config: outer, hidden: hidden) ?? .none
        isDiffusion = diffusion ?? fam.hasPrefix("llada")
        // vLLM's model code for these families norms queries and keys (OLMoE over the full width, Qwen3 per head); Qwen2-MoE
        // gates its shared expert with a sigmoid (ModelArchitecture.hostOps).
        qkNorm = ["olmoe", "qwen3", "qwen3_moe"].contains(fam)
        sharedExpertGate = fam == "qwen2_moe"

        if fam.hasPrefix("deepseek") || fam == "kimi_k2" {
            let rank = Limits.model["lora_rank"]!, dim = Limits.model["head_dim"]!
            let kvLora = try c.int("kv_lora_rank", in: rank)
            let qLora = try c.optional("q_lora_rank")?.int(in: rank)
            attention = .mla(qLoraRank: qLora, kvLoraRank: kvLora, qkNopeHeadDim: try c.int("qk_nope_head_dim", in: dim),
                             qkRopeHeadDim: try c.int("qk_rope_head_dim", in: dim), vHeadDim: try c.int("v_head_dim", in: dim))
        } else {
            attention = .gqa
        }
        // Which layers attend through a sliding window, as vLLM 0.24 decides it (`slidingWindowLayers`).
        let sw = try Self.slidingWindowLayers(c, family: fam, layers: layers)
        if sw.window > 0, case .mla = attention {
            throw InputError.data("\(c.file): key 'sliding_window' (\(sw.window)) gives multi-head latent attention a sliding window, which vLLM 0.24 does not support (\"MLA is not supported for slidingwindow\")")
        }
        slidingWindow = sw.window
        slidingLayerFlags = sw.sliding
        slidingLayers = sw.sliding.reduce(0) { $0 + ($1 ? 1 : 0) }
        kvCacheCaveat = sw.caveat

        // Feed-forward blocks.
        let experts = try firstInt(["num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"], "experts") ?? 0
        var specs: [FFNSpec] = []
        if experts == 0 {
            let inter = try need(isLLaDA ? ["mlp_hidden_size", "intermediate_size"] : ["intermediate_size", "mlp_hidden_size"], "intermediate")
            specs = Array(repeating: FFNSpec(denseIntermediate: inter, experts: 0, topK: 0, expertIntermediate: 0, sharedIntermediate: 0), count: layers)
        } else {
            let topK = try need(["num_experts_per_tok", "experts_per_token", "moe_topk", "top_k"], "top_k")
            guard topK <= experts else {
                throw InputError.data("\(c.file): key 'num_experts_per_tok' (\(topK)) exceeds the number of experts (\(experts))")
            }
            let expertInter: Int
            if fam == "mixtral" || fam == "olmoe" || fam == "gpt_oss" || fam.hasPrefix("llama4") { expertInter = try need(["intermediate_size"], "intermediate") }
            else { expertInter = try need(["moe_intermediate_size", "expert_intermediate_size", "intermediate_size"], "intermediate") }
            var shared = 0
            if let s = try firstInt(["shared_expert_intermediate_size"], "intermediate") { shared = s }
            else if fam.hasPrefix("llama4") { shared = expertInter } // one always-on shared expert of the routed width
            else if let n = try firstInt(["n_shared_experts", "num_shared_experts"], "experts") {
                shared = n * expertInter
                guard shared <= Limits.model["intermediate"]!.upperBound else {
                    throw InputError.data("\(c.file): n_shared_experts (\(n)) x expert width (\(expertInter)) = \(shared) is out of range; allowed at most \(Limits.model["intermediate"]!.upperBound)")
                }
            }
            let denseInter = try firstInt(["dense_intermediate_size", "intermediate_size_mlp", "intermediate_size"], "intermediate") ?? expertInter
            let firstDense = try firstInt(["first_k_dense_replace"], "layers") ?? 0
            // `moe_layer_freq` is a period (DeepSeek) or a per-layer list of 0/1 flags (LLaDA-MoE).
            var perLayerFlags: [Int]? = nil
            if let f = c.optional("moe_layer_freq"), f.isArray {
                let flags = try f.array().map { try $0.int(in: 0...1) }
                guard flags.count == layers else { throw f.fail("lists \(flags.count) layers; num_hidden_layers is \(layers)") }
                perLayerFlags = flags
            }
            let freq = perLayerFlags == nil ? (try firstInt(["moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step"], "layers") ?? 1) : 1
            let layerIndex = 0...(layers - 1)
            let mlpOnly = Set(try c.optional("mlp_only_layers")?.array().map { try $0.int(in: layerIndex) } ?? [])
            for i in 0..<layers {
                let isMoE: Bool
                if let flags = perLayerFlags { isMoE = flags[i] != 0 }
                else if fam.hasPrefix("deepseek") || fam == "kimi_k2" { isMoE = i >= firstDense && i % freq == 0 }
                else { isMoE = !mlpOnly.contains(i) && (i + 1) % freq == 0 && i >= firstDense }
                if isMoE {
                    specs.append(FFNSpec(denseIntermediate: 0, experts: experts, topK: topK, expertIntermediate: expertInter, sharedIntermediate: shared))
                } else {
                    specs.append(FFNSpec(denseIntermediate: denseInter, experts: 0, topK: 0, expertIntermediate: 0, sharedIntermediate: 0))
                }
            }
        }
        ffn = specs
    }

    /// `layer_types` values moesim reads: attention layers holding a KV cache per token. "attention" is the legacy name
    /// of full attention (transformers' `_LEGACY_LAYER_TYPE_REMAP`).
    public static let attentionLayerTypes = ["full_attention", "sliding_attention", "chunked_attention", "attention"]

    /// The `sliding_window` that transformers' config class of a family holds when config.json leaves the key out
    /// (vLLM 0.24.0 reads the config object, not the file; it requires transformers >= 5.5.3, and 5.5.3 to 5.17 agree):
    /// `MistralConfig`, the Qwen2/Qwen3 configs (dense and MoE, kept only with `use_sliding_window`) and Gemma 2/3 4,096,
    /// `GptOssConfig` 128; nil for the others (Mixtral's class default is None).
    static func defaultSlidingWindow(family fam: String) -> Int? {
        switch fam {
        case "mistral", "qwen2", "qwen3", "qwen2_moe", "qwen3_moe", "gemma2", "gemma3", "gemma3_text": return 4096
        case "gpt_oss": return 128
        default: return nil
        }
    }

    /// The sliding window and which layers attend through it (`layers` flags, empty when none does; window 0 then), as
    /// vLLM 0.24.0 decides them, and a caveat where moesim's KV cache is not vLLM's (`ModelArchitecture.kvCacheCaveat`).
    ///
    /// 1. The window is the config's `sliding_window` (null: none), or where the key is absent the config class's
    ///    default (`defaultSlidingWindow`). Qwen2, Qwen3 and Qwen3-MoE keep it only with `use_sliding_window` (None
    ///    otherwise), Qwen2-MoE sets 0 (transformers' `__post_init__`), and vLLM reads 0 as none (`ModelConfig.__post_init__`).
    /// 2. `layer_types`, or where absent the list the config class makes: Qwen2/Qwen3 slide the layers from
    ///    `max_window_layers` (28) on when there is a window, Qwen2-MoE the even layers below it with
    ///    `use_sliding_window`, gpt-oss and Gemma 2 the even layers, Gemma 3 all but every `sliding_window_pattern`-th
    ///    (6), Llama 4 chunks the layers with rotary embeddings; Mistral, Mixtral, Qwen3-MoE and the other named
    ///    families make none. A family moesim does not name is read by `sliding_window_pattern` (Cohere 2's rule) if
    ///    given; without that or `layer_types` its window is not applied (its class may place sliding layers, as
    ///    OLMo 3's does) and the caveat says so.
    /// 3. vLLM gives the whole model the window (`CacheConfig.sliding_window`, set in `EngineArgs.create_engine_config`)
    ///    only when `layer_types` does not mix kinds (`is_interleaved`). Each attention layer takes its model file's own
    ///    window where the file sets one (`per_layer_sliding_window`) and else the whole model's (`Attention.__init__`):
    ///    llama.py (Llama, Mistral), gemma2.py, gemma3.py (and here the families moesim does not name) set it on the
    ///    layers whose `layer_types` entry is "sliding_attention", gpt_oss.py on every even layer whatever `layer_types`
    ///    says; mixtral.py, qwen2.py, qwen3.py, qwen2_moe.py and qwen3_moe.py set none, so there every layer slides or
    ///    none does. Mistral-7B-v0.1 (`sliding_window` 4096, no `layer_types`) slides all 32 layers; a Qwen config with
    ///    `use_sliding_window` false, or Mixtral's null, none.
    /// 4. Qwen2 and Qwen3 (`Qwen2Model`, which Qwen3's extends) refuse mixed `layer_types` unless `max_window_layers` is
    ///    `num_hidden_layers` ("Sliding window for some but all layers is not supported"): an error here too, as is a
    ///    window with MLA (the caller's check).
    ///
    /// `layer_types` entries other than `attentionLayerTypes` (linear attention, Mamba: a fixed-size state in vLLM, not
    /// a KV cache) are an error naming the entry. "chunked_attention" counts as full attention, as llama.py builds it;
    /// Llama 4's chunked local attention (llama4.py: the layers with rotary embeddings, from `no_rope_layers`, when
    /// `attention_chunk_size` is set, 8,192 by default) keeps only the current chunk's blocks in vLLM, which moesim does
    /// not model: those layers count as full attention and the caveat says so. It also says so for a model whose every
    /// layer slides: vLLM keeps only each request's window of blocks (one group of `SlidingWindowSpec` layers), which
    /// moesim's engine does not (`kvCacheGroups` is nil), though the attention reads only the window.
    static func slidingWindowLayers(_ c: JSONNode, family fam: String, layers: Int) throws -> (window: Int, sliding: [Bool], caveat: String?) {
        let positions = Limits.model["positions"]!, layerCount = Limits.model["layers"]!
        func slides(_ kinds: [String]) -> Int { kinds.filter { $0 == "sliding_attention" }.count }
        // Explicit `layer_types`: one known attention kind per layer.
        var types: [String]? = nil
        if let node = c.optional("layer_types") {
            let entries = try node.array()
            guard entries.count == layers else { throw node.fail("lists \(entries.count) layers; num_hidden_layers is \(layers)") }
            types = try entries.map { e in
                let kind = try e.string()
                guard Self.attentionLayerTypes.contains(kind) else {
                    throw e.fail("unsupported layer type \(e.described); moesim models attention layers only: \(quotedChoices(Self.attentionLayerTypes)) (vLLM keeps a fixed-size state for linear-attention and Mamba layers, not a KV cache)")
                }
                return kind
            }
        }
        // 1. The window as the config object holds it: the key (null is none), else the class default; Qwen's gate.
        let hasKey = c.keys?.contains("sliding_window") == true
        if !hasKey, let t = types, slides(t) > 0 {
            throw InputError.data("\(c.file): 'layer_types' names sliding_attention layers but key 'sliding_window' is missing")
        }
        var window = Self.defaultSlidingWindow(family: fam)
        if hasKey { window = try c.optional("sliding_window")?.int(in: 0...positions.upperBound) }
        let isQwen = ["qwen2", "qwen3", "qwen2_moe", "qwen3_moe"].contains(fam)
        let useSW = isQwen ? try c.bool("use_sliding_window", default: false) : false
        if isQwen && !useSW { window = nil }
        // Llama 4's layers with rotary embeddings (`no_rope_layers` 1; by default all but every
        // `no_rope_layer_interval`-th, 4): transformers' "chunked_attention" layers, vLLM's chunked local attention.
        var chunkedLayers: [Bool] = []
        if fam.hasPrefix("llama4") {
            var noRope = try c.optional("no_rope_layers")?.array().map { try $0.int(in: 0...1) } ?? []
            if noRope.isEmpty {
                let interval = try c.optional("no_rope_layer_interval")?.int(in: layerCount) ?? 4
                noRope = (0..<layers).map { ($0 + 1) % interval != 0 ? 1 : 0 }
            }
            guard noRope.count == layers else { throw try c.require("no_rope_layers").fail("lists \(noRope.count) layers; num_hidden_layers is \(layers)") }
            chunkedLayers = noRope.map { $0 != 0 }
        }
        // 2. `layer_types` as the config class completes it.
        let maxWindowLayers = isQwen ? try c.optional("max_window_layers")?.int(in: 0...layerCount.upperBound) ?? 28 : layers
        if types == nil {
            func kinds(_ slides: (Int) -> Bool) -> [String] { (0..<layers).map { slides($0) ? "sliding_attention" : "full_attention" } }
            let readsPattern = fam == "gemma3" || fam == "gemma3_text" || !Self.supportedFamilies.contains(fam)
            let swPattern = readsPattern ? try c.optional("sliding_window_pattern")?.int(in: layerCount) : nil
            switch fam {
            case "qwen2", "qwen3": types = kinds { window != nil && $0 >= maxWindowLayers }
            case "qwen2_moe": types = kinds { $0 % 2 == 0 && $0 < maxWindowLayers && useSW }
            case "gpt_oss", "gemma2": types = kinds { $0 % 2 == 0 }
            case "gemma3", "gemma3_text": types = kinds { ($0 + 1) % (swPattern ?? 6) != 0 }
            case _ where fam.hasPrefix("llama4"): types = chunkedLayers.map { $0 ? "chunked_attention" : "full_attention" }
            default: if let p = swPattern, !Self.supportedFamilies.contains(fam) { types = kinds { ($0 + 1) % p != 0 } }
            }
        }
        if window == 0 { window = nil }
        // A family moesim does not name may make `layer_types` in its config class (OLMo 3, EXAONE 4, Ministral alternate
        // them): without the list, where its sliding layers are is unknown, so none is taken to slide, and that is said.
        var caveat: String? = nil
        if let w = window, types == nil, !Self.supportedFamilies.contains(fam) {
            caveat = "sliding_window \(w) is not applied: moesim does not know which layers model_type \"\(fam)\"'s config class makes sliding (vLLM 0.24 slides every layer unless layer_types mixes kinds); give layer_types to have them modelled"
            window = nil
        }
        // 3. The whole model's window (none when `layer_types` mixes kinds), and each layer's.
        let interleaved = Set(types ?? []).count > 1
        if (fam == "qwen2" || fam == "qwen3") && interleaved && maxWindowLayers != layers {
            throw InputError.data("\(c.file): key 'max_window_layers' is \(maxWindowLayers), not num_hidden_layers (\(layers)), while the layers mix attention kinds ('layer_types', or with 'use_sliding_window' the layers from max_window_layers on sliding); vLLM 0.24's Qwen2/Qwen3 model refuses it: \"Sliding window for some but all layers is not supported\"")
        }
        let modelWindow = interleaved ? nil : window
        let windowByType = ["llama", "mistral", "gemma2", "gemma3", "gemma3_text"].contains(fam) || !Self.supportedFamilies.contains(fam)
        let sliding: [Bool] = (0..<layers).map { i in
            var own: Int? = nil
            if fam == "gpt_oss" { own = i % 2 == 0 ? window : nil }
            else if windowByType, let t = types, t[i] == "sliding_attention" { own = window }
            return (own ?? modelWindow) != nil
        }
        let count = sliding.reduce(0) { $0 + ($1 ? 1 : 0) }
        // Llama 4's chunk (`Llama4TextConfig`'s default 8,192; null or 0: no chunked attention, as llama4.py reads it).
        let chunked = chunkedLayers.filter { $0 }.count
        var chunk = 8192
        if chunked > 0, c.keys?.contains("attention_chunk_size") == true {
            chunk = try c.optional("attention_chunk_size")?.int(in: 0...positions.upperBound) ?? 0
        }
        if chunked > 0, chunk > 0 {
            caveat = "\(chunked) of \(layers) layers use chunked local attention (\(chunk)-token chunks): vLLM 0.24 keeps only each request's current chunk of KV blocks for them, in KV cache groups of their own (ChunkedLocalAttentionSpec); moesim counts them as full-attention layers, so its KV cache holds fewer tokens than vLLM's and their attention reads the whole context"
        }
        return count > 0 ? (window ?? 0, sliding, caveat) : (0, [], caveat)
    }
}
