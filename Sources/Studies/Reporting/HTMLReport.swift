import Foundation

/// A self-contained HTML report: one file, inline CSS, inline SVG charts and a few lines of inline script (hover
/// tooltips, and a completion mark the browser test reads). No network, no CDN, no timestamps: the same inputs give
/// the same bytes.
public struct HTMLReport {
    public var title: String
    public var subtitle: String
    var body: [String] = []

    public init(title: String, subtitle: String = "") { self.title = title; self.subtitle = subtitle }

    public mutating func heading(_ t: String) { body.append("<h2>\(Self.escape(t))</h2>") }
    public mutating func paragraph(_ t: String) { body.append("<p>\(Self.escape(t))</p>") }
    public mutating func note(_ t: String) { body.append("<p class=\"note\">\(Self.escape(t))</p>") }
    /// Preformatted text (a command's own text output): lines wider than the page wrap, so none is cut off.
    public mutating func preformatted(_ t: String) { body.append("<pre>\(Self.escape(t))</pre>") }
    /// A command line.
    public mutating func command(_ t: String) { body.append("<pre class=\"cmd\">\(Self.escape(t))</pre>") }
    /// A chart (an SVG from `ReportChart`).
    public mutating func chart(_ svg: String) { body.append("<div class=\"chart\">\(svg)</div>") }
    /// A table; cells that read as numbers are right-aligned. `highlight` rows get a tint. Numbers and single words
    /// (names like "qwen1.5-moe-a2.7b") are not broken across lines; longer text wraps; a table wider than the page
    /// scrolls inside its own box.
    public mutating func table(_ headers: [String], _ rows: [[String]], highlight: Set<Int> = []) {
        var s = "<div class=\"tw\"><table><thead><tr>" + headers.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for (i, r) in rows.enumerated() {
            s += "<tr\(highlight.contains(i) ? " class=\"hl\"" : "")>" + r.map { c in
                "<td\(Self.looksNumeric(c) ? " class=\"num\"" : Self.isWord(c) ? " class=\"nw\"" : "")>\(Self.escape(c))</td>"
            }.joined() + "</tr>\n"
        }
        body.append(s + "</tbody></table></div>")
    }

    /// A short cell without spaces: kept on one line.
    static func isWord(_ s: String) -> Bool { !s.isEmpty && s.count <= 40 && !s.contains(" ") }

    static func looksNumeric(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: CharacterSet(charactersIn: "%*$+ "))
        return !t.isEmpty && Double(t.replacingOccurrences(of: ",", with: "")) != nil
    }

    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    static let style = """
    body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
    h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
    h1,h2,p{overflow-wrap:break-word}
    .sub{color:#555;margin-top:0}.note{color:#666;font-size:13px}
    .tw{max-width:100%;overflow-x:auto;margin:8px 0}
    table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
    th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.nw{white-space:nowrap}tr.hl td{background:#eef6ee}
    pre{background:#f7f7f7;padding:8px;font-size:12px;white-space:pre-wrap;overflow-wrap:break-word}.chart{margin:12px 0}
    .chart svg{display:block;max-width:100%;height:auto}
    .chart svg .pt{cursor:pointer}.chart svg .pt:hover{stroke:#000;stroke-width:2}
    #tip{position:fixed;pointer-events:none;background:#222;color:#fff;font-size:12px;padding:4px 7px;border-radius:3px;display:none;white-space:pre;z-index:9}
    """

    /// Hover tooltips from each point's `data-tip`; counts the points and marks the body when done (the browser test
    /// reads `data-report-points` and `data-report-errors` from the DOM).
    static let script = """
    (function(){
      var errors=0;
      window.addEventListener('error',function(){errors++;document.body.setAttribute('data-report-errors',String(errors));});
      var tip=document.getElementById('tip');
      var pts=document.querySelectorAll('svg .pt');
      pts.forEach(function(p){
        p.addEventListener('mouseenter',function(){tip.textContent=p.getAttribute('data-tip');tip.style.display='block';});
        p.addEventListener('mousemove',function(e){tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
        p.addEventListener('mouseleave',function(){tip.style.display='none';});
      });
      document.body.setAttribute('data-report-points',String(pts.length));
      document.body.setAttribute('data-report-errors',String(errors));
    })();
    """

    public func render() -> String {
        var s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        s += "<title>\(Self.escape(title))</title>\n<style>\n\(Self.style)\n</style>\n</head>\n<body>\n"
        s += "<h1>\(Self.escape(title))</h1>\n"
        if !subtitle.isEmpty { s += "<p class=\"sub\">\(Self.escape(subtitle))</p>\n" }
        s += body.joined(separator: "\n") + "\n"
        s += "<p class=\"note\">Generated by moesim (a simulation, not a measurement). Self-contained: no network access.</p>\n"
        s += "<div id=\"tip\"></div>\n<script>\n\(Self.script)\n</script>\n</body>\n</html>\n"
        return s
    }
}
