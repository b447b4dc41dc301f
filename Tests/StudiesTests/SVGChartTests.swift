import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Studies

/// Collects element names and attributes; records whether parsing succeeded.
final class SVGInspector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attrs: [String: String])] = []
    var text = ""
    var error: Error?

    static func parse(_ svg: String) -> SVGInspector {
        let insp = SVGInspector()
        let p = XMLParser(data: Data(svg.utf8))
        p.delegate = insp
        if !p.parse() { insp.error = p.parserError ?? NSError(domain: "xml", code: 1) }
        return insp
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append((elementName, attributeDict))
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if !text.hasSuffix("\n") { text += "\n" }
    }
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    func count(_ name: String, cls: String? = nil) -> Int {
        elements.filter { $0.name == name && (cls == nil || $0.attrs["class"] == cls) }.count
    }
}

@Suite struct SVGChartTests {
    static let bars = SVGChart.groupedBars(
        title: "Throughput <A&B>", categories: ["TP=1", "TP=2", "TP=4"],
        series: [("vLLM", [1200, 2400, 3070]), ("HF \"eager\"", [300, nil, 900])],
        yLabel: "tokens/s")

    @Test func groupedBarsIsValidXML() throws {
        let x = SVGInspector.parse(Self.bars)
        #expect(x.error == nil, "XML parse error: \(String(describing: x.error))")
        #expect(x.elements.first?.name == "svg")
        #expect(x.elements.first?.attrs["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(x.text.contains("Throughput <A&B>"))
        #expect(x.text.contains("vLLM"))
        #expect(x.text.contains("HF \"eager\""))
        #expect(x.text.contains("TP=4"))
        #expect(x.text.contains("tokens/s"))
        #expect(x.text.contains("n/a"))
        // 3 categories x 2 series minus one missing value.
        #expect(x.count("rect", cls: "bar") == 5)
        #expect(Self.bars.contains("&lt;A&amp;B&gt;"))
    }

    @Test func valueLabelsOptional() throws {
        let s = SVGChart.groupedBars(title: "t", categories: ["a"], series: [("s", [42.5])], yLabel: "y", valueLabels: true)
        let x = SVGInspector.parse(s)
        #expect(x.error == nil)
        #expect(x.text.contains("42.5"))
    }

    @Test func niceTicks() {
        let t = SVGChart.niceTicks(min: 0, max: 3070)
        #expect(t.first == 0)
        #expect(t.last! >= 3070 && t.last! <= 4000)
        let step = t[1] - t[0]
        #expect(step == 500 || step == 1000)
        #expect(zip(t.dropFirst(), t).allSatisfy { abs(($0 - $1) - step) < 1e-9 })

        #expect(SVGChart.niceTicks(min: 0, max: 1).count == 6 && SVGChart.niceTicks(min: 0, max: 1).last == 1)
        #expect(SVGChart.niceTicks(min: 0, max: 100) == [0, 20, 40, 60, 80, 100])
        #expect(SVGChart.niceTicks(min: 0, max: 7) == [0, 2, 4, 6, 8])
        #expect(SVGChart.niceTicks(min: 0, max: 0).first == 0 && SVGChart.niceTicks(min: 0, max: 0).last == 1)
        let neg = SVGChart.niceTicks(min: -3, max: 12)
        #expect(neg.first! <= -3 && neg.last! >= 12 && neg.contains(0))
        for (lo, hi) in [(0.0, 0.037), (0.0, 12345.0), (5.0, 5.5), (0.0, 1e9)] {
            let t = SVGChart.niceTicks(min: lo, max: hi)
            #expect(t.first! <= lo && t.last! >= hi && t.count >= 3 && t.count <= 12, "\(lo)...\(hi): \(t)")
            let st = t[1] - t[0]
            let m = st / pow(10, floor(log10(st)))
            #expect([1.0, 2.0, 5.0].contains { abs($0 - m) < 1e-6 }, "step \(st) in \(t)")
        }
    }

