import Foundation
import SimKit
import Cluster

/// How prompts and replies become token counts: a Hugging Face tokenizer, or moesim's estimate without one.
public struct TokenCounter: Sendable {
    public let tokenizer: HFTokenizer?

    public init(tokenizer: HFTokenizer?) { self.tokenizer = tokenizer }

    /// Tokens of `text` as vLLM's benchmark counts them: `len(tokenizer(text).input_ids)`, which adds the
    /// tokenizer's special tokens (Llama's and Mistral's BOS). Without a tokenizer: `estimate`.
    public func count(_ text: String) -> Int {
        tokenizer.map { $0.count(text) } ?? Self.estimate(text)
    }

    /// `num_special_tokens_to_add()`: 0 without a tokenizer.
    public var specialTokens: Int { tokenizer?.numSpecialTokensToAdd ?? 0 }

    /// The estimate without a tokenizer: one token per 4 bytes of UTF-8, rounded up (so at least 1 for any text,
    /// and CJK or emoji, 3 to 4 bytes a character, count near a token a character as real tokenizers give them).
    /// docs/datasets.md gives how far it is from real tokenizers on the fixture texts.
    public static func estimate(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    public static let estimateWarning = "warning: no --tokenizer: token counts are estimated (UTF-8 bytes / 4), not counted; give --tokenizer <tokenizer.json or its folder> for the model's counts"
}

/// The datasets of `vllm bench serve` (vLLM 0.24's `vllm/benchmarks/datasets/datasets.py`): which prompts are
/// sent and how long they and their replies are, with vLLM's own draws for the seed (CPython's `random` for the
/// shuffles and oversampling, NumPy's legacy generator for BurstGPT's pandas sample; `NumPyRandomState.swift`).
public enum Datasets {
    /// One sampled request: prompt tokens, expected output tokens, and the prefix it shares with others.
    public struct Sample: Sendable, Equatable {
        public var input: Int
        public var output: Int
        public var prefixKey: UInt64 = 0
        public var sharedTokens: Int = 0
        public init(input: Int, output: Int, prefixKey: UInt64 = 0, sharedTokens: Int = 0) {
            self.input = input; self.output = output; self.prefixKey = prefixKey; self.sharedTokens = sharedTokens
        }
    }

    /// What sampling settles besides the samples: notes for stderr.
    public struct Result: Sendable {
        public var samples: [Sample]
        public var notes: [String] = []
    }

    /// vLLM's `is_valid_sequence` with its defaults: prompt and output at least 4 tokens (the output check skipped
    /// when the output length is given), prompt at most 1024, prompt + output at most 2048.
    public static func isValidSequence(prompt: Int, output: Int, skipOutputCheck: Bool) -> Bool {
        !(prompt < 4 || (!skipOutputCheck && output < 4) || prompt > 1024 || prompt + output > 2048)
    }

    /// vLLM's `random.seed(self.random_seed); random.shuffle(self.data)`: CPython's shuffle, draw for draw.
    static func shuffle<T>(_ a: inout [T], seed: UInt64) {
        var rng = PythonRandom(seed: seed)
        rng.shuffle(&a)
    }

    /// vLLM's `maybe_oversample_requests`: too few samples are topped up with random picks of the ones there are
    /// (`random.seed(self.random_seed)`, then `random.choice(requests)` for each one missing).
    static func oversample(_ s: inout [Sample], to n: Int, seed: UInt64, allowed: Bool, what: String, notes: inout [String]) {
        guard s.count < n, !s.isEmpty else { return }
        if !allowed {
            notes.append("note: \(what) gives \(s.count) requests, fewer than --num-prompts \(n) (--no-oversample)")
            return
        }
        var rng = PythonRandom(seed: seed)
        let have = s.count
        for _ in have..<n { s.append(s[rng.below(have)]) }
        notes.append("note: \(what) has \(have) usable requests; oversampled to --num-prompts \(n) (vLLM's behaviour; --no-oversample keeps \(have))")
    }

