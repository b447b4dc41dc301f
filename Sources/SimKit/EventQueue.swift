/// A discrete-event priority queue: a binary min-heap keyed by (time, insertion order).
///
/// Events scheduled for the same time pop in first-in first-out order, which makes
/// simulations deterministic regardless of heap layout.
public struct EventQueue<Event> {
    /// One heap slot: the event plus its ordering key.
    @usableFromInline
    struct Entry {
        @usableFromInline var time: Int64
        @usableFromInline var sequence: UInt64
        @usableFromInline var event: Event

        @inlinable
        init(time: Int64, sequence: UInt64, event: Event) {
            self.time = time
            self.sequence = sequence
            self.event = event
        }

        /// Whether `self` must pop before `other`.
        @inlinable
        func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    @usableFromInline var heap: [Entry]
    @usableFromInline var nextSequence: UInt64 = 0

    /// Creates an empty queue with room for `minimumCapacity` events.
    public init(minimumCapacity: Int = 0) {
        heap = []
        heap.reserveCapacity(minimumCapacity)
    }

    /// The number of pending events.
    @inlinable
    public var count: Int { heap.count }

    /// Whether no events are pending.
    @inlinable
    public var isEmpty: Bool { heap.isEmpty }

    /// Adds `event` to fire at `time`.
    ///
    /// - Complexity: O(log n).
    @inlinable
    public mutating func schedule(_ event: Event, at time: SimTime) {
        let entry = Entry(time: time.ns, sequence: nextSequence, event: event)
        nextSequence &+= 1
        heap.append(entry)
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest event (FIFO among equal times), or `nil` if empty.
    ///
    /// - Complexity: O(log n).
    @inlinable
    public mutating func pop() -> (time: SimTime, event: Event)? {
        guard !heap.isEmpty else { return nil }
        let last = heap.count - 1
        if last > 0 { heap.swapAt(0, last) }
        let top = heap.removeLast()
        if last > 1 { siftDown(0) }
        return (SimTime(ns: top.time), top.event)
    }

    /// The time of the earliest pending event, or `nil` if empty.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func peekTime() -> SimTime? {
        heap.first.map { SimTime(ns: $0.time) }
    }

    /// Removes all pending events; the FIFO sequence counter keeps counting.
    ///
    /// - Complexity: O(n).
    public mutating func removeAll(keepingCapacity: Bool = true) {
        heap.removeAll(keepingCapacity: keepingCapacity)
    }

    @inlinable
    mutating func siftUp(_ start: Int) {
        heap.withUnsafeMutableBufferPointer { h in
            let base = h.baseAddress!
            var i = start
            let x = (base + i).move()
            while i > 0 {
                let parent = (i - 1) >> 1
                guard x.precedes(base[parent]) else { break }
                (base + i).moveInitialize(from: base + parent, count: 1)
                i = parent
            }
            (base + i).initialize(to: x)
        }
    }

    @inlinable
    mutating func siftDown(_ start: Int) {
        heap.withUnsafeMutableBufferPointer { h in
            let n = h.count
            let base = h.baseAddress!
            var i = start
            let x = (base + i).move()
            while true {
                var child = 2 * i + 1
                if child >= n { break }
                if child + 1 < n && base[child + 1].precedes(base[child]) { child += 1 }
                guard base[child].precedes(x) else { break }
                (base + i).moveInitialize(from: base + child, count: 1)
                i = child
            }
            (base + i).initialize(to: x)
        }
    }
}

extension EventQueue.Entry: Sendable where Event: Sendable {}
extension EventQueue: Sendable where Event: Sendable {}
