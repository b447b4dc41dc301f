import Foundation
import Testing
@testable import Cluster

struct ModelShapeCase: Sendable, CustomTestStringConvertible {
    var name: String
    var layers: Int
    var hidden: Int
    var experts: Int      // 0 = dense
    var topK: Int
    var expertInter: Int
    var shared: Int
    var moeLayers: Int
    var diffusion: Bool
    var testDescription: String { name }
}

@Suite struct ModelArchitectureTests {
    static let shapes: [ModelShapeCase] = [
        ModelShapeCase(name: "mixtral-8x7b", layers: 32, hidden: 4096, experts: 8, topK: 2, expertInter: 14336, shared: 0, moeLayers: 32, diffusion: false),
        ModelShapeCase(name: "mixtral-8x22b", layers: 56, hidden: 6144, experts: 8, topK: 2, expertInter: 16384, shared: 0, moeLayers: 56, diffusion: false),
        ModelShapeCase(name: "olmoe-1b-7b", layers: 16, hidden: 2048, experts: 64, topK: 8, expertInter: 1024, shared: 0, moeLayers: 16, diffusion: false),
        ModelShapeCase(name: "qwen1.5-moe-a2.7b", layers: 24, hidden: 2048, experts: 60, topK: 4, expertInter: 1408, shared: 5632, moeLayers: 24, diffusion: false),
        ModelShapeCase(name: "qwen3-30b-a3b", layers: 48, hidden: 2048, experts: 128, topK: 8, expertInter: 768, shared: 0, moeLayers: 48, diffusion: false),
        ModelShapeCase(name: "deepseek-v2-lite", layers: 27, hidden: 2048, experts: 64, topK: 6, expertInter: 1408, shared: 2 * 1408, moeLayers: 26, diffusion: false),
        ModelShapeCase(name: "deepseek-v3", layers: 61, hidden: 7168, experts: 256, topK: 8, expertInter: 2048, shared: 2048, moeLayers: 58, diffusion: false),
        ModelShapeCase(name: "llada-8b", layers: 32, hidden: 4096, experts: 0, topK: 0, expertInter: 0, shared: 0, moeLayers: 0, diffusion: true),
        ModelShapeCase(name: "llada-moe-7b", layers: 16, hidden: 2048, experts: 64, topK: 8, expertInter: 1024, shared: 0, moeLayers: 16, diffusion: true),
        ModelShapeCase(name: "deepseek-r1", layers: 61, hidden: 7168, experts: 256, topK: 8, expertInter: 2048, shared: 2048, moeLayers: 58, diffusion: false),
        ModelShapeCase(name: "kimi-k2", layers: 61, hidden: 7168, experts: 384, topK: 8, expertInter: 2048, shared: 2048, moeLayers: 60, diffusion: false),
        ModelShapeCase(name: "qwen3-235b-a22b", layers: 94, hidden: 4096, experts: 128, topK: 8, expertInter: 1536, shared: 0, moeLayers: 94, diffusion: false),
        ModelShapeCase(name: "qwen3-235b-a22b-fp8", layers: 94, hidden: 4096, experts: 128, topK: 8, expertInter: 1536, shared: 0, moeLayers: 94, diffusion: false),
        ModelShapeCase(name: "gpt-oss-120b", layers: 36, hidden: 2880, experts: 128, topK: 4, expertInter: 2880, shared: 0, moeLayers: 36, diffusion: false),
        ModelShapeCase(name: "gpt-oss-20b", layers: 24, hidden: 2880, experts: 32, topK: 4, expertInter: 2880, shared: 0, moeLayers: 24, diffusion: false),
        ModelShapeCase(name: "llama-4-scout", layers: 48, hidden: 5120, experts: 16, topK: 1, expertInter: 8192, shared: 8192, moeLayers: 48, diffusion: false),
        ModelShapeCase(name: "llama-4-maverick", layers: 48, hidden: 5120, experts: 128, topK: 1, expertInter: 8192, shared: 8192, moeLayers: 24, diffusion: false),
        ModelShapeCase(name: "llama-3.1-8b", layers: 32, hidden: 4096, experts: 0, topK: 0, expertInter: 0, shared: 0, moeLayers: 0, diffusion: false),
    ]

