// Notebook: writes Jupyter notebooks (nbformat 4.5) deterministically.
// Cell ids are "cell-0001", "cell-0002", …; code cells get execution counts 1, 2, 3, …
// Strings and numbers are written by Serving's JSONWriter (quote/number); structure is emitted
// here from a typed tree so that empty arrays stay `[]` (an empty `[Any]` is indistinguishable
// from an empty `[(String, Any)]` at run time).

import Foundation
import Serving

public struct Notebook {
    public enum Output {
        /// Plain text, written as a `stream` output on stdout.
        case text(String)
        /// `display_data` with `text/html` (plus a `text/plain` fallback).
        case html(String)
        /// `display_data` with `image/svg+xml` (plus a `text/plain` fallback).
        case svg(String)
        /// `display_data` with `application/json` (an ordered JSON object).
        case json([(String, Any)])
    }

    private enum Cell {
        case markdown(String)
        case code(String, [Output])
    }

    private var cells: [Cell] = []

    public init() {}

    public mutating func markdown(_ text: String) { cells.append(.markdown(text)) }

    public mutating func code(_ source: String, outputs: [Output] = []) { cells.append(.code(source, outputs)) }

    /// The notebook as nbformat 4.5 JSON (1-space indent like Jupyter, trailing newline).
    public func json() -> String {
        var cellValues: [JSON] = []
        var execCount = 0
        for (i, cell) in cells.enumerated() {
            let id = "cell-" + Notebook.pad4(i + 1)
            switch cell {
            case .markdown(let text):
                cellValues.append(.object([
                    ("cell_type", .string("markdown")),
                    ("id", .string(id)),
                    ("metadata", .object([])),
                    ("source", Notebook.lines(text)),
                ]))
            case .code(let source, let outputs):
                execCount += 1
                cellValues.append(.object([
                    ("cell_type", .string("code")),
                    ("execution_count", .int(execCount)),
                    ("id", .string(id)),
                    ("metadata", .object([])),
                    ("outputs", .array(outputs.map(Notebook.output))),
                    ("source", Notebook.lines(source)),
                ]))
            }
        }
        let top: JSON = .object([
            ("cells", .array(cellValues)),
            ("metadata", .object([
                ("kernelspec", .object([
                    ("display_name", .string("Python 3")),
                    ("language", .string("python")),
                    ("name", .string("python3")),
                ])),
                ("language_info", .object([
                    ("name", .string("python")),
                ])),
            ])),
            ("nbformat", .int(4)),
            ("nbformat_minor", .int(5)),
        ])
        var s = ""
        top.emit(into: &s, level: 0)
        return s + "\n"
    }

    // MARK: - Tables

    /// A GitHub-flavoured Markdown table; `|` is escaped, newlines become `<br>`.
    public static func table(headers: [String], rows: [[String]]) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "|", with: "\\|")
                .replacingOccurrences(of: "\r\n", with: "<br>")
                .replacingOccurrences(of: "\n", with: "<br>")
        }
        let cols = max(headers.count, rows.map(\.count).max() ?? 0)
        func line(_ r: [String]) -> String {
            let padded = r + Array(repeating: "", count: max(0, cols - r.count))
            return "| " + padded.map(cell).joined(separator: " | ") + " |"
        }
        var out = [line(headers), "|" + Array(repeating: " --- |", count: cols).joined()]
        out += rows.map(line)
        return out.joined(separator: "\n") + "\n"
    }

    /// An HTML table with escaped cell text.
    public static func htmlTable(headers: [String], rows: [[String]]) -> String {
        let esc = HTMLReport.escape
        var s = "<table>\n<thead>\n<tr>" + headers.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n</thead>\n<tbody>\n"
        for r in rows { s += "<tr>" + r.map { "<td>\(esc($0))</td>" }.joined() + "</tr>\n" }
        return s + "</tbody>\n</table>\n"
    }

    // MARK: - Internals

    static func pad4(_ i: Int) -> String {
        let d = String(i)
        return String(repeating: "0", count: max(0, 4 - d.count)) + d
    }

    /// nbformat multiline string: lines keep their trailing "\n" except the last.
    static func splitLines(_ text: String) -> [String] {
        let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        for (i, p) in parts.enumerated() {
            if i + 1 < parts.count { out.append(String(p) + "\n") } else if !p.isEmpty { out.append(String(p)) }
        }
        return out
    }

    private static func lines(_ text: String) -> JSON { .array(splitLines(text).map(JSON.string)) }

    private static func output(_ o: Output) -> JSON {
        switch o {
        case .text(let t):
            return .object([("name", .string("stdout")), ("output_type", .string("stream")), ("text", lines(t))])
        case .html(let h):
            return display([("text/html", lines(h)), ("text/plain", lines("<IPython.core.display.HTML object>"))])
        case .svg(let svg):
            return display([("image/svg+xml", lines(svg)), ("text/plain", lines("<IPython.core.display.SVG object>"))])
        case .json(let fields):
            return display([("application/json", JSON(any: fields)), ("text/plain", lines("<IPython.core.display.JSON object>"))])
        }
    }

    private static func display(_ data: [(String, JSON)]) -> JSON {
        .object([("data", .object(data)), ("metadata", .object([])), ("output_type", .string("display_data"))])
    }
}

