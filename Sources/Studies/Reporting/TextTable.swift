import Foundation

/// Aligned plain-text tables: each column as wide as its widest cell; numbers right-aligned.
public enum TextTable {
    /// `align`: per column, "r" right or "l" left; by default a column is right-aligned when every non-empty cell
    /// below the header reads as a number.
    public static func render(_ headers: [String], _ rows: [[String]], align: [Character]? = nil, indent: String = "", gap: String = "  ") -> String {
        let cols = max(headers.count, rows.map(\.count).max() ?? 0)
        func cell(_ r: [String], _ i: Int) -> String { i < r.count ? r[i] : "" }
        var width = Array(repeating: 0, count: cols)
        for r in [headers] + rows { for i in 0..<cols { width[i] = max(width[i], cell(r, i).count) } }
        let al: [Character] = (0..<cols).map { i in
            if let a = align, i < a.count { return a[i] }
            let cells = rows.map { cell($0, i) }.filter { !$0.isEmpty && $0 != "-" }
            return !cells.isEmpty && cells.allSatisfy(HTMLReport.looksNumeric) ? "r" : "l"
        }
        func line(_ r: [String]) -> String {
            var parts: [String] = []
            for i in 0..<cols {
                let c = cell(r, i), pad = String(repeating: " ", count: width[i] - c.count)
                parts.append(al[i] == "r" ? pad + c : (i == cols - 1 ? c : c + pad))
            }
            var l = indent + parts.joined(separator: gap)
            while l.hasSuffix(" ") { l.removeLast() }
            return l + "\n"
        }
        return ([headers] + rows).map(line).joined()
    }
}
