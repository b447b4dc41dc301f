import Foundation
import Testing
@testable import Studies

/// A manifest names its files relative to its own folder: traces, routing histograms and model config.json files
/// (the changed-layer OLMoE runs of experiments/vllm-h200), while a shipped model's name is left as it is.
@Suite struct ManifestPathsTests {
    @Test func filesResolveAgainstTheManifestsFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moesim-manifest-paths-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/models", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["models/m.json", "t.json", "h.json"] { FileManager.default.createFile(atPath: dir + "/" + f, contents: Data("{}".utf8)) }
        let args = ["--model", "models/m.json", "--trace", "t.json", "--routing", "histogram:h.json"]
        #expect(Manifest.resolvingFiles(args, base: dir) == ["--model", dir + "/models/m.json", "--trace", dir + "/t.json", "--routing", "histogram:" + dir + "/h.json"])
        let named = ["--model", "olmoe-1b-7b", "--routing", "zipf:1.2", "--trace", "missing.json"]
        #expect(Manifest.resolvingFiles(named, base: dir) == named)
    }
}
