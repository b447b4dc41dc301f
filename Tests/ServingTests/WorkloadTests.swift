import Foundation
import Testing
import Cluster
@testable import Serving

@Suite struct WorkloadTests {
    @Test(arguments: [0.0, 0.25, 0.5, 0.9])
    func lengthsWithinRange(ratio: Double) throws {
        let w = try randomWorkload(input: 200, output: 50, ratio: ratio, prompts: 500, seed: 1)
        #expect(w.requests.count == 500)
        let ins = w.requests.map(\.inputTokens), outs = w.requests.map(\.outputTokens)
        // vLLM 0.24's get_sampling_params: [floor(X(1-r)), ceil(X(1+r))].
        #expect(ins.allSatisfy { Double($0) >= (200 * (1 - ratio)).rounded(.down) && Double($0) <= (200 * (1 + ratio)).rounded(.up) && $0 >= 1 })
        #expect(outs.allSatisfy { Double($0) >= (50 * (1 - ratio)).rounded(.down) && Double($0) <= (50 * (1 + ratio)).rounded(.up) && $0 >= 1 })
        if ratio == 0 {
            #expect(Set(ins) == [200] && Set(outs) == [50])
        } else {
            #expect(Set(ins).count > 10)
            let mean = Double(ins.reduce(0, +)) / 500
            #expect(abs(mean - 200) < 200 * ratio * 0.15)
        }
        // All at once without a rate.
        #expect(w.requests.allSatisfy { $0.arrival == .zero })
        #expect(w.totalInputTokens == ins.reduce(0, +))
    }

    @Test(arguments: [0.5, 1.0, 4.0])
    func gammaGapsHaveMeanOneOverRate(burstiness: Double) throws {
        let rate = 5.0, n = 4000
        let w = try Workload.random(inputLen: 10, outputLen: 10, rangeRatio: 0, numPrompts: n, requestRate: rate, burstiness: burstiness,
                                    maxConcurrency: nil, seed: 9)
        let t = w.requests.map(\.arrival.seconds)
        #expect(zip(t, t.dropFirst()).allSatisfy { $0 <= $1 })
        let gaps = zip(t.dropFirst(), t).map { $0 - $1 }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        #expect(abs(mean - 1 / rate) < 0.05 / rate, "mean gap \(mean)")
        // Gamma variance = shape x scale^2 = 1 / (rate^2 x burstiness): burstier arrivals have a larger spread.
        let variance = gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count - 1)
        let expected = 1 / (rate * rate * burstiness)
        #expect(abs(variance - expected) < 0.2 * expected, "variance \(variance) vs \(expected)")
    }

    @Test func workloadIsDeterministicPerSeed() throws {
        let a = try randomWorkload(input: 100, output: 100, ratio: 0.5, prompts: 50, rate: 3, seed: 1)
        let b = try randomWorkload(input: 100, output: 100, ratio: 0.5, prompts: 50, rate: 3, seed: 1)
        let c = try randomWorkload(input: 100, output: 100, ratio: 0.5, prompts: 50, rate: 3, seed: 2)
        #expect(a.requests == b.requests)
        #expect(a.requests != c.requests)
    }

    struct BadWorkload: Sendable, CustomTestStringConvertible {
        var label: String
        var input = 10, output = 10, prompts = 5
        var ratio = 0.0, rate: Double? = nil, burstiness = 1.0, concurrency: Int? = nil
        var fragment: String
        var testDescription: String { label }
    }

    @Test(arguments: [
        BadWorkload(label: "input", input: -5, fragment: "--random-input-len must be positive (got -5)"),
        BadWorkload(label: "output", output: 0, fragment: "--random-output-len must be positive (got 0)"),
        BadWorkload(label: "prompts", prompts: 0, fragment: "--num-prompts must be positive (got 0)"),
        BadWorkload(label: "ratio", ratio: 1.0, fragment: "--random-range-ratio must be in [0, 1) (got 1.0)"),
        BadWorkload(label: "negative ratio", ratio: -0.1, fragment: "--random-range-ratio"),
        BadWorkload(label: "rate", rate: 0, fragment: "--request-rate must be positive"),
        BadWorkload(label: "burstiness", burstiness: 0, fragment: "--burstiness must be positive"),
        BadWorkload(label: "concurrency", concurrency: 0, fragment: "--max-concurrency must be positive (got 0)"),
    ])
    func badInputsThrow(_ c: BadWorkload) {
        let e = inputError {
            _ = try Workload.random(inputLen: c.input, outputLen: c.output, rangeRatio: c.ratio, numPrompts: c.prompts, requestRate: c.rate,
                                    burstiness: c.burstiness, maxConcurrency: c.concurrency, seed: 0)
        }
        #expect(e?.kind == .usage)
        #expect(e?.message.contains(c.fragment) == true, "\(e?.message ?? "")")
    }
}