    @Test func numberFormatting() {
        #expect(SVGChart.format(3.14159, decimals: 2) == "3.14")
        #expect(SVGChart.format(-0.5, decimals: 0) == "-1")
        #expect(SVGChart.format(-0.01, decimals: 1) == "0.0")
        #expect(SVGChart.format(1234567.891, decimals: 2) == "1234567.89")
        #expect(SVGChart.format(0.05, decimals: 3) == "0.050")
        #expect(SVGChart.format(-2.25, decimals: 1) == "-2.3")
        #expect(SVGChart.tickLabel(3500, step: 500) == "3500")
        #expect(SVGChart.tickLabel(20000, step: 5000) == "20k")
        #expect(SVGChart.tickLabel(0.6000000000000001, step: 0.2) == "0.6")
    }

    @Test func logXLineChart() throws {
        let xs: [Double] = [1, 4, 8, 16, 32, 64, 128]
        let s = SVGChart.lines(
            title: "Latency vs batch", series: [
                .init(name: "p50", points: xs.map { ($0, 10 + $0 / 4) }),
                .init(name: "p99", points: xs.map { ($0, 20 + $0 / 2) }, dashed: true),
            ], xLabel: "batch size", yLabel: "ms", logX: true)
        let x = SVGInspector.parse(s)
        #expect(x.error == nil, "XML parse error: \(String(describing: x.error))")
        for label in ["Latency vs batch", "p50", "p99", "batch size", "ms", "1", "128"] {
            #expect(x.text.contains(label), "missing \(label)")
        }
        #expect(x.count("path", cls: "line") == 2)
        #expect(s.contains("stroke-dasharray"))
        // First path point is x=1, last is x=128: x(1) < x(128).
        let path = try #require(x.elements.first { $0.attrs["class"] == "line" }?.attrs["d"])
        let nums = path.split(whereSeparator: { " ML".contains($0) }).compactMap { Double($0) }
        let x1 = nums[0], x128 = nums[nums.count - 2]
        #expect(x1 < x128)
        // Log spacing: 1→4 spans two octaves, 64→128 one.
        let x4 = nums[2], x64 = nums[10]
        #expect(abs((x4 - x1) - 2 * (x128 - x64)) < 1)
        // Tick labels are the data x values.
        let tickTexts = x.text.split(separator: "\n").map(String.init)
        for v in ["1", "4", "8", "16", "32", "64", "128"] { #expect(tickTexts.contains(v), "tick \(v)") }
    }

    @Test func linearLineChartAndMarkersOff() {
        let s = SVGChart.lines(title: "", series: [.init(name: "a", points: [(0, 1), (10, 3), (20, 2)])],
                               xLabel: "t", yLabel: "v", markers: false)
        let x = SVGInspector.parse(s)
        #expect(x.error == nil)
        #expect(x.count("circle") == 0)
    }

    @Test func deterministic() {
        let a = SVGChart.groupedBars(title: "T", categories: ["a", "b"], series: [("s", [1, 2]), ("t", [3, nil])], yLabel: "y")
        let b = SVGChart.groupedBars(title: "T", categories: ["a", "b"], series: [("s", [1, 2]), ("t", [3, nil])], yLabel: "y")
        #expect(a == b)
        let ser = [SVGChart.Series(name: "x", points: [(1, 2), (2, 3)])]
        #expect(SVGChart.lines(title: "L", series: ser, xLabel: "x", yLabel: "y", logX: true)
                == SVGChart.lines(title: "L", series: ser, xLabel: "x", yLabel: "y", logX: true))
    }

    @Test func panelsNestCharts() {
        let a = Self.bars
        let b = SVGChart.lines(title: "L", series: [.init(name: "x", points: [(1, 2), (2, 3)])], xLabel: "x", yLabel: "y")
        let p = SVGChart.panels([a, b, a], columns: 2, panelWidth: 360, panelHeight: 210)
        let x = SVGInspector.parse(p)
        #expect(x.error == nil, "XML parse error: \(String(describing: x.error))")
        let svgs = x.elements.filter { $0.name == "svg" }
        #expect(svgs.count == 4)
        #expect(svgs[0].attrs["width"] == "720" && svgs[0].attrs["height"] == "420")
        #expect(svgs[2].attrs["x"] == "360" && svgs[2].attrs["y"] == "0")
        #expect(svgs[3].attrs["x"] == "0" && svgs[3].attrs["y"] == "210")
        #expect(svgs[1].attrs["viewBox"] == "0 0 720 420")
        #expect(x.count("rect", cls: "bar") == 10)
    }