    /// A one-line, bounded rendering of a value from a file for an error message.
    static func show(_ s: String, limit: Int = 60) -> String {
        var t = s.count > limit ? String(s.prefix(limit)) + "…" : s
        t = t.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        return "\"" + t + "\""
    }

    // MARK: sharegpt

    /// ShareGPT: a JSON array of `{"conversations": [{"from": ..., "value": ...}, ...]}`. Entries with fewer than two
    /// turns are dropped, the rest shuffled (unless `shuffle` is false); each entry's first turn is the prompt and the
    /// second's length the output (or `outputLen`); pairs failing `isValidSequence` are skipped until `numPrompts`.
    public static func sharegpt(file: String, counter: TokenCounter, numPrompts: Int, outputLen: Int?, seed: UInt64,
                                shuffle doShuffle: Bool = true, oversample: Bool = true) throws -> Result {
        let data = try readInputFile(file)
        let first = data.first(where: { ![0x20, 0x0a, 0x0d, 0x09, 0xef, 0xbb, 0xbf].contains($0) })
        if first == UInt8(ascii: "{") {
            throw InputError.data("\(file): a ShareGPT dataset is one JSON array of conversations; this starts with an object (a JSONL file? '--dataset-name custom' reads JSONL with a \"prompt\" key per line)")
        }
        guard first == UInt8(ascii: "[") else {
            throw InputError.data("\(file): a ShareGPT dataset is one JSON array of conversations ([{\"conversations\": [{\"from\": \"human\", \"value\": ...}, ...]}, ...]); this is not JSON")
        }
        let root = try JSONReader.parse(data, file: file)
        guard case .array(let entries) = root else { throw InputError.data("\(file): expected a JSON array of conversations") }
        // The entries vLLM keeps: with a "conversations" list of two or more turns; every turn it reads must be
        // an object with a string "value".
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() {
            guard case .object = e else {
                throw InputError.data("\(file): entry [\(i)] is not an object; ShareGPT entries are {\"conversations\": [...]}")
            }
            guard let conv = e.member("conversations") else { continue }
            guard case .array(let turns) = conv else { throw InputError.data("\(file): entry [\(i)].conversations is not an array of turns") }
            guard turns.count >= 2 else { continue }
            var texts: [String] = []
            for k in 0..<2 {
                guard case .object = turns[k] else { throw InputError.data("\(file): entry [\(i)].conversations[\(k)] is not an object with a \"value\"") }
                guard let v = turns[k].member("value") else { throw InputError.data("\(file): entry [\(i)].conversations[\(k)] has no \"value\"") }
                guard case .string(let s) = v else { throw InputError.data("\(file): entry [\(i)].conversations[\(k)].value is not a string") }
                texts.append(s)
            }
            pairs.append((texts[0], texts[1]))
        }
        guard !pairs.isEmpty else {
            throw InputError.data("\(file): no entry has a \"conversations\" list of two or more turns (\(entries.count) entries)")
        }
        if doShuffle { shuffle(&pairs, seed: seed) }
        var samples: [Sample] = []
        var notes: [String] = []
        for (prompt, reply) in pairs {
            if samples.count >= numPrompts { break }
            let p = counter.count(prompt)
            let o = outputLen ?? counter.count(reply)
            guard isValidSequence(prompt: p, output: o, skipOutputCheck: outputLen != nil) else { continue }
            samples.append(Sample(input: p, output: o))
        }
        guard !samples.isEmpty else {
            throw InputError.data("\(file): none of the \(pairs.count) conversations passes vLLM's ShareGPT filter (prompt 4 to 1024 tokens, output at least 4, together at most 2048)")
        }
        Datasets.oversample(&samples, to: numPrompts, seed: seed, allowed: oversample, what: "\(file)", notes: &notes)
        return Result(samples: samples, notes: notes)
    }

    // MARK: custom

