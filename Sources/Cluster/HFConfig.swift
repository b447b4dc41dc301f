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
        // Sliding-window layers named in `layer_types` (gpt-oss alternates them with full attention).
        if let types = c.optional("layer_types"), types.isArray {
            let kinds = try types.array().map { try $0.string() }
            guard kinds.count == layers else { throw types.fail("lists \(kinds.count) layers; num_hidden_layers is \(layers)") }
            let sliding = kinds.filter { $0 == "sliding_attention" }.count
            if sliding > 0 {
                guard let w = try firstInt(["sliding_window"], "positions") else {
                    throw InputError.data("\(c.file): 'layer_types' names sliding_attention layers but key 'sliding_window' is missing")
                }
                slidingWindow = w; slidingLayers = sliding
            }
        }
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
}