    @Test func escapesAndEmptyInputs() {
        #expect(SVGChart.xml("a<b>&\"c'\u{1}") == "a&lt;b&gt;&amp;&quot;c&apos; ")
        let e1 = SVGInspector.parse(SVGChart.groupedBars(title: "", categories: [], series: [], yLabel: ""))
        #expect(e1.error == nil)
        let e2 = SVGInspector.parse(SVGChart.lines(title: "", series: [], xLabel: "", yLabel: "", logX: true))
        #expect(e2.error == nil)
    }

    /// Set SVGCHART_SAMPLE_DIR to write sample charts for eyeballing (e.g. with rsvg-convert).
    @Test func writeSamplesWhenAsked() throws {
        guard let dir = ProcessInfo.processInfo.environment["SVGCHART_SAMPLE_DIR"] else { return }
        let cats = ["Mixtral-8x7B TP=2", "Mixtral-8x7B TP=4", "DeepSeek-V2-Lite EP=4", "Qwen1.5-MoE EP=8"]
        let bars = SVGChart.groupedBars(
            title: "Decode throughput by deployment", categories: cats,
            series: [("vLLM (measured)", [3070, 2890, 1540, nil]), ("vLLM (simulated)", [2950, 3010, 1610, 2210]),
                     ("HF eager (measured)", [410, 380, nil, 260]), ("HF eager (simulated)", [395, 402, 240, 275])],
            yLabel: "output tokens/s", valueLabels: true)
        let xs: [Double] = [1, 4, 8, 16, 32, 64, 128]
        let lines = SVGChart.lines(
            title: "Inter-token latency vs batch size", series: [
                .init(name: "vLLM p50", points: xs.map { ($0, 12 + 0.35 * $0) }),
                .init(name: "vLLM p99", points: xs.map { ($0, 18 + 0.6 * $0) }, dashed: true),
                .init(name: "HF p50", points: xs.map { ($0, 40 + 1.2 * $0) }),
                .init(name: "HF p99", points: xs.map { ($0, 55 + 1.9 * $0) }, dashed: true),
            ], xLabel: "batch size (log2)", yLabel: "ms / token", logX: true)
        let lin = SVGChart.lines(title: "Queue length", series: [.init(name: "queue", points: (0..<50).map { (Double($0) * 0.5, Double(($0 * 37) % 11)) })],
                                 xLabel: "time (s)", yLabel: "requests", markers: false)
        let crowdedCats: [String] = (1...10).map { (c: Int) -> String in "configuration-\(c) (EP=\(c % 4 + 1))" }
        var crowdedSeries: [(name: String, values: [Double?])] = []
        for s in 0..<5 {
            let vals: [Double?] = (1...10).map { (c: Int) -> Double? in c == s + 2 ? nil : Double(c * 1000 + s * 937) }
            crowdedSeries.append((name: "series \(s)", values: vals))
        }
        let crowded = SVGChart.groupedBars(
            title: "Crowded: many long categories", categories: crowdedCats, series: crowdedSeries,
            yLabel: "tokens/s", valueLabels: true)
        try crowded.write(toFile: dir + "/crowded.svg", atomically: true, encoding: .utf8)
        try bars.write(toFile: dir + "/bars.svg", atomically: true, encoding: .utf8)
        try lines.write(toFile: dir + "/lines.svg", atomically: true, encoding: .utf8)
        try SVGChart.panels([bars, lines, lin], columns: 2, panelWidth: 540, panelHeight: 315)
            .write(toFile: dir + "/panels.svg", atomically: true, encoding: .utf8)
    }
}
