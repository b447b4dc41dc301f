import Foundation
import Testing
import Cluster
import Serving
@testable import Studies

/// Results say per component where their kernel times came from (issue 12).
@Suite struct KernelSourceTests {
    let base = ["--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "4", "--max-concurrency", "4"]

    @Test func vllmResultNamesItsTablesAndSources() throws {
        let r = try #require(try Simulation.run(arguments: base + ["--model", "mixtral-8x7b", "--gpu", "a100-sxm4-80gb", "--tensor-parallel-size", "2"],
                                                store: StudiesRepo.store).result)
        #expect(r.kernelTables == "aiconfigurator-core 0.12.0, a100-sxm-vllm-0.14.0")
        let experts = try #require(r.timeSources["experts"])
        #expect(experts.split(separator: ",").allSatisfy { ["measured", "interpolated"].contains($0.trimmingCharacters(in: .whitespaces)) })
        #expect(r.timeSources["elementwise"] == "roofline")
        let keys = r.fields().map(\.0)
        #expect(keys.contains("time_sources") && keys.contains("kernel_tables"))
    }

    @Test func unmeasuredShapeSaysShapeModel() throws {
        // OLMoE's config with its experts 1,536 wide instead of 1,024: a shape no table holds (OLMoE's own was measured
        // on both GPUs by probe/vllm/moe_bench.py, on the H100 since 2026-12-06).
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: StudiesRepo.root + "/profiles/models/olmoe-1b-7b.json"))) as? [String: Any])
        var config = try #require(doc["config"] as? [String: Any])
        config["intermediate_size"] = 1536
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let r = try #require(try Simulation.run(arguments: base + ["--model", dir + "/config.json", "--gpu", "h100-sxm-80gb"], store: StudiesRepo.store).result)
        #expect(r.timeSources["experts"] == "fitted shape model")
        let own = try #require(try Simulation.run(arguments: base + ["--model", "olmoe-1b-7b", "--gpu", "h100-sxm-80gb"], store: StudiesRepo.store).result)
        #expect(own.timeSources["experts"] != "fitted shape model")
        let h200 = try #require(try Simulation.run(arguments: base + ["--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb"], store: StudiesRepo.store).result)
        let experts = try #require(h200.timeSources["experts"])
        #expect(experts.split(separator: ",").allSatisfy { ["measured", "interpolated"].contains($0.trimmingCharacters(in: .whitespaces)) }, "\(experts)")
    }

    @Test func noTablesMeansRoofline() throws {
        // The A100-40GB carries no measured tables; `measured_kernels 0` turns them off elsewhere.
        let r = try #require(try Simulation.run(arguments: base + ["--model", "olmoe-1b-7b", "--gpu", "a100-sxm4-40gb"], store: StudiesRepo.store).result)
        #expect(r.kernelTables == nil)
        #expect(r.timeSources["experts"] == "roofline")
        var engine = try StudiesRepo.store.engine("vllm")
        engine.params["measured_kernels"] = 0
        let off = try #require(try Simulation.run(arguments: base + ["--model", "olmoe-1b-7b", "--gpu", "h200-sxm-141gb"], store: StudiesRepo.store,
                                                  engineOverride: engine).result)
        #expect(off.kernelTables == nil)
        #expect(off.timeSources["experts"] == "roofline")
    }
}