/// Typed JSON tree, emitted with a 1-space indent (Jupyter's own style).
private indirect enum JSON {
    case object([(String, JSON)])
    case array([JSON])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null

    /// Converts JSONWriter-style values. Dynamic types are checked exactly so that an empty
    /// `[Any]` becomes `[]` and an empty `[(String, Any)]` becomes `{}`.
    init(any v: Any) {
        if type(of: v) == [(String, Any)].self, let f = v as? [(String, Any)] {
            self = .object(f.map { ($0.0, JSON(any: $0.1)) })
        } else if let s = v as? String {
            self = .string(s)
        } else if let b = v as? Bool {
            self = .bool(b)
        } else if let i = v as? Int {
            self = .int(i)
        } else if let d = v as? Double {
            self = .double(d)
        } else if let f = v as? Float {
            self = .double(Double(f))
        } else if let u = v as? UInt64 {
            self = u <= UInt64(Int.max) ? .int(Int(u)) : .double(Double(u))
        } else if v is NSNull {
            self = .null
        } else if let f = v as? [(String, Any)], !f.isEmpty {
            self = .object(f.map { ($0.0, JSON(any: $0.1)) })
        } else if let d = v as? [String: Any] {
            self = .object(d.keys.sorted().map { ($0, JSON(any: d[$0]!)) })
        } else if let a = v as? [Any] {
            self = .array(a.map { JSON(any: $0) })
        } else if Mirror(reflecting: v).displayStyle == .optional {
            if let w = Mirror(reflecting: v).children.first?.value { self = JSON(any: w) } else { self = .null }
        } else {
            self = .string("\(v)")
        }
    }

    func emit(into s: inout String, level: Int) {
        let pad = String(repeating: " ", count: level + 1), close = String(repeating: " ", count: level)
        switch self {
        case .object(let f):
            if f.isEmpty { s += "{}"; return }
            s += "{\n"
            for (i, kv) in f.enumerated() {
                s += pad + JSONWriter.quote(kv.0) + ": "
                kv.1.emit(into: &s, level: level + 1)
                s += (i + 1 < f.count ? "," : "") + "\n"
            }
            s += close + "}"
        case .array(let a):
            if a.isEmpty { s += "[]"; return }
            s += "[\n"
            for (i, x) in a.enumerated() {
                s += pad
                x.emit(into: &s, level: level + 1)
                s += (i + 1 < a.count ? "," : "") + "\n"
            }
            s += close + "]"
        case .string(let str): s += JSONWriter.quote(str)
        case .int(let i): s += String(i)
        case .double(let d): s += JSONWriter.number(d)
        case .bool(let b): s += b ? "true" : "false"
        case .null: s += "null"
        }
    }
}
