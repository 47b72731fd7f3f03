import Synchronization

/// A rate limiter shared by every worker on one block (one venue account): FIFO, weighted, multi-limit,
/// with a deadline on every wait and corrections from the server.
///
/// Acquiring reserves a start time under a lock and then sleeps until it, so an uncontended acquire is a
/// lock and a few comparisons.
public final class RateLimiter<C: Clock>: Sendable where C.Duration == Swift.Duration, C: Sendable {
    private let clock: C
    private let origin: C.Instant
    private let book: Mutex<RateLimitBook>

    /// A limiter for `limits`, timed by `clock`.
    public init(limits: [RateLimit], clock: C) {
        self.clock = clock
        self.origin = clock.now
        self.book = Mutex(RateLimitBook(limits: limits))
    }

    /// Waits until `costs` fit every limit they draw from.
    /// - Throws: `RateLimitError` at once when the wait would pass `deadline` (nothing is reserved), or when
    ///   the task is cancelled while waiting.
    public func acquire(_ costs: [RateLimitCost], deadline: C.Instant) async throws(RateLimitError) {
        let now = origin.duration(to: clock.now)
        let start = try book.withLock { book throws(RateLimitError) in
            try book.reserve(costs, now: now, deadline: origin.duration(to: deadline))
        }
        guard start > now else { return }
        do {
            try await clock.sleep(until: origin.advanced(by: start), tolerance: nil)
        } catch {
            throw RateLimitError(code: .cancelled, message: "cancelled while waiting for the rate limit")
        }
    }

    /// The server says `limitID` has no allowance left until `resetAt`: nothing more is let through before it.
    public func block(_ limitID: String, until resetAt: C.Instant) {
        book.withLock { $0.block(limitID, until: origin.duration(to: resetAt)) }
    }
}

extension RateLimiter where C == ContinuousClock {
    /// A limiter on the continuous clock.
    public convenience init(limits: [RateLimit]) {
        self.init(limits: limits, clock: ContinuousClock())
    }
}
