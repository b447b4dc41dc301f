// SVGChart: tiny dependency-free SVG 1.1 chart writer (grouped bars, lines, panels).
// Output is deterministic text: numbers are formatted by a fixed helper (no locale), element
// order follows input order, and no ids are emitted (so charts can be nested in panels).

import Foundation

public enum SVGChart {
    /// One line-chart series. `dashed` draws the line with a dash pattern.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool
        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    /// The series colours (`ChartLayout.palette`): series i takes `ChartLayout.style(i)`.
    public static var palette: [String] { ChartLayout.palette }

    static let font = ChartLayout.font

    // MARK: - Grouped bars

    /// Grouped bar chart: one group per category, one bar per series (`nil` = missing, marked "n/a").
    /// The y axis starts at 0 (or below, if a value is negative) with 1/2/5×10^k ticks. Every text is measured: the
    /// title wraps, category labels turn (and thin out) when they do not fit, value labels are drawn only where they
    /// overlap nothing, and the legend is packed into columns.
    public static func groupedBars(title: String, categories: [String], series: [(name: String, values: [Double?])],
                                   yLabel: String, width: Int = 720, height: Int = 420,
                                   valueLabels: Bool = false) -> String {
        let W = Double(width), H = Double(height)
        let values = series.flatMap { $0.values.compactMap { $0 } }.filter { $0.isFinite }
        // Value labels need headroom above the tallest bar.
        let headroom = valueLabels ? 1.12 : 1.0
        let ticks = niceTicks(min: min(0, (values.min() ?? 0) * headroom), max: max(0, (values.max() ?? 0) * headroom))
        let yLo = ticks.first!, yHi = ticks.last!
        let tickLabels = ticks.map { tickLabel($0, step: ticks.count > 1 ? ticks[1] - ticks[0] : 1) }

        // Layout: legend rows and category label rotation decide the bottom margin.
        var left = 18 + 14 + (tickLabels.map { textWidth($0, 11) }.max() ?? 10) + 8
        let right = 16.0
        let head = titleBlock(title, width: W)
        let top = head.bottom
        let legend = ChartLayout.legend(series.map(\.name), maxWidth: W - 20)
        let groupW0 = (W - left - right) / Double(max(categories.count, 1))
        let maxCat0 = categories.map { textWidth($0, 11) }.max() ?? 0
        let rotate = maxCat0 > groupW0 - 4
        // Rotated labels are cut to 28 characters; the first one must not run off the left edge.
        let catLabels = rotate ? categories.map { $0.count > 28 ? String($0.prefix(27)) + "…" : $0 } : categories
        let maxCat = catLabels.map { textWidth($0, 11) }.max() ?? 0
        if rotate, let first = catLabels.first {
            let need = 0.866 * textWidth(first, 11) + 10 - groupW0 / 2
            if need > left { left = min(need, W * 0.3) }
        }
        // A label turned by 30° reaches down 0.5 of its width plus its own height.
        let catH = rotate ? maxCat * 0.5 + ChartLayout.lineHeight(11) + 4 : 16
        let bottom = 8 + catH + 8 + legend.height + 6
        let plot = Rect(x: left, y: top, w: W - left - right, h: max(H - top - bottom, 40))
        let yOf = { (v: Double) in plot.y + plot.h * (1 - (v - yLo) / (yHi - yLo)) }

        var s = header(width: width, height: height, title: head)
        s += yGrid(ticks: ticks, labels: tickLabels, plot: plot, yOf: yOf)
        s += yAxisTitle(yLabel, plot: plot, tickLabels: tickLabels)

        let nC = max(categories.count, 1), nS = max(series.count, 1)
        let groupW = plot.w / Double(nC)
        let barW = groupW * 0.8 / Double(nS)
        let zeroY = yOf(0)
        // Turned labels sit groupW/2 apart across their direction: every k-th one when a line does not fit.
        let every = rotate ? max(1, Int((ChartLayout.lineHeight(11) + 1) / max(groupW * 0.5, 1e-9)) + 1) : 1
        var bars: [ChartLayout.Box] = []
        var labels: [(box: ChartLayout.Box, svg: String)] = []
        for (ci, (cat, catLabel)) in zip(categories, catLabels).enumerated() {
            let gx = plot.x + groupW * Double(ci) + groupW * 0.1
            for (si, ser) in series.enumerated() {
                let bx = gx + barW * Double(si)
                let color = ChartLayout.style(si).colour
                let v: Double? = ci < ser.values.count ? ser.values[ci] : nil
                guard let v, v.isFinite else {
                    // Missing bar: a small grey "n/a" at the baseline, when it fits the bar's slot.
                    let cx = bx + barW / 2
                    if barW < 14 {
                        if barW >= ChartLayout.lineHeight(8) {
                            s += "<text x=\"\(n(cx + 3))\" y=\"\(n(zeroY - 3))\" font-size=\"8\" fill=\"#777777\" transform=\"rotate(-90 \(n(cx + 3)) \(n(zeroY - 3)))\">n/a</text>\n"
                        }
                    } else {
                        s += "<text x=\"\(n(cx))\" y=\"\(n(zeroY - 3))\" font-size=\"8\" fill=\"#777777\" text-anchor=\"middle\">n/a</text>\n"
                    }
                    continue
                }
                let y0 = min(yOf(v), zeroY), h = abs(yOf(v) - zeroY)
                s += "<rect class=\"bar\" x=\"\(n(bx))\" y=\"\(n(y0))\" width=\"\(n(max(barW - 1, 0.5)))\" height=\"\(n(h))\" fill=\"\(color)\"><title>\(xml(ser.name)) / \(xml(cat)): \(xml(valueLabel(v)))</title></rect>\n"
                bars.append(ChartLayout.Box(x: bx, y: y0, w: max(barW - 1, 0.5), h: h))
                if valueLabels {
                    let label = valueLabel(v), cx = bx + barW / 2
                    let w = textWidth(label, 9)
                    if w <= barW + 2 {
                        let ly = v >= 0 ? y0 - 3 : y0 + h + 10
                        labels.append((ChartLayout.textBox(label, x: cx, y: ly, size: 9, anchor: .middle),
                                       "<text x=\"\(n(cx))\" y=\"\(n(ly))\" font-size=\"9\" fill=\"#333333\" text-anchor=\"middle\">\(xml(label))</text>\n"))
                    } else {
                        // Turned upright: the text runs up from just above the bar (or down from below it).
                        let tx = cx + 3, ly = v >= 0 ? y0 - 3 : y0 + h + 3 + w
                        let box = ChartLayout.Box(x0: tx - ChartLayout.ascent * 9, y0: ly - w, x1: tx + ChartLayout.descent * 9, y1: ly)
                        labels.append((box, "<text x=\"\(n(tx))\" y=\"\(n(ly))\" font-size=\"9\" fill=\"#333333\" transform=\"rotate(-90 \(n(tx)) \(n(ly)))\">\(xml(label))</text>\n"))
                    }
                }
            }
            // Category label.
            guard ci % every == 0 else { continue }
            let cx = plot.x + groupW * (Double(ci) + 0.5), cy = plot.y + plot.h + 16
            if rotate {
                s += "<text x=\"\(n(cx))\" y=\"\(n(cy))\" font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-30 \(n(cx)) \(n(cy)))\">\(xml(catLabel))</text>\n"
            } else {
                s += "<text x=\"\(n(cx))\" y=\"\(n(cy))\" font-size=\"11\" text-anchor=\"middle\">\(xml(catLabel))</text>\n"
            }
        }
        // Value labels: only those inside the plot's headroom that overlap no bar and no label kept before them.
        let area = ChartLayout.Box(x0: plot.x, y0: plot.y - 4, x1: plot.x + plot.w, y1: plot.y + plot.h + 14)
        var kept: [ChartLayout.Box] = []
        for l in labels where l.box.inside(area) && !bars.contains(where: { $0.overlaps(l.box, tolerance: 0.5) }) && !kept.contains(where: { $0.overlaps(l.box.inset(-1)) }) {
            kept.append(l.box)
            s += l.svg
        }
        s += axes(plot: plot, zeroY: zeroY)
        s += drawLegend(legend, y: H - legend.height - 4, width: W, style: { ChartLayout.style($0) }, dashed: { _ in false }, markers: false, bars: true)
        return s + "</svg>\n"
    }

