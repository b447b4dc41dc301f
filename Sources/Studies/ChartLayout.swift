// ChartLayout: the layout engine the SVG charts share: text measured from glyph widths, series styles that stay
// distinct for many series (colour, dash and marker together), legends packed into columns that cannot overlap or run
// past their width, and point labels placed where they overlap no other label, no marker and nothing outside the plot.
// Everything here is a pure function of its inputs (no fonts are read at run time), so the charts stay deterministic.

import Foundation

public enum ChartLayout {
    // MARK: - Boxes

    /// An axis-aligned box (x0, y0) to (x1, y1), y down as in SVG.
    public struct Box: Equatable, Sendable {
        public var x0, y0, x1, y1: Double
        public init(x0: Double, y0: Double, x1: Double, y1: Double) { self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1 }
        public init(x: Double, y: Double, w: Double, h: Double) { self.init(x0: x, y0: y, x1: x + w, y1: y + h) }
        public var width: Double { x1 - x0 }
        public var height: Double { y1 - y0 }
        /// Whether the two boxes share more than `tolerance` in both directions.
        public func overlaps(_ o: Box, tolerance: Double = 0) -> Bool {
            min(x1, o.x1) - max(x0, o.x0) > tolerance && min(y1, o.y1) - max(y0, o.y0) > tolerance
        }
        /// Whether this box lies inside `o` (to within `tolerance`).
        public func inside(_ o: Box, tolerance: Double = 0) -> Bool {
            x0 >= o.x0 - tolerance && y0 >= o.y0 - tolerance && x1 <= o.x1 + tolerance && y1 <= o.y1 + tolerance
        }
        public func inset(_ d: Double) -> Box { Box(x0: x0 + d, y0: y0 + d, x1: x1 - d, y1: y1 - d) }
    }

    // MARK: - Text

    /// The font every chart names. The glyph widths below are the larger of DejaVu Sans's and Liberation Sans's (whose
    /// widths are Arial's and Helvetica's), so a text measured here is at least as wide as it renders in any of them.
    public static let font = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// Advance widths in em of the printable ASCII characters (space to '~'), regular and bold: for each glyph the
    /// larger of DejaVu Sans and Liberation Sans (as measured by Chromium's canvas at 100 px).
    static let regular: [Double] = [
        0.32, 0.40, 0.46, 0.84, 0.64, 0.95, 0.78, 0.27, 0.39, 0.39, 0.50, 0.84, 0.32, 0.36, 0.32, 0.34,
        0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.34, 0.34, 0.84, 0.84, 0.84, 0.56,
        1.02, 0.68, 0.69, 0.72, 0.77, 0.67, 0.61, 0.78, 0.75, 0.29, 0.50, 0.67, 0.56, 0.86, 0.75, 0.79,
        0.67, 0.79, 0.72, 0.67, 0.61, 0.73, 0.68, 0.99, 0.69, 0.67, 0.69, 0.39, 0.34, 0.39, 0.84, 0.56,
        0.50, 0.61, 0.63, 0.55, 0.63, 0.62, 0.35, 0.63, 0.63, 0.28, 0.28, 0.58, 0.28, 0.97, 0.63, 0.61,
        0.63, 0.63, 0.41, 0.52, 0.39, 0.63, 0.59, 0.82, 0.59, 0.59, 0.52, 0.64, 0.34, 0.64, 0.84,
    ]
    static let bold: [Double] = [
        0.35, 0.46, 0.52, 0.84, 0.70, 1.00, 0.87, 0.31, 0.46, 0.46, 0.52, 0.84, 0.38, 0.42, 0.38, 0.37,
        0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.40, 0.40, 0.84, 0.84, 0.84, 0.61,
        1.00, 0.77, 0.76, 0.73, 0.83, 0.68, 0.68, 0.82, 0.84, 0.37, 0.56, 0.77, 0.64, 1.00, 0.84, 0.85,
        0.73, 0.85, 0.77, 0.72, 0.68, 0.81, 0.77, 1.10, 0.77, 0.72, 0.73, 0.46, 0.37, 0.46, 0.84, 0.56,
        0.50, 0.67, 0.72, 0.59, 0.72, 0.68, 0.44, 0.72, 0.71, 0.34, 0.34, 0.67, 0.34, 1.04, 0.71, 0.69,
        0.72, 0.72, 0.49, 0.60, 0.48, 0.71, 0.65, 0.92, 0.65, 0.65, 0.58, 0.71, 0.37, 0.71, 0.84,
    ]
    /// A few non-ASCII characters the charts use; anything else counts as a full em (wide enough for most scripts).
    static let extra: [Character: (Double, Double)] = [
        "…": (1.0, 1.0), "×": (0.84, 0.84), "±": (0.84, 0.84), "–": (0.56, 0.56), "—": (1.0, 1.0), "µ": (0.64, 0.74),
        "≤": (0.84, 0.84), "≥": (0.84, 0.84), "·": (0.32, 0.38), "°": (0.5, 0.5), "→": (1.0, 1.0), "é": (0.62, 0.68),
    ]

