import AdapterKit
import Foundation

/// One schedule of an event worker: fixed-rate on the monotonic clock, or cron times on the wall clock.
struct ScheduleRun: Sendable {
    typealias Instant = ContinuousClock.Instant

    enum Rule: Sendable {
        case every(TickScheduler<Instant>)
        case cron(CronSchedule, next: Date?)
    }

    let handler: HandlerSet.Handler
    private(set) var rule: Rule
    private(set) var running = false
    /// How early a wall-clock fire may be taken as due (the two clocks drift apart by microseconds).
    static let tolerance = 0.002

    init?(handler: HandlerSet.Handler, now: Instant, date: Date) {
        self.handler = handler
        switch handler.trigger {
        case .every(let interval): rule = .every(TickScheduler(interval: interval, start: now + interval))
        case .cron(let schedule): rule = .cron(schedule, next: schedule.next(after: date))
        default: return nil
        }
    }

    /// When it is next due, on the monotonic clock.
    func due(now: Instant, date: Date) -> Instant? {
        switch rule {
        case .every(let scheduler): return scheduler.next
        case .cron(_, let next):
            guard let next else { return nil }
            return now + (Duration.seconds(checked: max(0, next.timeIntervalSince(date)), upTo: 1e9) ?? .zero)
        }
    }

    /// Fires if due and not running.
    /// - Returns: whether it runs now, its slot's wall-clock time and how many slots it skipped; `nil` if nothing
    ///   was due.
    mutating func fire(now: Instant, date: Date) -> (run: Bool, slot: Date, skipped: Int)? {
        guard !running else { return nil }
        switch rule {
        case .every(var scheduler):
            let before = scheduler.skipped
            guard let slot = scheduler.fire(now: now) else { return nil }
            rule = .every(scheduler)
            running = true
            return (true, date.addingTimeInterval(-slot.duration(to: now).seconds), scheduler.skipped - before)
        case .cron(let schedule, let next):
            guard let next, date.timeIntervalSince(next) >= -Self.tolerance else { return nil }
            let (following, skipped) = Self.after(date, from: next, in: schedule)
            rule = .cron(schedule, next: following)
            running = true
            return (true, next, skipped)
        }
    }

    /// Records the end of a run.
    /// - Returns: how many slots passed while it ran (skipped).
    mutating func finished(now: Instant, date: Date) -> Int {
        running = false
        switch rule {
        case .every(var scheduler):
            let skipped = scheduler.finish(now: now)
            rule = .every(scheduler)
            return skipped
        case .cron(let schedule, let next):
            guard let next, next <= date else { return 0 }
            let (following, skipped) = Self.after(date, from: next, in: schedule)
            rule = .cron(schedule, next: following)
            return skipped + 1
        }
    }

    /// The first fire time after `date`, and how many fire times from `first` on passed before it (excluding one).
    private static func after(_ date: Date, from first: Date, in schedule: CronSchedule) -> (Date?, Int) {
        var skipped = 0
        var cursor = schedule.next(after: first)
        while let time = cursor, time <= date, skipped < 100_000 {
            skipped += 1
            cursor = schedule.next(after: time)
        }
        return (cursor, skipped)
    }
}

/// One supervised task of an event worker.
struct TaskRun: Sendable {
    let handler: HandlerSet.Handler
    var backoff: TaskBackoff
    var startedAt: ContinuousClock.Instant?
    var restartAt: ContinuousClock.Instant?
    var restartDate: Date?
    var lastFailure: WorkerFailure?

    var health: TaskHealth {
        TaskHealth(
            name: handler.name, crashes: backoff.crashes, running: restartAt == nil,
            nextRestartAt: restartAt == nil ? nil : restartDate, exhausted: backoff.exhausted, lastError: lastFailure)
    }
}

/// An event worker's health, as the API and `botyard status` show it.
public struct EventHealth: Sendable, Codable, Equatable {
    /// Event and schedule handler runs that raised.
    public var failures = 0
    public var lastFailure: WorkerFailure?
    /// Events waiting for a free handler slot.
    public var queued = 0
    /// Events dropped because the queue was full (or still queued at stop).
    public var overflowed = 0
    /// Schedule slots skipped because the previous run was still going.
    public var skippedRuns = 0
    public var tasks: [TaskHealth] = []
    /// The error an `on_shutdown` handler raised at the last stop.
    public var shutdownError: WorkerFailure?
}

public struct TaskHealth: Sendable, Codable, Equatable {
    public var name: String
    /// Times it returned or raised.
    public var crashes: Int
    public var running: Bool
    /// When it restarts, while it waits.
    public var nextRestartAt: Date?
    /// Whether it crashed again after a wait at the cap.
    public var exhausted: Bool
    public var lastError: WorkerFailure?
}

extension EventEngine {
    /// The counters with each task's state.
    var report: EventHealth {
        var report = health
        report.tasks = tasks.map(\.health)
        return report
    }
}
