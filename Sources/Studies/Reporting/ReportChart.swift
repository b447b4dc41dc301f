import Foundation

/// Charts for the HTML reports: SVG with one marker of class "pt" per data point carrying its tooltip, so a reader can
/// hover any point and a test can count them. Laid out by `ChartLayout`: series differ in colour, dash and marker
/// together; many series become small multiples (one small chart per group, on shared axes); the legend is packed into
/// columns that cannot overlap; point labels go where they overlap no other label and no marker, inside the plot, or
/// are left to the tooltip; bar charts with many rows wrap into columns of smaller bars instead of growing without end.
public enum ReportChart {
    public struct Point: Sendable {
        public var x: Double, y: Double
        /// Shown beside the point when the series labels its points.
        public var label: String
        /// The tooltip.
        public var tip: String
        /// Drawn instead of `label` where the full label would overlap another label or a marker.
        public var shortLabel: String
        public init(x: Double, y: Double, label: String = "", shortLabel: String = "", tip: String) {
            self.x = x; self.y = y; self.label = label; self.tip = tip; self.shortLabel = shortLabel
        }
    }
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        /// Joined by a line in x order (a curve); otherwise markers only.
        public var connect: Bool
        public var labelPoints: Bool
        public init(name: String, points: [Point], connect: Bool, labelPoints: Bool = false) {
            self.name = name; self.points = points; self.connect = connect; self.labelPoints = labelPoints
        }
    }
    /// One small chart of a grid: its title and its series. A series name means the same style in every panel.
    public struct Panel: Sendable {
        public var title: String
        public var series: [Series]
        public init(title: String, series: [Series]) { self.title = title; self.series = series }
    }
    /// A horizontal reference line (e.g. y = 1, "exact"), named in the legend.
    public struct Reference: Sendable {
        public var y: Double
        public var name: String
        public init(y: Double, name: String) { self.y = y; self.name = name }
    }

    static func n(_ v: Double) -> String { SVGChart.n(v) }
    static func esc(_ s: String) -> String { HTMLReport.escape(s) }
    static func tick(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v == v.rounded() && abs(v) < 1e15 { return String(format: "%.0f", v) }
        if abs(v) >= 1000 { return String(format: "%.0f", v) }
        if abs(v) >= 10 { return String(format: "%.0f", v) }
        if abs(v) >= 1 { return String(format: "%.1f", v) }
        return String(format: "%.2g", v)
    }
    public static func fmt(_ v: Double) -> String {
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 10 { return String(format: "%.1f", v) }
        return String(format: "%.2f", v)
    }

    static let tickSize = 11.0, labelSize = 10.0

    /// Ticks for [lo, hi] with about `target` intervals, halved until `fits(ticks)`.
    static func ticks(_ lo: Double, _ hi: Double, target: Int, fits: ([Double]) -> Bool) -> [Double] {
        var t = SVGChart.niceTicks(min: lo, max: hi, target: target)
        var tg = target
        while t.count > 2 && !fits(t) && tg > 1 {
            tg = max(1, tg / 2)
            t = SVGChart.niceTicks(min: lo, max: hi, target: tg)
        }
        return t
    }

    static func svgOpen(_ w: Double, _ h: Double) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"\(ChartLayout.font)\" role=\"img\">\n"
    }

    /// The chart's title, wrapped or made smaller to fit; returns the SVG and the y below it.
    static func titleSVG(_ title: String, width W: Double) -> (svg: String, bottom: Double) {
        guard !title.isEmpty else { return ("", 10) }
        let t = ChartLayout.title(title, width: W - 16, size: 14)
        let lh = (t.size * 1.25).rounded()
        var s = ""
        for (i, line) in t.lines.enumerated() {
            s += "<text x=\"\(n(W / 2))\" y=\"\(n(20 + lh * Double(i)))\" font-size=\"\(n(t.size))\" font-weight=\"bold\" text-anchor=\"middle\">\(esc(line))</text>\n"
        }
        return (s, 20 + lh * Double(t.lines.count - 1) + 12)
    }

    /// A scatter / line chart. Points with non-finite coordinates are left out. `height` is the whole chart's.
    public static func xy(title: String, xLabel: String, yLabel: String, series: [Series], width: Int = 900, height: Int = 440,
                          reference: Reference? = nil) -> String {
        grid(title: title, xLabel: xLabel, yLabel: yLabel, panels: [Panel(title: "", series: series)], width: width,
             panelHeight: nil, totalHeight: Double(height), minPanelWidth: Double(width), reference: reference)
    }

    /// Small multiples: one small chart per panel, side by side in as many columns as fit `minPanelWidth`, all on the
    /// same x and y scales, with one legend for every series name.
    public static func smallMultiples(title: String, xLabel: String, yLabel: String, panels: [Panel], width: Int = 1040,
                                      panelHeight: Int = 250, minPanelWidth: Int = 320, reference: Reference? = nil) -> String {
        grid(title: title, xLabel: xLabel, yLabel: yLabel, panels: panels, width: width, panelHeight: Double(panelHeight),
             totalHeight: nil, minPanelWidth: Double(minPanelWidth), reference: reference)
    }

    static func grid(title: String, xLabel: String, yLabel: String, panels rawPanels: [Panel], width: Int, panelHeight: Double?,
                     totalHeight: Double?, minPanelWidth: Double, reference: Reference?) -> String {
        let W = Double(width)
        let panels = rawPanels.map { p in
            Panel(title: p.title, series: p.series.map { s in
                Series(name: s.name, points: s.points.filter { $0.x.isFinite && $0.y.isFinite }, connect: s.connect, labelPoints: s.labelPoints)
            })
        }
        // One style per series name, in order of first appearance.
        var names: [String] = []
        var connects: [String: Bool] = [:]
        for p in panels { for s in p.series where connects[s.name] == nil { names.append(s.name); connects[s.name] = s.connect } }
        var styleIndex: [String: Int] = [:]
        for (i, nm) in names.enumerated() { styleIndex[nm] = i }
        let all = panels.flatMap { $0.series.flatMap(\.points) }
        let refY = reference.map(\.y).flatMap { $0.isFinite ? $0 : nil }
        // A little room past the largest values, so the points there keep space for their labels.
        let xLo = min(0, all.map(\.x).min() ?? 0), xMax = all.map(\.x).max() ?? 1
        let yLo = min(0, all.map(\.y).min() ?? 0, refY ?? 0), yMax = max(all.map(\.y).max() ?? 1, refY ?? -Double.infinity)
        let xHi = xMax + 0.03 * (xMax - xLo), yHi = yMax + 0.04 * (yMax - yLo)

        let (titleSVG, top0) = titleSVG(title, width: W)
        let legendNames = names + (reference.map { [$0.name] } ?? [])
        let legend = ChartLayout.legend(legendNames, maxWidth: W - 20)
        let cols = panels.count <= 1 ? 1 : max(1, min(panels.count, Int((W - 30) / max(minPanelWidth, 1))))
        let rows = max(1, (panels.count + cols - 1) / cols)
        let outerLeft = yLabel.isEmpty ? 8.0 : 30.0, outerRight = 6.0
        let cellW = (W - outerLeft - outerRight) / Double(cols)
        let panelTitleH = panels.contains { !$0.title.isEmpty } ? 24.0 : 6.0
        let tickBand = 22.0, rowGap = panels.count > 1 ? 14.0 : 0
        let bottomBand = (xLabel.isEmpty ? 4.0 : 24.0) + 8 + legend.height + 8
        let plotH: Double
        if let ph = panelHeight { plotH = max(80, ph - panelTitleH - tickBand) }
        else { plotH = max(120, (totalHeight ?? 440) - top0 - panelTitleH - tickBand - bottomBand) }
        let lh = ChartLayout.lineHeight(tickSize)
        let yt = ticks(yLo, yHi, target: 6) { t in plotH / Double(t.count - 1) >= lh + 4 }
        let yTickW = (yt.map { ChartLayout.textWidth(tick($0), size: tickSize) }.max() ?? 10) + 6
        // The last x tick label is centred on the plot's right edge: the cell keeps room for its half.
        let xt0 = SVGChart.niceTicks(min: xLo, max: xHi, target: 7)
        let rightPad = max(10, (xt0.map { ChartLayout.textWidth(tick($0), size: tickSize) }.max() ?? 10) / 2 + 4)
        let plotW = max(60, cellW - yTickW - 6 - rightPad)
        let xt = ticks(xLo, xHi, target: 7) { t in
            let w = t.map { ChartLayout.textWidth(tick($0), size: tickSize) }.max() ?? 10
            return plotW / Double(t.count - 1) >= w + 8
        }
        let (x0, x1, y0, y1) = (xt.first!, xt.last!, yt.first!, yt.last!)
        let cellH = panelTitleH + plotH + tickBand + rowGap
        let gridBottom = top0 + cellH * Double(rows) - rowGap
        let H = gridBottom + bottomBand

        var s = svgOpen(W, H) + titleSVG
        for (pi, panel) in panels.enumerated() {
            let cx = outerLeft + cellW * Double(pi % cols), cy = top0 + cellH * Double(pi / cols)
            let px = cx + yTickW + 6, py = cy + panelTitleH, pw = plotW, ph = plotH
            let X = { (v: Double) in px + pw * (v - x0) / max(x1 - x0, 1e-12) }
            let Y = { (v: Double) in py + ph * (1 - (v - y0) / max(y1 - y0, 1e-12)) }
            if !panel.title.isEmpty {
                let t = ChartLayout.fit(panel.title, size: 11, width: cellW - 8, bold: true)
                let tx = min(max(px + pw / 2, cx + 4 + ChartLayout.textWidth(t, size: 11, bold: true) / 2), cx + cellW - 4 - ChartLayout.textWidth(t, size: 11, bold: true) / 2)
                s += "<text x=\"\(n(tx))\" y=\"\(n(cy + 14))\" font-size=\"11\" font-weight=\"bold\" text-anchor=\"middle\">\(esc(t))</text>\n"
            }
            for v in yt {
                s += "<line x1=\"\(n(px))\" y1=\"\(n(Y(v)))\" x2=\"\(n(px + pw))\" y2=\"\(n(Y(v)))\" stroke=\"#e6e6e6\"/>"
                s += "<text x=\"\(n(px - 6))\" y=\"\(n(Y(v) + 3.5))\" font-size=\"11\" text-anchor=\"end\">\(tick(v))</text>\n"
            }
            for v in xt {
                s += "<line x1=\"\(n(X(v)))\" y1=\"\(n(py))\" x2=\"\(n(X(v)))\" y2=\"\(n(py + ph))\" stroke=\"#f0f0f0\"/>"
                s += "<text x=\"\(n(X(v)))\" y=\"\(n(py + ph + 17))\" font-size=\"11\" text-anchor=\"middle\">\(tick(v))</text>\n"
            }
            s += "<rect x=\"\(n(px))\" y=\"\(n(py))\" width=\"\(n(pw))\" height=\"\(n(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
            if let r = refY {
                s += "<line class=\"ref\" x1=\"\(n(px))\" y1=\"\(n(Y(r)))\" x2=\"\(n(px + pw))\" y2=\"\(n(Y(r)))\" stroke=\"#777777\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>\n"
            }
            var obstacles: [ChartLayout.Box] = []
            var requests: [ChartLayout.LabelRequest] = []
            var segments: [ChartLayout.Segment] = refY.map { [ChartLayout.Segment(x0: px, y0: Y($0), x1: px + pw, y1: Y($0))] } ?? []
            for se in panel.series {
                let st = ChartLayout.style(styleIndex[se.name] ?? 0)
                if se.connect && se.points.count > 1 {
                    let sorted = se.points.sorted { $0.x < $1.x }
                    let d = sorted.enumerated().map { ($0.offset == 0 ? "M" : "L") + n(X($0.element.x)) + " " + n(Y($0.element.y)) }.joined(separator: " ")
                    for (a, b) in zip(sorted, sorted.dropFirst()) { segments.append(ChartLayout.Segment(x0: X(a.x), y0: Y(a.y), x1: X(b.x), y1: Y(b.y))) }
                    let dash = st.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
                    s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(st.colour)\" stroke-width=\"2\"\(dash)/>\n"
                }
                let r = se.connect ? 3.8 : 4.5
                for p in se.points {
                    let mx = X(p.x), my = Y(p.y)
                    s += ChartLayout.marker(st.marker, x: mx, y: my, r: r, colour: st.colour,
                                            attributes: " class=\"pt\" data-tip=\"\(esc(p.tip))\"" + (se.connect ? "" : " fill-opacity=\"0.75\""),
                                            body: "<title>\(esc(p.tip))</title>")
                    obstacles.append(ChartLayout.markerBox(x: mx, y: my, r: r))
                    if se.labelPoints && !p.label.isEmpty {
                        requests.append(ChartLayout.LabelRequest(x: mx, y: my, texts: [p.label, p.shortLabel], radius: r))
                    }
                }
            }
            // Point labels: where they overlap no label, no marker and stay in the plot (clear of the lines if they can),
            // else the short label; else none.
            let bounds = ChartLayout.Box(x0: px + 1, y0: py + 1, x1: px + pw - 1, y1: py + ph - 1)
            for l in ChartLayout.placeLabels(requests, size: labelSize, bounds: bounds, obstacles: obstacles, segments: segments) {
                if let ld = l.leader {
                    s += "<line class=\"leader\" x1=\"\(n(ld.x0))\" y1=\"\(n(ld.y0))\" x2=\"\(n(ld.x1))\" y2=\"\(n(ld.y1))\" stroke=\"#999999\" stroke-width=\"0.8\"/>\n"
                }
                s += "<text class=\"lbl\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\" x=\"\(n(l.x))\" y=\"\(n(l.y))\" font-size=\"10\" text-anchor=\"\(l.anchor.rawValue)\" fill=\"#333\">\(esc(l.text))</text>\n"
            }
        }
        if !xLabel.isEmpty {
            let midX = outerLeft + (W - outerLeft - outerRight) / 2
            s += "<text x=\"\(n(midX))\" y=\"\(n(gridBottom + 16))\" font-size=\"12\" text-anchor=\"middle\">\(esc(ChartLayout.fit(xLabel, size: 12, width: W - outerLeft - outerRight)))</text>\n"
        }
        if !yLabel.isEmpty {
            let midY = (top0 + gridBottom) / 2
            let label = ChartLayout.fit(yLabel, size: 12, width: gridBottom - top0)
            s += "<text x=\"14\" y=\"\(n(midY))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(n(midY)))\">\(esc(label))</text>\n"
        }
        // Legend: each name's line (for curves) and marker, packed into columns.
        let ly = gridBottom + (xLabel.isEmpty ? 4 : 24) + 8
        for (i, pos) in legend.positions.enumerated() {
            let x = 10 + pos.x, y = ly + pos.y
            if i < names.count {
                let st = ChartLayout.style(i)
                if connects[names[i]] == true {
                    let dash = st.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
                    s += "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x + 22))\" y2=\"\(n(y))\" stroke=\"\(st.colour)\" stroke-width=\"2\"\(dash)/>"
                }
                s += ChartLayout.marker(st.marker, x: x + 11, y: y, r: 4, colour: st.colour, attributes: " class=\"key\"")
            } else {
                s += "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x + 22))\" y2=\"\(n(y))\" stroke=\"#777777\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>"
            }
            s += "<text x=\"\(n(x + 26))\" y=\"\(n(ChartLayout.baseline(centredOn: y, size: 11)))\" font-size=\"11\">\(esc(legend.labels[i]))</text>\n"
        }
        return s + "</svg>"
    }

    /// Horizontal stacked bars: one bar per category, one segment per component (each segment is a point with a
    /// tooltip). `groups` (titles and the categories of each, by index) draw one small panel per group on a shared
    /// scale; without them more than 30 categories wrap into columns. Many rows make thinner bars, not a taller page.
    public static func stackedBars(title: String, unit: String, categories: [String], components: [(name: String, values: [Double])],
                                   groups: [(title: String, rows: [Int])]? = nil, width: Int = 900) -> String {
        let W = Double(width)
        let maxRows = 30, fitColumns = max(1, Int((W - 20) / 300))
        let panels: [(title: String, rows: [Int])]
        if let g = groups, !g.isEmpty { panels = g }
        else if categories.count > maxRows {
            // As many columns as fit, each at most 64 rows.
            let per = min(64, (categories.count + fitColumns - 1) / fitColumns)
            panels = stride(from: 0, to: categories.count, by: per).map { ("", Array($0..<min($0 + per, categories.count))) }
        } else { panels = [("", Array(categories.indices))] }
        let cols = panels.count <= 1 ? 1 : min(panels.count, fitColumns)
        let most = panels.map(\.rows.count).max() ?? 0
        let compact = most > 12 || panels.count > 1
        let pitch = compact ? 14.0 : 32.0, barH = compact ? 10.0 : 22.0, fs = compact ? 10.0 : 11.0
        let (titleSVG, top0) = titleSVG(title, width: W)
        let legend = ChartLayout.legend(components.map(\.name), maxWidth: W - 20, swatch: 14)
        let cellW = (W - 20) / Double(cols)
        let panelTitleH = panels.contains { !$0.title.isEmpty } ? 20.0 : 4.0
        let labelW = min(categories.map { ChartLayout.textWidth($0, size: fs) }.max() ?? 10, cellW * 0.45)
        let totals = categories.indices.map { i in components.reduce(0.0) { $0 + max(0, i < $1.values.count ? $1.values[i] : 0) } }
        let xt0 = SVGChart.niceTicks(min: 0, max: max(totals.max() ?? 1, 1e-9), target: 6)
        let rightPad = max(12, (xt0.map { ChartLayout.textWidth(tick($0), size: tickSize) }.max() ?? 10) / 2 + 4)
        let barW = max(40, cellW - labelW - 8 - rightPad)
        let xt = ticks(0, max(totals.max() ?? 1, 1e-9), target: 6) { t in
            barW / Double(t.count - 1) >= (t.map { ChartLayout.textWidth(tick($0), size: tickSize) }.max() ?? 10) + 8
        }
        let X = { (left: Double, v: Double) in left + barW * v / max(xt.last!, 1e-12) }
        // Each row of panels is as tall as its longest panel.
        var rowTops: [Double] = []
        var y = top0
        for r in 0..<((panels.count + cols - 1) / cols) {
            rowTops.append(y)
            let n = panels[(r * cols)..<min((r + 1) * cols, panels.count)].map(\.rows.count).max() ?? 0
            y += panelTitleH + Double(n) * pitch + 24 + (r < (panels.count + cols - 1) / cols - 1 ? 10 : 0)
        }
        let gridBottom = y
        let H = gridBottom + 20 + 8 + legend.height + 6
        var s = svgOpen(W, H) + titleSVG
        for (pi, panel) in panels.enumerated() {
            let cx = 10 + cellW * Double(pi % cols), cy = rowTops[pi / cols]
            let left = cx + labelW + 8, top = cy + panelTitleH
            let bottom = top + Double(panel.rows.count) * pitch
            if !panel.title.isEmpty {
                let t = ChartLayout.fit(panel.title, size: 11, width: cellW - 8, bold: true)
                s += "<text x=\"\(n(cx + 4))\" y=\"\(n(cy + 13))\" font-size=\"11\" font-weight=\"bold\">\(esc(t))</text>\n"
            }
            for v in xt {
                s += "<line x1=\"\(n(X(left, v)))\" y1=\"\(n(top))\" x2=\"\(n(X(left, v)))\" y2=\"\(n(bottom))\" stroke=\"#e6e6e6\"/>"
                s += "<text x=\"\(n(X(left, v)))\" y=\"\(n(bottom + 14))\" font-size=\"11\" text-anchor=\"middle\">\(tick(v))</text>\n"
            }
            for (ri, i) in panel.rows.enumerated() where i < categories.count {
                let cat = categories[i]
                let ry = top + Double(ri) * pitch + (pitch - barH) / 2
                let label = ChartLayout.fit(cat, size: fs, width: labelW)
                s += "<text x=\"\(n(left - 6))\" y=\"\(n(ry + barH / 2 + (ChartLayout.ascent - ChartLayout.descent) / 2 * fs))\" font-size=\"\(n(fs))\" text-anchor=\"end\">\(esc(label))</text>\n"
                var acc = 0.0
                for (k, comp) in components.enumerated() {
                    let v = max(0, i < comp.values.count ? comp.values[i] : 0)
                    let tip = "\(cat): \(comp.name) \(fmt(v)) \(unit) (\(totals[i] > 0 ? String(format: "%.0f%%", v / totals[i] * 100) : "-") of \(fmt(totals[i])))"
                    s += "<rect class=\"pt\" x=\"\(n(X(left, acc)))\" y=\"\(n(ry))\" width=\"\(n(max(X(left, acc + v) - X(left, acc), 0)))\" height=\"\(n(barH))\" fill=\"\(ChartLayout.style(k).colour)\" data-tip=\"\(esc(tip))\"><title>\(esc(tip))</title></rect>\n"
                    acc += v
                }
            }
        }
        s += "<text x=\"\(n(W / 2))\" y=\"\(n(gridBottom + 14))\" font-size=\"12\" text-anchor=\"middle\">\(esc(ChartLayout.fit(unit, size: 12, width: W - 20)))</text>\n"
        let ly = gridBottom + 28
        for (k, pos) in legend.positions.enumerated() {
            let x = 10 + pos.x, y = ly + pos.y
            s += "<rect class=\"key\" x=\"\(n(x))\" y=\"\(n(y - 6))\" width=\"12\" height=\"12\" fill=\"\(ChartLayout.style(k).colour)\"/>"
            s += "<text x=\"\(n(x + 18))\" y=\"\(n(ChartLayout.baseline(centredOn: y, size: 11)))\" font-size=\"11\">\(esc(legend.labels[k]))</text>\n"
        }
        return s + "</svg>"
    }
}