    @Test func everyShippedModelIsCovered() {
        #expect(Set(Repo.store.names("models")) == Set(Self.shapes.map(\.name)))
    }

    @Test(arguments: shapes)
    func parsesShippedModel(_ c: ModelShapeCase) throws {
        let m = try Repo.store.model(c.name)
        #expect(m.name == c.name)
        #expect(m.layers == c.layers)
        #expect(m.hidden == c.hidden)
        #expect(m.ffn.count == c.layers)
        #expect(m.moeLayerCount == c.moeLayers)
        #expect(m.isDiffusion == c.diffusion)
        #expect(m.isMoE == (c.experts > 0))
        if c.experts > 0 {
            let moe = try #require(m.moe)
            #expect(moe.experts == c.experts)
            #expect(moe.topK == c.topK)
            #expect(moe.expertIntermediate == c.expertInter)
            #expect(moe.sharedIntermediate == c.shared)
            #expect(m.paramsPerExpert == 3 * Double(c.hidden) * Double(c.expertInter))
            #expect(m.activeParams < m.totalParams)
        } else {
            #expect(m.totalExpertParams == 0)
        }
    }

    struct TableICase: Sendable, CustomTestStringConvertible {
        var name: String
        var params: Double
        var tolerance: Double
        var testDescription: String { "\(name) \(params)" }
    }

    /// Hegde et al., Table I.
    @Test(arguments: [
        TableICase(name: "mixtral-8x7b", params: 46.7e9, tolerance: 0.01),
        TableICase(name: "qwen1.5-moe-a2.7b", params: 14.3e9, tolerance: 0.01),
        TableICase(name: "olmoe-1b-7b", params: 6_919_161_856, tolerance: 0.001),
        TableICase(name: "llada-8b", params: 8.0e9, tolerance: 0.01),
    ])
    func totalParamsMatchTableI(_ c: TableICase) throws {
        let m = try Repo.store.model(c.name)
        #expect(relClose(m.totalParams, c.params, c.tolerance), "\(c.name): \(m.totalParams) vs \(c.params)")
    }

    @Test func mixtralParamsByHand() throws {
        let m = try Repo.store.model("mixtral-8x7b")
        let h = 4096.0, q = 32 * 128.0, kv = 8 * 128.0
        #expect(m.attentionParamsPerLayer == h * (q + 2 * kv) + q * h + 2 * h)
        #expect(m.totalExpertParams == 32 * 8 * 3 * h * 14336)
        #expect(m.embeddingParams == 2 * 32000 * h + h)
        #expect(m.kvBytesPerToken(tensorParallel: 1) == 2 * 8 * 128 * 32 * 2)
        #expect(m.kvBytesPerToken(tensorParallel: 2) == 2 * 4 * 128 * 32 * 2)
        // KV heads are replicated when TP exceeds them.
        #expect(m.kvBytesPerToken(tensorParallel: 16) == 2 * 1 * 128 * 32 * 2)
        #expect(m.attention == .gqa)
    }

