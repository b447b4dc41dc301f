import Foundation
import Testing
@testable import Studies
import Serving
import Cluster
import SimKit

/// Issue 18: `plan --seeds N` ranks by the mean and calls overlapping 95% intervals at the top a tie.
@Suite struct PlanTieTests {
    @Test func overlappingIntervalsAtTheTopAreATie() {
        func result(_ tput: Int) -> RunResult {
            let z = Summary([1])
            return RunResult(durationS: 1, completed: 1, totalInputTokens: 1, totalOutputTokens: tput, ttftMs: z, tpotMs: z, itlMs: z, e2elMs: z,
                             gpus: 1, steps: 1, breakdownUs: StepBreakdown(), preemptions: 0, kvCapacityTokens: 1, peakKVUsage: 0,
                             meanKVUsage: 0, gpuBusyFraction: 0, seed: 0)
        }
        func plan(_ tp: Int, _ xs: [Int]) -> PlanSearch.Evaluated {
            var e = PlanSearch.Evaluated(candidate: PlanSearch.Candidate(gpu: "g", tp: tp, dp: 1, ep: false, backend: nil, maxNumSeqs: 16),
                                         verdict: .simulated(result(xs[0])))
            e.replicates = xs.map(result); e.meetsSLO = true
            return e
        }
        // 100 ± wide overlaps 98; 50 is far below.
        let ranked = PlanSearch.rank([plan(1, [50, 51, 49]), plan(2, [96, 100, 104]), plan(4, [97, 98, 99])])
        #expect(ranked.map(\.candidate.tp) == [2, 4, 1])
        #expect(PlanSearch.tiedAtTop(ranked).map(\.candidate.tp) == [2, 4])
        let clear = PlanSearch.rank([plan(1, [50, 51, 49]), plan(2, [100, 101, 99])])
        #expect(PlanSearch.tiedAtTop(clear).map(\.candidate.tp) == [2])
    }

    /// The tables show what the ranking sorted by: the means over seeds, not the first seed's run.
    @Test func tablesShowTheMeansOverSeeds() {
        func result(_ tput: Int, _ p99: Double) -> RunResult {
            let z = Summary([p99])
            return RunResult(durationS: 1, completed: 1, totalInputTokens: 1, totalOutputTokens: tput, ttftMs: z, tpotMs: z, itlMs: z, e2elMs: z,
                             gpus: 2, steps: 1, breakdownUs: StepBreakdown(), preemptions: 0, kvCapacityTokens: 1, peakKVUsage: 0,
                             meanKVUsage: 0, gpuBusyFraction: 0, seed: 0)
        }
        var e = PlanSearch.Evaluated(candidate: PlanSearch.Candidate(gpu: "g", tp: 2, dp: 1, ep: false, backend: nil, maxNumSeqs: 16),
                                     verdict: .simulated(result(90, 10)))
        #expect(e.meanOutputThroughput == 90 && e.meanP99TPOTms == 10)
        e.replicates = [result(90, 10), result(110, 14)]
        #expect(e.meanOutputThroughput == 100 && e.meanP99TPOTms == 12 && e.meanP99TTFTms == 12)
        #expect(e.meanThroughputPerGPU == 50)
    }
}