    // MARK: - Lines

    /// Line chart. With `logX`, the x axis is log2 and ticks are the distinct data x values
    /// (thinned if crowded), e.g. 1, 4, 8, …, 128; non-positive x are dropped. Series i takes `ChartLayout.style(i)`
    /// (colour, dash and marker together); `dashed` series are drawn dashed whatever their style.
    public static func lines(title: String, series: [Series], xLabel: String, yLabel: String, logX: Bool = false,
                             width: Int = 720, height: Int = 420, markers: Bool = true) -> String {
        let W = Double(width), H = Double(height)
        let pts: [[(x: Double, y: Double)]] = series.map { s in
            s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) }
        }
        let all = pts.flatMap { $0 }
        let ys = all.map(\.y), xs = all.map(\.x)
        var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
        if yMin >= 0 && yMin <= 0.4 * yMax { yMin = 0 }
        let yt = niceTicks(min: yMin, max: yMax)
        let yLo = yt.first!, yHi = yt.last!
        let yLabels = yt.map { tickLabel($0, step: yt.count > 1 ? yt[1] - yt[0] : 1) }

        let left = 18 + 14 + (yLabels.map { textWidth($0, 11) }.max() ?? 10) + 8
        let right = 20.0
        let head = titleBlock(title, width: W)
        let top = head.bottom
        let legend = ChartLayout.legend(series.map(\.name), maxWidth: W - 20)
        let bottom = 8 + 14 + 6 + 14 + 8 + legend.height + 6
        let plot = Rect(x: left, y: top, w: W - left - right, h: max(H - top - bottom, 40))
        let yOf = { (v: Double) in plot.y + plot.h * (1 - (v - yLo) / (yHi - yLo)) }
        // X scale and ticks.
        var xOf: (Double) -> Double
        var xTicks: [(Double, String)] = []
        if logX {
            let lx = xs.map { log2($0) }
            var lo = lx.min() ?? 0, hi = lx.max() ?? 1
            if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
            let pad = (hi - lo) * 0.03
            lo -= pad; hi += pad
            xOf = { plot.x + plot.w * (log2($0) - lo) / (hi - lo) }
            var cand = Array(Set(xs)).sorted()
            if cand.count > 16 || cand.count < 2 {
                cand = Array(Int(floor(lo))...Int(ceil(hi))).map { pow(2, Double($0)) }.filter { log2($0) >= lo && log2($0) <= hi }
            }
            // Keep labels from colliding: keep the largest; walk down keeping those far enough left.
            var kept: [Double] = []
            for v in cand.reversed() {
                let label = tickLabel(v, step: v)
                let gap = textWidth(label, 11) / 2 + (kept.last.map { textWidth(tickLabel($0, step: $0), 11) / 2 } ?? 0) + 6
                if let last = kept.last, xOf(last) - xOf(v) < gap { continue }
                kept.append(v)
            }
            xTicks = kept.reversed().map { ($0, tickLabel($0, step: $0)) }
        } else {
            var lo = xs.min() ?? 0, hi = xs.max() ?? 1
            if lo >= 0 && lo <= 0.25 * hi { lo = 0 }
            var t = niceTicks(min: lo, max: hi, target: 8)
            // Thin if labels would collide.
            let step0 = t.count > 1 ? t[1] - t[0] : 1
            let widest = t.map { textWidth(tickLabel($0, step: step0), 11) }.max() ?? 10
            while t.count > 2, plot.w / Double(t.count - 1) < widest + 10 {
                t = niceTicks(min: lo, max: hi, target: max(2, (t.count - 1) / 2))
            }
            let xlo = t.first!, xhi = t.last!
            xOf = { plot.x + plot.w * ($0 - xlo) / (xhi - xlo) }
            let step = t.count > 1 ? t[1] - t[0] : 1
            xTicks = t.map { ($0, tickLabel($0, step: step)) }
        }

        var s = header(width: width, height: height, title: head)
        s += yGrid(ticks: yt, labels: yLabels, plot: plot, yOf: yOf)
        for (v, label) in xTicks {
            let x = xOf(v)
            s += "<line x1=\"\(n(x))\" y1=\"\(n(plot.y))\" x2=\"\(n(x))\" y2=\"\(n(plot.y + plot.h))\" stroke=\"#e6e6e6\" stroke-width=\"1\"/>\n"
            s += "<line x1=\"\(n(x))\" y1=\"\(n(plot.y + plot.h))\" x2=\"\(n(x))\" y2=\"\(n(plot.y + plot.h + 4))\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
            s += "<text x=\"\(n(x))\" y=\"\(n(plot.y + plot.h + 16))\" font-size=\"11\" text-anchor=\"middle\">\(xml(label))</text>\n"
        }
        s += yAxisTitle(yLabel, plot: plot, tickLabels: yLabels)
        if !xLabel.isEmpty {
            let label = ChartLayout.fit(xLabel, size: 12, width: plot.w)
            s += "<text x=\"\(n(plot.x + plot.w / 2))\" y=\"\(n(plot.y + plot.h + 34))\" font-size=\"12\" text-anchor=\"middle\">\(xml(label))</text>\n"
        }
        s += axes(plot: plot, zeroY: yLo <= 0 && yHi >= 0 ? yOf(0) : plot.y + plot.h)

        let dashed = { (i: Int) in i < series.count && series[i].dashed }
        for (si, ser) in series.enumerated() {
            let st = ChartLayout.style(si)
            let p = pts[si]
            if p.isEmpty { continue }
            let d = p.enumerated().map { (i, q) in (i == 0 ? "M" : "L") + n(xOf(q.x)) + " " + n(yOf(q.y)) }.joined(separator: " ")
            let dash = (ser.dashed ? "6 4" : st.dash).map { " stroke-dasharray=\"\($0)\"" } ?? ""
            s += "<path class=\"line\" d=\"\(d)\" fill=\"none\" stroke=\"\(st.colour)\" stroke-width=\"2\" stroke-linejoin=\"round\"\(dash)><title>\(xml(ser.name))</title></path>\n"
            if markers {
                for q in p { s += ChartLayout.marker(st.marker, x: xOf(q.x), y: yOf(q.y), r: 3.6, colour: st.colour, attributes: " class=\"mk\"") }
            }
        }
        s += drawLegend(legend, y: H - legend.height - 4, width: W, style: { ChartLayout.style($0) }, dashed: dashed, markers: markers, bars: false)
        return s + "</svg>\n"
    }

    // MARK: - Panels

    /// Lays charts out on a grid (row-major), nesting each as `<svg x= y= width= height= viewBox=>`.
    public static func panels(_ svgs: [String], columns: Int, panelWidth: Int, panelHeight: Int) -> String {
        let cols = max(1, columns)
        let rows = (svgs.count + cols - 1) / cols
        let W = cols * panelWidth, H = max(rows, 1) * panelHeight
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(W)\" height=\"\(H)\" viewBox=\"0 0 \(W) \(H)\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(W)\" height=\"\(H)\" fill=\"#ffffff\"/>\n"
        for (i, svg) in svgs.enumerated() {
            let x = (i % cols) * panelWidth, y = (i / cols) * panelHeight
            s += nested(svg, x: x, y: y, w: panelWidth, h: panelHeight)
        }
        return s + "</svg>\n"
    }

    static func nested(_ svg: String, x: Int, y: Int, w: Int, h: Int) -> String {
        var body = Substring(svg)
        // Drop an XML declaration / doctype / comments before the root element.
        guard let open = body.range(of: "<svg") else { return "" }
        body = body[open.lowerBound...]
        guard let tagEnd = body.firstIndex(of: ">") else { return "" }
        let tag = String(body[body.startIndex..<tagEnd])
        var inner = body[body.index(after: tagEnd)...]
        if let close = inner.range(of: "</svg>", options: .backwards) { inner = inner[..<close.lowerBound] }
        let viewBox = attribute("viewBox", in: tag)
            ?? "0 0 \(attribute("width", in: tag) ?? String(w)) \(attribute("height", in: tag) ?? String(h))"
        // The chart's font goes with it (attributes of the root element are not inherited by what is nested).
        let fontFamily = attribute("font-family", in: tag).map { " font-family=\"\($0)\"" } ?? ""
        return "<svg x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(h)\" viewBox=\"\(xml(viewBox))\" preserveAspectRatio=\"xMidYMid meet\"\(fontFamily)>"
            + inner + "</svg>\n"
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        guard let r = tag.range(of: " \(name)=\"") else { return nil }
        let rest = tag[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    // MARK: - Ticks and number formatting

    /// "Nice" ticks (steps 1/2/5 × 10^k) covering [min, max], about `target` intervals.
    public static func niceTicks(min lo: Double, max hi: Double, target: Int = 5) -> [Double] {
        var lo = lo.isFinite ? lo : 0, hi = hi.isFinite ? hi : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo < 1e-12 {
            if hi == 0 { hi = 1 } else if lo > 0 { lo = 0 } else { hi = 0 }
        }
        let step = niceStep((hi - lo) / Double(Swift.max(target, 1)))
        let first = (lo / step + 1e-9).rounded(.down), last = (hi / step - 1e-9).rounded(.up)
        var out: [Double] = []
        var k = first
        while k <= last + 1e-9 { out.append(k * step); k += 1 }
        return out.map { abs($0) < step * 1e-9 ? 0 : $0 }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let mag = pow(10, (log10(raw)).rounded(.down))
        let f = raw / mag
        let nice: Double = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10
        return nice * mag
    }

    /// Fixed-point formatting with `decimals` digits, '.' separator, no locale.
    public static func format(_ v: Double, decimals: Int) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "inf" : "-inf") }
        let d = Swift.max(0, Swift.min(decimals, 12))
        let scale = pow(10, Double(d))
        let r = (abs(v) * scale).rounded()
        guard r < 9e18 else { return (v < 0 ? "-" : "") + "\(abs(v))" }
        let iv = UInt64(r)
        let p = UInt64(scale)
        let ip = iv / p, fp = iv % p
        var s = (v < 0 && iv != 0 ? "-" : "") + String(ip)
        if d > 0 {
            let f = String(fp)
            s += "." + String(repeating: "0", count: d - f.count) + f
        }
        return s
    }

    /// Tick label: decimals from the step; thousands as "k", millions as "M" for big values.
    static func tickLabel(_ v: Double, step: Double) -> String {
        let a = abs(v)
        if a >= 1e6, step >= 1e5 { return trimmed(format(v / 1e6, decimals: decimalsFor(step / 1e6))) + "M" }
        if a >= 1e4, step >= 1e3 { return trimmed(format(v / 1e3, decimals: decimalsFor(step / 1e3))) + "k" }
        return trimmed(format(v, decimals: decimalsFor(step)))
    }

    static func decimalsFor(_ step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        if step >= 1 { return 0 }
        return Swift.min(12, Int((-log10(step) - 1e-9).rounded(.up)))
    }

    /// Value label with ~3 significant digits.
    static func valueLabel(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return trimmed(format(v / 1e6, decimals: 2)) + "M" }
        if a >= 1e4 { return trimmed(format(v / 1e3, decimals: 1)) + "k" }
        if a >= 100 { return format(v, decimals: 0) }
        if a >= 10 { return trimmed(format(v, decimals: 1)) }
        if a >= 0.01 || a == 0 { return trimmed(format(v, decimals: a == 0 ? 0 : (a >= 1 ? 2 : 3))) }
        return trimmed(format(v, decimals: 6))
    }

    static func trimmed(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = Substring(s)
        while t.hasSuffix("0") { t = t.dropLast() }
        if t.hasSuffix(".") { t = t.dropLast() }
        return t == "-0" ? "0" : String(t)
    }

    /// Coordinates: one decimal place.
    static func n(_ v: Double) -> String { trimmed(format(v, decimals: 1)) }

    /// XML text/attribute escaping; drops characters not allowed in XML 1.0.
    public static func xml(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                if c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF { out += " " } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    // MARK: - Drawing helpers

    struct Rect { var x, y, w, h: Double }

    /// Text width for the chart font (see `ChartLayout.textWidth`).
    static func textWidth(_ s: String, _ size: Double) -> Double { ChartLayout.textWidth(s, size: size) }

    /// A legend laid out by `ChartLayout.legend`, drawn with its top at `y`, centred in `width`.
    static func drawLegend(_ legend: ChartLayout.Legend, y: Double, width: Double, style: (Int) -> ChartLayout.Style,
                           dashed: (Int) -> Bool, markers: Bool, bars: Bool) -> String {
        var s = ""
        let dx = 10.0   // the legend was packed into width - 20
        for (i, pos) in legend.positions.enumerated() {
            let st = style(i)
            let x = dx + pos.x, cy = y + pos.y
            if bars {
                s += "<rect class=\"key\" x=\"\(n(x + 4))\" y=\"\(n(cy - 5))\" width=\"14\" height=\"10\" fill=\"\(st.colour)\"/>\n"
            } else {
                let dash = (dashed(i) ? "6 4" : st.dash).map { " stroke-dasharray=\"\($0)\"" } ?? ""
                s += "<line x1=\"\(n(x))\" y1=\"\(n(cy))\" x2=\"\(n(x + 22))\" y2=\"\(n(cy))\" stroke=\"\(st.colour)\" stroke-width=\"2\"\(dash)/>\n"
                if markers { s += ChartLayout.marker(st.marker, x: x + 11, y: cy, r: 3.6, colour: st.colour, attributes: " class=\"key\"") }
            }
            s += "<text x=\"\(n(x + 26))\" y=\"\(n(ChartLayout.baseline(centredOn: cy, size: 11)))\" font-size=\"11\">\(xml(legend.labels[i]))</text>\n"
        }
        return s
    }

    /// A title's lines and size (wrapped or shrunk to fit the width) and where the plot may start below it.
    struct TitleBlock { var lines: [String]; var size: Double; var bottom: Double }

    static func titleBlock(_ title: String, width: Double) -> TitleBlock {
        guard !title.isEmpty else { return TitleBlock(lines: [], size: 15, bottom: 16) }
        let t = ChartLayout.title(title, width: width - 16, size: 15)
        let lh = (t.size * 1.25).rounded()
        return TitleBlock(lines: t.lines, size: t.size, bottom: 40 + lh * Double(t.lines.count - 1))
    }

    static func header(width: Int, height: Int, title: TitleBlock) -> String {
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"\(font)\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        let lh = (title.size * 1.25).rounded()
        for (i, line) in title.lines.enumerated() {
            s += "<text x=\"\(n(Double(width) / 2))\" y=\"\(n(24 + lh * Double(i)))\" font-size=\"\(n(title.size))\" font-weight=\"bold\" text-anchor=\"middle\">\(xml(line))</text>\n"
        }
        return s
    }

    static func yGrid(ticks: [Double], labels: [String], plot: Rect, yOf: (Double) -> Double) -> String {
        var s = ""
        for (t, label) in zip(ticks, labels) {
            let y = yOf(t)
            s += "<line x1=\"\(n(plot.x))\" y1=\"\(n(y))\" x2=\"\(n(plot.x + plot.w))\" y2=\"\(n(y))\" stroke=\"#e6e6e6\" stroke-width=\"1\"/>\n"
            s += "<text x=\"\(n(plot.x - 6))\" y=\"\(n(y + 4))\" font-size=\"11\" text-anchor=\"end\">\(xml(label))</text>\n"
        }
        return s
    }

    static func yAxisTitle(_ label: String, plot: Rect, tickLabels: [String]) -> String {
        guard !label.isEmpty else { return "" }
        let cy = plot.y + plot.h / 2
        let x = n(max(16, plot.x - (tickLabels.map { textWidth($0, 11) }.max() ?? 10) - 22))
        let text = ChartLayout.fit(label, size: 12, width: plot.h)
        return "<text x=\"\(x)\" y=\"\(n(cy))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 \(x) \(n(cy)))\">\(xml(text))</text>\n"
    }

    static func axes(plot: Rect, zeroY: Double) -> String {
        "<line x1=\"\(n(plot.x))\" y1=\"\(n(plot.y))\" x2=\"\(n(plot.x))\" y2=\"\(n(plot.y + plot.h))\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
            + "<line x1=\"\(n(plot.x))\" y1=\"\(n(zeroY))\" x2=\"\(n(plot.x + plot.w))\" y2=\"\(n(zeroY))\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
    }
}
