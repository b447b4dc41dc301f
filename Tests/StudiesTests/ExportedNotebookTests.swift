import Foundation
import Testing
@testable import Studies

/// The notebook that `moesim reproduce` exported (committed under notebooks-export/) must open in Jupyter:
/// it is validated against the nbformat 4 schema by the real `nbformat` package.
@Suite struct ExportedNotebookTests {
    /// Whether Python's `nbformat` can be imported here; without it the validation cannot run and the test is
    /// reported as skipped, not passed. CI (the CI environment variable set) always runs it.
    static let nbformatAvailable: Bool = {
        if ProcessInfo.processInfo.environment["CI"] != nil { return true }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import nbformat"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test(.enabled(if: nbformatAvailable, "Python's nbformat is not installed (`pip install nbformat`): the notebook is not validated"))
    func exportedStudyNotebookValidates() throws {
        let path = StudiesRepo.root + "/notebooks-export/hegde2025/hegde2025.ipynb"
        let data = try #require(FileManager.default.contents(atPath: path), "run `swift run -c release moesim reproduce` to export \(path)")
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(obj["nbformat"] as? Int == 4)
        let cells = try #require(obj["cells"] as? [[String: Any]])
        #expect(cells.count >= 8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('valid')", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
        #expect(p.terminationStatus == 0, "nbformat rejected \(path): \(out)")
    }
}
