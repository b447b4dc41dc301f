import Foundation
import Testing
import Studies
@testable import MoESimCLI

/// What the reports lay out in a real browser: headless Chromium loads each report with a checking script added, and the
/// script measures every SVG text, marker, bar and legend key (their boxes through the SVG's transforms, so turned labels
/// are measured as drawn) and every block of the page. It fails a report where two texts overlap, a text overlaps a
/// marker or bar, anything lies outside its SVG or the page width, or a box's content is wider than the box (clipped
/// or scrolled). The largest shipped sweep (experiments/hegde2025: 264 configurations, 27 curves in one grid) is
/// drawn from its shipped results; plan, run and reproduce reports and the reproduce figures too.
enum LayoutCheck {
    /// Writes `{"problems": [...], "count": n, "texts": n, "marks": n, "svgs": n}` into the body's data-layout attribute.
    /// With `#loose` in the URL, boxes that scroll (a wide table in a narrow window) are allowed; clipping is not.
    static let script = #"""
    (function(){
      var TOL = 1, W = window.innerWidth, loose = location.hash.indexOf('loose') >= 0;
      var out = {problems: [], count: 0, texts: 0, marks: 0, svgs: 0, width: W};
      function add(kind, msg) { out.count++; if (out.problems.length < 60) out.problems.push(kind + ': ' + msg); }
      function quad(el) {
        var b; try { b = el.getBBox(); } catch (e) { return null; }
        if (!b || (b.width === 0 && b.height === 0)) return null;
        var m = el.getScreenCTM(); if (!m) return null;
        return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]].map(function(p) {
          return [m.a * p[0] + m.c * p[1] + m.e, m.b * p[0] + m.d * p[1] + m.f]; });
      }
      function aabb(q) {
        var xs = q.map(function(p) { return p[0]; }), ys = q.map(function(p) { return p[1]; });
        return {x0: Math.min.apply(null, xs), y0: Math.min.apply(null, ys), x1: Math.max.apply(null, xs), y1: Math.max.apply(null, ys)};
      }
      // How far two convex quads overlap (separating axes): <= 0 when apart.
      function depth(A, B) {
        var best = Infinity;
        [A, B].forEach(function(P) {
          for (var i = 0; i < P.length; i++) {
            var p = P[i], q = P[(i + 1) % P.length], ax = q[1] - p[1], ay = p[0] - q[0], L = Math.hypot(ax, ay);
            if (L < 1e-9) continue; ax /= L; ay /= L;
            var a0 = Infinity, a1 = -Infinity, b0 = Infinity, b1 = -Infinity;
            A.forEach(function(v) { var t = v[0] * ax + v[1] * ay; a0 = Math.min(a0, t); a1 = Math.max(a1, t); });
            B.forEach(function(v) { var t = v[0] * ax + v[1] * ay; b0 = Math.min(b0, t); b1 = Math.max(b1, t); });
            best = Math.min(best, Math.min(a1, b1) - Math.max(a0, b0));
          }
        });
        return best;
      }
      function near(a, b) { return Math.min(a.b.x1, b.b.x1) - Math.max(a.b.x0, b.b.x0) > TOL && Math.min(a.b.y1, b.b.y1) - Math.max(a.b.y0, b.b.y0) > TOL; }
      function name(it) {
        var t = it.el.tagName.toLowerCase(), c = it.el.getAttribute('class');
        return t + (c ? '.' + c : '') + (it.s ? ' "' + it.s.slice(0, 60) + '"' : '') + ' at ' + Math.round(it.b.x0) + ',' + Math.round(it.b.y0) + '-' + Math.round(it.b.x1) + ',' + Math.round(it.b.y1);
      }
      var roots = Array.prototype.filter.call(document.querySelectorAll('svg'), function(s) { return !s.parentElement.closest('svg'); });
      roots.forEach(function(root, ri) {
        out.svgs++;
        var first = root.querySelector('text'), chart = '[' + (first ? first.textContent.slice(0, 50) : 'svg ' + ri) + '] ';
        var texts = [], marks = [];
        root.querySelectorAll('text').forEach(function(t) {
          if (!t.textContent.trim()) return;
          var q = quad(t); if (q) texts.push({el: t, q: q, b: aabb(q), s: t.textContent});
        });
        root.querySelectorAll('.pt, .mk, .bar, .key').forEach(function(m) { var q = quad(m); if (q) marks.push({el: m, q: q, b: aabb(q)}); });
        out.texts += texts.length; out.marks += marks.length;
        texts.concat(marks).forEach(function(it) {
          for (var e = it.el.parentElement; e; e = e.parentElement) {
            if (e.tagName.toLowerCase() === 'svg') {
              var r = e.getBoundingClientRect();
              if (it.b.x0 < r.left - TOL || it.b.x1 > r.right + TOL || it.b.y0 < r.top - TOL || it.b.y1 > r.bottom + TOL) { add('outside its SVG', chart + name(it)); break; }
            }
            if (e === root) break;
          }
          if (it.b.x0 < -TOL || it.b.x1 > W + TOL) add('outside the page width', chart + name(it));
        });
        for (var i = 0; i < texts.length; i++) {
          for (var j = i + 1; j < texts.length; j++) {
            if (near(texts[i], texts[j]) && depth(texts[i].q, texts[j].q) > TOL) add('text over text', chart + name(texts[i]) + ' / ' + name(texts[j]));
          }
          for (var k = 0; k < marks.length; k++) {
            if (near(texts[i], marks[k]) && depth(texts[i].q, marks[k].q) > TOL) add('text over a marker', chart + name(texts[i]) + ' / ' + name(marks[k]));
          }
        }
      });
      if (document.documentElement.scrollWidth > W + TOL) add('page', 'the document is ' + document.documentElement.scrollWidth + ' px wide in a ' + W + ' px window');
      // Inside a box that scrolls sideways (allowed with #loose), what lies beyond the page is scrolled to, not lost.
      var scrollers = new Map();
      function inScroller(el) {
        var e = el.parentElement;
        if (!e || e === document.body) return false;
        if (!scrollers.has(e)) { var o = getComputedStyle(e).overflowX; scrollers.set(e, o === 'auto' || o === 'scroll' || inScroller(e)); }
        return scrollers.get(e);
      }
      document.body.querySelectorAll('*').forEach(function(el) {
        if (el.closest('svg') || el.id === 'tip' || el.tagName === 'SCRIPT') return;
        var cs = getComputedStyle(el);
        if (cs.display === 'inline' || cs.display === 'none') return;
        var r = el.getBoundingClientRect(), tag = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "' + (el.textContent || '').trim().slice(0, 50) + '"';
        if ((r.right > W + TOL || r.left < -TOL) && !(loose && inScroller(el))) add('outside the page width', tag + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
        var scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
        if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + TOL && !(loose && scrolls)) add(scrolls ? 'scrolls' : 'clipped', tag + ': content ' + el.scrollWidth + ' px wide in ' + el.clientWidth + ' px');
        if (cs.overflowY !== 'visible' && el.clientHeight > 0 && el.scrollHeight > el.clientHeight + TOL && !(loose && (cs.overflowY === 'auto' || cs.overflowY === 'scroll'))) add('clipped', tag + ': content ' + el.scrollHeight + ' px high in ' + el.clientHeight + ' px');
      });
      document.body.setAttribute('data-layout', JSON.stringify(out));
    })();
    """#

    struct Failure: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    struct Result { var problems: [String]; var count: Int; var texts: Int; var marks: Int; var svgs: Int }

    /// Loads `html` (a copy with the script added) in a window `width` px wide and returns what the script found.
    static func check(_ html: String, width: Int = 1100, loose: Bool = false) throws -> Result {
        let page = try String(contentsOfFile: html, encoding: .utf8)
        guard let end = page.range(of: "</body>", options: .backwards) else { throw Failure("\(html): no </body>") }
        let copy = NSTemporaryDirectory() + "moesim-layout-\(UUID().uuidString).html"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try (page[..<end.lowerBound] + "<script>\n" + script + "\n</script>\n" + page[end.lowerBound...]).write(toFile: copy, atomically: true, encoding: .utf8)
        let url = URL(fileURLWithPath: copy).absoluteString + (loose ? "#loose" : "")
        let (code, dom, err) = try Browser.run(Browser.chromium!, Browser.chromeArgs(["--window-size=\(width),900", "--dump-dom", url]))
        guard code == 0 else { throw Failure("chromium exited \(code): \(err.suffix(1500))") }
        guard let a = dom.range(of: "data-layout=\""), let b = dom[a.upperBound...].firstIndex(of: "\"") else {
            throw Failure("\(html): the layout script left no result (\(err.suffix(1500)))")
        }
        var json = String(dom[a.upperBound..<b])
        for (e, c) in [("&quot;", "\""), ("&lt;", "<"), ("&gt;", ">"), ("&#39;", "'"), ("&nbsp;", "\u{a0}"), ("&amp;", "&")] { json = json.replacingOccurrences(of: e, with: c) }
        guard let o = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { throw Failure("\(html): unreadable result \(json.prefix(300))") }
        func int(_ k: String) -> Int { (o[k] as? NSNumber)?.intValue ?? -1 }
        return Result(problems: o["problems"] as? [String] ?? [], count: int("count"), texts: int("texts"), marks: int("marks"), svgs: int("svgs"))
    }

    static func expectClean(_ html: String, _ label: String, width: Int = 1100, loose: Bool = false, minTexts: Int, minMarks: Int) throws {
        let r = try check(html, width: width, loose: loose)
        #expect(r.count == 0, "\(label) at \(width) px: \(r.count) layout problems:\n\(r.problems.joined(separator: "\n"))")
        #expect(r.texts >= minTexts && r.marks >= minMarks, "\(label): measured \(r.texts) texts and \(r.marks) marks in \(r.svgs) SVGs")
    }
}

@Suite(.serialized, .fullTests, .enabled(if: Browser.chromium != nil, "chromium is not installed (CI installs it: apt-get install chromium); the reports' layout was not checked in a browser"))
struct ReportLayoutBrowserTests {
    /// The largest shipped sweep: the hegde2025 study's 264 configurations (its results are the shipped runs.jsonl, the
    /// same lines `moesim sweep experiments/hegde2025/spec.json` writes), at the page's width and in a narrow window.
    @Test func largestSweepReportLaysOutCleanly() throws {
        let dir = try makeTempDir()
        let spec = try SweepSpec(file: Repo.root + "/experiments/hegde2025/spec.json")
        let results = try String(contentsOfFile: Repo.root + "/notebooks-export/hegde2025/runs.jsonl", encoding: .utf8)
        let lines = results.split(separator: "\n").map { String($0) + "\n" }
        #expect(lines.count == spec.configurations().count && lines.count >= 200)
        try Reports.write(Reports.sweep(name: spec.name, title: spec.title, lines: lines), to: dir + "/sweep.html")
        try LayoutCheck.expectClean(dir + "/sweep.html", "sweep hegde2025", minTexts: 1000, minMarks: 1000)
        try LayoutCheck.expectClean(dir + "/sweep.html", "sweep hegde2025", width: 700, loose: true, minTexts: 1000, minMarks: 1000)
    }

    @Test func planRunAndReproduceReportsLayOutCleanly() throws {
        let dir = try makeTempDir()
        let p = runCLI(["plan", "--model", "olmoe-1b-7b", "--gpu", "a100-sxm4-80gb,h100-sxm-80gb", "--max-gpus", "8", "--random-input-len", "256",
                        "--random-output-len", "32", "--num-prompts", "32", "--max-concurrency", "16", "--gpu-hour-usd", "a100-sxm4-80gb=1.8",
                        "--gpu-hour-usd", "h100-sxm-80gb=3", "--html", dir + "/plan.html"])
        #expect(p.code == 0, "\(p.err)")
        try LayoutCheck.expectClean(dir + "/plan.html", "plan", minTexts: 40, minMarks: 50)
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--num-prompts", "200", "--max-concurrency", "32",
                        "--html", dir + "/run.html"])
        #expect(r.code == 0, "\(r.err)")
        try LayoutCheck.expectClean(dir + "/run.html", "run", minTexts: 50, minMarks: 400)
        // reproduce: the shipped report and the exported figures (regenerated by `moesim reproduce` when charts change).
        let export = Repo.root + "/notebooks-export/hegde2025"
        try LayoutCheck.expectClean(export + "/report.html", "reproduce report", minTexts: 100, minMarks: 40)
        var figures = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>body{margin:8px;max-width:1300px}</style></head><body>\n"
        for f in ["fig2-throughput-c128-decode.svg", "fig3-throughput-vs-concurrency.svg", "fig4-latency-c32.svg"] {
            let svg = try String(contentsOfFile: export + "/" + f, encoding: .utf8)
            figures += "<div>" + (svg.range(of: "<svg").map { String(svg[$0.lowerBound...]) } ?? svg) + "</div>\n"
        }
        try (figures + "</body></html>\n").write(toFile: dir + "/figures.html", atomically: true, encoding: .utf8)
        try LayoutCheck.expectClean(dir + "/figures.html", "reproduce figures", width: 1300, minTexts: 60, minMarks: 30)
    }
}
