import Testing
@testable import SimKit

@Suite struct SimTimeTests {
    @Test func conversionsRoundToNearestNanosecond() {
        #expect(SimTime.seconds(1.5).ns == 1_500_000_000)
        #expect(SimTime.milliseconds(2.25).ns == 2_250_000)
        #expect(SimTime.microseconds(0.0006).ns == 1)
        #expect(SimTime.microseconds(0.0004).ns == 0)
        #expect(SimTime.seconds(-0.25).ns == -250_000_000)
        #expect(SimTime(ns: 2_500_000).milliseconds == 2.5)
        #expect(SimTime(ns: 1_500_000_000).seconds == 1.5)
    }

    @Test func arithmeticAndOrdering() {
        var t = SimTime.zero
        t += .milliseconds(3)
        #expect(t + .milliseconds(2) == .milliseconds(5))
        #expect(t - .milliseconds(1) == .milliseconds(2))
        #expect(SimTime(ns: 1) < SimTime(ns: 2))
        #expect(SimTime.zero.ns == 0)
    }

    @Test func description() {
        #expect(SimTime(ns: 1_000_000_250).description == "1.000000250s")
        #expect(SimTime(ns: -5).description == "-0.000000005s")
    }
}
