import AdapterKit
import Foundation
import Logging
import Synchronization

/// Runs one worker for the host's whole life: starts and stops it on command, fires its ticks on the
/// scheduler's slots, counts its errors, and restarts its process when it crashes or gets stuck.
///
/// Commands arrive in a mailbox; `run()` is the only reader, so the worker's loop is sequential and never
/// runs two ticks at once.
final class WorkerRunner: Sendable {
    /// What an operator (or the host) asks of a worker.
    enum Command: Sendable {
        case start(reason: String)
        case stop(reason: String)
        case restart(reason: String)
        case setInterval(Duration)
        case deploy(script: String, revision: Int)
        case shutdown
    }

    enum Event: Sendable {
        case command(Command)
        case started(generation: Int, any WorkerBackend, Result<WorkerShape, StartFailure>, restart: Bool)
        case tickFinished(generation: Int, TickOutcome)
        case handlerFinished(generation: Int, id: Int, HandlerOutcome)
        case sequenceFinished(generation: Int, RunnerStateMachine.Sequence, WorkerFailure?)
        case delivered(EventEnvelope)
        case processExited(generation: Int, HandlerOutcome)
    }

    let name: String
    private let mailbox = Mailbox<Event>()
    private let machine: Mutex<RunnerStateMachine>
    private let makeBackend: @Sendable (WorkerSpec) -> any WorkerBackend
    let log: WorkerLog
    private let logger: Logger
    /// Where lifecycle changes and runtime events are published.
    let bus: EventBus?
    /// Its ctx calls, which a `command:` worker makes over the runtime API (`POST /api/workers/{name}/calls`).
    let services: WorkerServices?
    /// The event kinds its handlers listen to, while it runs: other events are not even queued.
    private let listening = Mutex<Set<String>>([])
    /// Events posted to the mailbox and not yet handed to the engine; beyond `inboxLimit` they are dropped and
    /// counted, so a flood of publishes cannot grow a busy runner's mailbox without bound.
    private let inbox = Atomic<Int>(0)
    private let inboxBytes = Atomic<Int>(0)
    private let inboxDropped = Atomic<Int>(0)
    static let inboxLimit = 1000
    static let inboxByteLimit = 16 * 1024 * 1024

    init(
        spec: WorkerSpec, revision: Int = 0, log: WorkerLog, logger: Logger, bus: EventBus? = nil,
        services: WorkerServices? = nil, limits: EventEngine.Limits = .init(),
        makeBackend: @escaping @Sendable (WorkerSpec) -> any WorkerBackend
    ) {
        self.name = spec.name
        self.log = log
        self.logger = logger
        self.bus = bus
        self.services = services
        self.makeBackend = makeBackend
        var record = RunnerRecord(spec: spec)
        record.revision = revision
        var machine = RunnerStateMachine(record: record)
        machine.limits = limits
        self.machine = Mutex(machine)
    }

    /// The worker as it is now.
    var status: WorkerStatus {
        var status = machine.withLock { $0.status }
        let dropped = inboxDropped.load(ordering: .relaxed)
        if dropped > 0 { status.events?.overflowed += dropped }
        status.logPath = URL(fileURLWithPath: log.path).standardizedFileURL.path
        return status
    }

    /// Hands an event from the bus to the worker, if one of its handlers listens to that kind.
    func deliver(_ envelope: EventEnvelope) {
        guard listening.withLock({ $0.contains(envelope.kind) }) else { return }
        let count = inbox.add(1, ordering: .relaxed).newValue
        let bytes = inboxBytes.add(envelope.size, ordering: .relaxed).newValue
        guard count <= Self.inboxLimit, bytes <= Self.inboxByteLimit else {
            inbox.subtract(1, ordering: .relaxed)
            inboxBytes.subtract(envelope.size, ordering: .relaxed)
            inboxDropped.add(1, ordering: .relaxed)
            return
        }
        mailbox.post(.delivered(envelope))
    }

