/// The rate limiter's bookkeeping as a pure value: reservations in, start times out.
///
/// Each request reserves the earliest instant at which every limit it draws from has room, no earlier than
/// the last reservation on those limits: so requests are served in arrival order (FIFO), and in no window of
/// any limit's length does the reserved weight exceed the limit. A server's report that a limit is exhausted
/// blocks that limit until the reset it names.
public struct RateLimitBook<Instant: InstantProtocol>: Sendable where Instant.Duration == Swift.Duration {
    private var limits: [String: RateLimit]
    private var logs: [String: [(at: Instant, weight: Int)]] = [:]  // sorted by time: reservations only move forward
    private var blockedUntil: [String: Instant] = [:]
    private var totals: [String: Int] = [:]  // the weight in each log, for the common case of plenty of room

    public init(limits: [RateLimit]) {
        self.limits = Dictionary(limits.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Reserves room for a request arriving at `now`.
    /// - Returns: when the request may start (`now` when there is room).
    /// - Throws: `RateLimitError` when it would have to start after `deadline`; nothing is reserved then.
    public mutating func reserve(_ costs: [RateLimitCost], now: Instant, deadline: Instant) throws(RateLimitError)
        -> Instant
    {
        for cost in costs {
            guard let limit = limits[cost.limitID] else {
                throw RateLimitError(code: .unknownLimit, message: "no rate limit named '\(cost.limitID)'")
            }
            guard cost.weight <= limit.limit else {
                throw RateLimitError(
                    code: .tooHeavy, message: "weight \(cost.weight) exceeds the whole '\(limit.id)' limit")
            }
            prune(limit, now: now)
        }
        let start = earliestStart(costs, now: now)
        guard start <= deadline else {
            let wait = now.duration(to: start)
            throw RateLimitError(
                code: .pastDeadline,
                message:
                    "rate limit '\(bottleneck(costs, at: start))' needs a wait of \(wait), past this request's deadline"
            )
        }
        for cost in costs {
            logs[cost.limitID, default: []].append((start, cost.weight))
            totals[cost.limitID, default: 0] += cost.weight
        }
        return start
    }

    /// Blocks `limitID` until `until`, as the server says (no allowance left, a 429, a retry-after).
    public mutating func block(_ limitID: String, until: Instant) {
        blockedUntil[limitID] = max(blockedUntil[limitID] ?? until, until)
    }

    /// The weight reserved in `limitID` within the window that ends at `instant` (for tests and metrics).
    public func used(_ limitID: String, windowEndingAt instant: Instant) -> Int {
        guard let limit = limits[limitID] else { return 0 }
        let start = instant.advanced(by: .zero - limit.window)
        return logs[limitID, default: []].filter { $0.at > start && $0.at <= instant }.reduce(0) { $0 + $1.weight }
    }

    private func earliestStart(_ costs: [RateLimitCost], now: Instant) -> Instant {
        var start = now
        for cost in costs {
            if let blocked = blockedUntil[cost.limitID] { start = max(start, blocked) }
            if let last = logs[cost.limitID]?.last?.at { start = max(start, last) }
        }
        while true {
            var moved = false
            for cost in costs {
                let room = roomAt(cost, from: start)
                if room > start {
                    start = room
                    moved = true
                }
            }
            if !moved { return start }
        }
    }

    /// The earliest instant from `start` at which `cost` fits its limit's window.
    private func roomAt(_ cost: RateLimitCost, from start: Instant) -> Instant {
        guard let limit = limits[cost.limitID], let log = logs[cost.limitID] else { return start }
        // The log holds every entry of any window ending at or after now: if all of it fits, the window does.
        if totals[cost.limitID, default: 0] + cost.weight <= limit.limit { return start }
        let windowStart = start.advanced(by: .zero - limit.window)
        let inWindow = log.filter { $0.at > windowStart }
        var used = inWindow.reduce(0) { $0 + $1.weight }
        for entry in inWindow {
            if used + cost.weight <= limit.limit { break }
            used -= entry.weight
            if used + cost.weight <= limit.limit { return entry.at.advanced(by: limit.window) }
        }
        return start
    }

    private func bottleneck(_ costs: [RateLimitCost], at start: Instant) -> String {
        costs.first { (blockedUntil[$0.limitID].map { $0 >= start }) ?? false }?.limitID ?? costs.first?.limitID ?? "?"
    }

    private mutating func prune(_ limit: RateLimit, now: Instant) {
        let horizon = now.advanced(by: .zero - limit.window)
        guard let log = logs[limit.id] else { return }
        let expired = log.firstIndex { $0.at > horizon } ?? log.count
        if expired > 0 {
            totals[limit.id, default: 0] -= log[..<expired].reduce(0) { $0 + $1.weight }
            logs[limit.id]?.removeFirst(expired)
        }
        if let blocked = blockedUntil[limit.id], blocked <= now { blockedUntil[limit.id] = nil }
    }
}
