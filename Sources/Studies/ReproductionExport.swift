import Foundation
import Cluster
import Serving

/// Writes a reproduction's data, figures and notebook (`notebooks-export/<study>/`).
public enum ReproductionExport {
    static let strategyNames = ["tp": "TP", "ep": "EP", "hybrid": "Hybrid"]
    static let modelNames = ["mixtral-8x7b": "Mixtral-8x7B", "olmoe-1b-7b": "OLMoE-1B-7B", "qwen1.5-moe-a2.7b": "Qwen1.5-MoE-A2.7B"]

    /// Fig. 2: throughput by strategy at concurrency 128, decode-heavy; the paper's two published bars beside.
    public static func figure2(_ r: Reproduction) -> String {
        let ms = Reproduction.models
        var series: [(name: String, values: [Double?])] = Reproduction.strategies.map { s in
            ("moesim \(strategyNames[s]!)", ms.map { r.throughput($0, s, "decode-heavy", "128") })
        }
        let pts = r.namedPoints().filter { $0.column == "output_throughput" }
        for s in ["tp", "ep"] {
            series.append(("paper \(strategyNames[s]!)", ms.map { m in pts.first { $0.row.hasPrefix(m.hasPrefix("qwen") ? "qwen" : m) && $0.row.hasSuffix("-" + s) }?.paper }))
        }
        return SVGChart.groupedBars(title: "Throughput by strategy at concurrency 128, decode-heavy (cf. paper Fig. 2)",
                                    categories: ms.map { modelNames[$0]! }, series: series, yLabel: "output throughput (tok/s)")
    }

    /// Fig. 3: throughput against concurrency, decode-heavy, one panel per model.
    public static func figure3(_ r: Reproduction) -> String {
        let panels = Reproduction.models.map { m in
            SVGChart.lines(title: "\(modelNames[m]!): decode-heavy workload", series: Reproduction.strategies.map { s in
                SVGChart.Series(name: strategyNames[s]!, points: Reproduction.concurrency.compactMap { c in
                    r.throughput(m, s, "decode-heavy", c).map { (Double(c)!, $0) } })
            }, xLabel: "concurrency", yLabel: "output tok/s", logX: true, width: 420, height: 340)
        }
        return SVGChart.panels(panels, columns: 3, panelWidth: 420, panelHeight: 340)
    }

    /// Fig. 4: mean TTFT, ITL and E2E latency at concurrency 32, averaged over workloads.
    public static func figure4(_ r: Reproduction) -> String {
        let metrics: [(String, (RunResult) -> Double)] = [("mean TTFT (ms)", { $0.ttftMs.mean }), ("mean ITL (ms)", { $0.itlMs.mean }), ("mean E2E latency (ms)", { $0.e2elMs.mean })]
        let panels = metrics.map { (label, f) in
            SVGChart.groupedBars(title: "\(label), concurrency 32, mean of 3 workloads", categories: Reproduction.models.map { modelNames[$0]! },
                                 series: Reproduction.strategies.map { s in (strategyNames[s]!, Reproduction.models.map { m in r.mean(r.multi(m, s, nil, "32"), f) }) },
                                 yLabel: "ms", width: 420, height: 340)
        }
        return SVGChart.panels(panels, columns: 3, panelWidth: 420, panelHeight: 340)
    }

    static func comparisonsCSV(_ cs: [Reproduction.Comparison]) -> String {
        var s = "table,row,column,paper,moesim,relative_error,in_sample\n"
        for c in cs {
            s += [c.table, c.row, c.column, c.paper.map { JSONWriter.number($0) } ?? "", c.moesim.map { JSONWriter.number($0) } ?? "",
                  c.error.map { JSONWriter.number($0) } ?? "", c.inSample ? "true" : "false"].map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",") + "\n"
        }
        return s
    }

    static func notebook(_ r: Reproduction, report: String, figures: [(String, String)]) -> String {
        var nb = Notebook()
        nb.markdown("# \(r.spec.title)\n\nReproduced by simulation with moesim (`swift run -c release moesim reproduce \(r.spec.name)`). Numbers marked * in the tables were used to fit the engine profile; all others are predictions.\n\n" + r.spec.notes.map { "- " + $0 }.joined(separator: "\n"))
        nb.code("print(open('report.txt').read())", outputs: [.text(report)])
        for (title, cs) in [("Table IV", r.tableIV()), ("Table V", r.tableV()), ("Table VI", r.tableVI()), ("Table VII", r.tableVII()), ("Named points", r.namedPoints())] {
            let rows = cs.map { c in [c.row, c.column, Reproduction.f(c.paper), Reproduction.f(c.moesim) + (c.inSample ? "*" : ""), Reproduction.pct(c.error)] }
            nb.markdown("## \(title)\n\n" + Notebook.table(headers: ["row", "column", "paper", "moesim", "error"], rows: rows))
        }
        for (name, svg) in figures {
            nb.code("from IPython.display import SVG\nSVG(filename='\(name)')", outputs: [.svg(svg)])
        }
        let claims = r.claims()
        nb.markdown("## Scorecard\n\n" + Notebook.table(headers: ["claim", "reproduced", "moesim evidence"], rows: claims.map { [$0.text, $0.reproduced ? "yes" : "no", $0.evidence] }))
        nb.code("import pandas as pd\nruns = pd.read_csv('runs.csv')\nruns[runs.grid == 'multi-gpu'].groupby(['model', 'strategy']).output_throughput.mean()",
                outputs: [.text(groupMeans(r))])
        return nb.json()
    }

    static func groupMeans(_ r: Reproduction) -> String {
        var s = "model              strategy\n"
        for m in Reproduction.models { for st in ["ep", "hybrid", "tp"] {
            s += m.padding(toLength: 19, withPad: " ", startingAt: 0) + st.padding(toLength: 9, withPad: " ", startingAt: 0) + Reproduction.f(r.throughput(m, st), 6) + "\n"
        } }
        return s + "Name: output_throughput, dtype: float64"
    }

    /// The files `write` writes for a study spec named `name`.
    public static func fileNames(spec name: String) -> [String] {
        ["runs.csv", "runs.jsonl", "comparison.csv", "report.txt", "fig2-throughput-c128-decode.svg", "fig3-throughput-vs-concurrency.svg",
         "fig4-latency-c32.svg", "\(name).ipynb"]
    }

    /// Writes everything (each file claimed with `OutputFiles.check` by the caller); returns the file names.
    public static func write(_ r: Reproduction, report: String, to dir: String) throws -> [String] {
        let figures = [("fig2-throughput-c128-decode.svg", figure2(r)), ("fig3-throughput-vs-concurrency.svg", figure3(r)), ("fig4-latency-c32.svg", figure4(r))]
        var files: [(String, String)] = [("runs.csv", SweepRunner.csv(r.results)), ("runs.jsonl", SweepRunner.jsonLines(r.results)),
                                         ("comparison.csv", comparisonsCSV(r.allComparisons())), ("report.txt", report)]
        files += figures
        files.append(("\(r.spec.name).ipynb", notebook(r, report: report, figures: figures)))
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        catch { throw InputError.data("\(dir): cannot write the exports: \(error.localizedDescription)") }
        for (n, text) in files { try OutputFiles.write(text, to: "\(dir)/\(n)", flag: "--out", what: "the export") }
        return files.map(\.0)
    }
}