    /// vLLM's custom dataset: JSONL, one `{"prompt": "...", "output_tokens": n}` per line (`output_tokens` read only
    /// with `outputLen` -1). Lines are shuffled unless `shuffle` is false. vLLM applies the model's chat template to
    /// each prompt unless --skip-chat-template; moesim cannot (it reads no Jinja) and says so.
    public static func custom(file: String, counter: TokenCounter, numPrompts: Int, outputLen: Int, seed: UInt64,
                              shuffle doShuffle: Bool = true, oversample: Bool = true) throws -> Result {
        guard file.hasSuffix(".jsonl") else {
            throw InputError.data("\(file): the custom dataset reads JSONL files only, named *.jsonl (as vLLM's CustomDataset); one {\"prompt\": ...} object per line")
        }
        guard let text = String(data: try readInputFile(file), encoding: .utf8) else { throw InputError.data("\(file): not UTF-8 text") }
        var rows: [(String, Int?)] = []
        var lineNo = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            if line.allSatisfy({ $0.isWhitespace }) { continue }
            let v: JSONReader.Value
            do { v = try JSONReader.parse(Data(line.utf8), file: "\(file): line \(lineNo)") }
            catch let e as InputError {
                throw InputError.data(e.message.replacingOccurrences(of: "at line 1, column", with: "at column"))
            }
            guard case .object = v else { throw InputError.data("\(file): line \(lineNo): expected a JSON object with a \"prompt\" string") }
            guard let p = v.member("prompt") else { throw InputError.data("\(file): line \(lineNo): no \"prompt\" key") }
            guard case .string(let prompt) = p else { throw InputError.data("\(file): line \(lineNo): \"prompt\" is not a string") }
            var out: Int? = nil
            if outputLen == -1 {
                guard let o = v.member("output_tokens") else {
                    throw InputError.data("\(file): line \(lineNo): no \"output_tokens\"; with --custom-output-len -1 every line gives its output length")
                }
                guard case .number(let d, _) = o, d == d.rounded(), d >= 1, d <= Double(Limits.tokens.upperBound) else {
                    throw InputError.data("\(file): line \(lineNo): \"output_tokens\" is \(show("\(o.foundation)")); expected a whole number in 1...\(Limits.tokens.upperBound)")
                }
                out = Int(d)
            }
            rows.append((prompt, out))
        }
        guard !rows.isEmpty else { throw InputError.data("\(file): no lines with a prompt") }
        if doShuffle { shuffle(&rows, seed: seed) }
        var samples: [Sample] = []
        var notes: [String] = []
        for (prompt, out) in rows.prefix(numPrompts) {
            samples.append(Sample(input: counter.count(prompt), output: out ?? outputLen))
        }
        Datasets.oversample(&samples, to: numPrompts, seed: seed, allowed: oversample, what: "\(file)", notes: &notes)
        return Result(samples: samples, notes: notes)
    }

    // MARK: burstgpt

