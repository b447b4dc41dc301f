import Foundation
import Testing
import Serving
@testable import MoESimCLI
import Studies

/// `vllm bench serve`'s datasets (issue 24): ShareGPT with a real tokenizer, custom JSONL, BurstGPT, prefix
/// repetition, random with a tokenizer; every bad file is one line naming the file and the first bad entry.
@Suite struct DatasetTests {
    static let fixtures = Repo.root + "/Tests/Fixtures"
    static let sharegpt = fixtures + "/datasets/sharegpt-sample.json"
    static func tokenizer(_ name: String) -> String { fixtures + "/tokenizers/\(name).tokenizer.json" }
    static let base = ["run", "--model", "olmoe-1b-7b", "--json", "--save-detailed"]

    func object(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    /// (prompt_len, output_len) pairs that vLLM 0.24's ShareGPTDataset picks, counted by the tokenizers package.
    func expected(_ tokenizer: String, _ key: String) throws -> [[Int]] {
        let o = try object(try String(contentsOfFile: Self.fixtures + "/datasets/sharegpt-expected.json", encoding: .utf8))
        return try #require((o[tokenizer] as? [String: Any])?[key] as? [[Int]])
    }

    func lens(_ o: [String: Any]) throws -> [[Int]] {
        let i = try #require(o["input_lens"] as? [Int]), out = try #require(o["output_lens"] as? [Int])
        return zip(i, out).map { [$0, $1] }
    }

    /// The error is one line (then at most the help pointer) holding every fragment.
    func oneLine(_ r: (code: Int32, out: String, err: String), _ fragments: [String], code: Int32 = 65, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = r.err.split(separator: "\n").filter { !$0.hasPrefix("Help:") }
        #expect(r.code == code, "\(r.err)", sourceLocation: sourceLocation)
        #expect(lines.count == 1 && lines[0].count < 400, "not one short line: \(r.err)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.err.contains(f), "missing \(f) in \(r.err)", sourceLocation: sourceLocation) }
    }

    @Test(arguments: ["mistral-7b-v0.1", "llama3-style"])
    func shareGPTCountsAreTheTokenizers(tokenizer: String) throws {
        // A vLLM ShareGPT command with a local tokenizer; --disable-shuffle keeps the file's order, so vLLM's own pick is known.
        let r = runCLI(Self.base + ["--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--tokenizer", Self.tokenizer(tokenizer),
                                    "--num-prompts", "50", "--disable-shuffle"])
        #expect(r.code == 0, "\(r.err)")
        // (OLMoE's expert shape is priced by the fitted shape model, which run warns about: not a dataset warning.)
        #expect(!PricingWarnings.withoutPricingWarnings(r.err).contains("warning"), "\(r.err)")
        let o = try object(r.out)
        let want = try expected(tokenizer, "num_prompts_50")
        #expect(try lens(o) == want)
        #expect(o["total_input_tokens"] as? Int == want.map { $0[0] }.reduce(0, +))
        #expect(o["tokenizer_id"] as? String == Self.tokenizer(tokenizer))
        // --sharegpt-output-len replaces the reply's length (and skips the short-output check).
        let fixed = runCLI(Self.base + ["--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--tokenizer", Self.tokenizer(tokenizer),
                                        "--num-prompts", "50", "--disable-shuffle", "--sharegpt-output-len", "7"])
        #expect(try lens(object(fixed.out)) == expected(tokenizer, "sharegpt_output_len_7"), "\(fixed.err)")
    }

    @Test func shareGPTShufflesOversamplesAndEstimates() throws {
        let args = ["--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--tokenizer", Self.tokenizer("mistral-7b-v0.1")]
        let valid = try expected("mistral-7b-v0.1", "num_prompts_500")
        // Shuffled: a seeded pick of the valid conversations, different per seed, the same for the same seed.
        let a = try lens(object(runCLI(Self.base + args + ["--num-prompts", "30"]).out))
        let b = try lens(object(runCLI(Self.base + args + ["--num-prompts", "30"]).out))
        let c = try lens(object(runCLI(Self.base + args + ["--num-prompts", "30", "--seed", "5"]).out))
        #expect(a == b && a != c && a.count == 30)
        #expect(a.allSatisfy { valid.contains($0) } && Set(a.map { "\($0)" }).count == 30)
        // And it is vLLM's own pick for the seed: CPython's shuffle of the entries, then its oversampling choices.
        let vllm0 = try lens(object(runCLI(Self.base + args + ["--num-prompts", "50"]).out))
        #expect(vllm0 == (try expected("mistral-7b-v0.1", "shuffled_seed_0_num_prompts_50")))
        let vllm7 = try lens(object(runCLI(Self.base + args + ["--num-prompts", "200", "--seed", "7"]).out))
        #expect(vllm7 == (try expected("mistral-7b-v0.1", "shuffled_seed_7_num_prompts_200")))
        // More prompts than valid conversations: topped up as vLLM does, unless --no-oversample.
        let over = runCLI(Self.base + args + ["--num-prompts", "200", "--disable-shuffle"])
        let ol = try lens(object(over.out))
        #expect(ol.count == 200 && Array(ol.prefix(valid.count)) == valid && ol.allSatisfy { valid.contains($0) })
        #expect(over.err.contains("oversampled"), "\(over.err)")
        let no = runCLI(Self.base + args + ["--num-prompts", "200", "--disable-shuffle", "--no-oversample"])
        #expect(try lens(object(no.out)) == valid)
        // Without a tokenizer: estimated counts, said on stderr in one line.
        let est = runCLI(Self.base + ["--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--num-prompts", "20"])
        let estErr = PricingWarnings.withoutPricingWarnings(est.err)
        #expect(est.code == 0 && estErr.split(separator: "\n").count == 1 && estErr.contains("estimated"), "\(est.err)")
        // A folder holding tokenizer.json is a tokenizer too.
        let dir = try makeTempDir()
        try FileManager.default.copyItem(atPath: Self.tokenizer("mistral-7b-v0.1"), toPath: dir + "/tokenizer.json")
        let folder = runCLI(Self.base + ["--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--tokenizer", dir, "--num-prompts", "50", "--disable-shuffle"])
        #expect(try lens(object(folder.out)) == expected("mistral-7b-v0.1", "num_prompts_50"), "\(folder.err)")
    }

    @Test func customJSONLCountsPromptsAndReadsOutputTokens() throws {
        let dir = try makeTempDir()
        let prompts = ["What is the capital of India?", "Explain mixture-of-experts routing in two sentences.", "こんにちは、元気ですか？", "def f(x):\n    return x"]
        var lines = ""
        for (i, p) in prompts.enumerated() {
            let d = try JSONSerialization.data(withJSONObject: ["prompt": p, "output_tokens": 10 + i])
            lines += String(decoding: d, as: UTF8.self) + "\n"
        }
        try lines.write(toFile: dir + "/c.jsonl", atomically: true, encoding: .utf8)
        let tok = try HFTokenizer(path: Self.tokenizer("mistral-7b-v0.1"))
        let r = runCLI(Self.base + ["--dataset-name", "custom", "--dataset-path", dir + "/c.jsonl", "--tokenizer", Self.tokenizer("mistral-7b-v0.1"),
                                    "--num-prompts", "4", "--disable-shuffle", "--custom-output-len", "-1", "--skip-chat-template"])
        #expect(r.code == 0 && PricingWarnings.withoutPricingWarnings(r.err).isEmpty, "\(r.err)")
        #expect(try lens(object(r.out)) == prompts.enumerated().map { [tok.count($0.element), 10 + $0.offset] })
        // The default output length is vLLM's 256; without --skip-chat-template a warning says the template is not applied.
        let d = runCLI(Self.base + ["--dataset-name", "custom", "--dataset-path", dir + "/c.jsonl", "--tokenizer", Self.tokenizer("mistral-7b-v0.1"), "--num-prompts", "4"])
        #expect(try (object(d.out)["output_lens"] as? [Int]) == [256, 256, 256, 256])
        #expect(d.err.contains("chat template"), "\(d.err)")
    }

    @Test func burstGPTKeepsGPT4RowsWithAResponse() throws {
        let dir = try makeTempDir()
        let csv = """
        Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
        5,ChatGPT,100,20,120,Conversation log
        6,GPT-4,300,40,340,Conversation log
        7,GPT-4,50,0,50,Conversation log
        9,GPT-4,0,12,12,API log
        10,GPT-4,700,90,790,API log

        """
        try csv.write(toFile: dir + "/b.csv", atomically: true, encoding: .utf8)
        let r = runCLI(Self.base + ["--dataset-name", "burstgpt", "--dataset-path", dir + "/b.csv", "--num-prompts", "3"])
        #expect(r.code == 0, "\(r.err)")
        #expect(try lens(object(r.out)).sorted { $0[0] < $1[0] } == [[1, 12], [300, 40], [700, 90]])
        #expect(r.err.contains("0 request tokens"))
        let many = runCLI(Self.base + ["--dataset-name", "burstgpt", "--dataset-path", dir + "/b.csv", "--num-prompts", "10"])
        #expect(try lens(object(many.out)).count == 10)
    }

    @Test func prefixRepetitionAndRandomWithATokenizer() throws {
        let p = runCLI(Self.base + ["--dataset-name", "prefix_repetition", "--num-prompts", "25", "--prefix-repetition-num-prefixes", "4",
                                    "--prefix-repetition-prefix-len", "64", "--prefix-repetition-suffix-len", "16", "--prefix-repetition-output-len", "8",
                                    "--enable-prefix-caching"])
        #expect(p.code == 0, "\(p.err)")
        #expect(try lens(object(p.out)) == Array(repeating: [80, 8], count: 24))
        // random: vLLM takes the tokenizer's special tokens (Mistral's BOS) off --random-input-len.
        let r = runCLI(Self.base + ["--random-input-len", "100", "--random-output-len", "5", "--num-prompts", "3", "--tokenizer", Self.tokenizer("mistral-7b-v0.1")])
        #expect(try lens(object(r.out)) == [[99, 5], [99, 5], [99, 5]], "\(r.err)")
        let q = runCLI(Self.base + ["--random-input-len", "100", "--random-output-len", "5", "--num-prompts", "3", "--tokenizer", Self.tokenizer("qwen2-style")])
        #expect(try lens(object(q.out)) == [[100, 5], [100, 5], [100, 5]])
        let j = runCLI(Self.base + ["--random-input-len", "100", "--random-output-len", "50", "--num-prompts", "40", "--random-range-ratio", "{\"input\": 0, \"output\": 0.5}"])
        let jl = try lens(object(j.out))
        #expect(jl.allSatisfy { $0[0] == 100 && (25...75).contains($0[1]) } && Set(jl.map { $0[1] }).count > 5, "\(j.err)")
    }

    @Test func flagsOfOtherDatasetsAreRefused() {
        for (args, flag) in [(["--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--random-input-len", "5"], "--random-input-len"),
                             (["--random-input-len", "5", "--sharegpt-output-len", "5"], "--sharegpt-output-len"),
                             (["--dataset-name", "sharegpt"], "--dataset-path"),
                             (["--dataset-path", Self.sharegpt], "--dataset-path"),
                             (["--dataset-name", "burstgpt", "--dataset-path", Self.sharegpt, "--disable-shuffle"], "--disable-shuffle"),
                             (["--dataset-name", "sharegpt", "--trace", Self.sharegpt], "--trace")] {
            oneLine(runCLI(["run", "--model", "olmoe-1b-7b"] + args), [flag], code: 64)
        }
    }

    struct BadFile: Sendable, CustomTestStringConvertible {
        var label: String
        var dataset: String
        var name: String
        var text: String
        var fragments: [String]
        var testDescription: String { label }
    }

    static let longPrompt = String(repeating: "a very long prompt ", count: 500)

    @Test(arguments: [
        BadFile(label: "sharegpt: not JSON", dataset: "sharegpt", name: "s.json", text: "hello", fragments: ["s.json", "not JSON"]),
        BadFile(label: "sharegpt: JSONL", dataset: "sharegpt", name: "s.json", text: "{\"prompt\": \"x\"}\n", fragments: ["s.json", "custom"]),
        BadFile(label: "sharegpt: malformed", dataset: "sharegpt", name: "s.json", text: "[{\"conversations\": [}]", fragments: ["s.json", "line 1, column"]),
        BadFile(label: "sharegpt: entry not an object", dataset: "sharegpt", name: "s.json", text: "[{\"conversations\": []}, 7]", fragments: ["s.json", "entry [1]"]),
        BadFile(label: "sharegpt: conversations not a list", dataset: "sharegpt", name: "s.json", text: "[{\"conversations\": \"\(longPrompt)\"}]", fragments: ["s.json", "entry [0].conversations"]),
        BadFile(label: "sharegpt: turn without value", dataset: "sharegpt", name: "s.json",
                text: "[{\"conversations\": [{\"from\": \"human\", \"value\": \"hello there you\"}, {\"from\": \"gpt\", \"value\": \"fine\"}]}, {\"conversations\": [{\"from\": \"human\"}, {\"value\": \"x\"}]}]",
                fragments: ["s.json", "entry [1].conversations[0]", "\"value\""]),
        BadFile(label: "sharegpt: value not a string", dataset: "sharegpt", name: "s.json", text: "[{\"conversations\": [{\"value\": \"hi\"}, {\"value\": 5}]}]", fragments: ["entry [0].conversations[1].value"]),
        BadFile(label: "sharegpt: nothing usable", dataset: "sharegpt", name: "s.json", text: "[{\"conversations\": [{\"value\": \"hi\"}]}, {\"id\": 1}]", fragments: ["s.json", "two or more turns"]),
        BadFile(label: "sharegpt: all filtered", dataset: "sharegpt", name: "s.json", text: "[{\"conversations\": [{\"value\": \"hi\"}, {\"value\": \"yo\"}]}]", fragments: ["s.json", "filter"]),
        BadFile(label: "custom: not .jsonl", dataset: "custom", name: "c.json", text: "{\"prompt\": \"x\"}\n", fragments: ["c.json", "JSONL"]),
        BadFile(label: "custom: malformed line", dataset: "custom", name: "c.jsonl", text: "{\"prompt\": \"x\"}\n{\"prompt\": \(longPrompt)\n", fragments: ["c.jsonl: line 2"]),
        BadFile(label: "custom: no prompt", dataset: "custom", name: "c.jsonl", text: "{\"prompt\": \"x\"}\n\n{\"text\": \"y\"}\n", fragments: ["c.jsonl: line 3", "\"prompt\""]),
        BadFile(label: "custom: prompt not a string", dataset: "custom", name: "c.jsonl", text: "{\"prompt\": [1, 2]}\n", fragments: ["c.jsonl: line 1", "not a string"]),
        BadFile(label: "burstgpt: header", dataset: "burstgpt", name: "b.csv", text: "a,b,c\n1,2,3\n", fragments: ["b.csv: line 1", "BurstGPT", "'Response tokens'"]),
        BadFile(label: "burstgpt: bad count", dataset: "burstgpt", name: "b.csv", text: "Timestamp,Model,Request tokens,Response tokens\n1,GPT-4,10,5\n2,GPT-4,x\(longPrompt),5\n", fragments: ["b.csv: line 3", "'Request tokens'", "…"]),
        BadFile(label: "burstgpt: short row", dataset: "burstgpt", name: "b.csv", text: "Timestamp,Model,Request tokens,Response tokens\n1,GPT-4\n", fragments: ["b.csv: line 2", "columns"]),
        BadFile(label: "burstgpt: no GPT-4", dataset: "burstgpt", name: "b.csv", text: "Timestamp,Model,Request tokens,Response tokens\n1,ChatGPT,10,5\n", fragments: ["b.csv", "GPT-4"]),
    ])
    func badDatasetFilesAreOneLine(_ c: BadFile) throws {
        let dir = try makeTempDir()
        try c.text.write(toFile: dir + "/" + c.name, atomically: true, encoding: .utf8)
        var args = ["run", "--model", "olmoe-1b-7b", "--dataset-name", c.dataset, "--dataset-path", dir + "/" + c.name, "--num-prompts", "2"]
        if c.dataset != "burstgpt" { args += ["--tokenizer", Self.tokenizer("mistral-7b-v0.1")] }
        oneLine(runCLI(args), c.fragments)
    }

    @Test(arguments: [
        ("not json", "t.json", "garbage", ["t.json", "malformed JSON"]),
        ("no model", "t.json", "{\"version\": \"1.0\"}", ["t.json", "'model'"]),
        ("unigram", "t.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", ["t.json", "'model.type'", "Unigram"]),
        ("merge of unknown token", "t.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}", ["t.json", "model.merges[0]", "\"b\""]),
        ("bad id", "t.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", ["t.json", "model.vocab", "\"a\""]),
        ("bad pre-tokenizer", "t.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Magic\"}}", ["t.json", "pre_tokenizer.type", "Magic"]),
        ("bad regex", "t.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}", ["t.json", "pre_tokenizer.pattern.Regex"]),
    ])
    func badTokenizerFilesAreOneLine(_ label: String, _ name: String, _ text: String, _ fragments: [String]) throws {
        let dir = try makeTempDir()
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        oneLine(runCLI(["run", "--model", "olmoe-1b-7b", "--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--tokenizer", dir + "/" + name]), fragments)
        let missing = runCLI(["run", "--model", "olmoe-1b-7b", "--dataset-name", "sharegpt", "--dataset-path", Self.sharegpt, "--tokenizer", "nobody/none"])
        oneLine(missing, ["--tokenizer 'nobody/none'", "Hugging Face cache"], code: 64)
    }

    @Test func aShareGPTFileGivenToTraceIsOneLine() {
        let r = runCLI(["run", "--model", "olmoe-1b-7b", "--trace", Self.sharegpt])
        oneLine(r, ["sharegpt-sample.json", "--dataset-name sharegpt"])
        #expect(!r.err.contains("synthetic-0"), "the file's text is not printed")
    }
}
