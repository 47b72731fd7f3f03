/// The rate limiter's bookkeeping as a pure value: reservations in, start times out.
///
/// Each request reserves the earliest instant at which every limit it draws from has room, no earlier than
/// the last reservation on those limits: so requests are served in arrival order (FIFO), and in no window of
/// any limit's length does the reserved weight exceed the limit. A server's report that a limit is exhausted
/// blocks that limit until the reset it names.
///
/// Times are offsets from an origin the caller chooses (`RateLimiter` uses its clock's reading at creation):
/// a concrete type keeps this hot path free of generic dispatch.
public struct RateLimitBook: Sendable {
    /// A point in time, as an offset from the caller's origin.
    public typealias Instant = Duration

    private struct Pool: Sendable {
        let limit: RateLimit
        var log: [(at: Instant, weight: Int)] = []  // sorted by time: reservations only move forward
        var head = 0  // entries before it have expired
        var total = 0  // the weight in `log[head...]`
        var blockedUntil: Instant?

        mutating func prune(now: Instant) {
            let horizon = now - limit.window
            while head < log.count, log[head].at <= horizon {
                total -= log[head].weight
                head += 1
            }
            if head > 64, head * 2 > log.count {  // compact now and then, not on every expiry
                log.removeFirst(head)
                head = 0
            }
        }

        /// The earliest instant from `start` at which `weight` fits this pool.
        func room(for weight: Int, from start: Instant) -> Instant {
            var start = start
            if let blockedUntil, blockedUntil > start { start = blockedUntil }
            if let last = log.last?.at, last > start { start = last }
            // The log holds every entry of any window ending at or after now: if all of it fits, the window does.
            if total + weight <= limit.limit { return start }
            let windowStart = start - limit.window
            let live = log[head...]
            var used = live.reduce(0) { $0 + ($1.at > windowStart ? $1.weight : 0) }
            for entry in live where entry.at > windowStart {
                if used + weight <= limit.limit { break }
                used -= entry.weight
                if used + weight <= limit.limit { return max(start, entry.at + limit.window) }
            }
            return start
        }
    }

    private var pools: [Pool]
    private let index: [String: Int]  // limit id → position in `pools`

    public init(limits: [RateLimit]) {
        var unique: [RateLimit] = []
        var index: [String: Int] = [:]
        for limit in limits {
            if let at = index[limit.id] {
                unique[at] = limit  // the last of a repeated id wins
            } else {
                index[limit.id] = unique.count
                unique.append(limit)
            }
        }
        pools = unique.map { Pool(limit: $0) }
        self.index = index
    }

    /// Reserves room for a request arriving at `now`.
    /// - Returns: when the request may start (`now` when there is room).
    /// - Throws: `RateLimitError` when it would have to start after `deadline`; nothing is reserved then.
    public mutating func reserve(_ costs: [RateLimitCost], now: Instant, deadline: Instant) throws(RateLimitError)
        -> Instant
    {
        // The hot path: one dictionary lookup per cost, the rest by position, nothing on the heap.
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: costs.count) { slots throws(RateLimitError) in
            for (n, cost) in costs.enumerated() {
                guard let slot = index[cost.limitID] else {
                    throw RateLimitError(code: .unknownLimit, message: "no rate limit named '\(cost.limitID)'")
                }
                guard cost.weight <= pools[slot].limit.limit else {
                    throw RateLimitError(
                        code: .tooHeavy, message: "weight \(cost.weight) exceeds the whole '\(cost.limitID)' limit")
                }
                slots[n] = slot
                pools[slot].prune(now: now)
            }
            var start = now
            var bottleneck = costs.first?.limitID ?? "?"
            var settled = false
            while !settled {
                settled = true
                for (n, cost) in costs.enumerated() {
                    let room = pools[slots[n]].room(for: cost.weight, from: start)
                    if room > start {
                        start = room
                        bottleneck = cost.limitID
                        settled = false
                    }
                }
            }
            guard start <= deadline else {
                throw RateLimitError(
                    code: .pastDeadline,
                    message: "rate limit '\(bottleneck)' needs a wait of \(start - now), past this request's deadline")
            }
            for (n, cost) in costs.enumerated() {
                pools[slots[n]].log.append((start, cost.weight))
                pools[slots[n]].total += cost.weight
            }
            return start
        }
    }

    /// Blocks `limitID` until `until`, as the server says (no allowance left, a 429, a retry-after).
    public mutating func block(_ limitID: String, until: Instant) {
        guard let slot = index[limitID] else { return }
        if let current = pools[slot].blockedUntil, current > until { return }
        pools[slot].blockedUntil = until
    }

    /// The weight reserved in `limitID` within the window that ends at `instant` (for tests and metrics).
    public func used(_ limitID: String, windowEndingAt instant: Instant) -> Int {
        guard let pool = index[limitID].map({ pools[$0] }) else { return 0 }
        let start = instant - pool.limit.window
        return pool.log[pool.head...].filter { $0.at > start && $0.at <= instant }.reduce(0) { $0 + $1.weight }
    }
}
