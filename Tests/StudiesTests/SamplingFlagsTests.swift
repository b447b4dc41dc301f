import Foundation
import Testing
@testable import Studies
@testable import Serving
@testable import Cluster

/// `--temperature`, `--top-k` and `--top-p` choose which of the `vllm` profile's measured sampler costs a logit pays
/// (probe/results/2026-12-04-h200-vllm-i: greedy 20.4, temperature 75, top-k/top-p 153 bytes a logit).
@Suite struct SamplingFlagsTests {
    func samplerBytes(_ flags: [String]) throws -> Double {
        let args = ["--model", "qwen3-30b-a3b", "--gpu", "h200-sxm-141gb"] + flags
        return try RunOptions.deployment(try ParsedArguments(args, options: RunOptions.deployment + RunOptions.workload), store: StudiesRepo.store)
            .param("sampler_bytes_per_logit")
    }

    @Test func flagsChooseTheMeasuredSamplerCost() throws {
        #expect(try samplerBytes([]) == 75)
        #expect(try samplerBytes(["--temperature", "1"]) == 75)
        #expect(try samplerBytes(["--temperature", "0"]) == 20.4)
        // Greedy ignores top-k/top-p, as vLLM's sampler does.
        #expect(try samplerBytes(["--temperature", "0", "--top-k", "20"]) == 20.4)
        #expect(try samplerBytes(["--temperature", "0.6", "--top-k", "20", "--top-p", "0.95"]) == 153)
        #expect(try samplerBytes(["--top-p", "0.9"]) == 153)
        #expect(try samplerBytes(["--top-k", "-1", "--top-p", "1"]) == 75)
    }

    @Test func badSamplingValuesNameTheFlag() throws {
        for (flag, value) in [("--temperature", "-0.5"), ("--top-k", "-2"), ("--top-p", "0"), ("--top-p", "1.5")] {
            do {
                _ = try samplerBytes([flag, value])
                Issue.record("\(flag) \(value) was accepted")
            } catch {
                #expect("\(error)".contains(flag) && "\(error)".contains(value), "\(error)")
            }
        }
    }
}
