import Foundation
import Testing
@testable import Studies

/// The notebook that `moesim reproduce` exported (committed under notebooks-export/) must open in Jupyter:
/// it is validated against the nbformat 4 schema by the real `nbformat` package.
@Suite struct ExportedNotebookTests {
    @Test func exportedStudyNotebookValidates() throws {
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
        if out.contains("No module named") && ProcessInfo.processInfo.environment["CI"] == nil {
            print("NOTICE: nbformat is not installed; `pip install nbformat` to validate \(path)")
            return
        }
        #expect(p.terminationStatus == 0, "nbformat rejected \(path): \(out)")
    }
}
