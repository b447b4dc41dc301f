import Foundation
import Cluster

/// Where commands write: never over a file they read, and saying when an existing output is replaced.
public enum OutputFiles {
    /// The canonical path of `path` (symbolic links and `..` resolved; for a file not yet there, its folder's).
    static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
    }

    /// Flags that name files a command writes (never read): an existing file there is replaced, not an input.
    public static let outputFlags: Set<String> = ["--html", "--save-result", "--svg", "--out", "--timeline", "--json", "--result-filename"]

    /// Files a command reads: every argument value and positional that names an existing file, plus `extra`
    /// (files named inside inputs, such as a spec's or manifest's `--trace`), and `routing` specs' files.
    public static func inputs(_ a: ParsedArguments, except output: String?, extra: [String] = []) -> [String] {
        var xs = a.positionals + extra
        for (k, vs) in a.repeated where k != output && !outputFlags.contains(k) { xs += vs }
        var out: [String] = []
        for x in xs {
            var isDir: ObjCBool = false
            for cand in [x] + (x.split(separator: ":", maxSplits: 1).count == 2 ? [String(x.split(separator: ":", maxSplits: 1)[1])] : [])
            where FileManager.default.fileExists(atPath: cand, isDirectory: &isDir) && !isDir.boolValue {
                out.append(cand)
            }
        }
        return out
    }

    /// Refuses to write `path` (given to `flag`) when it is one of `inputs` or lies in the profiles directory
    /// (every command reads profiles from there, named or by default); returns a note when it replaces a file.
    @discardableResult
    public static func check(_ path: String, flag: String, inputs: [String], store: ProfileStore? = nil) throws -> String? {
        let target = canonical(path)
        if let hit = inputs.first(where: { canonical($0) == target }) {
            throw InputError.usage("'\(flag) \(path)' would overwrite '\(hit)', which this command reads; write another file (and move it over the input afterwards if that is what you mean)")
        }
        if let root = store?.root {
            let r = canonical(root)
            if target.hasPrefix(r.hasSuffix("/") ? r : r + "/") {
                throw InputError.usage("'\(flag) \(path)' lies in the profiles directory \(root), which this command reads; write elsewhere and copy the file in if you mean to")
            }
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { throw InputError.usage("'\(flag) \(path)' is a directory; give a file name") }
            return "note: replacing the existing file \(path)\n"
        }
        return nil
    }

    /// Files named by `--flag value` pairs in argument lists (a spec's or manifest's runs).
    public static func files(inArgumentLists lists: [[String]]) -> [String] {
        var out = Set<String>()
        for l in lists { for x in l where !x.hasPrefix("--") { out.insert(x) } }
        return out.sorted().filter { x in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: x, isDirectory: &isDir) && !isDir.boolValue
        }
    }
}
