import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Cluster
import Serving

/// Where commands write, and how: one place for every output of every command.
///
/// - `check` claims an output before the work: it refuses a file the command reads (named on the command line or
///   read indirectly: a model folder's `config.json`, a draft model named in `--speculative-config`, a manifest's
///   result files, a profile used by name; the command's `FileRegistry` holds them all, by device and inode), the
///   profiles directory, a directory, a block device or socket, and a path another output of the same command
///   claimed; it says when a regular file will be replaced.
/// - `write` checks the registry again (files read since) and writes: over a regular file by a temporary file
///   renamed onto it (the link's target when the path is a symbolic link), into a character device or a pipe
///   (`/dev/null`, `/dev/stdout`, a FIFO with a reader) without replacing it; nothing else.
public enum OutputFiles {
    /// The canonical path of `path` (symbolic links and `..` resolved; for a file not yet there, its folder's).
    static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
    }

    /// Flags that name files a command writes (never read): an existing file there is replaced, not an input.
    public static let outputFlags: Set<String> = ["--html", "--save-result", "--svg", "--out", "--timeline", "--json", "--result-filename", "--result-dir",
                                                  "--steps"]

    /// Files a command reads by name: every argument value and positional that names an existing file, plus `extra`
    /// (files named inside inputs), and `routing` specs' files. Files read indirectly are in the `FileRegistry`.
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

    public enum Kind: Equatable, Sendable { case missing, regular, characterDevice, pipe, directory, other(String) }

    public static func kind(_ path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else {
            var lst = stat()
            if lstat(path, &lst) == 0 { return .other("a symbolic link to a missing file") }
            return .missing
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFCHR: return .characterDevice
        case S_IFIFO: return .pipe
        case S_IFDIR: return .directory
        case S_IFBLK: return .other("a block device")
        case S_IFSOCK: return .other("a socket")
        default: return .other("not a regular file")
        }
    }

    /// Refuses to write `path` (given to `flag`) when the command reads it (`inputs`, or any file in the command's
    /// `FileRegistry`), when it lies in the profiles directory (every command reads profiles from there; with
    /// `profileKind`, a new file directly in that kind's folder is allowed, as `calibrate --out` writes engine
    /// profiles), when another output of this command writes it, or when it is something other than a regular file,
    /// a character device or a pipe. Returns a note when it replaces a regular file.
    @discardableResult
    public static func check(_ path: String, flag: String, inputs: [String] = [], store: ProfileStore? = nil, profileKind: String? = nil) throws -> String? {
        guard !path.isEmpty else { throw InputError.usage("'\(flag)' needs a file name") }
        let target = canonical(path)
        let id = FileRegistry.identity(path)
        if let hit = inputs.first(where: { canonical($0) == target || (id != nil && FileRegistry.identity($0) == id) }) {
            throw InputError.usage("'\(flag) \(path)' would overwrite '\(hit)', which this command reads; write another file (and move it over the input afterwards if that is what you mean)")
        }
        try refuseRead(path, flag: flag)
        if let root = store?.root {
            let r = canonical(root)
            if target.hasPrefix(r.hasSuffix("/") ? r : r + "/") {
                let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
                guard let k = profileKind, folder == (r.hasSuffix("/") ? r : r + "/") + k, id == nil else {
                    throw InputError.usage("'\(flag) \(path)' lies in the profiles directory \(root), which this command reads" +
                                           (profileKind.map { "; only a new file directly in \(root)/\($0)/ may be written" } ?? "; write elsewhere and copy the file in if you mean to"))
                }
            }
        }
        let k = kind(path)
        // Two outputs into one file would leave only the last; into a device or pipe (/dev/null) both go through.
        if k == .missing || k == .regular, let other = FileRegistry.current?.claimOutput(target, flag: flag) {
            throw InputError.usage("'\(flag) \(path)' is also where '\(other)' writes; give each output its own file")
        }
        switch k {
        case .missing, .characterDevice, .pipe: return nil
        case .regular: return "note: replacing the existing file \(path)\n"
        case .directory: throw InputError.usage("'\(flag) \(path)' is a directory; give a file name")
        case .other(let what): throw InputError.usage("'\(flag) \(path)' is \(what); give a regular file, a character device (such as /dev/null) or a pipe")
        }
    }

    /// Refuses `path` when the command has read that file (however it was named).
    static func refuseRead(_ path: String, flag: String) throws {
        if let name = FileRegistry.current?.readName(of: path) {
            throw InputError.usage("'\(flag) \(path)' would overwrite '\(name)', which this command reads; write another file (and move it over the input afterwards if that is what you mean)")
        }
    }

    /// Writes `text` to `path` (claimed by `check` for `flag`): over a regular file atomically, into a character
    /// device or pipe in place; refuses a file the command has read since the check. Errors name the file and `what`.
    public static func write(_ text: String, to path: String, flag: String, what: String = "the output") throws {
        try refuseRead(path, flag: flag)
        do { try writeData(Data(text.utf8), to: path) }
        catch let e as InputError { throw e }
        catch { throw InputError.data("\(path): cannot write \(what): \(error)") }
    }

    struct WriteError: Error, CustomStringConvertible {
        var description: String
        static func errno(_ what: String) -> WriteError { WriteError(description: "\(what): \(String(cString: strerror(Glibc.errno)))") }
    }

    static func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if Glibc.errno == EINTR { continue }; throw WriteError.errno("write") }
                done += n
            }
        }
    }

    /// Opens `path` for writing into it as it is (a character device or a pipe): a pipe nobody reads is refused
    /// rather than waited on.
    static func openInPlace(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            if Glibc.errno == ENXIO { throw WriteError(description: "no process is reading the pipe") }
            throw WriteError.errno("open")
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return fd
    }

    static func writeData(_ data: Data, to path: String) throws {
        switch kind(path) {
        case .characterDevice, .pipe:
            let fd = try openInPlace(path)
            defer { close(fd) }
            try writeAll(fd, data)
        case .regular, .missing:
            // The link's target, when the path is a symbolic link: the link stays.
            let target = kind(path) == .regular ? URL(fileURLWithPath: path).resolvingSymlinksInPath().path : path
            var st = stat()
            let mode: mode_t = stat(target, &st) == 0 ? st.st_mode & 0o7777 : 0o644
            let dir = URL(fileURLWithPath: target).deletingLastPathComponent().path
            let tmp = dir + "/." + URL(fileURLWithPath: target).lastPathComponent + ".moesim-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard fd >= 0 else { throw WriteError.errno("cannot create a file in \(dir)") }
            do {
                try writeAll(fd, data)
                if st.st_mode != 0 { _ = fchmod(fd, mode) }
                guard close(fd) == 0 else { throw WriteError.errno("close") }
            } catch { unlink(tmp); throw error }
            guard rename(tmp, target) == 0 else { let e = WriteError.errno("rename"); unlink(tmp); throw e }
        case .directory: throw InputError.data("\(path): is a directory")
        case .other(let what): throw InputError.data("\(path): is \(what); refusing to write into it or replace it")
        }
    }

    /// A file written as results come in (a sweep's rows): opened for appending after `lines`, a regular file truncated
    /// first; nil for a character device or pipe, which get the whole file once at the end (`write`).
    public static func openForAppending(_ path: String, flag: String, lines: String) throws -> FileHandle? {
        try refuseRead(path, flag: flag)
        switch kind(path) {
        case .characterDevice, .pipe: return nil
        default:
            do {
                try writeData(Data(lines.utf8), to: path)
                let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                h.seekToEndOfFile()
                return h
            } catch let e as InputError { throw e }
            catch { throw InputError.data("\(path): cannot write results: \(error)") }
        }
    }

    /// The folder `flag` names, or nil when it is not given; an empty value (which would put the outputs at the
    /// filesystem's root) is refused.
    public static func directory(_ a: ParsedArguments, _ flag: String = "--out") throws -> String? {
        guard let v = a.string(flag) else { return nil }
        guard !v.isEmpty else { throw InputError.usage("'\(flag)' needs a directory name") }
        return v
    }

    /// Whether `name` (from an input file, such as a spec's name) can stand in a default output path: one plain
    /// path component, so that a file cannot steer where outputs go.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.unicodeScalars.contains { $0.value < 0x20 }
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

