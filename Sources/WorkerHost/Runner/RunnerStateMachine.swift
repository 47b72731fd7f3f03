import AdapterKit
import Foundation

/// A runner's policy as a pure state machine: commands, start results, tick outcomes and timer wake-ups in;
/// the actions the async shell (`WorkerRunner`) must perform out.
///
/// It decides when to launch a backend, fire a tick, stop, restart after a crash, give up after `max_errors`,
/// and which late results belong to a backend that is already gone (a stale generation). It never sleeps and
/// reads no clock: every input carries `now`, so tests drive it instant by instant.
struct RunnerStateMachine: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// What the shell must do, in order.
    enum Action: Sendable, Equatable {
        /// Start a new log file for a fresh run.
        case openLog
        /// Make a backend from `spec` and start it in a child task; report `.started` with this generation.
        case launch(generation: Int, restart: Bool)
        /// Run this tick on the current backend in a child task; report `.tickFinished` with this generation.
        case tick(generation: Int, TickRequest)
        /// Stop the current backend (bounded), then call `backendStopped(now:)`.
        case stopBackend
        /// Stop the backend that reported a start for an old generation (it was stopped meanwhile).
        case discardStale
        /// Write a line to the worker's log (and the host's log for warnings and errors).
        case log(LogLevel, String)
        /// Run this handler on the current backend in a child task; report `.handlerFinished`.
        case invoke(generation: Int, EventEngine.Invocation)
        /// Cancel these handler runs.
        case cancel([Int])
        /// Run these handlers one after another in a child task (the first failure ends a startup); report
        /// `.sequenceFinished`.
        case runInOrder(generation: Int, [EventEngine.Invocation], Sequence)
        /// Publish a runtime event on the host's bus.
        case publish(kind: String, payload: JSONValue)
        /// Watch the current backend's process in a child task; report `.processExited`.
        case watch(generation: Int)
    }

    /// Which handlers `runInOrder` runs.
    enum Sequence: Sendable, Equatable {
        case startup, shutdown
    }

    /// Where the runner is with its backend.
    enum Phase: Sendable, Equatable {
        /// No backend.
        case idle
        /// A backend is loading code and running `setup`.
        case launching(restart: Bool)
        /// Started, waiting for the next slot.
        case ready
        /// A tick is running since that instant.
        case ticking(since: Instant)
        /// The shell is stopping the backend; what follows once it has.
        case stopping(then: AfterStop)
        /// An event worker's `on_startup` handlers run.
        case startingUp
        /// An event worker stops: handlers in flight finish (until the grace passes), then `on_shutdown` runs.
        case draining(then: AfterStop)
        /// Its `on_shutdown` handlers run.
        case shuttingDown(then: AfterStop)
    }

    /// What happens once the backend has stopped.
    enum AfterStop: Sendable, Equatable {
        case stopped(reason: String)
        case failed(reason: String)
        /// The process crashed during a tick: start a new one without running `setup`'s transitions again.
        case relaunch
        /// Stopped for a restart or deploy: record the stop, then start afresh.
        case start(stopReason: String, startReason: String)
    }

    /// How far ahead of its slot a tick is prepared; the backend starts it on the slot itself.
    static let lead = Duration.milliseconds(5)

    /// What the API reads.
    var record: RunnerRecord
    var phase = Phase.idle
    /// Bumped for each backend, so that a late result of an old one is recognised.
    var generation = 0
    var scheduler: TickScheduler<Instant>?
    /// An event worker's schedules, events and tasks, while it runs.
    var engine: EventEngine?
    /// Set by `.shutdown`: the shell returns once `phase` is idle.
    var shuttingDown = false
    /// How an event worker's tasks restart (shortened by tests).
    var limits = EventEngine.Limits()

    init(record: RunnerRecord) {
        self.record = record
    }

    var spec: WorkerSpec { record.spec }

    /// Whether the shell's work is done: shutdown was asked and the backend is gone.
    var finished: Bool { shuttingDown && phase == .idle }

    /// When the shell must call `timerFired` if nothing else happens: just before the next slot.
    var wakeUp: Instant? { wakeUp(now: .now, date: Date()) }

    func wakeUp(now: Instant, date: Date) -> Instant? {
        if let engine {
            switch phase {
            case .ready, .draining: return engine.wakeUp(now: now, date: date)
            default: return nil
            }
        }
        guard phase == .ready, let next = scheduler?.next else { return nil }
        return next - Self.lead
    }

    /// The worker as the API shows it.
    var status: WorkerStatus {
        var status = record.status
        status.events = engine?.report ?? record.events
        return status
    }

    /// Whether `command` would be accepted now (the API answers 409 otherwise).
    func accepts(_ command: WorkerRunner.Command) -> LifecycleStateMachine.Refusal? {
        switch command {
        case .start where !record.lifecycle.accepts(.start), .restart where record.lifecycle.state == .gatedOff:
            .init(state: record.lifecycle.state, event: .start)
        case .stop where !record.lifecycle.accepts(.stop): .init(state: record.lifecycle.state, event: .stop)
        default: nil
        }
    }

    // MARK: - Inputs

    mutating func command(_ command: WorkerRunner.Command, now: Instant, date: Date) -> [Action] {
        switch command {
        case .start(let reason):
            return start(reason: reason, date: date)
        case .stop(let reason):
            return stop(then: .stopped(reason: reason), reason: reason, date: date, now: now)
        case .restart(let reason):
            return restart(stopReason: reason, startReason: "restarted", date: date, now: now)
        case .setInterval(let interval):
            record.spec.every = interval
            scheduler?.setInterval(interval, now: now)
            return [.log(.info, "interval changed to \(DurationText.format(interval))")]
        case .deploy(let script, let revision):
            record.spec.code = .python(script: script)
            record.revision = revision
            return restart(
                stopReason: "deploying revision \(revision)", startReason: "deployed revision \(revision)", date: date,
                now: now)
        case .shutdown:
            shuttingDown = true
            return stop(
                then: .stopped(reason: "host shutting down"), reason: "host shutting down", date: date, now: now)
        }
    }

    mutating func started(
        generation started: Int, result: Result<Void, StartFailure>, shape: WorkerShape = .tick, restart: Bool,
        now: Instant, date: Date
    ) -> [Action] {
        guard started == generation, phase == .launching(restart: restart) else {
            return result.isSuccess ? [.discardStale] : []
        }
        switch result {
        case .success where shape != .tick:
            return startedEvents(shape, now: now, date: date)
        case .success:
            scheduler = TickScheduler(interval: record.spec.every, start: restart ? now + record.spec.every : now)
            phase = .ready
            if !restart {
                transition(.loaded, "code loaded", date)
                transition(.setupFinished, "setup finished", date)
            }
            return []
        case .failure(let error):
            let verb =
                restart
                ? "restart failed"
                : error.phase == .load ? "could not load \(record.spec.codeDescription)" : "setup failed"
            record.lastError = error.failure
            phase = .stopping(then: .failed(reason: "\(verb): \(error.failure)"))
            return [.stopBackend]
        }
    }

    mutating func timerFired(now: Instant, date: Date) -> [Action] {
        if engine != nil { return engineTimerFired(now: now, date: date) }
        guard phase == .ready, let next = scheduler?.next, now >= next - Self.lead,
            let slot = scheduler?.fire(now: max(now, next))
        else { return [] }
        record.ticks += 1
        let request = TickRequest(
            number: record.ticks, scheduledAt: date.addingTimeInterval(now.duration(to: slot).seconds),
            slot: slot, interval: record.spec.every, timeout: record.spec.tickTimeout)
        phase = .ticking(since: max(now, slot))
        return [.tick(generation: generation, request)]
    }

    mutating func tickFinished(generation finished: Int, _ outcome: TickOutcome, now: Instant, date: Date) -> [Action] {
        guard finished == generation, case .ticking(let since) = phase else { return [] }  // an old process's tick
        let skipped = scheduler?.finish(now: now) ?? 0
        let exhausted = record.recordTick(outcome, at: date, elapsed: since.duration(to: now), skipped: skipped)
        phase = .ready
        let failure: WorkerFailure
        switch outcome {
        case .success: return []
        case .failed(let failed), .crashed(let failed): failure = failed
        }
        var actions: [Action] = [
            .log(.error, "tick failed: \(failure)"),
            .publish(
                kind: "worker.tick_failed",
                payload: [
                    "worker": .string(spec.name), "tick": .number(Double(record.ticks)),
                    "error": .string("\(failure)"), "consecutive_errors": .number(Double(record.budget.consecutive)),
                ]),
        ]
        if exhausted {
            phase = .stopping(then: .failed(reason: "stopped after \(record.spec.maxErrors) consecutive errors"))
            actions.append(.stopBackend)
        } else if case .crashed = outcome {
            record.restarts += 1
            phase = .stopping(then: .relaunch)
            actions += [.log(.warn, "restarting the worker process"), .stopBackend]
        }
        return actions
    }

    /// The shell has stopped the backend that `.stopBackend` named.
    mutating func backendStopped(now: Instant, date: Date) -> [Action] {
        guard case .stopping(let then) = phase else { return [] }
        generation += 1
        scheduler = nil
        if let engine { record.events = engine.report }
        engine = nil
        phase = .idle
        switch then {
        case .stopped(let reason):
            transition(.stopped, reason, date)
            return [.log(.info, "stopped: \(reason)")]
        case .failed(let reason):
            transition(.failed, reason, date)
            return [.log(.error, reason)]
        case .relaunch:
            phase = .launching(restart: true)
            return [.launch(generation: generation, restart: true)]
        case .start(let stopReason, let startReason):
            transition(.stopped, stopReason, date)
            return [.log(.info, "stopped: \(stopReason)")] + start(reason: startReason, date: date)
        }
    }

    // MARK: - Steps

    mutating func start(reason: String, date: Date) -> [Action] {
        if let gate = spec.gatedOff {
            transition(.gateOff, gate, date)
            return [.log(.info, "not started: \(gate)")]
        }
        guard !shuttingDown, phase == .idle, transition(.start, reason, date) else { return [] }
        record.resetCounters()
        generation += 1
        phase = .launching(restart: false)
        return [.openLog, .launch(generation: generation, restart: false)]
    }

    mutating func stop(then: AfterStop, reason: String, date: Date, now: Instant = .now) -> [Action] {
        if let redirected = redirectStop(then: then, reason: reason, date: date, now: now) { return redirected }
        if case .stopping(let current) = phase {  // the latest command decides what follows, but an error stays
            if record.lifecycle.accepts(.stop) { transition(.stop, reason, date) }
            if case .failed = current {} else { phase = .stopping(then: then) }
            return []
        }
        guard record.lifecycle.accepts(.stop) else { return [] }
        transition(.stop, reason, date)
        guard phase != .idle else {
            transition(.stopped, reason, date)
            return [.log(.info, "stopped: \(reason)")]
        }
        phase = .stopping(then: then)
        return [.stopBackend]
    }

    private mutating func restart(stopReason: String, startReason: String, date: Date, now: Instant) -> [Action] {
        guard record.lifecycle.accepts(.stop), phase != .idle else { return start(reason: startReason, date: date) }
        return stop(
            then: .start(stopReason: stopReason, startReason: startReason), reason: stopReason, date: date, now: now)
    }

    @discardableResult
    mutating func transition(_ event: LifecycleStateMachine.Event, _ reason: String, _ date: Date) -> Bool {
        do {
            try record.lifecycle.handle(event, at: date, reason: reason)
            return true
        } catch {
            return false
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}
