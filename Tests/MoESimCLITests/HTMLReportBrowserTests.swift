import Foundation
import Testing
@testable import MoESimCLI

/// The HTML reports in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run) loads each page
/// from disk with no console message, the DOM it builds holds every chart point the page was written with (the page's
/// script counts them and marks the body), and a screenshot is not blank (its decoded pixels vary).
enum Browser {
    static let chromium: String? = {
        for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/local/bin/chromium"]
        where FileManager.default.isExecutableFile(atPath: p) { return p }
        return nil
    }()
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs a program; returns its exit status, stdout and stderr.
    static func run(_ exe: String, _ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        // Output to files (a full pipe would block the child).
        let base = NSTemporaryDirectory() + "moesim-proc-" + UUID().uuidString
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        let o = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out")), e = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        p.standardOutput = o; p.standardError = e
        try p.run()
        p.waitUntilExit()
        try? o.close(); try? e.close()
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "", err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: base + ".out"); try? FileManager.default.removeItem(atPath: base + ".err")
        return (p.terminationStatus, out, err)
    }

    static func chromeArgs(_ extra: [String]) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--user-data-dir=" + NSTemporaryDirectory() + "moesim-chromium-" + UUID().uuidString] + extra
    }

    /// Decodes an 8-bit RGB(A) PNG (zlib through Python's standard library) and prints the number of distinct colours.
    static let pngColours = """
    import sys, zlib, struct
    d = open(sys.argv[1], 'rb').read()
    assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'not a PNG'
    i, idat, w, h, ct = 8, b'', 0, 0, 0
    while i < len(d):
        n, t = struct.unpack('>I4s', d[i:i+8]); c = d[i+8:i+8+n]; i += 12 + n
        if t == b'IHDR': w, h, bd, ct = struct.unpack('>IIBB', c[:10]); assert bd == 8, 'bit depth'
        elif t == b'IDAT': idat += c
    bpp = {2: 3, 6: 4}[ct]; raw = zlib.decompress(idat); stride = w * bpp
    prev = bytearray(stride); colours = set(); pos = 0
    for y in range(h):
        f = raw[pos]; line = bytearray(raw[pos+1:pos+1+stride]); pos += 1 + stride
        for x in range(stride):
            a = line[x-bpp] if x >= bpp else 0; b = prev[x]; cc = prev[x-bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - cc; pa, pb, pc = abs(p-a), abs(p-b), abs(p-cc)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        if y % 4 == 0:
            for x in range(0, stride, bpp * 2): colours.add(bytes(line[x:x+3]))
        prev = line
    print(len(colours), w, h)
    """
}

@Suite(.serialized, .fullTests, .enabled(if: Browser.chromium != nil, "chromium is not installed (CI installs it: apt-get install chromium); the HTML reports were not loaded in a browser"))
struct HTMLReportBrowserTests {
    func check(_ html: String, minPoints: Int, name: String) throws {
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let written = page.components(separatedBy: "class=\"pt\"").count - 1
        #expect(written >= minPoints, "\(name): \(written) chart points written")
        #expect(!page.contains("http://") || page.components(separatedBy: "http://").count - 1 == page.components(separatedBy: "http://www.w3.org/2000/svg").count - 1,
                "\(name): the page must not load anything over the network")
        let url = URL(fileURLWithPath: html).absoluteString
        let (code, dom, err) = try Browser.run(Browser.chromium!, Browser.chromeArgs(["--dump-dom", url]))
        #expect(code == 0, "\(name): chromium --dump-dom exited \(code): \(err.suffix(2000))")
        let console = err.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "\(name): console messages: \(console)")
        #expect(dom.contains("data-report-errors=\"0\""), "\(name): the page's script did not finish without errors")
        #expect(dom.contains("data-report-points=\"\(written)\""), "\(name): the browser's DOM should hold all \(written) chart points")
        let png = html + ".png"
        let shot = try Browser.run(Browser.chromium!, Browser.chromeArgs(["--window-size=1100,900", "--screenshot=" + png, url]))
        #expect(shot.0 == 0 && FileManager.default.fileExists(atPath: png), "\(name): no screenshot: \(shot.2.suffix(2000))")
        if let py = Browser.python, FileManager.default.fileExists(atPath: png) {
            let script = NSTemporaryDirectory() + "moesim-png-\(UUID().uuidString).py"
            try Browser.pngColours.write(toFile: script, atomically: true, encoding: .utf8)
            let (c, out, e) = try Browser.run(py, [script, png])
            let f = out.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            #expect(c == 0 && f.count == 3, "\(name): could not decode the screenshot: \(e)")
            // A blank page has one colour; text, grid lines and the charts' palette give dozens.
            if f.count == 3 { #expect(f[0] >= 20 && f[1] == 1100 && f[2] == 900, "\(name): screenshot has \(f[0]) colours at \(f[1])x\(f[2])") }
        }
    }

    @Test func runReportLoadsInChromium() throws {
        let dir = try makeTempDir()
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--random-input-len", "128", "--random-output-len", "32",
                        "--num-prompts", "40", "--max-concurrency", "16", "--html", dir + "/run.html"])
        #expect(r.code == 0, "\(r.err)")
        try check(dir + "/run.html", minPoints: 10, name: "run")
    }

    @Test func planReportLoadsInChromium() throws {
        let dir = try makeTempDir()
        let r = runCLI(["plan", "--model", "olmoe-1b-7b", "--gpu", "a100-sxm4-80gb,h100-sxm-80gb", "--max-gpus", "2", "--random-input-len", "128",
                        "--random-output-len", "32", "--num-prompts", "40", "--max-concurrency", "16", "--gpu-hour-usd", "h100-sxm-80gb=3",
                        "--html", dir + "/plan.html"])
        #expect(r.code == 0, "\(r.err)")
        try check(dir + "/plan.html", minPoints: 4, name: "plan")
    }

    @Test func sweepReportLoadsInChromium() throws {
        let dir = try makeTempDir()
        let spec = """
        {"version": 1, "name": "browser", "title": "browser test", "grids": [{"name": "g", "base": ["--model", "olmoe-1b-7b", "--random-input-len", "128", "--random-output-len", "32", "--num-prompts", "24"],
          "axes": [{"name": "strategy", "values": [{"label": "tp", "args": ["--strategy", "tp"]}, {"label": "ep", "args": ["--strategy", "ep"]}]},
                   {"name": "concurrency", "values": [{"label": "4", "args": ["--max-concurrency", "4"]}, {"label": "16", "args": ["--max-concurrency", "16"]}]}]}]}
        """
        try spec.write(toFile: dir + "/spec.json", atomically: true, encoding: .utf8)
        let r = runCLI(["sweep", dir + "/spec.json", "--out", dir + "/out", "--html", dir + "/sweep.html"])
        #expect(r.code == 0, "\(r.err)")
        try check(dir + "/sweep.html", minPoints: 8, name: "sweep")
    }
}