    /// Splits one CSV line (quoted fields allowed).
    static func csvFields(_ line: Substring) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        var it = line.makeIterator()
        while let c = it.next() {
            if quoted {
                if c == "\"" { quoted = false } else { cur.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { out.append(cur); cur = "" }
            else if c != "\r" { cur.append(c) }
        }
        out.append(cur)
        return out.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// BurstGPT (CSV with `Timestamp, Model, Request tokens, Response tokens, Total tokens, Log Type`): the rows of
    /// model GPT-4 with a positive response, `numPrompts` of them drawn at random (with replacement when there are
    /// fewer). Lengths are the file's; timestamps are not used (arrivals come from --request-rate, as in vLLM;
    /// `--trace` replays them instead).
    public static func burstgpt(file: String, numPrompts: Int, seed: UInt64) throws -> Result {
        guard let text = String(data: try readInputFile(file), encoding: .utf8) else { throw InputError.data("\(file): not UTF-8 text") }
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        guard let header = lines.first else { throw InputError.data("\(file): the file is empty") }
        let cols = csvFields(header)
        let need = ["Model", "Request tokens", "Response tokens"]
        guard let mi = cols.firstIndex(of: need[0]), let ii = cols.firstIndex(of: need[1]), let oi = cols.firstIndex(of: need[2]) else {
            throw InputError.data("\(file): line 1: not a BurstGPT CSV header (needs columns \(quotedChoices(need).replacingOccurrences(of: " or ", with: " and ")); found \(show(String(header), limit: 80)))")
        }
        var rows: [Sample] = []
        var notes: [String] = []
        var zeroPrompts = 0
        for (n, line) in lines.dropFirst().enumerated() {
            if line.allSatisfy({ $0.isWhitespace }) { continue }
            let f = csvFields(line)
            guard f.count > max(mi, ii, oi) else { throw InputError.data("\(file): line \(n + 2): \(f.count) columns; the header has \(cols.count)") }
            guard let o = Double(f[oi]), o.isFinite, o == o.rounded() else {
                throw InputError.data("\(file): line \(n + 2): column 'Response tokens' is \(show(f[oi])); expected a whole number")
            }
            guard f[mi] == "GPT-4", o > 0 else { continue }
            guard let i = Double(f[ii]), i.isFinite, i == i.rounded(), i >= 0 else {
                throw InputError.data("\(file): line \(n + 2): column 'Request tokens' is \(show(f[ii])); expected a whole number from 0")
            }
            guard i <= Double(Limits.tokens.upperBound), o <= Double(Limits.tokens.upperBound) else {
                throw InputError.data("\(file): line \(n + 2): token counts \(Int(i)), \(Int(o)) are out of range; allowed up to \(Limits.tokens.upperBound)")
            }
            if i == 0 { zeroPrompts += 1 }
            // An empty prompt is still one token on the server (its BOS, or the empty prompt's placeholder).
            rows.append(Sample(input: max(1, Int(i)), output: Int(o)))
        }
        guard !rows.isEmpty else { throw InputError.data("\(file): no rows with Model \"GPT-4\" and positive 'Response tokens' (vLLM's BurstGPT filter)") }
        if zeroPrompts > 0 { notes.append("note: \(file): \(zeroPrompts) GPT-4 rows have 0 request tokens; counted as 1-token prompts") }
        // pandas' `sample(n, random_state=seed)` (with `replace=True` when there are fewer rows): NumPy's legacy
        // RandomState(seed), `permutation(rows)[:n]` or `randint(0, rows, n)`.
        guard var rng = NumPyRandomState(seed: seed), rows.count <= Int(UInt32.max) else {
            throw InputError.usage("--seed \(seed): vLLM's BurstGPT dataset seeds NumPy's generator with it (pandas' sample), which takes 0...\(UInt32.max); give a smaller --seed")
        }
        let samples = numPrompts <= rows.count ? rng.permutation(rows.count).prefix(numPrompts).map { rows[$0] }
            : (0..<numPrompts).map { _ in rows[Int(rng.interval(UInt32(rows.count - 1)))] }
        return Result(samples: samples, notes: notes)
    }

    // MARK: prefix_repetition

    /// vLLM's prefix_repetition: `numPrefixes` random prefixes of `prefixLen` tokens, each followed by
    /// `numPrompts / numPrefixes` random suffixes of `suffixLen` tokens (so `numPrefixes x that` requests), shuffled
    /// unless `shuffle` is false; every request asks for `outputLen` tokens. Requests of one prefix share its tokens.
    public static func prefixRepetition(prefixLen: Int, suffixLen: Int, numPrefixes: Int, outputLen: Int, numPrompts: Int,
                                        seed: UInt64, shuffle doShuffle: Bool = true) throws -> Result {
        guard numPrefixes > 0 else { throw InputError.usage("--prefix-repetition-num-prefixes must be positive (got \(numPrefixes))") }
        guard prefixLen >= 0, suffixLen >= 0, prefixLen + suffixLen > 0 else {
            throw InputError.usage("--prefix-repetition-prefix-len \(prefixLen) + --prefix-repetition-suffix-len \(suffixLen): a prompt needs at least one token")
        }
        guard outputLen > 0 else { throw InputError.usage("--prefix-repetition-output-len must be positive (got \(outputLen))") }
        let per = numPrompts / numPrefixes
        guard per > 0 else { throw InputError.usage("--num-prompts (\(numPrompts)) must be greater than or equal to --prefix-repetition-num-prefixes (\(numPrefixes))") }
        var samples: [Sample] = []
        samples.reserveCapacity(per * numPrefixes)
        for k in 0..<numPrefixes {
            for _ in 0..<per {
                samples.append(Sample(input: prefixLen + suffixLen, output: outputLen,
                                      prefixKey: prefixLen > 0 ? 0x5052_4546_0000_0000 | UInt64(k + 1) : 0, sharedTokens: prefixLen))
            }
        }
        if doShuffle { shuffle(&samples, seed: seed) }
        var notes: [String] = []
        if per * numPrefixes < numPrompts {
            notes.append("note: prefix_repetition sends \(per * numPrefixes) requests (\(numPrefixes) prefixes x \(per)), not --num-prompts \(numPrompts), as vLLM does")
        }
        return Result(samples: samples, notes: notes)
    }

    // MARK: random

    /// `--random-range-ratio`: one number for both lengths, or vLLM's JSON `{"input": a, "output": b}`.
    public static func rangeRatios(_ text: String) throws -> (input: Double, output: Double) {
        func check(_ r: Double, _ which: String) throws -> Double {
            guard r.isFinite, r >= 0, r < 1 else { throw InputError.usage("--random-range-ratio\(which) must be in [0, 1) (got \(r))") }
            return r
        }
        if let d = Double(text.trimmingCharacters(in: .whitespaces)) { let r = try check(d, ""); return (r, r) }
        guard text.trimmingCharacters(in: .whitespaces).hasPrefix("{"),
              let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw InputError.usage("The value '\(text)' is invalid for '--random-range-ratio <r>': expected a number in [0, 1) or JSON {\"input\": r, \"output\": r}")
        }
        guard let i = (o["input"] as? NSNumber)?.doubleValue, let out = (o["output"] as? NSNumber)?.doubleValue else {
            throw InputError.usage("--random-range-ratio '\(text)': a JSON value needs numbers 'input' and 'output' (found keys \(o.keys.sorted()))")
        }
        return (try check(i, " input"), try check(out, " output"))
    }

    /// vLLM's random dataset lengths (`get_sampling_params`): input uniform in
    /// [floor(L(1-r)), ceil(L(1+r))] with L = `inputLen` less the tokenizer's special tokens, output uniform in
    /// [max(1, floor(O(1-r))), max(1, ceil(O(1+r)))]; the prompt is `prefixLen` + its input length.
    public static func randomLengths(inputLen: Int, outputLen: Int, ratios: (input: Double, output: Double), prefixLen: Int,
                                     specialTokens: Int) throws -> (input: ClosedRange<Int>, output: ClosedRange<Int>) {
        let real = max(0, inputLen - specialTokens)
        let inLo = Int((Double(real) * (1 - ratios.input)).rounded(.down)), inHi = Int((Double(real) * (1 + ratios.input)).rounded(.up))
        guard prefixLen + inLo >= 1 else {
            throw InputError.usage("--random-input-len \(inputLen) is too small: with \(specialTokens) special token(s) of the tokenizer and --random-range-ratio \(ratios.input) the shortest prompt (prefix + sampled) has \(prefixLen + inLo) tokens; raise --random-input-len or --random-prefix-len, or lower the ratio")
        }
        let outLo = max(1, Int((Double(outputLen) * (1 - ratios.output)).rounded(.down)))
        let outHi = max(1, Int((Double(outputLen) * (1 + ratios.output)).rounded(.up)))
        return (inLo...max(inLo, inHi), outLo...max(outLo, outHi))
    }
}
