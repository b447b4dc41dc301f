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
}