    /// Ascent and descent in em: a line of text at baseline y spans y - ascent*size to y + descent*size (the font box
    /// a browser reports for it).
    public static let ascent = 0.93, descent = 0.24

    /// The width of `s` at font size `size` (px), never less than it renders in the chart font.
    public static func textWidth(_ s: String, size: Double, bold isBold: Bool = false) -> Double {
        var em = 0.0
        for c in s {
            if let a = c.asciiValue, a >= 32, a < 127 { em += (isBold ? bold : regular)[Int(a) - 32] }
            else if let e = extra[c] { em += isBold ? e.1 : e.0 }
            else if c.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .nonspacingMark }) { continue }
            else { em += 1.0 }
        }
        return em * size
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    /// The box of a text line drawn at (x, baseline y) with the given anchor.
    public static func textBox(_ s: String, x: Double, y: Double, size: Double, anchor: Anchor = .start, bold: Bool = false) -> Box {
        let w = textWidth(s, size: size, bold: bold)
        let x0 = anchor == .start ? x : anchor == .middle ? x - w / 2 : x - w
        return Box(x0: x0, y0: y - ascent * size, x1: x0 + w, y1: y + descent * size)
    }

    /// The height of one line of text of this size.
    public static func lineHeight(_ size: Double) -> Double { (ascent + descent) * size }

    /// `s` cut (with an ellipsis) to fit `width`; `s` itself when it fits.
    public static func fit(_ s: String, size: Double, width: Double, bold: Bool = false) -> String {
        if textWidth(s, size: size, bold: bold) <= width { return s }
        var chars = Array(s)
        while !chars.isEmpty && textWidth(String(chars) + "…", size: size, bold: bold) > width { chars.removeLast() }
        return chars.isEmpty ? "" : String(chars) + "…"
    }

    /// `s` broken at spaces into lines no wider than `width` (a word wider than that is cut to fit).
    public static func wrap(_ s: String, size: Double, width: Double, bold: Bool = false) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in s.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = line.isEmpty ? word : line + " " + word
            if textWidth(candidate, size: size, bold: bold) <= width { line = candidate; continue }
            if !line.isEmpty { lines.append(line) }
            line = fit(word, size: size, width: width, bold: bold)
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// A title drawn centred in `width`: at `size` if it fits on one line, else up to 3 px smaller, else wrapped onto up
    /// to three lines (the last cut to fit).
    public static func title(_ s: String, width: Double, size: Double) -> (lines: [String], size: Double) {
        var sz = size
        while sz > max(11, size - 3) && textWidth(s, size: sz, bold: true) > width { sz -= 1 }
        if textWidth(s, size: sz, bold: true) <= width { return ([s], sz) }
        var lines = wrap(s, size: sz, width: width, bold: true)
        if lines.count > 3 {
            lines = Array(lines.prefix(3))
            lines[2] = fit(lines[2] + " …", size: sz, width: width, bold: true)
        }
        return (lines, sz)
    }

    // MARK: - Series styles

    /// Ten distinct colours (Okabe–Ito's eight without yellow, then Tableau's brown and grey tones, each clear on white).
    public static let palette: [String] = [
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B", "#7F7F7F", "#B8860B",
    ]
    /// Dash patterns, cycled after the colours: series i and i + 10 differ in their line.
    public static let dashes: [String?] = [nil, "7 3", "2 2", "8 3 2 3"]

    public enum Marker: Int, CaseIterable, Sendable { case circle, square, diamond, triangle, triangleDown, cross, plus }

    public struct Style: Equatable, Sendable {
        public var colour: String
        public var dash: String?
        public var marker: Marker
    }

    /// Series i's style: colour i mod 10, dash pattern by the tens, marker i mod 7 (7 is prime to 10, so two series
    /// sharing a colour have different markers). The first 40 series differ in colour or dash, and in marker too
    /// among any seven in a row.
    public static func style(_ i: Int) -> Style {
        let i = max(0, i)
        return Style(colour: palette[i % palette.count], dash: dashes[(i / palette.count) % dashes.count],
                     marker: Marker.allCases[i % Marker.allCases.count])
    }

    /// A marker of radius `r` at (x, y): SVG, with `attributes` (class, tooltip...) added to its element.
    public static func marker(_ m: Marker, x: Double, y: Double, r: Double, colour: String, attributes: String = "", body: String = "") -> String {
        let n = SVGChart.n
        let open: String
        switch m {
        case .circle:
            open = "<circle\(attributes) cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(colour)\""
        case .square:
            let h = r * 0.85
            open = "<rect\(attributes) x=\"\(n(x - h))\" y=\"\(n(y - h))\" width=\"\(n(2 * h))\" height=\"\(n(2 * h))\" fill=\"\(colour)\""
        case .diamond:
            open = "<path\(attributes) d=\"M\(n(x)) \(n(y - r)) L\(n(x + r)) \(n(y)) L\(n(x)) \(n(y + r)) L\(n(x - r)) \(n(y)) Z\" fill=\"\(colour)\""
        case .triangle:
            open = "<path\(attributes) d=\"M\(n(x)) \(n(y - r)) L\(n(x + r)) \(n(y + r * 0.75)) L\(n(x - r)) \(n(y + r * 0.75)) Z\" fill=\"\(colour)\""
        case .triangleDown:
            open = "<path\(attributes) d=\"M\(n(x)) \(n(y + r)) L\(n(x + r)) \(n(y - r * 0.75)) L\(n(x - r)) \(n(y - r * 0.75)) Z\" fill=\"\(colour)\""
        case .cross:
            let h = r * 0.8
            open = "<path\(attributes) d=\"M\(n(x - h)) \(n(y - h)) L\(n(x + h)) \(n(y + h)) M\(n(x - h)) \(n(y + h)) L\(n(x + h)) \(n(y - h))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.2\""
        case .plus:
            open = "<path\(attributes) d=\"M\(n(x - r)) \(n(y)) L\(n(x + r)) \(n(y)) M\(n(x)) \(n(y - r)) L\(n(x)) \(n(y + r))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.2\""
        }
        return body.isEmpty ? open + "/>\n" : open + ">" + body + "</" + (m == .circle ? "circle" : m == .square ? "rect" : "path") + ">\n"
    }

    /// The box a marker of radius `r` at (x, y) covers (strokes included).
    public static func markerBox(x: Double, y: Double, r: Double) -> Box { Box(x0: x - r - 1, y0: y - r - 1, x1: x + r + 1, y1: y + r + 1) }

    // MARK: - Legend

    /// A legend packed into columns: entry i's swatch starts at `positions[i].x` and its text's box is centred on
    /// `positions[i].y`; `labels[i]` is the name, cut to fit when one entry alone is wider than the space.
    public struct Legend: Sendable {
        public var positions: [(x: Double, y: Double)]
        public var labels: [String]
        public var columns: Int
        public var width: Double
        public var height: Double
        /// The box of entry i (swatch and text).
        public var boxes: [Box]
    }

    /// Packs `names` into as many columns as fit in `maxWidth` (row-major; each column as wide as its widest entry), so
    /// no two entries overlap and none runs past `maxWidth`. Each entry is a `swatch`-wide key, a gap, then the text.
    /// The block is centred in `maxWidth`; rows are `rowHeight` apart (at least one text line plus 3 px).
    public static func legend(_ names: [String], maxWidth: Double, size: Double = 11, swatch: Double = 22, rowHeight: Double = 16,
                              columnGap: Double = 18) -> Legend {
        let rowH = max(rowHeight, lineHeight(size) + 3)
        let textGap = 4.0
        let maxText = max(maxWidth - swatch - textGap, 10)
        let labels = names.map { fit($0, size: size, width: maxText) }
        let widths = labels.map { swatch + textGap + textWidth($0, size: size) }
        guard !names.isEmpty else { return Legend(positions: [], labels: [], columns: 0, width: 0, height: 0, boxes: []) }
        var columns = 1
        var colW: [Double] = [widths.max() ?? 0]
        for c in stride(from: names.count, through: 2, by: -1) {
            var w = [Double](repeating: 0, count: c)
            for (i, x) in widths.enumerated() { w[i % c] = max(w[i % c], x) }
            if w.reduce(0, +) + columnGap * Double(c - 1) <= maxWidth { columns = c; colW = w; break }
        }
        let total = colW.reduce(0, +) + columnGap * Double(columns - 1)
        let x0 = ((maxWidth - total) / 2).rounded(.down)
        var colX: [Double] = []
        var x = x0
        for w in colW { colX.append(x); x += w + columnGap }
        let rows = (names.count + columns - 1) / columns
        var positions: [(x: Double, y: Double)] = []
        var boxes: [Box] = []
        for i in names.indices {
            let px = colX[i % columns], py = Double(i / columns) * rowH + rowH / 2
            positions.append((px, py))
            boxes.append(Box(x0: px, y0: py - lineHeight(size) / 2, x1: px + widths[i], y1: py + lineHeight(size) / 2))
        }
        return Legend(positions: positions, labels: labels, columns: columns, width: total, height: Double(rows) * rowH, boxes: boxes)
    }

    /// The baseline of a legend entry's text centred on `y`.
    public static func baseline(centredOn y: Double, size: Double) -> Double { y + (ascent - descent) / 2 * size }

    // MARK: - Point labels

    /// A label wanted beside a point: `texts` in order of preference (the full label, then a short one).
    public struct LabelRequest: Sendable {
        public var x: Double, y: Double
        public var texts: [String]
        /// The radius of the point's marker: the label keeps clear of it.
        public var radius: Double
        public init(x: Double, y: Double, texts: [String], radius: Double) { self.x = x; self.y = y; self.texts = texts; self.radius = radius }
    }

    public struct PlacedLabel: Sendable {
        public var request: Int
        public var text: String
        /// Where to draw it: x with `anchor`, y the baseline.
        public var x: Double, y: Double
        public var anchor: Anchor
        public var box: Box
        /// A line from the point to a label placed away from it (nil when the label sits beside its point).
        public var leader: Segment?
    }

    /// A line segment (a curve's piece, a reference line, a leader).
    public struct Segment: Equatable, Sendable {
        public var x0, y0, x1, y1: Double
        public init(x0: Double, y0: Double, x1: Double, y1: Double) { self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1 }
        /// Whether the segment passes through the inside of `b` (Liang–Barsky clipping).
        public func crosses(_ b: Box) -> Bool {
            let dx = x1 - x0, dy = y1 - y0
            var t0 = 0.0, t1 = 1.0
            for (p, q) in [(-dx, x0 - b.x0), (dx, b.x1 - x0), (-dy, y0 - b.y0), (dy, b.y1 - y0)] {
                if abs(p) < 1e-12 { if q <= 0 { return false }; continue }
                let r = q / p
                if p < 0 { if r > t1 { return false }; t0 = max(t0, r) } else { if r < t0 { return false }; t1 = min(t1, r) }
            }
            return t1 - t0 > 1e-9
        }
    }

    /// Unit vectors in sixteen directions (fixed constants, so placement does not depend on a platform's sin and cos).
    static let directions16: [(Double, Double)] = [
        (1, 0), (0.9239, -0.3827), (0.7071, -0.7071), (0.3827, -0.9239), (0, -1), (-0.3827, -0.9239), (-0.7071, -0.7071), (-0.9239, -0.3827),
        (-1, 0), (-0.9239, 0.3827), (-0.7071, 0.7071), (-0.3827, 0.9239), (0, 1), (0.3827, 0.9239), (0.7071, 0.7071), (0.9239, 0.3827),
    ]

    /// Places labels in two passes. First every point gets its shortest text (so as many points as possible are
    /// labelled), in request order; then each label is grown to its longer texts, preferred first, where they fit.
    /// A text goes to the first free spot around its point: right, left, above, below and the diagonals close by,
    /// then a little farther, then farther still in sixteen directions with a leader line back to the point. A spot is
    /// free when the label's box lies inside `bounds` and overlaps no other label, no `obstacles` box (every marker,
    /// its own included) and nothing in `reserved`, and its leader (if any) crosses no label and no marker. Spots that
    /// no `segments` line crosses are taken first. A point with no free spot keeps no label (its tooltip names it).
    public static func placeLabels(_ requests: [LabelRequest], size: Double, bounds: Box, obstacles: [Box], reserved: [Box] = [],
                                   segments: [Segment] = []) -> [PlacedLabel] {
        let h = lineHeight(size)
        // A coarse grid of the obstacles, so each test looks at the few nearby.
        let cell = 32.0
        var grid: [Int: [Int]] = [:]
        func key(_ cx: Int, _ cy: Int) -> Int { cx &* 100_003 &+ cy }
        func cells(_ b: Box) -> [Int] {
            var out: [Int] = []
            for cx in Int((b.x0 / cell).rounded(.down))...Int((b.x1 / cell).rounded(.down)) {
                for cy in Int((b.y0 / cell).rounded(.down))...Int((b.y1 / cell).rounded(.down)) { out.append(key(cx, cy)) }
            }
            return out
        }
        let fixed = (obstacles + reserved).filter { $0.x1 >= $0.x0 && $0.y1 >= $0.y0 && $0.width < 1e5 && $0.height < 1e5 && $0.x0.isFinite && $0.y0.isFinite }
        for (i, b) in fixed.enumerated() { for k in cells(b) { grid[k, default: []].append(i) } }
        var placed = [PlacedLabel?](repeating: nil, count: requests.count)
        // Placed labels (with their leaders) and the lines, by grid cell too.
        var labelGrid: [Int: [Int]] = [:]
        var lineGrid: [Int: [Int]] = [:]
        func segmentBox(_ g: Segment) -> Box { Box(x0: min(g.x0, g.x1), y0: min(g.y0, g.y1), x1: max(g.x0, g.x1), y1: max(g.y0, g.y1)) }
        for (i, g) in segments.enumerated() where segmentBox(g).width < 1e5 && segmentBox(g).height < 1e5 && g.x0.isFinite && g.y0.isFinite && g.x1.isFinite && g.y1.isFinite {
            for k in cells(segmentBox(g)) { lineGrid[k, default: []].append(i) }
        }
        func register(_ ri: Int, _ p: PlacedLabel) {
            var area = p.box.inset(-1)
            if let ld = p.leader { let lb = segmentBox(ld); area = Box(x0: min(area.x0, lb.x0), y0: min(area.y0, lb.y0), x1: max(area.x1, lb.x1), y1: max(area.y1, lb.y1)) }
            for k in cells(area) where labelGrid[k]?.last != ri { labelGrid[k, default: []].append(ri) }
        }
        func free(_ b: Box, leader: Segment?, avoidLines: Bool, except: Int) -> Bool {
            guard b.inside(bounds) else { return false }
            for k in cells(b) { for j in grid[k] ?? [] where fixed[j].overlaps(b) { return false } }
            let area = leader.map { ld in let lb = segmentBox(ld); return Box(x0: min(b.x0, lb.x0), y0: min(b.y0, lb.y0), x1: max(b.x1, lb.x1), y1: max(b.y1, lb.y1)) } ?? b
            var seen = Set<Int>()
            for k in cells(area.inset(-2)) {
                for i in labelGrid[k] ?? [] where i != except && seen.insert(i).inserted {
                    guard let p = placed[i] else { continue }
                    if p.box.overlaps(b.inset(-1)) { return false }
                    if avoidLines, let ld = p.leader, ld.crosses(b) { return false }
                    if let ld = leader, ld.crosses(p.box) { return false }
                }
            }
            if let ld = leader {
                for k in cells(segmentBox(ld)) { for j in grid[k] ?? [] where ld.crosses(fixed[j]) { return false } }
            }
            if avoidLines {
                for k in cells(b) { for j in lineGrid[k] ?? [] where segments[j].crosses(b) { return false } }
            }
            return true
        }
        /// The first free spot for `text` beside request `ri`, clear of lines if it can be.
        func spot(_ ri: Int, _ text: String) -> PlacedLabel? {
            let r = requests[ri]
            let w = textWidth(text, size: size)
            let g = r.radius + 2
            for avoidLines in [true, false] {
                for ring in [1.0, 1.8, 3.2, 5.0, 7.5, 10.5] {
                    let d = g * ring, dd = d * 0.75
                    // (box x0, box y0, anchor) for each spot: the eight directions close by, sixteen farther out.
                    var spots: [(Double, Double, Anchor)] = [
                        (r.x + d, r.y - h / 2, .start), (r.x - d - w, r.y - h / 2, .end),
                        (r.x - w / 2, r.y - d - h, .middle), (r.x - w / 2, r.y + d, .middle),
                        (r.x + dd, r.y - dd - h, .start), (r.x - dd - w, r.y - dd - h, .end),
                        (r.x + dd, r.y + dd, .start), (r.x - dd - w, r.y + dd, .end),
                    ]
                    if ring > 3 {
                        for (ux, uy) in directions16 {
                            // The box's nearest edge d away from the point in this direction.
                            let cx = r.x + ux * (d + w / 2 * abs(ux)), cy = r.y + uy * (d + h / 2 * abs(uy))
                            spots.append((cx - w / 2, cy - h / 2, ux > 0.3 ? .start : ux < -0.3 ? .end : .middle))
                        }
                    }
                    for (bx, by, anchor) in spots {
                        let box = Box(x0: bx, y0: by, x1: bx + w, y1: by + h)
                        var leader: Segment?
                        if ring > 2 {
                            // From the marker's edge to the nearest point of the label's box.
                            let nx = min(max(r.x, box.x0), box.x1), ny = min(max(r.y, box.y0), box.y1)
                            let len = ((nx - r.x) * (nx - r.x) + (ny - r.y) * (ny - r.y)).squareRoot()
                            guard len > r.radius + 3 else { continue }
                            let ux = (nx - r.x) / len, uy = (ny - r.y) / len
                            leader = Segment(x0: r.x + ux * (r.radius + 1.5), y0: r.y + uy * (r.radius + 1.5), x1: nx - ux, y1: ny - uy)
                        }
                        guard free(box, leader: leader, avoidLines: avoidLines, except: ri) else { continue }
                        let tx = anchor == .start ? box.x0 : anchor == .middle ? (box.x0 + box.x1) / 2 : box.x1
                        return PlacedLabel(request: ri, text: text, x: tx, y: box.y0 + ascent * size, anchor: anchor, box: box, leader: leader)
                    }
                }
            }
            return nil
        }
        let texts = requests.map { $0.texts.filter { !$0.isEmpty } }
        for ri in requests.indices {
            if let shortest = texts[ri].last, let p = spot(ri, shortest) { placed[ri] = p; register(ri, p) }
        }
        for ri in requests.indices where placed[ri] != nil && texts[ri].count > 1 {
            for text in texts[ri].dropLast() {
                if let p = spot(ri, text) { placed[ri] = p; register(ri, p); break }
            }
        }
        return placed.compactMap { $0 }
    }
}
