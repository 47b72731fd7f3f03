import AdapterKit

/// Fixed-rate tick slots on a monotonic clock, as a pure value.
///
/// Slot `k` fires at `anchor + k·interval`, so ticks never drift. A tick that overruns its slot makes
/// the slots it covered *skipped*: they are counted, never run late. Changing the interval re-anchors the
/// grid at the last slot that fired, and the change applies from the next slot.
///
/// The scheduler never reads a clock: callers pass `now`, which makes it testable without sleeping.
public struct TickScheduler<Instant: InstantProtocol>: Sendable where Instant.Duration == Swift.Duration {
    /// Time between slots.
    public private(set) var interval: Duration
    /// Slots that passed while a tick was still running (or the host was stalled), never run.
    public private(set) var skipped = 0
    /// The number of slots that have fired.
    public private(set) var fired = 0
    private var anchor: Instant
    private var index: Int64 = 0
    private var lastFired: Instant?

    /// A scheduler whose first slot is at `start`.
    public init(interval: Duration, start: Instant) {
        self.interval = interval
        self.anchor = start
    }

    /// When the next slot fires.
    public var next: Instant { slot(index) }

    /// Fires the due slot at `now`.
    ///
    /// If `now` is already past later slots (the host was stalled), the slots before the latest due one are
    /// counted as skipped.
    /// - Returns: the scheduled instant of the slot that fired, or `nil` if no slot is due yet.
    public mutating func fire(now: Instant) -> Instant? {
        guard now >= next else { return nil }
        let latest = index + slotsElapsed(from: next, to: now)
        skipped += Int(latest - index)
        index = latest + 1
        fired += 1
        lastFired = slot(latest)
        return slot(latest)
    }

    /// Records that the running tick finished at `now`: slots that started while it ran are skipped.
    /// - Returns: how many slots this call skipped.
    @discardableResult
    public mutating func finish(now: Instant) -> Int {
        guard now > next else { return 0 }
        var missed = slotsElapsed(from: next, to: now) + 1
        if slot(index + missed - 1) == now { missed -= 1 }  // a slot exactly at `now` can still fire on time
        index += missed
        skipped += Int(missed)
        return Int(missed)
    }

    /// Changes the interval; the next slot is the first slot of the new grid, anchored at the last fired
    /// slot (or at `now` if none fired), that is not before `now`.
    public mutating func setInterval(_ newInterval: Duration, now: Instant) {
        interval = newInterval
        anchor = lastFired ?? now
        index = 1
        if lastFired == nil { index = 0 }
        if now > next {
            index += slotsElapsed(from: next, to: now)
            if next < now { index += 1 }
        }
    }

    private func slot(_ k: Int64) -> Instant {
        anchor.advanced(by: .nanoseconds(interval.nanoseconds * k))
    }

    /// Whole intervals between `start` and `end` (rounded down).
    private func slotsElapsed(from start: Instant, to end: Instant) -> Int64 {
        let gap = start.duration(to: end).nanoseconds
        return gap <= 0 ? 0 : gap / interval.nanoseconds
    }
}