@Suite struct TraceLoaderTests {
    @Test func splitwiseCSV() throws {
        let file = Repo.root + "/data/traces/azure2023_splitwise_conv.csv"
        let reqs = try TraceLoader.load(file: file, limit: 50)
        #expect(reqs.count == 50)
        #expect(reqs[0].arrival == .zero)
        #expect(reqs[0].inputTokens == 374 && reqs[0].outputTokens == 44)
        #expect(reqs[1].inputTokens == 396 && reqs[1].outputTokens == 109)
        #expect(abs(reqs[1].arrival.seconds - 4.314579) < 1e-6)
        #expect(zip(reqs, reqs.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
        #expect(reqs.allSatisfy { $0.inputTokens > 0 && $0.outputTokens > 0 })
        let code = try TraceLoader.load(file: Repo.root + "/data/traces/azure2023_splitwise_code.csv", limit: 50)
        #expect(code.count == 50 && code[0].inputTokens == 4808 && code[0].outputTokens == 10)
        // Time scale halves the gaps.
        let half = try TraceLoader.load(file: file, limit: 50, timeScale: 0.5)
        #expect(abs(half[1].arrival.seconds - 4.314579 / 2) < 1e-6)
    }

    @Test func apexJSONL() throws {
        let reqs = try TraceLoader.load(file: Repo.root + "/data/traces/creation_05.jsonl", limit: 50)
        #expect(reqs.count == 50)
        #expect(reqs[0].arrival == .zero)
        #expect(reqs[0].inputTokens == 355 && reqs[0].outputTokens == 806)
        // StartTimeOffset is in nanoseconds and shifted so the first request arrives at 0.
        #expect(abs(reqs[1].arrival.seconds - (2_319_723_576 - 742_456_874) * 1e-9) < 1e-6)
        #expect(zip(reqs, reqs.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
        for f in ["lmsys_05.jsonl", "lmsys_025.jsonl"] {
            let r = try TraceLoader.load(file: Repo.root + "/data/traces/" + f, limit: 50)
            #expect(r.count == 50 && r[0].inputTokens == 179 && r[0].outputTokens == 73)
        }
    }

    struct BadTrace: Sendable, CustomTestStringConvertible {
        var label: String
        var ext: String
        var text: String
        var fragment: String
        var testDescription: String { label }
    }

