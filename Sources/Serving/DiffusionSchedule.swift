import Foundation
import Cluster

/// LLaDA's semi-autoregressive denoising schedule (ML-GSAI/LLaDA `generate.py`).
///
/// `genLength` masked positions are decoded in `genLength / blockLength` blocks, left to right, with
/// `steps / blocks` steps per block. Each step is one full bidirectional forward over the prompt plus all
/// `genLength` positions (no KV cache); the step unmasks `tokensPerStep[i]` of the current block's masked tokens:
/// `blockLength / stepsPerBlock` each, the remainder going one apiece to the first steps (`get_num_transfer_tokens`).
/// With more steps per block than block positions, the later steps unmask nothing but still run a full forward.
public struct DiffusionSchedule: Sendable, Equatable {
    public let steps: Int
    public let genLength: Int
    public let blockLength: Int
    public var blocks: Int { genLength / blockLength }
    public var stepsPerBlock: Int { steps / blocks }

    public init(steps: Int, genLength: Int, blockLength: Int) throws {
        guard steps > 0 else { throw InputError.usage("--diffusion-steps must be positive (got \(steps))") }
        guard genLength > 0 else { throw InputError.usage("--gen-length must be positive (got \(genLength))") }
        guard blockLength > 0, blockLength <= genLength, genLength % blockLength == 0 else {
            throw InputError.usage("--block-length \(blockLength) must divide --gen-length \(genLength)")
        }
        let blocks = genLength / blockLength
        guard steps % blocks == 0 else {
            throw InputError.usage("--diffusion-steps \(steps) must be a multiple of the number of blocks (\(genLength) / \(blockLength) = \(blocks))")
        }
        self.steps = steps; self.genLength = genLength; self.blockLength = blockLength
    }

    /// Tokens unmasked at each step of one block.
    public var tokensPerStep: [Int] {
        let base = blockLength / stepsPerBlock, rem = blockLength % stepsPerBlock
        return (0..<stepsPerBlock).map { base + ($0 < rem ? 1 : 0) }
    }

    /// Positions each forward pass covers for a prompt of `prompt` tokens.
    public func sequenceLength(prompt: Int) -> Int { prompt + genLength }
}