    /// Asks the worker to do something.
    /// - Throws: `LifecycleStateMachine.Refusal` when the command makes no sense now (start while running).
    func send(_ command: Command) throws(LifecycleStateMachine.Refusal) {
        if let refusal = machine.withLock({ $0.accepts(command) }) { throw refusal }
        switch command {
        case .start, .restart, .deploy:
            // A reloaded worker waits for its predecessor: two processes of one worker must never run at once.
            if held.load(ordering: .relaxed) { throw .init(state: .stopping, event: .start) }
        default: break
        }
        mailbox.post(.command(command))
    }

    /// Set while a reloaded worker waits for its predecessor of the same name to stop.
    private let held = Atomic<Bool>(false)

    /// Refuses operators' starts until `release`.
    func hold() { held.store(true, ordering: .relaxed) }

    /// Starts it, now that its predecessor has stopped.
    func release(reason: String) {
        held.store(false, ordering: .relaxed)
        try? send(.start(reason: reason))  // a new runner: never refused
    }

    /// Set when `run` has returned; what a reloaded successor waits for.
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Waits until `run` has returned (the worker has stopped and its process is gone).
    func ended() async {
        await withCheckedContinuation { continuation in
            let done = finished.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    /// The worker's loop; returns after `.shutdown`, with the worker stopped, or at once when cancelled, with
    /// its process killed.
    func run() async {
        defer {
            let waiters = finished.withLock { state in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        await withDiscardingTaskGroup { group in
            var backend: (any WorkerBackend)?
            while !machine.withLock({ $0.finished }) {
                let event = await mailbox.next(until: machine.withLock { $0.wakeUp })
                if Task.isCancelled {
                    await backend?.kill()
                    return
                }
                let actions = feed(event)
                let kinds = machine.withLock { $0.listenedKinds }
                listening.withLock { $0 = kinds }
                for action in actions { await perform(action, event: event, backend: &backend, group: &group) }
            }
        }
    }

    /// Hands an event (or a timer wake-up) to the state machine.
    private func feed(_ event: Event?) -> [RunnerStateMachine.Action] {
        let now = ContinuousClock.now
        let date = Date()
        if case .delivered(let envelope) = event {
            inbox.subtract(1, ordering: .relaxed)
            inboxBytes.subtract(envelope.size, ordering: .relaxed)
        }
        return step { machine in
            switch event {
            case nil: machine.timerFired(now: now, date: date)
            case .command(let command): machine.command(command, now: now, date: date)
            case .started(let generation, _, let result, let restart):
                machine.started(
                    generation: generation, result: result.map { _ in () }, shape: (try? result.get()) ?? .tick,
                    restart: restart, now: now, date: date)
            case .tickFinished(let generation, let outcome):
                machine.tickFinished(generation: generation, outcome, now: now, date: date)
            case .handlerFinished(let generation, let id, let outcome):
                machine.handlerFinished(generation: generation, id: id, outcome, now: now, date: date)
            case .sequenceFinished(let generation, let sequence, let failure):
                machine.sequenceFinished(generation: generation, sequence, failure, now: now, date: date)
            case .delivered(let envelope):
                machine.deliver(envelope, now: now, date: date)
            case .processExited(let generation, let outcome):
                machine.processExited(generation: generation, outcome, now: now, date: date)
            }
        }
    }

    private func perform(
        _ action: RunnerStateMachine.Action, event: Event?, backend: inout (any WorkerBackend)?,
        group: inout DiscardingTaskGroup
    ) async {
        switch action {
        case .openLog:
            log.open()
        case .launch(let generation, let restart):
            let started = makeBackend(machine.withLock { $0.spec })
            backend = started
            group.addTask { [mailbox] in
                let result: Result<WorkerShape, StartFailure>
                do throws(StartFailure) {
                    result = .success(try await started.start())
                } catch {
                    result = .failure(error)
                }
                mailbox.post(.started(generation: generation, started, result, restart: restart))
            }
        case .tick(let generation, let request):
            guard let current = backend else { return }
            group.addTask { [mailbox] in
                let outcome = await current.tick(request)
                mailbox.post(.tickFinished(generation: generation, outcome))
            }
        case .stopBackend:
            await backend?.stop()
            backend = nil
            let date = Date()
            for next in step({ $0.backendStopped(now: .now, date: date) }) {
                await perform(next, event: nil, backend: &backend, group: &group)
            }
        case .discardStale:
            if case .started(_, let stale, _, _) = event { await stale.stop() }
        case .log(let level, let message):
            log.write(level: level, message)
            report(level, message)
        case .invoke(let generation, let invocation):
            guard let current = backend else { return }
            group.addTask { [mailbox] in
                let outcome = await current.invoke(invocation)
                mailbox.post(.handlerFinished(generation: generation, id: invocation.id, outcome))
            }
        case .cancel(let ids):
            await backend?.cancel(ids)
        case .runInOrder(let generation, let invocations, let sequence):
            guard let current = backend else { return }
            group.addTask { [mailbox] in
                let failure = await Self.runInOrder(invocations, on: current, sequence: sequence)
                mailbox.post(.sequenceFinished(generation: generation, sequence, failure))
            }
        case .publish(let kind, let payload):
            bus?.publish(kind: kind, payload: payload, source: "host")
        case .watch(let generation):
            guard let current = backend else { return }
            group.addTask { [mailbox] in
                mailbox.post(.processExited(generation: generation, await current.watch()))
            }
        }
    }

    /// Runs handlers one after another: a startup stops at the first failure; a shutdown runs them all.
    /// - Returns: the first failure.
    private static func runInOrder(
        _ invocations: [EventEngine.Invocation], on backend: any WorkerBackend, sequence: RunnerStateMachine.Sequence
    ) async -> WorkerFailure? {
        var first: WorkerFailure?
        for invocation in invocations {
            let failure: WorkerFailure? =
                switch await backend.invoke(invocation) {
                case .success: nil
                case .cancelled:
                    WorkerFailure(type: "CancelledError", message: "\(invocation.handler.name) was cancelled")
                case .failed(let failure), .crashed(let failure): failure
                }
            guard let failure else { continue }
            first =
                first
                ?? WorkerFailure(
                    type: failure.type, message: "\(invocation.handler.name): \(failure.message)",
                    traceback: failure.traceback)
            if sequence == .startup { break }
        }
        return first
    }

    /// Runs one input through the machine and logs the lifecycle transitions it made to the host's log.
    private func step(_ input: (inout RunnerStateMachine) -> [RunnerStateMachine.Action]) -> [RunnerStateMachine.Action]
    {
        let (actions, transitions) = machine.withLock { machine in
            let before = machine.record.lifecycle.history.last
            let actions = input(&machine)
            let history = machine.record.lifecycle.history
            let new = history.reversed().prefix { $0 != before }.reversed()
            return (actions, Array(new))
        }
        for transition in transitions {
            bus?.publish(
                kind: "worker.state",
                payload: [
                    "worker": .string(name), "from": .string(transition.from.rawValue),
                    "to": .string(transition.to.rawValue), "reason": .string(transition.reason),
                ], source: "host")
            if transition.to == .error {  // what an alert (Telegram, a dashboard) forwards
                bus?.publish(
                    kind: "notify",
                    payload: [
                        "source": "host", "title": .string("worker \(name) stopped with an error"),
                        "body": .string(transition.reason), "severity": "error", "worker": .string(name),
                    ], source: "host")
            }
            logger.info(
                "worker \(transition.from) → \(transition.to)",
                metadata: [
                    LogKey.workerID: "\(name)", LogKey.state: "\(transition.to)", LogKey.reason: "\(transition.reason)",
                ])
        }
        return actions
    }

    /// The host's own log tells the story: lifecycle changes at info, failures at warning.
    private func report(_ level: LogLevel, _ message: String) {
        let metadata: Logger.Metadata = [LogKey.workerID: "\(name)"]
        switch level {
        case .error, .warn: logger.warning("\(message)", metadata: metadata)
        case .info, .debug: logger.debug("\(message)", metadata: metadata)
        }
    }
}