    @Test(arguments: [
        BadTrace(label: "bad header", ext: "csv", text: "foo,bar,baz\n1,2,3\n", fragment: "unrecognised CSV header 'foo,bar,baz'"),
        BadTrace(label: "short row", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,5\n", fragment: "line 2: expected 3 columns, found 2"),
        BadTrace(label: "bad count", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,5,x\n", fragment: "line 2"),
        BadTrace(label: "bad time", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\nsoon,5,5\n", fragment: "bad time value 'soon'"),
        BadTrace(label: "zero tokens", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,5,0\n", fragment: "out of range; allowed 1...10000000"),
        BadTrace(label: "nan time", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\nnan,5,5\n", fragment: "must be a finite number"),
        BadTrace(label: "span past the time limit", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n1e10,5,5\n", fragment: "the limit is 1000000000 s"),
        BadTrace(label: "huge token count", ext: "csv", text: "arrived_at,num_prefill_tokens,num_decode_tokens\n0,99999999999,5\n", fragment: "out of range"),
        BadTrace(label: "boolean tokens", ext: "jsonl", text: "{\"arrival_time\": 0, \"input_tokens\": true, \"output_tokens\": 5}\n", fragment: "expected a number, found true"),
        BadTrace(label: "empty", ext: "csv", text: "", fragment: "empty"),
        BadTrace(label: "jsonl without keys", ext: "jsonl", text: "{\"a\": 1}\n", fragment: "line 1: no arrival-time key"),
        BadTrace(label: "malformed jsonl", ext: "jsonl", text: "{\"StartTimeOffset\": 1, \n", fragment: "line 1"),
    ])
    func malformedTraceNamesFile(_ c: BadTrace) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/trace." + c.ext
        try Data(c.text.utf8).write(to: URL(fileURLWithPath: file))
        let e = inputError { _ = try TraceLoader.load(file: file) }
        #expect(e?.kind == .data)
        #expect(e?.message.contains(file) == true, "\(e?.message ?? "")")
        #expect(e?.message.contains(c.fragment) == true, "\(e?.message ?? "")")
    }

    @Test func missingTraceFile() {
        let e = inputError { _ = try TraceLoader.load(file: "/nonexistent/moesim-trace.csv") }
        #expect(e?.message.contains("/nonexistent/moesim-trace.csv") == true)
    }
}

@Suite struct DiffusionScheduleTests {
    @Test func lladaStepArithmetic() throws {
        let s = try DiffusionSchedule(steps: 32, genLength: 128, blockLength: 32)
        #expect(s.blocks == 4)
        #expect(s.stepsPerBlock == 8)
        #expect(s.tokensPerStep == Array(repeating: 4, count: 8))
        #expect(s.sequenceLength(prompt: 100) == 228)
        let one = try DiffusionSchedule(steps: 128, genLength: 128, blockLength: 128)
        #expect(one.blocks == 1 && one.stepsPerBlock == 128 && one.tokensPerStep == Array(repeating: 1, count: 128))
    }

    @Test func remainderGoesToFirstSteps() throws {
        let s = try DiffusionSchedule(steps: 3, genLength: 10, blockLength: 10)
        #expect(s.tokensPerStep == [4, 3, 3])
        let t = try DiffusionSchedule(steps: 6, genLength: 20, blockLength: 10)
        #expect(t.blocks == 2 && t.tokensPerStep == [4, 3, 3])
        #expect(t.tokensPerStep.reduce(0, +) == t.blockLength)
    }

    @Test(arguments: [(64, 128, 32), (5, 10, 10), (128, 256, 8), (12, 48, 16)])
    func everyBlockFullyUnmasked(steps: Int, gen: Int, block: Int) throws {
        let s = try DiffusionSchedule(steps: steps, genLength: gen, blockLength: block)
        #expect(s.tokensPerStep.count == s.stepsPerBlock)
        #expect(s.tokensPerStep.reduce(0, +) == block)
        #expect(s.blocks * s.stepsPerBlock == steps)
        #expect(zip(s.tokensPerStep, s.tokensPerStep.dropFirst()).allSatisfy { $0 >= $1 })
    }

    struct BadSchedule: Sendable, CustomTestStringConvertible {
        var steps: Int, gen: Int, block: Int
        var fragment: String
        var testDescription: String { "steps \(steps) gen \(gen) block \(block)" }
    }

    @Test(arguments: [
        BadSchedule(steps: 0, gen: 128, block: 32, fragment: "--diffusion-steps must be positive (got 0)"),
        BadSchedule(steps: 32, gen: 0, block: 32, fragment: "--gen-length must be positive (got 0)"),
        BadSchedule(steps: 32, gen: 128, block: 0, fragment: "--block-length 0"),
        BadSchedule(steps: 32, gen: 128, block: 48, fragment: "--block-length 48 must divide --gen-length 128"),
        BadSchedule(steps: 32, gen: 128, block: 256, fragment: "--block-length 256"),
        BadSchedule(steps: 30, gen: 128, block: 32, fragment: "--diffusion-steps 30 must be a multiple of the number of blocks"),
    ])
    func invalidCombinationsThrow(_ c: BadSchedule) {
        let e = inputError { _ = try DiffusionSchedule(steps: c.steps, genLength: c.gen, blockLength: c.block) }
        #expect(e?.kind == .usage)
        #expect(e?.message.contains(c.fragment) == true, "\(e?.message ?? "")")
    }
}

/// vLLM's random dataset bounds and the datasets' sampling (vLLM 0.24 `get_sampling_params`, `PrefixRepetitionRandomDataset`).
@Suite struct DatasetSamplingTests {
    @Test func randomBoundsAreVLLMs() throws {
        // Llama-style tokenizer (one BOS): the input is sampled around 1023.
        let (i, o) = try Datasets.randomLengths(inputLen: 1024, outputLen: 128, ratios: (0.5, 0.5), prefixLen: 0, specialTokens: 1)
        #expect(i == 511...1535 && o == 64...192)
        let (i2, o2) = try Datasets.randomLengths(inputLen: 10, outputLen: 1, ratios: (0.25, 0.9), prefixLen: 0, specialTokens: 0)
        #expect(i2 == 7...13 && o2 == 1...2)
        // Too short: vLLM refuses a possible prompt of 0 tokens.
        #expect(throws: InputError.self) { try Datasets.randomLengths(inputLen: 1, outputLen: 8, ratios: (0.5, 0), prefixLen: 0, specialTokens: 0) }
        #expect((try? Datasets.randomLengths(inputLen: 1, outputLen: 8, ratios: (0.5, 0), prefixLen: 3, specialTokens: 0))?.input == 0...2)
        #expect(try Datasets.rangeRatios("{\"input\": 0.3, \"output\": 0.5}") == (0.3, 0.5))
        #expect(try Datasets.rangeRatios("0.2") == (0.2, 0.2))
        for bad in ["1.0", "-0.1", "{\"input\": 0.3}", "abc", "{\"input\": 2, \"output\": 0}"] {
            #expect(throws: InputError.self, "\(bad)") { try Datasets.rangeRatios(bad) }
        }
    }

    @Test func prefixRepetitionSharesEachPrefix() throws {
        let r = try Datasets.prefixRepetition(prefixLen: 100, suffixLen: 20, numPrefixes: 4, outputLen: 9, numPrompts: 25, seed: 1)
        #expect(r.samples.count == 24 && !r.notes.isEmpty)
        #expect(r.samples.allSatisfy { $0.input == 120 && $0.output == 9 && $0.sharedTokens == 100 })
        #expect(Dictionary(grouping: r.samples, by: \.prefixKey).values.map(\.count).sorted() == [6, 6, 6, 6])
        let again = try Datasets.prefixRepetition(prefixLen: 100, suffixLen: 20, numPrefixes: 4, outputLen: 9, numPrompts: 25, seed: 1)
        #expect(again.samples == r.samples)
        let ordered = try Datasets.prefixRepetition(prefixLen: 100, suffixLen: 20, numPrefixes: 4, outputLen: 9, numPrompts: 25, seed: 1, shuffle: false)
        #expect(ordered.samples.map(\.prefixKey) == ordered.samples.map(\.prefixKey).sorted())
        #expect(throws: InputError.self) { try Datasets.prefixRepetition(prefixLen: 1, suffixLen: 1, numPrefixes: 10, outputLen: 1, numPrompts: 5, seed: 0) }
    }

    @Test func shareGPTFilterIsVLLMs() {
        #expect(Datasets.isValidSequence(prompt: 4, output: 4, skipOutputCheck: false))
        #expect(!Datasets.isValidSequence(prompt: 3, output: 100, skipOutputCheck: false))
        #expect(!Datasets.isValidSequence(prompt: 10, output: 3, skipOutputCheck: false))
        #expect(Datasets.isValidSequence(prompt: 10, output: 3, skipOutputCheck: true))
        #expect(!Datasets.isValidSequence(prompt: 1025, output: 4, skipOutputCheck: false))
        #expect(Datasets.isValidSequence(prompt: 1024, output: 1024, skipOutputCheck: false))
        #expect(!Datasets.isValidSequence(prompt: 1024, output: 1025, skipOutputCheck: false))
    }
}

/// `vllm bench serve`'s arrival times (vLLM 0.24.0, vllm/benchmarks/serve.py `get_request`), reproduced to the bit.
/// Reference values from a transcription of that function with NumPy 2.4:
///
///     np.random.seed(seed); d = []
///     for i in range(n):
///         r = rate (or the ramp's: start + (end - start) * p, start * (end / start) ** p, p = i / max(n - 1, 1))
///         d.append(np.random.gamma(shape=b, scale=1.0 / (r * b)))
///     d = cumsum(d); without a ramp: d = [x * (n / rate) / d[-1] for x in d]
@Suite struct VLLMArrivalTests {
    @Test func poissonArrivalsAreVLLMsForTheSeedAndEndAtCountOverRate() throws {
        let t = try Workload.arrivalTimes(count: 5, requestRate: 2, burstiness: 1, rampUp: nil, seed: 0)
        #expect(t == [0.4612933000308972, 1.189237769060302, 1.724343049132401, 2.180609223781806, 2.5])
    }

    @Test func burstyArrivals() throws {
        let t = try Workload.arrivalTimes(count: 6, requestRate: 3, burstiness: 0.5, rampUp: nil, seed: 42)
        #expect(t == [0.23318514166327742, 1.3286576539189423, 1.3691205687085266, 1.3747286128074687, 1.9992956563715207, 2.0])
    }

    @Test func rampsAreNotRescaled() throws {
        let lin = try Workload.arrivalTimes(count: 5, requestRate: nil, burstiness: 1, rampUp: .init(strategy: .linear, startRPS: 1, endRPS: 10), seed: 0)
        #expect(lin == [0.79587450816311, 1.1823147429218293, 1.3501734967043872, 1.4517478389388738, 1.5068526880484236])
        let exp = try Workload.arrivalTimes(count: 5, requestRate: nil, burstiness: 2, rampUp: .init(strategy: .exponential, startRPS: 2, endRPS: 32), seed: 7)
        #expect(exp == [0.28365200126619494, 0.3888458788391991, 0.4931792996061791, 0.5980512462750971, 0.6381812250023131])
    }

    @Test func allAtOnceWithoutARateAndNoSeedLimitThen() throws {
        #expect(try Workload.arrivalTimes(count: 3, requestRate: .infinity, burstiness: 1, rampUp: nil, seed: 1 << 40) == [0, 0, 0])
        let e = inputError { _ = try Workload.arrivalTimes(count: 3, requestRate: 1, burstiness: 1, rampUp: nil, seed: 1 << 40) }
        #expect(e?.message.contains("0...4294967295") == true, "\(e?.message ?? "")")
    }
}
