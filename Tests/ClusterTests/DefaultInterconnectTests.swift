import Foundation
import Testing
@testable import Cluster

@Suite struct DefaultInterconnectTests {
    @Test func ownMeasurementWinsAtEqualCoverage() throws {
        let store = Repo.store
        // Both the probe's 2x H200 profile and apex_plus's HGX H200 curves measure all-reduce and all-to-all at 2
        // GPUs; the probe's says default_priority 1 and is chosen. At 4 GPUs only apex_plus covers the count.
        let two = try #require(try store.defaultInterconnect(gpu: "h200-sxm-141gb", gpus: 2))
        #expect(two.name == "h200-nvlink-2gpu" && two.defaultPriority == 1)
        let four = try #require(try store.defaultInterconnect(gpu: "h200-sxm-141gb", gpus: 4))
        #expect(four.name == "hgx-h200-apex" && four.defaultPriority == 0)
        // The measured small all-reduce is NCCL's latency floor on NVLink, not a bandwidth-derived guess.
        let t = try #require(two.timeUs(.allReduce, bytes: 4096, gpus: 2))
        #expect(t > 5 && t < 40)
    }

    /// `StepCostModel.collectiveOrigin` names the curve `collectiveUs` prices a collective with: the GPU's measured
    /// vLLM tables where they have the GPU count and the interconnect is a default candidate (even one of another
    /// GPU system), else the interconnect's curves, else its link bandwidth. Checked against the times priced.
    @Test func collectiveOriginNamesTheCurveThatPricesIt() throws {
        let store = Repo.store
        let gpu = try store.gpu("a100-sxm4-80gb"), model = try store.model("mixtral-8x7b")
        let tables = try #require(gpu.vllmKernels)
        let plan = ParallelPlan(tp: 2)
        func cost(_ ic: InterconnectProfile?) throws -> StepCostModel {
            try StepCostModel(model: model, plan: plan, kernels: KernelCost(gpu: gpu, tables: tables), interconnect: ic, routing: nil, placement: nil, seed: 0)
        }
        let bytes = 262_144.0
        for name in ["dgx-a100", "dgx-h100", "pcie-gen4"] {
            let ic = try store.interconnect(name)
            let origin = StepCostModel.collectiveOrigin(.allReduce, gpus: 2, tables: tables, interconnect: ic)
            let t = try cost(ic).collectiveUs(.allReduce, bytes: bytes, gpus: 2)
            switch origin {
            case .kernelTables(let n):
                #expect(n == tables.name && ic.isDefaultCandidate && t == tables.collectiveUs(.allReduce, bytes: bytes, gpus: 2), "\(name)")
            case .interconnect(let n):
                #expect(n == name && !ic.isDefaultCandidate && t == ic.timeUs(.allReduce, bytes: bytes, gpus: 2), "\(name)")
            case .linkBandwidth:
                Issue.record("\(name): every shipped interconnect has an all-reduce curve")
            }
        }
        // The tables have no send/recv: the interconnect's curve prices it. Without tables or interconnect: the link.
        #expect(StepCostModel.collectiveOrigin(.sendRecv, gpus: 2, tables: tables, interconnect: try store.interconnect("dgx-a100")) == .interconnect("dgx-a100"))
        #expect(StepCostModel.collectiveOrigin(.allReduce, gpus: 2, tables: nil, interconnect: nil) == .linkBandwidth)
        // In words: the tables' name, and that they take precedence over the named profile.
        let text = StepCostModel.collectiveOriginText([(.allReduce, 2), (.allGather, 2)], tables: tables, interconnect: try store.interconnect("dgx-h100"))
        #expect(text.contains("all_reduce and all_gather at 2 GPUs from the measured vLLM kernel tables \(tables.name)") && text.contains("precedence over interconnect dgx-h100's curves"), "\(text)")
    }
}
