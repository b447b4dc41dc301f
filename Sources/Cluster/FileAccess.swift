import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What kind of input a file is, for its size limit and the memory reading it takes: the limit is checked on the
/// file's size before a byte is read, and so is the memory (size x `memoryPerByte` against `Limits.memoryBudgetBytes`).
public struct InputKind: Sendable {
    public var name: String
    public var maxBytes: Int
    /// Bytes of memory per byte of input while it is read and parsed (JSON: the input and its tape, at most 9x).
    public var memoryPerByte: Double

    public init(name: String, maxBytes: Int, memoryPerByte: Double) {
        self.name = name; self.maxBytes = maxBytes; self.memoryPerByte = memoryPerByte
    }

    /// A model's `config.json` or shipped model profile (real ones are a few kilobytes).
    public static let modelConfig = InputKind(name: "model configs", maxBytes: 16_000_000, memoryPerByte: 9)
    /// GPU, engine, interconnect and network profiles, and measured kernel tables (the shipped ones are under 2 MB).
    public static let profile = InputKind(name: "profiles", maxBytes: 64_000_000, memoryPerByte: 9)
    /// Other JSON inputs: specs, manifests, vLLM result files, expert placements, routing histograms and traces.
    public static let json = InputKind(name: "JSON inputs", maxBytes: 256_000_000, memoryPerByte: 9)
    /// Request traces and results files read line by line (CSV, JSONL).
    public static let text = InputKind(name: "input files", maxBytes: maxInputFileBytes, memoryPerByte: 4)
}

/// Input files larger than this are refused before reading (2 GB); each kind has its own, lower limit (`InputKind`).
public let maxInputFileBytes = 2_000_000_000

/// Every file the running command has read (named on the command line, inside another file, by a profile name
/// or as a model folder's `config.json`), by device and inode so that symbolic links, `..` and hard links do
/// not hide one, and every file it writes: outputs are checked against both (`OutputFiles`). Bound per command
/// (`CLI.main`) as a task-local value, and carried onto worker threads by the sweep runner; nil outside a command.
public final class FileRegistry: @unchecked Sendable {
    public struct Identity: Hashable, Sendable {
        public var device: UInt64, inode: UInt64
    }

    let lock = NSLock()
    var reads: [Identity: String] = [:]
    var outputs: [String: String] = [:]

    @TaskLocal public static var current: FileRegistry? = nil

    public init() {}

    /// The device and inode of the file at `path` (symbolic links followed), or nil when there is none.
    public static func identity(_ path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Records that the command reads the file at `path` (as it was named).
    public func noteRead(_ path: String) {
        guard let id = Self.identity(path) else { return }
        noteRead(id, as: path)
    }

    func noteRead(_ id: Identity, as name: String) {
        lock.lock(); defer { lock.unlock() }
        if reads[id] == nil { reads[id] = name }
    }

    /// The name under which the command read the file at `path`, or nil when it has not read it.
    public func readName(of path: String) -> String? {
        guard let id = Self.identity(path) else { return nil }
        lock.lock(); defer { lock.unlock() }
        return reads[id]
    }

    /// Claims the output `canonical` (an absolute path, links resolved) for `flag`; returns the flag that claimed it
    /// before, if another did.
    public func claimOutput(_ canonical: String, flag: String) -> String? {
        lock.lock(); defer { lock.unlock() }
        if let other = outputs[canonical] { return other == flag ? nil : other }
        outputs[canonical] = flag
        return nil
    }

    /// Runs `body` with the registry of the calling context bound (for work handed to other threads).
    public static func carrying<T>(_ registry: FileRegistry?, _ work: Limits.Work, _ body: () throws -> T) rethrows -> T {
        try $current.withValue(registry) { try Limits.$work.withValue(work) { try body() } }
    }
}

/// Reads an input file: a regular file (not a directory, device or pipe, which could block or never end) within
/// its kind's size limit and the memory budget, both checked before reading; records it in the command's
/// `FileRegistry` (unless `record` is false: a command reading back its own earlier output); errors name the file.
public func readInputFile(_ file: String, kind: InputKind = .text, record: Bool = true) throws -> Data {
    let fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    if fd < 0 {
        let e = errno
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDir), isDir.boolValue { throw InputError.data("\(file): is a directory, not a file") }
        if e == ENOENT || e == ENOTDIR { throw InputError.data("\(file): cannot read the file (does it exist?)") }
        if e == EACCES || e == EPERM { throw InputError.data("\(file): cannot read the file (permissions?)") }
        if e == ENXIO || e == EWOULDBLOCK { throw InputError.data("\(file): is not a regular file (a device or a pipe cannot be read as input)") }
        throw InputError.data("\(file): cannot read the file (\(String(cString: strerror(e))))")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw InputError.data("\(file): cannot read the file") }
    let type = st.st_mode & S_IFMT
    if type == S_IFDIR { throw InputError.data("\(file): is a directory, not a file") }
    guard type == S_IFREG else { throw InputError.data("\(file): is not a regular file (a device or a pipe cannot be read as input)") }
    let size = Int(st.st_size)
    let limit = min(kind.maxBytes, maxInputFileBytes)
    guard size <= limit else {
        throw InputError.data("\(file): is \(size / 1_000_000) MB; \(kind.name) are limited to \(limit / 1_000_000) MB")
    }
    let need = Double(size) * kind.memoryPerByte, budget = Limits.memoryBudgetBytes
    guard need <= budget else {
        throw InputError.data(String(format: "%@: is %d MB; reading it would need about %.0f MB of memory, more than the limit of %.0f MB (half of this machine's memory)",
                                     file, size / 1_000_000, need / 1e6, budget / 1e6))
    }
    var data = Data(count: size)
    var got = 0
    let ok: Bool = data.withUnsafeMutableBytes { raw in
        guard let base = raw.baseAddress else { return true }
        while got < size {
            let n = read(fd, base + got, size - got)
            if n < 0 { if errno == EINTR { continue }; return false }
            if n == 0 { break }
            got += n
        }
        return true
    }
    guard ok else { throw InputError.data("\(file): cannot read the file (\(String(cString: strerror(errno))))") }
    if got < size { data.count = got } // the file shrank while it was read
    if record { FileRegistry.current?.noteRead(FileRegistry.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)), as: file) }
    return data
}

/// An input file's text (UTF-8), read as `readInputFile` reads it.
public func readInputText(_ file: String, kind: InputKind = .text, record: Bool = true) throws -> String {
    let data = try readInputFile(file, kind: kind, record: record)
    guard let s = String(data: data, encoding: .utf8) else { throw InputError.data("\(file): is not UTF-8 text") }
    return s
}
