import AdapterKit
import DequeModule
import Foundation

/// An event worker's scheduling and supervision as a pure state machine: which handler runs when.
///
/// Event handlers run at most `maxConcurrency` at once; beyond that events wait in a bounded queue, and an event
/// that finds the queue full is counted and reported. Schedules fire fixed-rate (`every`) or on cron times; a
/// schedule never runs twice at once, and slots that pass while it runs are skipped and counted. Tasks are
/// restarted with `TaskBackoff`; when every task is exhausted the engine asks the runner to fail the worker.
/// At stop, tasks are cancelled at once and handlers in flight get `shutdownGrace` before they are cancelled.
///
/// Every input carries the monotonic `now` and the wall-clock `date` (cron times are wall-clock times).
struct EventEngine: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// One run of a handler, as the backend is asked to make it.
    struct Invocation: Sendable, Equatable {
        var id: Int
        var handler: HandlerSet.Handler
        var event: EventEnvelope?
        /// How long it may run; `nil` for tasks.
        var timeout: Duration?
        /// A schedule's slot (wall-clock), so the handler can see how late it runs.
        var scheduledAt: Date?
    }

    enum Action: Sendable, Equatable {
        case invoke(Invocation)
        case cancel([Int])
        case log(LogLevel, String)
        /// Publish a runtime event (`worker.task_crashed`).
        case publish(kind: String, payload: JSONValue)
        /// Every task is exhausted: fail the worker for this reason.
        case fail(String)
    }

    struct Limits: Sendable, Equatable {
        var queue = 1000
        /// The most event payload bytes one worker may hold, queued and running: a flood of large events is
        /// dropped and counted past this, not kept.
        var heldBytes = 16 * 1024 * 1024
        var handlerTimeout = Duration.seconds(60)
        var tasks = TaskBackoff.Policy()
    }

    private enum Running: Sendable, Equatable {
        case event(bytes: Int)
        case schedule(Int)
        case task(Int)
    }

    let set: HandlerSet
    let limits: Limits
    let worker: String
    private(set) var schedules: [ScheduleRun]
    private(set) var tasks: [TaskRun]
    private var queue = Deque<(HandlerSet.Handler, EventEnvelope)>()
    private var running: [Int: Running] = [:]
    private var activeEvents = 0
    /// Payload bytes of the events queued and running.
    private var heldBytes = 0
    private var nextID = 0
    /// Set at stop: when handlers still in flight are cancelled.
    private(set) var drainDeadline: Instant?
    /// Set when they were cancelled: when the runs that did not answer are given up on.
    private(set) var cancelDeadline: Instant?
    /// How long cancelled runs have to end before the stop goes on without them.
    static let cancelGrace = Duration.seconds(2)
    private(set) var health = EventHealth()
    /// The error an `on_shutdown` handler raised.
    var shutdownError: WorkerFailure? {
        get { health.shutdownError }
        set { health.shutdownError = newValue }
    }

    init(set: HandlerSet, worker: String, limits: Limits, now: Instant, date: Date) {
        self.set = set
        self.worker = worker
        self.limits = limits
        schedules = set.handlers.compactMap { ScheduleRun(handler: $0, now: now, date: date) }
        tasks = set.tasks().map { TaskRun(handler: $0, backoff: TaskBackoff(policy: limits.tasks)) }
    }

    /// Starts the tasks; called once `on_startup` has finished.
    mutating func begin(now: Instant) -> [Action] {
        tasks.indices.map { startTask($0, now: now) }
    }

    /// When the engine next needs `timerFired`.
    func wakeUp(now: Instant, date: Date) -> Instant? {
        var times = schedules.filter { !$0.running }.compactMap { $0.due(now: now, date: date) }
        times += tasks.compactMap(\.restartAt)
        if let drainDeadline { times.append(cancelDeadline ?? drainDeadline) }
        return times.min()
    }

    /// Whether nothing runs any more after a stop.
    var drained: Bool { drainDeadline != nil && running.isEmpty }

    /// Invocations of `handlers` to run one after another (`on_startup`, `on_shutdown`), outside the engine's
    /// bookkeeping.
    mutating func sequence(_ handlers: [HandlerSet.Handler], timeout: Duration? = nil) -> [Invocation] {
        handlers.map { handler in
            nextID += 1
            return Invocation(id: nextID, handler: handler, event: nil, timeout: timeout ?? limits.handlerTimeout)
        }
    }

    /// How long one `on_shutdown` handler may run: its timeout, but at most 30 s, so that a stop stays short.
    var shutdownTimeout: Duration { min(limits.handlerTimeout, .seconds(30)) }

    // MARK: - Inputs

    mutating func timerFired(now: Instant, date: Date) -> [Action] {
        if let drainDeadline {
            guard now >= drainDeadline, !running.isEmpty else { return [] }
            if let cancelDeadline {
                guard now >= cancelDeadline else { return [] }
                let ignored = running.count
                running.removeAll()
                return [.log(.warn, "\(ignored) handler run(s) did not end when cancelled; stopping without them")]
            }
            cancelDeadline = now + Self.cancelGrace
            return [
                .log(.warn, "cancelling \(running.count) handler(s) still running after the stop grace"),
                .cancel(running.keys.sorted()),
            ]
        }
        var actions: [Action] = []
        for index in schedules.indices {
            guard let fired = schedules[index].fire(now: now, date: date) else { continue }
            health.skippedRuns += fired.skipped
            guard fired.run else { continue }
            var action = invoke(schedules[index].handler, nil, running: .schedule(index))
            if case .invoke(var invocation) = action {
                invocation.scheduledAt = fired.slot
                action = .invoke(invocation)
            }
            actions.append(action)
        }
        for index in tasks.indices where tasks[index].restartAt.map({ now >= $0 }) ?? false {
            actions.append(startTask(index, now: now))
        }
        return actions
    }

    mutating func deliver(_ envelope: EventEnvelope) -> [Action] {
        guard drainDeadline == nil else { return [] }
        var actions: [Action] = []
        for handler in set.listeners(of: envelope.kind) {
            let fits = heldBytes + envelope.size <= limits.heldBytes
            if fits, activeEvents < set.maxConcurrency {
                activeEvents += 1
                heldBytes += envelope.size
                actions.append(invoke(handler, envelope, running: .event(bytes: envelope.size)))
            } else if fits, queue.count < limits.queue {
                queue.append((handler, envelope))
                heldBytes += envelope.size
                health.queued = queue.count
            } else {
                health.overflowed += 1
                if health.overflowed == 1 || health.overflowed % 100 == 0 {
                    actions.append(
                        .log(
                            .warn,
                            "event queue full (\(queue.count) waiting, \(activeEvents) running, \(heldBytes) bytes): dropped "
                                + "\(envelope.kind) #\(envelope.seq) for \(handler.name); \(health.overflowed) dropped so far"
                        ))
                }
            }
        }
        return actions
    }

    /// A handler run ended; `crashed` outcomes are the runner's business (the backend is gone).
    mutating func finished(_ id: Int, _ outcome: HandlerOutcome, now: Instant, date: Date) -> [Action] {
        guard let what = running.removeValue(forKey: id) else { return [] }
        switch what {
        case .event(let bytes):
            activeEvents -= 1
            heldBytes -= bytes
            var actions = record(outcome, of: "event handler")
            if drainDeadline == nil, let (handler, envelope) = queue.popFirst() {
                health.queued = queue.count
                activeEvents += 1
                actions.append(invoke(handler, envelope, running: .event(bytes: envelope.size)))
            }
            return actions
        case .schedule(let index):
            health.skippedRuns += schedules[index].finished(now: now, date: date)
            return record(outcome, of: "schedule")
        case .task(let index):
            return taskEnded(index, outcome, now: now, date: date)
        }
    }

    /// Stops taking events: cancels the tasks at once and gives the other handlers until `now + grace`.
    mutating func beginStop(now: Instant) -> [Action] {
        guard drainDeadline == nil else { return [] }
        drainDeadline = now + set.shutdownGrace
        if !queue.isEmpty {
            health.overflowed += queue.count
            heldBytes -= queue.reduce(0) { $0 + $1.1.size }
            queue.removeAll()
            health.queued = 0
        }
        for index in tasks.indices { tasks[index].restartAt = nil }
        let taskRuns = running.filter { if case .task = $0.value { true } else { false } }.keys.sorted()
        return taskRuns.isEmpty ? [] : [.cancel(taskRuns)]
    }

    // MARK: - Steps

    private mutating func invoke(_ handler: HandlerSet.Handler, _ event: EventEnvelope?, running what: Running)
        -> Action
    {
        nextID += 1
        running[nextID] = what
        let timeout: Duration? = if case .task = what { nil } else { limits.handlerTimeout }
        return .invoke(Invocation(id: nextID, handler: handler, event: event, timeout: timeout))
    }

    private mutating func startTask(_ index: Int, now: Instant) -> Action {
        tasks[index].restartAt = nil
        tasks[index].startedAt = now
        return invoke(tasks[index].handler, nil, running: .task(index))
    }

    private mutating func record(_ outcome: HandlerOutcome, of what: String) -> [Action] {
        guard case .failed(let failure) = outcome else { return [] }
        health.failures += 1
        health.lastFailure = failure
        var line = "\(what) failed: \(failure)"
        if let traceback = failure.traceback?.trimmingCharacters(in: .newlines), !traceback.isEmpty {
            line += "\n" + traceback
        }
        return [.log(.error, line)]
    }

    private mutating func taskEnded(_ index: Int, _ outcome: HandlerOutcome, now: Instant, date: Date) -> [Action] {
        guard drainDeadline == nil, outcome != .cancelled else { return [] }
        let ran = tasks[index].startedAt.map { $0.duration(to: now) } ?? .zero
        let delay = tasks[index].backoff.crashed(after: ran)
        tasks[index].restartAt = now + delay
        tasks[index].restartDate = date.addingTimeInterval(delay.seconds)
        if case .failed(let failure) = outcome { tasks[index].lastFailure = failure }
        let name = tasks[index].handler.name
        let how = if case .failed(let failure) = outcome { "raised \(failure)" } else { "returned" }
        var actions: [Action] = [
            .log(.warn, "task \(name) \(how); restarting in \(DurationText.format(delay))"),
            .publish(
                kind: "worker.task_crashed",
                payload: [
                    "worker": .string(worker), "task": .string(name),
                    "crashes": .number(Double(tasks[index].backoff.crashes)),
                    "error": tasks[index].lastFailure.map { .string("\($0)") } ?? .null,
                    "restart_in": .number(delay.seconds),
                ]),
        ]
        if tasks.allSatisfy(\.backoff.exhausted) {
            let cap = DurationText.format(limits.tasks.maximum)
            actions.append(.fail("every task crashed again after a \(cap) wait (last: \(name) \(how))"))
        }
        return actions
    }
}

/// How a handler run ended.
enum HandlerOutcome: Sendable, Equatable {
    case success
    case failed(WorkerFailure)
    /// Cancelled by the host (stop).
    case cancelled
    /// The backend is gone (the process died or broke the protocol).
    case crashed(WorkerFailure)
}
