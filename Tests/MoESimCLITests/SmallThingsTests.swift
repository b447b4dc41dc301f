import Foundation
import Testing
@testable import MoESimCLI
@testable import Studies
import Cluster

/// Issue 24, item 5: the small things users trip on.
@Suite struct SmallThingsTests {
    static let small = ["--random-input-len", "64", "--random-output-len", "8", "--num-prompts", "8", "--max-concurrency", "4"]

    /// (a) --strategy says how many GPUs it means when the count is left out, and takes --num-gpus.
    @Test func strategySaysItsGPUCountAndTakesNumGPUs() throws {
        let two = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep"] + Self.small)
        #expect(two.code == 0 && two.err.contains("--strategy ep means 2 GPUs") && two.err.contains("--num-gpus"), "\(two.err)")
        let four = runCLI(["run", "--model", "olmoe-1b-7b", "--strategy", "ep", "--num-gpus", "4", "--json"] + Self.small)
        #expect(four.code == 0 && !four.err.contains("means"), "\(four.err)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(four.out.utf8)) as? [String: Any])
        #expect(o["num_gpus"] as? Int == 4, "\(o["num_gpus"] ?? "none")")
        let ex = runCLI(["explain", "--model", "olmoe-1b-7b", "--strategy", "hybrid", "--num-gpus", "8", "--decode-seqs", "16", "--kv-len", "64"])
        #expect(ex.code == 0 && ex.out.contains("TP2 x DP4") && ex.err.isEmpty, "\(ex.err)")
        let exNote = runCLI(["explain", "--model", "olmoe-1b-7b", "--strategy", "tp", "--decode-seqs", "16", "--kv-len", "64"])
        #expect(exNote.code == 0 && exNote.err.contains("--strategy tp means 2 GPUs"), "\(exNote.err)")
        for (args, flag) in [(["--num-gpus", "4"], "--num-gpus"), (["--strategy", "hybrid", "--num-gpus", "3"], "--num-gpus 3"),
                             (["--strategy", "baseline", "--num-gpus", "2"], "--num-gpus 2")] {
            let r = runCLI(["run", "--model", "olmoe-1b-7b"] + args + Self.small)
            #expect(r.code == 64 && r.err.contains(flag), "\(args): \(r.err)")
        }
    }

    /// (b) A missing --result-dir is created, as vLLM does; one that cannot be is an error naming it.
    @Test func resultDirIsCreated() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/results/today"
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", "--result-dir", target] + Self.small)
        #expect(r.code == 0, "\(r.err)")
        let files = try FileManager.default.contentsOfDirectory(atPath: target)
        #expect(files.count == 1 && files[0].hasPrefix("vllm-") && files[0].hasSuffix(".json"), "\(files)")
        try "x".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        let blocked = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", "--result-dir", dir + "/plain/sub"] + Self.small)
        #expect(blocked.code == 65 && blocked.err.contains(dir + "/plain/sub"), "\(blocked.err)")
        let file = runCLI(["run", "--model", "olmoe-1b-7b", "--save-result", "--result-dir", dir + "/plain"] + Self.small)
        #expect(file.code == 64 && file.err.contains(dir + "/plain") && file.err.contains("not a folder"), "\(file.err)")
    }

    /// (c) `date` as vLLM writes it (%Y%m%d-%H%M%S), from the clock, or from SOURCE_DATE_EPOCH for byte-identical runs.
    @Test func resultDateAsVLLMWritesIt() throws {
        #expect(try VLLMResult.date(environment: ["SOURCE_DATE_EPOCH": "0"]) == "19700101-000000")
        #expect(try VLLMResult.date(environment: ["SOURCE_DATE_EPOCH": "86399"]) == "19700101-235959")
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let c = Calendar.current.dateComponents(in: TimeZone.current, from: now)
        let local = String(format: "%04d%02d%02d-%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        #expect(try VLLMResult.date(environment: [:], now: now) == local)
        for bad in ["yesterday", "-5", "1.5"] {
            #expect(throws: InputError.self) { try VLLMResult.date(environment: ["SOURCE_DATE_EPOCH": bad]) }
        }
        // The CLI writes it (the tests set SOURCE_DATE_EPOCH: the same bytes twice).
        let a = runCLI(["run", "--model", "olmoe-1b-7b", "--json"] + Self.small), b = runCLI(["run", "--model", "olmoe-1b-7b", "--json"] + Self.small)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(a.out.utf8)) as? [String: Any])
        #expect(o["date"] as? String == (try VLLMResult.date()) && a.out == b.out)
        let keys = a.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(keys.dropFirst().first?.hasPrefix("\"date\": \"") == true, "date is vLLM's first key")
    }
}
