import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Studies

/// The layout engine without a browser: legends packed for many series never overlap or run past their width, point
/// labels never overlap each other, a marker or the plot's edge, and the charts built on them (measured from their SVG
/// text with the engine's glyph widths) keep every text clear of every other text and marker, inside the chart.
@Suite struct ChartLayoutTests {
    /// A deterministic stream of numbers in [0, 1).
    struct LCG {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    static func names(_ count: Int, seed: UInt64) -> [String] {
        var r = LCG(state: seed)
        let words = ["model=mixtral-8x7b", "strategy=hybrid", "workload=prefill-heavy", "EP", "TP/DP", "WWW", "iii", "qwen1.5-moe-a2.7b", "x"]
        return (0..<count).map { i in (0...Int(r.next() * 4)).map { _ in words[Int(r.next() * Double(words.count))] }.joined(separator: " ") + " \(i)" }
    }

    @Test func textWidthsAreUpperBoundsAndCutsFit() {
        // Wide glyphs count wide; a cut text fits its width and says it was cut.
        #expect(ChartLayout.textWidth("WWW", size: 10) > ChartLayout.textWidth("iii", size: 10) * 2)
        #expect(ChartLayout.textWidth("ab", size: 10, bold: true) > ChartLayout.textWidth("ab", size: 10))
        let long = String(repeating: "mixtral-8x7b ", count: 20)
        let cut = ChartLayout.fit(long, size: 11, width: 200)
        #expect(ChartLayout.textWidth(cut, size: 11) <= 200 && cut.hasSuffix("…"))
        #expect(ChartLayout.fit("short", size: 11, width: 200) == "short")
        for line in ChartLayout.wrap(long, size: 11, width: 150) { #expect(ChartLayout.textWidth(line, size: 11) <= 150) }
        let t = ChartLayout.title(long, width: 300, size: 14)
        #expect(t.lines.count <= 3 && t.lines.allSatisfy { ChartLayout.textWidth($0, size: t.size, bold: true) <= 300 })
    }

    @Test func seriesStylesStayDistinct() {
        // Forty series: no two alike in colour and dash; any seven in a row differ in marker too.
        let styles = (0..<40).map { ChartLayout.style($0) }
        #expect(Set(styles.map { "\($0.colour) \($0.dash ?? "-")" }).count == 40)
        for i in 0..<(40 - 6) { #expect(Set(styles[i..<(i + 7)].map(\.marker)).count == 7) }
        #expect(ChartLayout.style(3) == ChartLayout.style(3))
    }

    @Test func legendPackingNeverOverlapsOrOverflows() {
        for count in [1, 2, 5, 9, 27, 60] {
            for width in [180.0, 420, 720, 1040] {
                let names = Self.names(count, seed: UInt64(count) &* 31 &+ UInt64(width))
                let l = ChartLayout.legend(names, maxWidth: width)
                #expect(l.boxes.count == count && l.labels.count == count)
                for (i, b) in l.boxes.enumerated() {
                    #expect(b.x0 >= -0.01 && b.x1 <= width + 0.01, "\(count) names in \(width): entry \(i) spans \(b.x0)...\(b.x1)")
                    #expect(b.y0 >= 0 && b.y1 <= l.height)
                    // The box holds the swatch and the measured text.
                    #expect(b.width + 0.01 >= 26 + ChartLayout.textWidth(l.labels[i], size: 11))
                    for j in (i + 1)..<l.boxes.count { #expect(!b.overlaps(l.boxes[j]), "\(count) names in \(width): entries \(i) and \(j) overlap") }
                }
                // Names are cut only when one alone is wider than the legend.
                for (n, lab) in zip(names, l.labels) where n != lab { #expect(ChartLayout.textWidth(n, size: 11) + 26 > width) }
            }
        }
    }

    @Test func labelPlacementAvoidsLabelsMarkersAndEdges() {
        var r = LCG(state: 7)
        let bounds = ChartLayout.Box(x0: 40, y0: 30, x1: 640, y1: 430)
        for (points, withShort) in [(12, false), (60, true), (250, true)] {
            let pts = (0..<points).map { _ in (x: 40 + r.next() * 600, y: 30 + r.next() * 400) }
            let requests = pts.enumerated().map { i, p in
                ChartLayout.LabelRequest(x: p.x, y: p.y, texts: [String(repeating: "w", count: 2 + Int(r.next() * 20)) + " \(i)"] + (withShort ? ["\(i)"] : []), radius: 4)
            }
            let markers = pts.map { ChartLayout.markerBox(x: $0.x, y: $0.y, r: 4) }
            let line = ChartLayout.Segment(x0: 40, y0: 230, x1: 640, y1: 230)
            let placed = ChartLayout.placeLabels(requests, size: 10, bounds: bounds, obstacles: markers, segments: [line])
            #expect(Set(placed.map(\.request)).count == placed.count, "one label per point")
            for (i, p) in placed.enumerated() {
                #expect(p.box.inside(bounds), "label \(p.text) leaves the plot")
                #expect(requests[p.request].texts.contains(p.text))
                #expect(abs(p.box.width - ChartLayout.textWidth(p.text, size: 10)) < 1e-9)
                for m in markers { #expect(!p.box.overlaps(m), "label \(p.text) covers a marker") }
                for q in placed[(i + 1)...] { #expect(!p.box.overlaps(q.box), "labels \(p.text) and \(q.text) overlap") }
                if let ld = p.leader {
                    for q in placed { #expect(!ld.crosses(q.box), "the leader of \(p.text) crosses \(q.text)") }
                    for (k, m) in markers.enumerated() where k != p.request { #expect(!ld.crosses(m), "the leader of \(p.text) crosses a marker") }
                }
            }
            // Sparse points are all labelled in full.
            if points == 12 { #expect(placed.count == 12 && placed.allSatisfy { $0.text == requests[$0.request].texts[0] }) }
            if points == 60 { #expect(placed.count >= 50, "\(placed.count) of 60 labelled") }
            // The same input, the same placement.
            let again = ChartLayout.placeLabels(requests, size: 10, bounds: bounds, obstacles: markers, segments: [line])
            #expect(again.map { "\($0.request) \($0.text) \($0.x) \($0.y)" } == placed.map { "\($0.request) \($0.text) \($0.x) \($0.y)" })
        }
    }

    // MARK: - The charts, measured from their SVG

    /// The texts and marks of a (not nested) chart as boxes, measured with the engine's glyph widths.
    final class Measure: NSObject, XMLParserDelegate {
        var width = 0.0, height = 0.0
        var texts: [(text: String, quad: [(Double, Double)])] = []
        var marks: [(kind: String, quad: [(Double, Double)])] = []
        var open: [String: String]?
        var content = ""
        var depth = 0

        static func of(_ svg: String) -> Measure {
            let m = Measure()
            let p = XMLParser(data: Data(svg.utf8))
            p.delegate = m
            #expect(p.parse(), "the chart is not XML: \(String(describing: p.parserError))")
            return m
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
            func d(_ k: String) -> Double { Double(a[k] ?? "") ?? 0 }
            if name == "svg" { depth += 1; if depth == 1 { width = d("width"); height = d("height") } }
            if name == "text" { open = a; content = "" }
            let cls = a["class"] ?? ""
            guard ["pt", "mk", "bar", "key"].contains(cls) else { return }
            switch name {
            case "circle": marks.append((cls, Self.rect(d("cx") - d("r"), d("cy") - d("r"), d("cx") + d("r"), d("cy") + d("r"))))
            case "rect": marks.append((cls, Self.rect(d("x"), d("y"), d("x") + d("width"), d("y") + d("height"))))
            case "path":
                let nums = (a["d"] ?? "").split(whereSeparator: { " MLZ".contains($0) }).compactMap { Double($0) }
                let xs = stride(from: 0, to: nums.count - 1, by: 2).map { nums[$0] }, ys = stride(from: 1, to: nums.count, by: 2).map { nums[$0] }
                if let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() { marks.append((cls, Self.rect(x0, y0, x1, y1))) }
            default: break
            }
        }
        func parser(_ parser: XMLParser, foundCharacters s: String) { if open != nil { content += s } }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "svg" { depth -= 1 }
            guard name == "text", let a = open else { return }
            open = nil
            guard !content.trimmingCharacters(in: .whitespaces).isEmpty else { return }
            func d(_ k: String) -> Double { Double(a[k] ?? "") ?? 0 }
            let anchor = ChartLayout.Anchor(rawValue: a["text-anchor"] ?? "start") ?? .start
            let b = ChartLayout.textBox(content, x: d("x"), y: d("y"), size: d("font-size"), anchor: anchor, bold: a["font-weight"] == "bold")
            var q = Self.rect(b.x0, b.y0, b.x1, b.y1)
            // rotate(angle cx cy)
            if let t = a["transform"], t.hasPrefix("rotate(") {
                let v = t.dropFirst(7).dropLast().split(separator: " ").compactMap { Double($0) }
                if v.count == 3 {
                    let th = v[0] * .pi / 180, c = cos(th), s = sin(th)
                    q = q.map { (v[1] + ($0.0 - v[1]) * c - ($0.1 - v[2]) * s, v[2] + ($0.0 - v[1]) * s + ($0.1 - v[2]) * c) }
                }
            }
            texts.append((content, q))
        }

        static func rect(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> [(Double, Double)] { [(x0, y0), (x1, y0), (x1, y1), (x0, y1)] }

        /// How far two convex quads overlap (separating axes): <= 0 when apart.
        static func depth(_ a: [(Double, Double)], _ b: [(Double, Double)]) -> Double {
            var best = Double.infinity
            for poly in [a, b] {
                for i in poly.indices {
                    let p = poly[i], q = poly[(i + 1) % poly.count]
                    var ax = q.1 - p.1, ay = p.0 - q.0
                    let l = (ax * ax + ay * ay).squareRoot()
                    guard l > 1e-9 else { continue }
                    ax /= l; ay /= l
                    let pa = a.map { $0.0 * ax + $0.1 * ay }, pb = b.map { $0.0 * ax + $0.1 * ay }
                    best = min(best, min(pa.max()!, pb.max()!) - max(pa.min()!, pb.min()!))
                }
            }
            return best
        }

        /// Every problem: texts over texts or marks, anything outside the chart.
        func problems() -> [String] {
            var out: [String] = []
            for (t, q) in texts where q.contains(where: { $0.0 < -0.5 || $0.1 < -0.5 || $0.0 > width + 0.5 || $0.1 > height + 0.5 }) { out.append("outside: \(t)") }
            for (k, q) in marks where q.contains(where: { $0.0 < -0.5 || $0.1 < -0.5 || $0.0 > width + 0.5 || $0.1 > height + 0.5 }) { out.append("outside: a \(k)") }
            // Boxes first (cheap), the exact test only where those meet.
            func box(_ q: [(Double, Double)]) -> ChartLayout.Box {
                ChartLayout.Box(x0: q.map(\.0).min()!, y0: q.map(\.1).min()!, x1: q.map(\.0).max()!, y1: q.map(\.1).max()!)
            }
            let tb = texts.map { box($0.quad) }, mb = marks.map { box($0.quad) }
            for i in texts.indices {
                for j in (i + 1)..<texts.count where tb[i].overlaps(tb[j], tolerance: 0.5) && Self.depth(texts[i].quad, texts[j].quad) > 0.5 {
                    out.append("text over text: \(texts[i].text) / \(texts[j].text)")
                }
                for (k, m) in marks.enumerated() where tb[i].overlaps(mb[k], tolerance: 0.5) && Self.depth(texts[i].quad, m.quad) > 0.5 {
                    out.append("text over a \(m.kind): \(texts[i].text)")
                }
            }
            return out
        }
    }

    /// 27 curves of 7 points with long names: as one crowded chart and as small multiples of 9 panels.
    static func curves(panel: Int?) -> [ReportChart.Series] {
        var r = LCG(state: 11)
        let loads = [1, 4, 8, 16, 32, 64, 128]
        return (0..<27).filter { panel == nil || $0 / 3 == panel! }.map { s in
            var x = 50 + r.next() * 100, y = 5 + r.next() * 10
            return ReportChart.Series(name: "model=qwen1.5-moe-a2.7b strategy=hybrid workload=prefill-heavy \(s)", points: loads.map { c in
                x += r.next() * 300; y += r.next() * 8
                return ReportChart.Point(x: x, y: y, label: "\(c)", tip: "\(s) \(c)")
            }, connect: true, labelPoints: true)
        }
    }

    @Test func manySeriesChartsKeepEveryTextClear() {
        let crowded = ReportChart.xy(title: "A long title that has to wrap because it is far wider than the chart it names, twice over and more",
                                     xLabel: "output throughput (tok/s)", yLabel: "P99 TPOT (ms)", series: Self.curves(panel: nil), width: 700, height: 460)
        let multiples = ReportChart.smallMultiples(title: "27 curves as small multiples", xLabel: "output throughput (tok/s)", yLabel: "P99 TPOT (ms)",
                                                   panels: (0..<9).map { (p: Int) in ReportChart.Panel(title: "panel \(p) model=mixtral-8x7b, strategy=tp", series: Self.curves(panel: p)) },
                                                   reference: ReportChart.Reference(y: 20, name: "a reference"))
        let cats = (0..<189).map { "model-\($0 % 3) strategy-\($0 % 9) workload \($0)" }
        let bars = ReportChart.stackedBars(title: "189 bars", unit: "ms per step", categories: cats,
                                           components: ["attention", "dense GEMMs", "experts", "communication", "engine overhead"].enumerated().map { k, nm in
                                               (nm, cats.indices.map { Double(($0 * 7 + k * 13) % 23) + 1 }) }, width: 1040)
        var barSeries: [(name: String, values: [Double?])] = []
        for s in 0..<14 {
            let values: [Double?] = (0..<12).map { (c: Int) -> Double? in c == s ? nil : Double(1000 + 97 * c + 31 * s) }
            barSeries.append((name: "series number \(s)", values: values))
        }
        let grouped = SVGChart.groupedBars(title: "Throughput by strategy at concurrency 128, decode-heavy (cf. paper Fig. 2) and more words",
                                           categories: (0..<12).map { "configuration-\($0) (EP=\($0 % 4 + 1))" },
                                           series: barSeries,
                                           yLabel: "output throughput (tok/s)", width: 720, height: 420, valueLabels: true)
        let lines = SVGChart.lines(title: "Mixtral-8x7B: decode-heavy workload, a title too long for the panel",
                                   series: (0..<27).map { s in SVGChart.Series(name: "curve \(s) with a longer name", points: [1.0, 4, 8, 16, 32, 64, 128].map { ($0, Double(s * 10) + $0) }) },
                                   xLabel: "concurrency", yLabel: "output tok/s", logX: true, width: 420, height: 520)
        for (name, svg) in [("crowded xy", crowded), ("small multiples", multiples), ("189 stacked bars", bars), ("grouped bars", grouped), ("lines", lines)] {
            let m = Measure.of(svg)
            #expect(m.texts.count > 20 && !m.marks.isEmpty, "\(name): \(m.texts.count) texts, \(m.marks.count) marks")
            let p = m.problems()
            #expect(p.isEmpty, "\(name): \(p.count) problems:\n\(p.prefix(20).joined(separator: "\n"))")
        }
        // Many rows wrap into columns instead of a page-long chart.
        #expect(Measure.of(bars).height < 1200)
        // Every point keeps its tooltip marker, labelled or not.
        #expect(multiples.components(separatedBy: "class=\"pt\"").count - 1 == 27 * 7)
        #expect(crowded == ReportChart.xy(title: "A long title that has to wrap because it is far wider than the chart it names, twice over and more",
                                          xLabel: "output throughput (tok/s)", yLabel: "P99 TPOT (ms)", series: Self.curves(panel: nil), width: 700, height: 460))
    }
}
