/// The restart policy of one supervised task, as a pure value: 1 s, 2 s, 4 s … capped at `maximum`, reset after
/// `stableAfter` of stable run; a task that crashes again after a wait at the cap is *exhausted*.
public struct TaskBackoff: Sendable, Equatable {
    /// The constants; tests shorten them to run the whole sequence in seconds.
    public struct Policy: Sendable, Equatable {
        public var first: Duration
        public var maximum: Duration
        public var stableAfter: Duration

        public init(
            first: Duration = .seconds(1), maximum: Duration = .seconds(300), stableAfter: Duration = .seconds(60)
        ) {
            self.first = first
            self.maximum = maximum
            self.stableAfter = stableAfter
        }
    }

    public let policy: Policy
    /// Crashes since the worker started.
    public private(set) var crashes = 0
    /// Crashes since the last stable run: the exponent of the next delay.
    public private(set) var attempt = 0
    /// Whether the wait before the current run was at the cap.
    private var waitedAtCap = false
    /// Whether the task crashed again after a wait at the cap (until it runs stably again).
    public private(set) var exhausted = false

    public init(policy: Policy) {
        self.policy = policy
    }

    /// Records a crash after the task ran for `ran`.
    /// - Returns: how long to wait before restarting it.
    public mutating func crashed(after ran: Duration) -> Duration {
        crashes += 1
        if ran >= policy.stableAfter {
            attempt = 0
            waitedAtCap = false
            exhausted = false
        }
        exhausted = exhausted || waitedAtCap
        let delay = delay(for: attempt)
        attempt = min(attempt + 1, 62)
        waitedAtCap = delay >= policy.maximum
        return delay
    }

    private func delay(for attempt: Int) -> Duration {
        var delay = policy.first
        for _ in 0..<attempt {
            delay *= 2
            if delay >= policy.maximum { return policy.maximum }
        }
        return min(delay, policy.maximum)
    }
}
