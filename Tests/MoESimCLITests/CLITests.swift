import Foundation
import Testing
@testable import MoESimCLI
@testable import Cluster

enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url = url.deletingLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// Every shipped profile file, relative to the repository root.
    static func shippedProfiles() -> [String] {
        var out: [String] = []
        for kind in ["models", "gpus", "interconnects", "networks", "engines"] {
            let dir = root + "/profiles/" + kind
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            out += files.filter { $0.hasSuffix(".json") }.sorted().map { "profiles/\(kind)/\($0)" }
        }
        return out
    }
}

/// Collects what one CLI invocation writes.
final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = "", errText = ""
    var out: String { lock.withLock { outText } }
    var err: String { lock.withLock { errText } }
    func appendOut(_ s: String) { lock.withLock { outText += s } }
    func appendErr(_ s: String) { lock.withLock { errText += s } }
}

/// The result's `date` is the wall clock unless SOURCE_DATE_EPOCH is set: set it once for the test process (unless the
/// caller did) so that two runs compare byte for byte.
let fixedResultDate: Void = { setenv("SOURCE_DATE_EPOCH", "1764806400", 0) }()

func runCLI(_ args: [String]) -> (code: Int32, out: String, err: String) {
    _ = fixedResultDate
    let c = Captured()
    let code = CLI.main(args, out: { c.appendOut($0) }, err: { c.appendErr($0) })
    return (code, c.out, c.err)
}

func makeTempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "moesim-cli-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct CLITests {
    /// `CLI` finds profiles through MOESIM_PROFILES or ./profiles; `swift test` runs in the package root.
    @Test func profilesAreFoundFromTheWorkingDirectory() {
        let env = ProcessInfo.processInfo.environment["MOESIM_PROFILES"] ?? ""
        let cwdProfiles = FileManager.default.currentDirectoryPath + "/profiles/gpus"
        #expect(!env.isEmpty || FileManager.default.fileExists(atPath: cwdProfiles), "run the tests from the package root")
    }

    /// The profiles are found from the executable's real path too (a link to the checkout's binary on PATH, run from
    /// anywhere); every place looked in is listed once and in full; a MOESIM_PROFILES that is set but wrong is an
    /// error naming it, never a fallback to another folder.
    @Test func profilesAreFoundFromTheExecutablesRealPath() throws {
        let fm = FileManager.default
        let dir = try makeTempDir()
        defer { try? fm.removeItem(atPath: dir) }
        let checkout = dir + "/checkout", elsewhere = dir + "/elsewhere", bin = dir + "/bin"
        for d in [checkout + "/profiles/gpus", checkout + "/.build/x86_64-unknown-linux-gnu/release", elsewhere, bin] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        let exe = checkout + "/.build/x86_64-unknown-linux-gnu/release/moesim"
        try "#!/bin/sh\n".write(toFile: exe, atomically: true, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: exe)
        try fm.createSymbolicLink(atPath: bin + "/moesim", withDestinationPath: exe)
        // `moesim` found on PATH, a link to the checkout's binary, run from a folder without profiles/.
        let store = try ProfileStore.locate(executablePath: "moesim", environment: ["PATH": "/nonexistent:" + bin], currentDirectory: elsewhere)
        #expect(URL(fileURLWithPath: store.root).resolvingSymlinksInPath().path == URL(fileURLWithPath: checkout + "/profiles").resolvingSymlinksInPath().path)
        // The places looked in: each once (./profiles and the executable's folders), in order.
        let places = ProfileStore.searchPlaces(executables: [bin + "/moesim", exe, exe], currentDirectory: checkout)
        #expect(places.count == Set(places).count && places.first == checkout + "/profiles", "\(places)")
        #expect(places.contains(checkout + "/.build/x86_64-unknown-linux-gnu/release/profiles") && places.filter { $0 == checkout + "/profiles" }.count == 1, "\(places)")
        // MOESIM_PROFILES set: the only place, and an error naming it when it is missing or not a profiles folder.
        for bad in ["/nonexistent/profiles", elsewhere] {
            do {
                _ = try ProfileStore.locate(executablePath: exe, environment: ["MOESIM_PROFILES": bad], currentDirectory: checkout)
                Issue.record("MOESIM_PROFILES=\(bad) was accepted")
            } catch let e as InputError {
                #expect(e.kind == .data && e.message.contains("MOESIM_PROFILES=\(bad)"), "\(e.message)")
            }
        }
        #expect(try ProfileStore.locate(executablePath: exe, environment: ["MOESIM_PROFILES": checkout + "/profiles"], currentDirectory: elsewhere).root == checkout + "/profiles")
    }

    @Test func runJSONForTheIssueCommand() throws {
        let r = runCLI(["run", "--model", "mixtral-8x7b", "--gpu", "a100-sxm4-80gb", "--tensor-parallel-size", "2",
                        "--dataset-name", "random", "--random-input-len", "128", "--random-output-len", "128",
                        "--num-prompts", "100", "--max-concurrency", "64", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        for key in ["request_throughput", "output_throughput", "total_token_throughput", "output_throughput_per_gpu", "seed", "duration"] {
            #expect(obj[key] is NSNumber, "missing \(key)")
        }
        for metric in ["ttft", "tpot", "itl", "e2el"] {
            for stat in ["mean", "median", "p99"] {
                let key = "\(stat)_\(metric)_ms"
                let v = try #require(obj[key] as? Double, "missing \(key)")
                #expect(v > 0, "\(key) = \(v)")
            }
        }
        let breakdown = try #require(obj["step_time_breakdown_ms"] as? [String: Any])
        for k in ["attention", "dense_gemm", "experts", "communication", "overhead"] { #expect(breakdown[k] is NSNumber, "breakdown lacks \(k)") }
        #expect(obj["completed"] as? Int == 100)
        #expect(obj["total_output_tokens"] as? Int == 12800)
        #expect(obj["total_input_tokens"] as? Int == 12800)
        #expect(obj["num_gpus"] as? Int == 2)
        #expect(obj["seed"] as? Int == 0)
        #expect(obj["model"] as? String == "mixtral-8x7b")
        let out = try #require(obj["output_throughput"] as? Double), perGPU = try #require(obj["output_throughput_per_gpu"] as? Double)
        #expect(abs(out / 2 - perGPU) < 1e-9 * out)
        #expect(r.err.isEmpty)
    }

    @Test func humanSummaryAndSaveResult() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/result.json"
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--random-input-len", "32", "--random-output-len", "8", "--num-prompts", "10",
                        "--save-result", file])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("Serving Benchmark Result"))
        #expect(r.out.contains("Successful requests:"))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
        #expect(saved?["completed"] as? Int == 10)
    }

    @Test func hfDiffusionRun() throws {
        let r = runCLI(["run", "--model", "llada-8b", "--engine", "hf", "--generation", "diffusion", "--diffusion-steps", "8",
                        "--gen-length", "16", "--block-length", "8", "--input-len", "16", "--batch-size", "2", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(obj["total_output_tokens"] as? Int == 32)
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var label: String
        var args: [String]
        var code: Int32
        var fragments: [String]
        var testDescription: String { label }
    }

    static let small = ["--num-prompts", "4", "--random-input-len", "16", "--random-output-len", "4"]

    static let badInputs: [BadInput] = [
        BadInput(label: "unknown model", args: ["run", "--model", "gpt-9"] + small, code: 64,
                 fragments: ["'gpt-9'", "'--model'", "'mixtral-8x7b'", "'olmoe-1b-7b'"]),
        BadInput(label: "unknown GPU", args: ["run", "--model", "olmoe-1b-7b", "--gpu", "b300"] + small, code: 64,
                 fragments: ["'b300'", "'--gpu'", "'a100-sxm4-80gb'"]),
        BadInput(label: "unknown flag", args: ["run", "--model", "olmoe-1b-7b", "--bogus", "1"] + small, code: 64,
                 fragments: ["Unknown option '--bogus'"]),
        BadInput(label: "missing value", args: ["run", "--model", "olmoe-1b-7b", "--num-prompts"], code: 64,
                 fragments: ["Missing value", "'--num-prompts <n>'"]),
        BadInput(label: "zero prompts", args: ["run", "--model", "olmoe-1b-7b", "--num-prompts", "0"], code: 64,
                 fragments: ["--num-prompts", "0"]),
        BadInput(label: "negative input length", args: ["run", "--model", "olmoe-1b-7b", "--random-input-len", "-5", "--num-prompts", "4"], code: 64,
                 fragments: ["--random-input-len", "-5"]),
        BadInput(label: "non-numeric prompts", args: ["run", "--model", "olmoe-1b-7b", "--num-prompts", "many"], code: 64,
                 fragments: ["'many'", "--num-prompts"]),
        BadInput(label: "TP not dividing heads", args: ["run", "--model", "mixtral-8x7b", "--tensor-parallel-size", "3"] + small, code: 64,
                 fragments: ["--tensor-parallel-size 3", "32 attention heads"]),
        BadInput(label: "plan does not fit", args: ["run", "--model", "mixtral-8x7b", "--gpu", "a100-sxm4-40gb"] + small, code: 65,
                 fragments: ["GB", "mixtral-8x7b", "a100-sxm4-40gb"]),
        BadInput(label: "routing zipf:abc", args: ["run", "--model", "olmoe-1b-7b", "--routing", "zipf:abc"] + small, code: 64,
                 fragments: ["'zipf:abc'", "'--routing'"]),
        BadInput(label: "strategy bogus", args: ["run", "--model", "olmoe-1b-7b", "--strategy", "bogus"] + small, code: 64,
                 fragments: ["'bogus'", "--strategy", "'hybrid'"]),
        BadInput(label: "strategy with TP", args: ["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--tensor-parallel-size", "2"] + small, code: 64,
                 fragments: ["'--strategy'", "'--tensor-parallel-size'"]),
        BadInput(label: "vllm with diffusion model", args: ["run", "--model", "llada-8b"] + small, code: 64,
                 fragments: ["llada-8b", "diffusion", "--engine hf"]),
        BadInput(label: "latency flag with a serving workload", args: ["run", "--model", "olmoe-1b-7b", "--batch-size", "4"] + small, code: 64,
                 fragments: ["vllm bench latency", "--batch-size", "--engine hf"]),
        BadInput(label: "EP on dense model", args: ["run", "--model", "llada-8b", "--engine", "hf", "--strategy", "ep"], code: 64,
                 fragments: ["llada-8b", "dense"]),
        BadInput(label: "bad memory utilization", args: ["run", "--model", "olmoe-1b-7b", "--gpu-memory-utilization", "1.5"] + small, code: 64,
                 fragments: ["'1.5'", "--gpu-memory-utilization"]),
        BadInput(label: "diffusion block", args: ["run", "--model", "llada-8b", "--engine", "hf", "--gen-length", "128", "--block-length", "48"], code: 64,
                 fragments: ["--block-length 48", "--gen-length 128"]),
        BadInput(label: "unknown subcommand", args: ["frobnicate"], code: 64, fragments: ["'frobnicate'", "'run'"]),
        BadInput(label: "missing model", args: ["run"] + small, code: 64, fragments: ["--model"]),
        BadInput(label: "missing trace file", args: ["run", "--model", "olmoe-1b-7b", "--dataset-name", "trace", "--trace", "/nonexistent/t.csv"], code: 65,
                 fragments: ["/nonexistent/t.csv"]),
    ]

    @Test(arguments: badInputs)
    func badInputsFailCleanly(_ c: BadInput) {
        let r = runCLI(c.args)
        #expect(r.code == c.code, "\(c.label): exit \(r.code), stderr \(r.err)")
        #expect(r.err.hasPrefix("Error: "), "\(r.err)")
        for f in c.fragments { #expect(r.err.contains(f), "\(c.label): stderr lacks \(f): \(r.err)") }
        #expect(r.out.isEmpty)
        if c.code == 64, c.args.first == "run" { #expect(r.err.contains("Help:  moesim help run")) }
    }

    struct BadFile: Sendable, CustomTestStringConvertible {
        var label: String
        var fileName: String
        var content: String
        var fragments: [String]
        var testDescription: String { label }
    }

    @Test(arguments: [
        BadFile(label: "malformed JSON model", fileName: "broken-model.json", content: "{ \"model_type\": \"mixtral\", ", fragments: ["malformed JSON"]),
        BadFile(label: "config without hidden_size", fileName: "config.json",
                content: #"{"model_type": "olmoe", "num_hidden_layers": 16, "num_attention_heads": 16, "vocab_size": 50304, "intermediate_size": 1024, "num_experts": 64, "num_experts_per_tok": 8}"#,
                fragments: ["missing key 'hidden_size'"]),
        BadFile(label: "config with string layers", fileName: "config.json",
                content: #"{"model_type": "olmoe", "hidden_size": 2048, "num_hidden_layers": "16", "num_attention_heads": 16, "vocab_size": 50304, "intermediate_size": 1024}"#,
                fragments: ["num_hidden_layers", "\"16\""]),
        BadFile(label: "top-k above experts", fileName: "config.json",
                content: #"{"model_type": "olmoe", "hidden_size": 2048, "num_hidden_layers": 2, "num_attention_heads": 16, "vocab_size": 50304, "intermediate_size": 1024, "num_experts": 4, "num_experts_per_tok": 8}"#,
                fragments: ["num_experts_per_tok", "(8)"]),
    ])
    func badModelFileNamesFileAndKey(_ c: BadFile) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/" + c.fileName
        try Data(c.content.utf8).write(to: URL(fileURLWithPath: file))
        let r = runCLI(["run", "--model", file] + Self.small)
        #expect(r.code == 65, "\(r.err)")
        #expect(r.err.contains(file), "\(r.err)")
        for f in c.fragments { #expect(r.err.contains(f), "stderr lacks \(f): \(r.err)") }
    }

    @Test func rawConfigRunsLikeShippedModel() throws {
        let dir = try makeTempDir() + "/olmoe-1b-7b"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let profile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.root + "/profiles/models/olmoe-1b-7b.json"))) as? [String: Any]
        let config = try #require(profile?["config"])
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let args = ["--num-prompts", "8", "--random-input-len", "32", "--random-output-len", "8", "--json"]
        let shipped = runCLI(["run", "--model", "olmoe-1b-7b"] + args)
        let raw = runCLI(["run", "--model", dir + "/config.json"] + args)
        #expect(shipped.code == 0 && raw.code == 0, "\(raw.err)")
        // The same result; only vLLM's model_id and tokenizer_id echo what --model said.
        func body(_ s: String) -> [Substring] { s.split(separator: "\n").filter { !$0.contains("\"model_id\"") && !$0.contains("\"tokenizer_id\"") } }
        #expect(body(shipped.out) == body(raw.out))
        #expect(shipped.out.contains("\"model_id\": \"olmoe-1b-7b\""))
    }

    @Test func helpRun() {
        let r = runCLI(["help", "run"])
        #expect(r.code == 0)
        #expect(r.out.hasPrefix("OVERVIEW:"))
        #expect(r.out.contains("USAGE:"))
        #expect(r.out.contains("OPTIONS:"))
        #expect(r.out.contains("--tensor-parallel-size <n>"))
        #expect(runCLI(["run", "--help"]).out == r.out)
        let top = runCLI([])
        #expect(top.code == 0 && top.out.hasPrefix("OVERVIEW:") && top.out.contains("run"))
    }

    @Test(arguments: Repo.shippedProfiles())
    func profilesCheckAcceptsShippedProfile(_ path: String) {
        let r = runCLI(["profiles", "check", Repo.root + "/" + path])
        #expect(r.code == 0, "\(path): \(r.err)")
        #expect(r.out.contains(": ok ("), "\(r.out)")
    }

    @Test func profilesCheckRejectsUnknownKind() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/mystery.json"
        try Data(#"{"hello": 1}"#.utf8).write(to: URL(fileURLWithPath: file))
        let r = runCLI(["profiles", "check", file])
        #expect(r.code == 65)
        #expect(r.err.contains(file) && r.err.contains("cannot tell the profile kind"))
    }

    @Test func profilesList() {
        let r = runCLI(["profiles", "list"])
        #expect(r.code == 0, "\(r.err)")
        for name in ["mixtral-8x7b", "olmoe-1b-7b", "a100-sxm4-80gb", "dgx-a100", "vllm"] { #expect(r.out.contains(name)) }
    }
}
