import Testing
@testable import SimKit

@Suite struct EventQueueTests {
    @Test func emptyQueue() {
        var q = EventQueue<Int>()
        #expect(q.isEmpty)
        #expect(q.count == 0)
        #expect(q.peekTime() == nil)
        #expect(q.pop() == nil)
    }

    @Test func equalTimesPopFirstInFirstOut() {
        var q = EventQueue<Int>(minimumCapacity: 16)
        for i in 0..<100 { q.schedule(i, at: SimTime(ns: 7)) }
        q.schedule(-1, at: SimTime(ns: 3))
        #expect(q.peekTime() == SimTime(ns: 3))
        #expect(q.pop()?.event == -1)
        var popped: [Int] = []
        while let (_, e) = q.pop() { popped.append(e) }
        #expect(popped == Array(0..<100))
    }

    @Test(arguments: [1, 2, 17, 1000, 5000])
    func randomPushesPopInStableSortedOrder(n: Int) {
        var rng = Xoshiro256(seed: UInt64(n))
        var q = EventQueue<Int>()
        var reference: [(time: Int64, id: Int)] = []
        for id in 0..<n {
            let time = Int64(rng.nextInt(below: max(1, n / 4)))  // many ties
            q.schedule(id, at: SimTime(ns: time))
            reference.append((time, id))
        }
        #expect(q.count == n)
        // Stable sort by time = (time, insertion order).
        let expected = reference.enumerated()
            .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map(\.element)
        var got: [(time: Int64, id: Int)] = []
        while let (t, e) = q.pop() { got.append((t.ns, e)) }
        #expect(got.map(\.time) == expected.map(\.time))
        #expect(got.map(\.id) == expected.map(\.id))
    }

    @Test func interleavedScheduleAndPop() {
        var rng = Xoshiro256(seed: 99)
        var q = EventQueue<String>()
        var now = SimTime.zero
        var last = SimTime(ns: -1)
        q.schedule("start", at: now)
        var processed = 0
        while let (t, _) = q.pop(), processed < 10_000 {
            #expect(t >= last)
            last = t
            now = t
            processed += 1
            for _ in 0..<(q.count < 500 ? 1 + rng.nextInt(below: 2) : rng.nextInt(below: 2)) {
                q.schedule("e", at: now + SimTime(ns: Int64(rng.nextInt(below: 100))))
            }
        }
        #expect(processed == 10_000)
    }
}
