import DequeModule

/// The latest events, kept so that a stream client that reconnects with `since=SEQ` gets everything it missed,
/// or learns plainly how much is gone. A pure value: the caller gives it the time.
///
/// Every event the bus publishes is appended in `seq` order, so the entries are the contiguous run
/// `floor + 1 ... lastSeq`; an event is dropped from the front when there are more than `limits.count`, their
/// payloads pass `limits.bytes`, or it is older than `limits.age`. `floor` is the last `seq` that is gone.
struct ReplayBuffer<Element> {
    struct Limits: Sendable, Equatable {
        /// At most this many events.
        var count = 10_000
        /// None older than this.
        var age = Duration.seconds(600)
        /// At most this many payload bytes (a safety bound: 10,000 events of the largest payload would be 2.5 GB).
        var bytes = 64 * 1024 * 1024
    }

    struct Entry {
        var seq: Int
        var kind: String
        var size: Int
        var at: ContinuousClock.Instant
        var element: Element
    }

    /// What a client that resumes after `since` gets.
    struct Replay {
        /// How many events after `since` are gone (`nil`: unknown, the client's `since` is not from this history).
        var missed: Int?
        /// The last `seq` that is gone, when some are: where a `transport.gap` sits in the stream.
        var gapEnd: Int
        /// The events after `since` that are still here and match, oldest first.
        var elements: [Element]
        /// Why some are gone: `evicted` (past the limits), `restarted` (before this run of the host), or
        /// `unknown_seq` (`since` is not from this history).
        var reason = "evicted"

        var hasGap: Bool { missed != 0 }
    }

    let limits: Limits
    private(set) var entries: Deque<Entry> = []
    /// The last `seq` no longer here (or never here: the `seq` the bus started after).
    private(set) var floor: Int
    private(set) var bytes = 0
    /// The `seq` this run started after.
    let start: Int

    init(limits: Limits, startingAfter seq: Int) {
        self.limits = limits
        self.floor = seq
        self.start = seq
    }

    /// The `seq` of the latest event seen.
    var lastSeq: Int { entries.last?.seq ?? floor }

    /// Appends the next event (its `seq` must follow `lastSeq`; the bus numbers them so).
    mutating func append(seq: Int, kind: String, size: Int, at now: ContinuousClock.Instant, _ element: Element) {
        if seq != lastSeq + 1 {  // never from the bus; kept contiguous whatever a caller does
            entries.removeAll()
            bytes = 0
            floor = seq - 1
        }
        entries.append(Entry(seq: seq, kind: kind, size: size, at: now, element: element))
        bytes += size
        while entries.count > limits.count || (bytes > limits.bytes && entries.count > 1) { dropFirst() }
        expire(now: now)
    }

    /// Drops the events older than `limits.age`.
    mutating func expire(now: ContinuousClock.Instant) {
        while let first = entries.first, now - first.at > limits.age { dropFirst() }
    }

    private mutating func dropFirst() {
        guard let first = entries.popFirst() else { return }
        bytes -= first.size
        floor = first.seq
    }

    /// The events after `since` whose kind `matches`, and how many are gone.
    func replay(after since: Int, matching matches: (String) -> Bool) -> Replay {
        if since > lastSeq {  // from another history (a data folder wiped, or another host): all of this is new
            return Replay(
                missed: nil, gapEnd: floor, elements: entries.filter { matches($0.kind) }.map(\.element),
                reason: "unknown_seq")
        }
        if since < floor {
            return Replay(
                missed: floor - since, gapEnd: floor, elements: entries.filter { matches($0.kind) }.map(\.element),
                reason: floor == start ? "restarted" : "evicted")
        }
        let start = since - floor  // entries[0].seq == floor + 1
        let elements = entries[(entries.startIndex + start)...].filter { matches($0.kind) }.map(\.element)
        return Replay(missed: 0, gapEnd: floor, elements: elements)
    }
}
