import Foundation
import Testing
@testable import Cluster

/// The package root (the directory holding Package.swift), found from this file's path.
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

/// A fresh, uniquely named directory under the temporary directory.
func makeTempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "moesim-cluster-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The message of the InputError `body` throws (records an issue when it throws none or something else).
func inputErrorMessage(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> InputError? {
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

func relClose(_ a: Double, _ b: Double, _ tol: Double) -> Bool {
    abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)
}

/// A step cost model on a GPU's measured vLLM kernel tables: TP `tp`, or with `ep` DP `tp` x EP over as many GPUs;
/// uniform routing, seed 3, contiguous placement, the shipped default interconnect.
func measuredTablesCost(_ model: String, gpu gpuName: String, tp: Int = 8, ep: Bool = false, quantization: Quantization? = nil) throws -> StepCostModel {
    let store = Repo.store
    var m = try store.model(model)
    if let q = quantization { m.quantization = q }
    let gpu = try store.gpu(gpuName)
    let plan = ParallelPlan(tp: ep ? 1 : tp, dp: ep ? tp : 1, ep: ep)
    let moe = try #require(m.moe)
    let routing = try RoutingModel(spec: .uniform, experts: moe.experts, topK: moe.topK, layers: m.moeLayerCount, seed: 3)
    let placement: ExpertPlacement? = ep ? .contiguous(experts: moe.experts, gpus: plan.gpuCount, moeLayers: m.moeLayerCount) : nil
    return try StepCostModel(model: m, plan: plan, kernels: KernelCost(gpu: gpu, tables: gpu.vllmKernels),
                             interconnect: try store.defaultInterconnect(gpu: gpu.name, gpus: plan.gpuCount),
                             routing: routing, placement: placement, seed: 3)
}
