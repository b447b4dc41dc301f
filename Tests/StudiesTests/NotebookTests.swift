import Foundation
import Testing
@testable import Studies

@Suite struct NotebookTests {
    static func sample() -> Notebook {
        var nb = Notebook()
        nb.markdown("# Study\n\nSome *text* with | pipes and \"quotes\".\n")
        nb.code("import json\nprint('hi')", outputs: [.text("hi\nthere\n")])
        nb.code("x = 1")
        nb.markdown(Notebook.table(headers: ["a", "b|c"], rows: [["1", "2"], ["x|y", "3"]]))
        nb.code("display(svg)", outputs: [
            .svg(SVGChart.groupedBars(title: "T", categories: ["a"], series: [("s", [1])], yLabel: "y")),
            .html(Notebook.htmlTable(headers: ["h<1>"], rows: [["v&w"]])),
            .json([("name", "run"), ("value", 1.5), ("n", 3), ("ok", true), ("none", NSNull()),
                   ("list", [1, 2] as [Any]), ("empty", [Any]()), ("obj", [(String, Any)]())]),
        ])
        return nb
    }

    static func parse(_ s: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    @Test func structure() throws {
        let top = try Self.parse(Self.sample().json())
        #expect(top["nbformat"] as? Int == 4)
        #expect(top["nbformat_minor"] as? Int == 5)
        let meta = try #require(top["metadata"] as? [String: Any])
        #expect((meta["kernelspec"] as? [String: Any])?["name"] as? String == "python3")
        #expect((meta["language_info"] as? [String: Any])?["name"] as? String == "python")
        let cells = try #require(top["cells"] as? [[String: Any]])
        #expect(cells.count == 5)
        let ids = cells.compactMap { $0["id"] as? String }
        #expect(ids.count == 5 && Set(ids).count == 5)
        #expect(ids.first == "cell-0001")
        let counts = cells.filter { $0["cell_type"] as? String == "code" }.compactMap { $0["execution_count"] as? Int }
        #expect(counts == [1, 2, 3])
        for c in cells {
            #expect((c["metadata"] as? [String: Any])?.isEmpty == true)
            if c["cell_type"] as? String == "code" { #expect(c["outputs"] is [Any]) }
        }
        // Source lines keep "\n" except the last.
        #expect(cells[1]["source"] as? [String] == ["import json\n", "print('hi')"])
        #expect(cells[0]["source"] as? [String] == ["# Study\n", "\n", "Some *text* with | pipes and \"quotes\".\n"])
        #expect((cells[2]["outputs"] as? [Any])?.isEmpty == true)
        let outs = try #require(cells[4]["outputs"] as? [[String: Any]])
        #expect(outs.map { $0["output_type"] as? String } == ["display_data", "display_data", "display_data"])
        let data = try #require(outs[2]["data"] as? [String: Any])
        let j = try #require(data["application/json"] as? [String: Any])
        #expect(j["value"] as? Double == 1.5)
        #expect((j["empty"] as? [Any])?.isEmpty == true)
        #expect((j["obj"] as? [String: Any])?.isEmpty == true)
        #expect((outs[0]["data"] as? [String: Any])?["image/svg+xml"] is [String])
        let stream = try #require((cells[1]["outputs"] as? [[String: Any]])?.first)
        #expect(stream["output_type"] as? String == "stream" && stream["name"] as? String == "stdout")
        #expect(stream["text"] as? [String] == ["hi\n", "there\n"])
    }

    @Test func deterministic() {
        #expect(Self.sample().json() == Self.sample().json())
        #expect(Notebook().json() == Notebook().json())
    }

    @Test func tables() {
        let md = Notebook.table(headers: ["a", "b|c"], rows: [["1"], ["x|y", "3"]])
        #expect(md == "| a | b\\|c |\n| --- | --- |\n| 1 |  |\n| x\\|y | 3 |\n")
        let html = Notebook.htmlTable(headers: ["<h>"], rows: [["a&b"]])
        #expect(html.contains("<th>&lt;h&gt;</th>") && html.contains("<td>a&amp;b</td>"))
    }

    @Test func splitLines() {
        #expect(Notebook.splitLines("") == [])
        #expect(Notebook.splitLines("a") == ["a"])
        #expect(Notebook.splitLines("a\n") == ["a\n"])
        #expect(Notebook.splitLines("a\n\nb") == ["a\n", "\n", "b"])
    }

    /// Validates with the reference `nbformat` package. Without python3/nbformat this fails
    /// only when `CI` is set; otherwise it prints a notice and passes.
    @Test func validatesWithNbformat() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moesim-nb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("study.ipynb")
        try Self.sample().json().write(to: file, atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("empty.ipynb")
        try Notebook().json().write(to: empty, atomically: true, encoding: .utf8)

        let onCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false
        let probe = Self.python(["-c", "import nbformat"])
        guard probe.status == 0 else {
            let msg = "python3 with the nbformat package is not available (\(probe.output.suffix(300))); install with `pip install nbformat`"
            if onCI { Issue.record(Comment(rawValue: msg)) } else { print("NOTICE: skipping nbformat validation: \(msg)") }
            return
        }
        for f in [file, empty] {
            let r = Self.python(["-c", "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", f.path])
            #expect(r.status == 0, "nbformat.validate failed for \(f.lastPathComponent):\n\(r.output)")
        }
    }

    static func python(_ args: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "cannot run /usr/bin/env python3: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