    @Test func deepSeekModelsAreMLAWithLeadingDenseLayers() throws {
        let lite = try Repo.store.model("deepseek-v2-lite")
        guard case let .mla(qLora, kvLora, nope, rope, v) = lite.attention else {
            Issue.record("deepseek-v2-lite should parse as MLA, got \(lite.attention)"); return
        }
        #expect(qLora == nil)
        #expect(kvLora == 512 && nope == 128 && rope == 64 && v == 128)
        #expect(!lite.ffn[0].isMoE)
        #expect(lite.ffn[0].denseIntermediate == 10944)
        #expect(lite.ffn[1...].allSatisfy { $0.isMoE })
        // MLA caches the latent, not per-head K and V, and does not shrink under TP.
        #expect(lite.kvBytesPerToken(tensorParallel: 1) == Double(512 + 64) * 27 * 2)
        #expect(lite.kvBytesPerToken(tensorParallel: 2) == lite.kvBytesPerToken(tensorParallel: 1))

        let v3 = try Repo.store.model("deepseek-v3")
        guard case let .mla(q3, kv3, _, _, _) = v3.attention else {
            Issue.record("deepseek-v3 should parse as MLA, got \(v3.attention)"); return
        }
        #expect(q3 == 1536 && kv3 == 512)
        #expect(v3.ffn[0..<3].allSatisfy { !$0.isMoE && $0.denseIntermediate == 18432 })
        #expect(v3.ffn[3...].allSatisfy { $0.isMoE })
        // DeepSeek-V3 is about 671B parameters (without the MTP module, 671B - 14B).
        #expect(v3.totalParams > 640e9 && v3.totalParams < 690e9, "\(v3.totalParams)")
    }

    @Test(arguments: shapes.map(\.name))
    func rawConfigGivesSameArchitectureAsProfile(_ name: String) throws {
        let profilePath = Repo.root + "/profiles/models/\(name).json"
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profilePath))) as? [String: Any])
        let config = try #require(obj["config"])
        let dir = try makeTempDir() + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/config.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: file))
        let raw = try Repo.store.model(file)
        let shipped = try Repo.store.model(name)
        #expect(raw == shipped)
        #expect(raw.totalParams == shipped.totalParams)
    }

    @Test func configMissingKeyNamesFileAndKey() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/broken.json"
        try Data(#"{"model_type": "mixtral", "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 8}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let e = inputErrorMessage { _ = try Repo.store.model(file) }
        #expect(e?.kind == .data)
        #expect(e?.message.contains(file) == true)
        #expect(e?.message.contains("'hidden_size'") == true)
    }
}

/// The operations a layer runs from the host without CUDA graphs, as counted from vLLM 0.24.0's model code
/// (ModelArchitecture.hostOps; docs/internals.md): what a step without graphs costs the host follows them.
@Suite struct HostOpsTests {
    @Test(arguments: [("mixtral-8x7b", 15, 15), ("olmoe-1b-7b", 17, 17), ("qwen3-30b-a3b", 18, 18),
                      ("qwen1.5-moe-a2.7b", 23, 23), ("deepseek-v2-lite", 14, 28), ("llama-3.1-8b", 10, 10)])
    func perLayer(_ c: (String, Int, Int)) throws {
        let m = try Repo.store.model(c.0)
        #expect(m.hostOps(layer: 0) == c.1, "\(c.0) first layer")
        #expect(m.hostOps(layer: m.layers - 1) == c.2, "\(c.0) last layer")
        #expect(m.hostOps == c.1 + (m.layers - 1) * c.2, "\(c.0) whole forward")
    }

    @Test func featuresAddTheirOperations() throws {
        let olmoe = try Repo.store.model("olmoe-1b-7b")
        var noNorm = olmoe
        noNorm.qkNorm = false
        #expect(olmoe.hostOps(layer: 3) - noNorm.hostOps(layer: 3) == 2)
        let qwen = try Repo.store.model("qwen1.5-moe-a2.7b")
        var ungated = qwen
        ungated.sharedExpertGate = false
        #expect(qwen.hostOps(layer: 3) - ungated.hostOps(layer: 3) == 3)
        // DeepSeek-V3's query goes through a low-rank projection and its norm: two more operations than Lite's.
        let v3 = try Repo.store.model("deepseek-v3")
        let lite = try Repo.store.model("deepseek-v2-lite")
        #expect(v3.hostOps(layer: 10) - lite.hostOps(layer: 10) == 2 + 1)  // and 256 experts align in two kernels
    }
}
