/// When to retry a failed request: jittered exponential backoff that honours the server's `Retry-After`,
/// for idempotent requests only (reads, and writes that carry an idempotency key).
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts = 4
    /// The delay before the first retry, before jitter.
    public var baseDelay: Duration = .milliseconds(200)
    /// The longest delay between attempts.
    public var maxDelay: Duration = .seconds(10)

    public init() {}

    /// Whether a request may be sent again at all.
    public static func mayRetry(isIdempotent: Bool, hasIdempotencyKey: Bool) -> Bool {
        isIdempotent || hasIdempotencyKey
    }

    /// The delay before attempt `attempt + 1` after attempt `attempt` (from 1) failed, or `nil` to give up.
    /// - Parameters:
    ///   - retryAfter: what the server asked for, which wins over backoff (capped at `maxDelay`).
    ///   - jitter: a number in 0..<1 (inject a seeded generator in tests).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil, jitter: Double) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        if let retryAfter { return min(retryAfter, maxDelay) }
        let exponential = baseDelay * (1 << min(attempt - 1, 20))
        let capped = min(exponential, maxDelay)
        // "Full jitter" on the upper half: between half and all of the capped delay.
        return capped / 2 + capped / 2 * max(0, min(jitter, 1))
    }
}
