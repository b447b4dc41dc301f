import Foundation

/// The network between GPU nodes (`profiles/networks/`): per-GPU NIC bandwidth as nccl-tests measures it, the
/// latency of one inter-node collective step, and DeepEP's published dispatch/combine bandwidths over it.
///
/// Collectives over more GPUs than one node holds are hierarchical (`ClusterTopology.collectiveUs`): within each
/// node over NVLink (the interconnect profile or the measured vLLM tables), across nodes over the NICs.
public struct NetworkProfile: Sendable {
    public var name: String
    public var displayName: String
    /// GPU profiles whose nodes this network joins by default.
    public var gpus: [String]
    /// Bus bandwidth one NIC sustains in nccl-tests across nodes, GB/s.
    public var nicBusGBps: Double
    /// NICs per node (DGX/HGX H100/H200: 8, one per GPU; DGX A100: 8 compute NICs).
    public var nicsPerNode: Int
    /// Time of a small inter-node collective step, us (the latency floor of every network hop).
    public var latencyUs: Double
    /// DeepEP low-latency (pure RDMA) kernels: RDMA bandwidth by EP size, GB/s (dispatch, combine).
    public var deepepLowLatency: [(ep: Int, dispatch: Double, combine: Double)]
    /// DeepEP normal (high-throughput) kernels: bottleneck bandwidth by EP size, GB/s; EP sizes within one node
    /// are NVLink-bound, larger ones RDMA-bound.
    public var deepepNormal: [(ep: Int, dispatch: Double, combine: Double)]
    public var sources: [String]

    public init(json j: JSONNode) throws {
        name = try j.string("name")
        displayName = try j.optional("display_name")?.string() ?? name
        let L = Limits.network
        gpus = try j.optional("gpus")?.array().map { try $0.string() } ?? []
        nicBusGBps = try j.double("nic_bus_bandwidth_gbps", in: L["bandwidth_gbps"]!)
        nicsPerNode = try j.int("nics_per_node", in: Limits.gpusPerNode)
        latencyUs = try j.double("latency_us", in: L["latency_us"]!)
        func table(_ key: String) throws -> [(ep: Int, dispatch: Double, combine: Double)] {
            guard let t = j.optional(key) else { return [] }
            let rows = try t.array().map { r in
                (ep: try r.int("ep", in: 2...Limits.gpus.upperBound),
                 dispatch: try r.double("dispatch_gbps", in: L["bandwidth_gbps"]!), combine: try r.double("combine_gbps", in: L["bandwidth_gbps"]!))
            }
            return rows.sorted { $0.ep < $1.ep }
        }
        deepepLowLatency = try table("deepep_low_latency")
        deepepNormal = try table("deepep_normal")
        sources = try ProfileSources.read(j)
    }

    /// Bus bandwidth per GPU in bytes/s when `gpusPerNode` GPUs share the node's NICs.
    public func perGPUBytesPerSecond(gpusPerNode: Int) -> Double {
        nicBusGBps * 1e9 * Double(nicsPerNode) / Double(max(gpusPerNode, 1))
    }

    /// A DeepEP bandwidth at `ep` ranks (GB/s), log-interpolated in EP size, held at the ends; nil without a table.
    public static func bandwidth(_ rows: [(ep: Int, dispatch: Double, combine: Double)], ep: Int, dispatch: Bool) -> Double? {
        guard let first = rows.first, let last = rows.last else { return nil }
        func v(_ r: (ep: Int, dispatch: Double, combine: Double)) -> Double { dispatch ? r.dispatch : r.combine }
        if ep <= first.ep { return v(first) }
        if ep >= last.ep { return v(last) }
        for i in 1..<rows.count where rows[i].ep >= ep {
            let a = rows[i - 1], b = rows[i]
            let w = (log(Double(ep)) - log(Double(a.ep))) / (log(Double(b.ep)) - log(Double(a.ep)))
            return v(a) + (v(b) - v(a)) * w
        }
        return v(last)
    }
}

/// How the plan's GPUs sit in nodes: `nodes` x `gpusPerNode`, joined by `network` (nil on one node).
public struct ClusterTopology: Sendable {
    /// GPUs on each node (of a group's topology: the most of the group's GPUs on one node).
    public var gpusPerNode: Int
    public var nodes: Int
    public var network: NetworkProfile?
    /// GPUs of each physical node, which share its NICs (= `gpusPerNode` unless this is a group's topology).
    public var nodeGPUs: Int
    public init(gpusPerNode: Int, nodes: Int, network: NetworkProfile?, nodeGPUs: Int? = nil) {
        self.gpusPerNode = gpusPerNode; self.nodes = nodes; self.network = network; self.nodeGPUs = nodeGPUs ?? gpusPerNode
    }
    public static func singleNode(gpus: Int) -> ClusterTopology { ClusterTopology(gpusPerNode: gpus, nodes: 1, network: nil) }
    public var isMultiNode: Bool { nodes > 1 }

    /// What the collectives of a group of GPUs (global ranks, `gpusPerNode` to a node) see: the nodes it spans
    /// and the most of its GPUs on one node.
    public func group(_ ranks: [Int]) -> ClusterTopology {
        var perNode: [Int: Int] = [:]
        for r in ranks { perNode[r / max(gpusPerNode, 1), default: 0] += 1 }
        return ClusterTopology(gpusPerNode: perNode.values.max() ?? 1, nodes: max(perNode.count, 1), network: network, nodeGPUs: nodeGPUs)
    }

    /// Whether two GPUs (global ranks) sit on different nodes.
    public func crossesNodes(_ a: Int, _ b: Int) -> Bool { a / max(gpusPerNode, 1) != b / max(gpusPerNode, 1) }

    /// Time of a collective over `p` GPUs (`p` a multiple of `gpusPerNode` when it spans nodes), given the
    /// intra-node time function. Hierarchical, as NCCL runs it across nodes:
    /// - all-reduce: reduce-scatter in the node, all-reduce of 1/L of the buffer across the N nodes over each
    ///   GPU's NIC share (ring: 2(N-1)/N of it moves), all-gather in the node;
    /// - all-gather / reduce-scatter: the node-local part plus each GPU's 1/L share of the (N-1)/N of the buffer
    ///   held on other nodes over its NIC share;
    /// - all-to-all: the (P-L)/P of each rank's buffer bound for other nodes over the NIC share, concurrent with
    ///   the node-local part (the slower of the two);
    /// - send/recv: one NIC transfer.
    /// Every network transfer pays the profile's latency once.
    public func collectiveUs(_ c: Collective, bytes: Double, gpus p: Int, intra: (Collective, Double, Int) -> Double) -> Double {
        guard let net = network, p > gpusPerNode, bytes > 0 else { return intra(c, bytes, p) }
        let L = gpusPerNode, N = Double((p + L - 1) / L)
        let bw = net.perGPUBytesPerSecond(gpusPerNode: nodeGPUs)
        func wire(_ b: Double) -> Double { net.latencyUs + b / bw * 1e6 }
        switch c {
        case .allReduce:
            return intra(.reduceScatter, bytes, L) + wire(2 * (N - 1) / N * bytes / Double(L)) + intra(.allGather, bytes, L)
        case .allGather, .reduceScatter:
            return intra(c, bytes, L) + wire((N - 1) / N * bytes / Double(L))
        case .allToAll:
            let remote = bytes * Double(p - L) / Double(p)
            return max(intra(.allToAll, bytes * Double(L) / Double(p), L), wire(remote))
        case .sendRecv:
            return wire(bytes)
        }
    }
}
