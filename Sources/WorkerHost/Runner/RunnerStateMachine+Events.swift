import AdapterKit
import Foundation

/// What a backend turned out to run, once started.
enum WorkerShape: Sendable, Equatable {
    /// `setup` / `tick` / `on_error`: the runner fires ticks.
    case tick
    /// Decorated handlers: the runner's `EventEngine` schedules them.
    case event(HandlerSet)
    /// Any executable: the runner watches it until it exits.
    case process
}

/// The event worker's side of the runner: `on_startup`, then the engine, then a stop that drains, cancels and
/// runs `on_shutdown` in reverse order.
extension RunnerStateMachine {
    mutating func startedEvents(_ shape: WorkerShape, now: Instant, date: Date) -> [Action] {
        if shape == .process {
            transition(.loaded, "process spawned", date)
            transition(.setupFinished, "process running", date)
            phase = .ready
            return [.watch(generation: generation)]
        }
        guard case .event(let set) = shape else { return [] }
        var engineLimits = limits
        engineLimits.handlerTimeout = spec.tickTimeout
        var engine = EventEngine(set: set, worker: spec.name, limits: engineLimits, now: now, date: date)
        transition(.loaded, "code loaded", date)
        phase = .startingUp
        let startup = engine.sequence(set.startup())
        self.engine = engine
        guard !startup.isEmpty else {
            return sequenceFinished(generation: generation, .startup, nil, now: now, date: date)
        }
        return [.runInOrder(generation: generation, startup, .startup)]
    }

    /// A `runInOrder` ended, with the first failure if any.
    mutating func sequenceFinished(
        generation finished: Int, _ sequence: Sequence, _ failure: WorkerFailure?, now: Instant, date: Date
    ) -> [Action] {
        guard finished == generation else { return [] }
        switch (sequence, phase) {
        case (.startup, .startingUp):
            if let failure {
                record.lastError = failure
                phase = .stopping(then: .failed(reason: "on_startup failed: \(failure)"))
                return [.stopBackend]
            }
            transition(.setupFinished, "on_startup finished", date)
            phase = .ready
            return lift(engine?.begin(now: now) ?? [], date: date, now: now)
        case (.shutdown, .shuttingDown(let then)):
            var actions: [Action] = []
            if let failure {
                engine?.shutdownError = failure
                actions.append(.log(.error, "on_shutdown failed: \(failure)\n\(failure.traceback ?? "")"))
            }
            phase = .stopping(then: then)
            return actions + [.stopBackend]
        default:
            return []
        }
    }

    mutating func handlerFinished(
        generation finished: Int, id: Int, _ outcome: HandlerOutcome, now: Instant, date: Date
    ) -> [Action] {
        guard finished == generation, engine != nil else { return [] }
        if case .crashed(let failure) = outcome {
            return backendCrashed(failure)
        }
        var actions = lift(engine?.finished(id, outcome, now: now, date: date) ?? [], date: date, now: now)
        if case .draining(let then) = phase, engine?.drained == true { actions += runShutdown(then: then) }
        return actions
    }

    /// A `command:` worker's process exited by itself: status 0 is a stop, anything else an error (no restart).
    mutating func processExited(generation finished: Int, _ outcome: HandlerOutcome, now: Instant, date: Date)
        -> [Action]
    {
        guard finished == generation, phase == .ready, engine == nil else { return [] }
        switch outcome {
        case .success:
            let reason = "the process exited with status 0"
            return stop(then: .stopped(reason: reason), reason: reason, date: date, now: now)
        case .failed(let failure), .crashed(let failure):
            record.lastError = failure  // its last lines are in `traceback`, and already in the log
            let reason = failure.message
            return stop(then: .failed(reason: reason), reason: reason, date: date, now: now)  // which logs it
        case .cancelled:
            return []
        }
    }

    /// An event reached this worker.
    mutating func deliver(_ envelope: EventEnvelope, now: Instant, date: Date) -> [Action] {
        guard phase == .ready else { return [] }  // not running: no replay later
        return lift(engine?.deliver(envelope) ?? [], date: date, now: now)
    }

    mutating func engineTimerFired(now: Instant, date: Date) -> [Action] {
        switch phase {
        case .ready: return lift(engine?.timerFired(now: now, date: date) ?? [], date: date, now: now)
        case .draining(let then):
            var actions = lift(engine?.timerFired(now: now, date: date) ?? [], date: date, now: now)
            if engine?.drained == true { actions += runShutdown(then: then) }
            return actions
        default: return []
        }
    }

    /// The event worker's part of a stop, or `nil` when the tick path handles it.
    mutating func redirectStop(then: AfterStop, reason: String, date: Date, now: Instant) -> [Action]? {
        guard engine != nil else { return nil }
        switch phase {
        case .ready:
            transition(.stop, reason, date)
            phase = .draining(then: then)
            var actions = lift(engine?.beginStop(now: now) ?? [], date: date, now: now)
            if engine?.drained == true { actions += runShutdown(then: then) }
            return actions
        case .draining(let current), .shuttingDown(let current):
            if record.lifecycle.accepts(.stop) { transition(.stop, reason, date) }
            if case .failed = current { return [] }
            phase = phase.replacingThen(then)
            return []
        case .startingUp:
            transition(.stop, reason, date)
            phase = .stopping(then: then)
            return [.stopBackend]
        default:
            return nil
        }
    }

    // MARK: - Steps

    private mutating func runShutdown(then: AfterStop) -> [Action] {
        phase = .shuttingDown(then: then)
        let handlers = engine?.set.shutdown().reversed() ?? []
        let timeout = engine?.shutdownTimeout
        let invocations = engine?.sequence(Array(handlers), timeout: timeout) ?? []
        guard !invocations.isEmpty else {
            phase = .stopping(then: then)
            return [.stopBackend]
        }
        return [.runInOrder(generation: generation, invocations, .shutdown)]
    }

    private mutating func backendCrashed(_ failure: WorkerFailure) -> [Action] {
        record.lastError = failure
        let reason = "the worker process ended: \(failure)"
        if case .stopping = phase { return [] }
        phase = .stopping(then: .failed(reason: reason))
        return [.log(.error, reason + (failure.traceback.map { "\n" + $0 } ?? "")), .stopBackend]
    }

    /// The engine's actions as the runner's.
    private mutating func lift(_ actions: [EventEngine.Action], date: Date, now: Instant) -> [Action] {
        actions.flatMap { action -> [Action] in
            switch action {
            case .invoke(let invocation): return [.invoke(generation: generation, invocation)]
            case .cancel(let ids): return [.cancel(ids)]
            case .log(let level, let message): return [.log(level, message)]
            case .publish(let kind, let payload): return [.publish(kind: kind, payload: payload)]
            case .fail(let reason):
                return stop(then: .failed(reason: reason), reason: reason, date: date, now: now)
            }
        }
    }
}

extension RunnerStateMachine.Phase {
    fileprivate func replacingThen(_ then: RunnerStateMachine.AfterStop) -> Self {
        switch self {
        case .draining: .draining(then: then)
        case .shuttingDown: .shuttingDown(then: then)
        default: self
        }
    }
}

extension RunnerStateMachine {
    /// The kinds the running event worker listens to.
    var listenedKinds: Set<String> {
        guard phase == .ready, let engine else { return [] }
        return engine.set.kinds
    }
}
