import Foundation

/// Finds and loads the shipped profiles (`profiles/` in the repository) and user files.
///
/// The directory is the `MOESIM_PROFILES` environment variable when it is set (an error when it names no profiles
/// folder), else `./profiles`, else the `profiles` folder of the checkout that holds the running executable, found
/// from its real path (`.build/<config>/moesim` lies three levels down, `.build/<triple>/<config>/moesim` four).
public struct ProfileStore: Sendable {
    public let root: String
    let cache = Cache()

    /// Parsed profiles by path, shared by the copies of a store (sweeps load each profile once).
    final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var items: [String: Any] = [:]
        func get<T>(_ key: String, _ make: () throws -> T) throws -> T {
            lock.lock()
            if let any = items[key], let v = any as? T { lock.unlock(); return v }
            lock.unlock()
            let v = try make()
            lock.lock(); items[key] = v; lock.unlock()
            return v
        }
    }

    public init(root: String) { self.root = root }

    /// A profiles directory that `locate` returns before looking anywhere (the fuzz harness runs commands against a
    /// copy, so that a broken output check could not touch the checkout's profiles); task-local.
    @TaskLocal public static var overrideRoot: String? = nil

    public static func locate(executablePath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> ProfileStore {
        if let o = overrideRoot { return ProfileStore(root: o) }
        let fm = FileManager.default
        func isProfiles(_ c: String) -> Bool {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: c + "/gpus", isDirectory: &isDir) && isDir.boolValue
        }
        // A MOESIM_PROFILES that is set is the only place looked: a wrong one is an error, never a silent fallback.
        if let env = environment["MOESIM_PROFILES"], !env.isEmpty {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: env, isDirectory: &isDir) else {
                throw InputError.data("MOESIM_PROFILES=\(env): no such folder; set it to moesim's profiles/ folder (the one holding gpus/, models/, ...) or unset it")
            }
            guard isDir.boolValue, isProfiles(env) else {
                throw InputError.data("MOESIM_PROFILES=\(env): not a moesim profiles folder (it has no gpus/ folder); set it to moesim's profiles/ folder or unset it")
            }
            return ProfileStore(root: env)
        }
        let exes = executableLocations(argv0: executablePath ?? CommandLine.arguments.first ?? "", environment: environment, currentDirectory: currentDirectory)
        let candidates = searchPlaces(executables: exes, currentDirectory: currentDirectory)
        if let c = candidates.first(where: isProfiles) { return ProfileStore(root: c) }
        throw InputError.data("cannot find the profiles directory (looked in \(candidates.joined(separator: ", "))); set MOESIM_PROFILES to moesim's profiles/ folder")
    }

    /// The folders `locate` looks in without MOESIM_PROFILES, in order, each once: ./profiles, then for each executable
    /// location (symbolic links resolved: the checkout's binary behind a link on PATH) the profiles/ folder beside it
    /// and in the folders above it, six levels up (`.build/<config>/moesim` and `.build/<triple>/<config>/moesim` lie
    /// three and four levels below the checkout).
    static func searchPlaces(executables: [String], currentDirectory: String) -> [String] {
        var places: [String] = []
        func add(_ c: String) {
            let p = URL(fileURLWithPath: c).standardizedFileURL.path
            if !places.contains(p) { places.append(p) }
        }
        add(currentDirectory + "/profiles")
        for exe in executables {
            var dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<6 {
                add(dir.appendingPathComponent("profiles").path)
                if dir.path == "/" { break }
                dir = dir.deletingLastPathComponent()
            }
        }
        return places
    }

    /// Where the running executable lies: `argv0` as given (relative to the working directory when it holds a slash,
    /// else found on PATH as the shell found it), then the operating system's record of it (/proc/self/exe on Linux,
    /// the main bundle's executable elsewhere).
    static func executableLocations(argv0: String, environment: [String: String], currentDirectory: String) -> [String] {
        let fm = FileManager.default
        var out: [String] = []
        if argv0.contains("/") {
            out.append(argv0.hasPrefix("/") ? argv0 : currentDirectory + "/" + argv0)
        } else if !argv0.isEmpty {
            for dir in (environment["PATH"] ?? "").split(separator: ":").map(String.init) where !dir.isEmpty {
                let p = (dir.hasPrefix("/") ? dir : currentDirectory + "/" + dir) + "/" + argv0
                if fm.isExecutableFile(atPath: p) { out.append(p); break }
            }
        }
        if let p = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") { out.append(p) }
        if let p = Bundle.main.executablePath { out.append(p) }
        return out
    }

    /// Names of the shipped profiles of one kind (`models`, `gpus`, `interconnects`, `engines`).
    public func names(_ kind: String) -> [String] {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(kind)")) ?? []
        return items.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    public func resolve(_ kind: String, _ nameOrPath: String, flag: String) throws -> String {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            guard FileManager.default.fileExists(atPath: nameOrPath) else {
                throw InputError.usage("The file '\(nameOrPath)' given to '\(flag)' does not exist")
            }
            return nameOrPath
        }
        let path = "\(root)/\(kind)/\(nameOrPath).json"
        if FileManager.default.fileExists(atPath: path) { return path }
        // A shipped name in other letter case (`Mixtral-8x7B`, `H200-SXM-141GB`), as such names are usually written.
        if let n = names(kind).first(where: { $0.lowercased() == nameOrPath.lowercased() }) { return "\(root)/\(kind)/\(n).json" }
        throw InputError.usage("The value '\(nameOrPath)' is invalid for '\(flag)'. Please provide one of \(quotedChoices(names(kind))) or a JSON file")
    }

    /// A model by shipped name or by the path of a Hugging Face `config.json` (or a wrapped profile).
    public func model(_ nameOrPath: String) throws -> ModelArchitecture {
        let path = try resolve("models", modelPath(nameOrPath), flag: "--model")
        return try cache.get("model:" + path) { try loadModel(path: path) }
    }

    /// What `--model` names, as vLLM users write it: a shipped name, a JSON file, a folder holding `config.json`, or the
    /// Hugging Face repo id of a shipped model (`mistralai/Mixtral-8x7B-v0.1`; a repo's -Instruct/-Chat/-Base variants
    /// share its architecture). Anything else is returned as given (and refused by `resolve` with the choices).
    public func modelPath(_ nameOrPath: String) throws -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDir) {
            if isDir.boolValue {
                let c = URL(fileURLWithPath: nameOrPath).appendingPathComponent("config.json").path
                guard FileManager.default.fileExists(atPath: c) else {
                    throw InputError.usage("The folder '\(nameOrPath)' given to '--model' holds no config.json")
                }
                return c
            }
            return nameOrPath
        }
        let parts = nameOrPath.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !nameOrPath.hasSuffix(".json") else { return nameOrPath }
        if let name = shippedModel(forRepo: nameOrPath) { return name }
        throw InputError.usage("'\(nameOrPath)' given to '--model' is neither a file nor the Hugging Face repo id of a shipped model (\(shippedRepos().map { "\($0.repo) = \($0.name)" }.joined(separator: ", "))); download the repo's config.json and give its path")
    }

    /// Shipped model profiles and the Hugging Face repo each was read from (`hf_repo`), by name.
    public func shippedRepos() -> [(name: String, repo: String)] {
        names("models").compactMap { n in
            guard let j = try? JSONNode.load(file: "\(root)/models/\(n).json", kind: .modelConfig),
                  let r = try? j.optional("hf_repo")?.string() else { return nil }
            return (n, r)
        }
    }

    /// The shipped model whose `hf_repo` is `repo`, ignoring case and an -Instruct, -Chat or -Base suffix.
    public func shippedModel(forRepo repo: String) -> String? {
        func norm(_ s: String) -> String {
            var x = s.lowercased()
            for suffix in ["-instruct", "-chat", "-base"] { x = x.replacingOccurrences(of: suffix, with: "") }
            return x
        }
        let all = shippedRepos()
        return all.first { $0.repo.lowercased() == repo.lowercased() }?.name ?? all.first { norm($0.repo) == norm(repo) }?.name
    }

    func loadModel(path: String) throws -> ModelArchitecture {
        let j = try JSONNode.load(file: path, kind: .modelConfig)
        if j.has("config") && j.has("version") {
            let name = try j.string("name")
            let gen = try j.optional("generation")?.string()
            if let g = gen, g != "autoregressive" && g != "diffusion" {
                throw try j.require("generation").fail("is \"\(g)\"; use 'autoregressive' or 'diffusion'")
            }
            _ = try ProfileSources.read(j)
            return try ModelArchitecture(hfConfig: try j.require("config"), name: name, diffusion: gen.map { $0 == "diffusion" })
        }
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let name = base == "config" ? URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent : base
        return try ModelArchitecture(hfConfig: j, name: name)
    }

    public func gpu(_ nameOrPath: String) throws -> GPUProfile {
        let path = try resolve("gpus", nameOrPath, flag: "--gpu")
        return try cache.get("gpu:" + path) {
            var g = try GPUProfile(json: JSONNode.load(file: path, kind: .profile))
            if let t = g.vllmKernelTablesName { g.vllmKernels = try kernelTables(t) }
            if let t = g.vllmKernels, t.frameworkVersion == "0.24.0" {
                let tiles = "\(root)/kernels/vllm-0.24.0-fused-moe-block-m.json"
                if FileManager.default.fileExists(atPath: tiles) {
                    // With the configurations' compile times where they are shipped (vLLM's first-use compiles).
                    let compile = "\(root)/kernels/vllm-0.24.0-fused-moe-compile.json"
                    g.fusedMoEBlockM = try cache.get("blockm:" + tiles) {
                        var b = try FusedMoEBlockM(json: JSONNode.load(file: tiles, kind: .profile))
                        if FileManager.default.fileExists(atPath: compile) {
                            b.compile = try FusedMoEBlockM.CompileTimes(json: JSONNode.load(file: compile, kind: .profile))
                        }
                        return b
                    }
                }
            }
            return g
        }
    }

    /// Measured vLLM kernel tables (`profiles/kernels/<name>.json`) by name or path; the shape model is fitted on load.
    public func kernelTables(_ nameOrPath: String) throws -> VLLMKernelTables {
        let path = nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") ? nameOrPath : "\(root)/kernels/\(nameOrPath).json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError.data("the kernel tables '\(nameOrPath)' named by a GPU profile do not exist (looked for \(path))")
        }
        return try cache.get("kernels:" + path) { try VLLMKernelTables(file: path) }
    }

    public func engine(_ nameOrPath: String) throws -> EngineProfile {
        let path = try resolve("engines", nameOrPath, flag: "--engine-profile")
        return try cache.get("engine:" + path) { try EngineProfile(json: JSONNode.load(file: path, kind: .profile)) }
    }

    public func interconnect(_ nameOrPath: String) throws -> InterconnectProfile {
        let path = try resolve("interconnects", nameOrPath, flag: "--interconnect")
        return try cache.get("ic:" + path) { try InterconnectProfile(json: JSONNode.load(file: path, kind: .profile)) }
    }

    public func network(_ nameOrPath: String) throws -> NetworkProfile {
        let path = try resolve("networks", nameOrPath, flag: "--network")
        return try cache.get("net:" + path) { try NetworkProfile(json: JSONNode.load(file: path, kind: .profile)) }
    }

    /// The shipped network profile that lists `gpu` (alphabetically first), or nil.
    public func defaultNetwork(gpu: String) throws -> NetworkProfile? {
        for n in names("networks") {
            let net = try network(n)
            if net.gpus.contains(gpu) { return net }
        }
        return nil
    }

    /// The shipped interconnect for `gpu` with curves at `gpus` GPUs: the one listing the GPU, preferring a
    /// measured all-reduce curve at exactly that count, then the alphabetically first.
    public func defaultInterconnect(gpu: String, gpus: Int) throws -> InterconnectProfile? {
        try cache.get("default-ic:\(gpu):\(gpus)") { try findDefaultInterconnect(gpu: gpu, gpus: gpus) }
    }

    func findDefaultInterconnect(gpu: String, gpus: Int) throws -> InterconnectProfile? {
        // Among profiles that list the GPU, hold that many GPUs and do not opt out ("default": false, as the
        // derived PCIe profile does), prefer a measured all-reduce at exactly that count, then a measured
        // all-to-all, then the higher "default_priority" (our own probe's measurements over published curves of
        // the same GPU), then the larger host (a full NVSwitch node over a pair), then the name.
        var best: (ic: InterconnectProfile, score: Int, name: String)? = nil
        for n in names("interconnects") {
            let path = "\(root)/interconnects/\(n).json"
            guard let text = try? readInputText(path, kind: .profile), text.contains("\"\(gpu)\"") else { continue }
            guard let ic = try? interconnect(n), ic.gpus.contains(gpu), ic.maxGPUs >= gpus, ic.isDefaultCandidate else { continue }
            var score = min(ic.maxGPUs, 99) + 100 * max(0, min(ic.defaultPriority, 9))
            if ic.gpuCounts(.allReduce).contains(gpus) { score += 2000 }
            if ic.gpuCounts(.allToAll).contains(gpus) { score += 1000 }
            if best == nil || score > best!.score { best = (ic, score, n) }
        }
        return best?.0
    }
}
