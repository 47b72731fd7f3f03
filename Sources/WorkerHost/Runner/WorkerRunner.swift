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
        case restart
        case setInterval(Duration)
        case deploy(script: String, revision: Int)
        case shutdown
    }

    enum Event: Sendable {
        case command(Command)
        case started(generation: Int, any WorkerBackend, Result<Void, StartFailure>, restart: Bool)
        case tickFinished(generation: Int, TickOutcome)
    }

    let name: String
    private let mailbox = Mailbox<Event>()
    private let machine: Mutex<RunnerStateMachine>
    private let makeBackend: @Sendable (WorkerSpec) -> any WorkerBackend
    let log: WorkerLog
    private let logger: Logger

    init(
        spec: WorkerSpec, revision: Int = 0, log: WorkerLog, logger: Logger,
        makeBackend: @escaping @Sendable (WorkerSpec) -> any WorkerBackend
    ) {
        self.name = spec.name
        self.log = log
        self.logger = logger
        self.makeBackend = makeBackend
        var record = RunnerRecord(spec: spec)
        record.revision = revision
        self.machine = Mutex(RunnerStateMachine(record: record))
    }

    /// The worker as it is now.
    var status: WorkerStatus { machine.withLock { $0.record.status } }

    /// Asks the worker to do something.
    /// - Throws: `LifecycleStateMachine.Refusal` when the command makes no sense now (start while running).
    func send(_ command: Command) throws(LifecycleStateMachine.Refusal) {
        if let refusal = machine.withLock({ $0.accepts(command) }) { throw refusal }
        mailbox.post(.command(command))
    }

    /// The worker's loop; returns after `.shutdown`, with the worker stopped, or at once when cancelled, with
    /// its process killed.
    func run() async {
        await withDiscardingTaskGroup { group in
            var backend: (any WorkerBackend)?
            while !machine.withLock({ $0.finished }) {
                let event = await mailbox.next(until: machine.withLock { $0.wakeUp })
                if Task.isCancelled {
                    await backend?.kill()
                    return
                }
                let actions = feed(event)
                for action in actions { await perform(action, event: event, backend: &backend, group: &group) }
            }
        }
    }

    /// Hands an event (or a timer wake-up) to the state machine.
    private func feed(_ event: Event?) -> [RunnerStateMachine.Action] {
        let now = ContinuousClock.now
        let date = Date()
        return step { machine in
            switch event {
            case nil: machine.timerFired(now: now, date: date)
            case .command(let command): machine.command(command, now: now, date: date)
            case .started(let generation, _, let result, let restart):
                machine.started(generation: generation, result: result, restart: restart, now: now, date: date)
            case .tickFinished(let generation, let outcome):
                machine.tickFinished(generation: generation, outcome, now: now, date: date)
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
                let result: Result<Void, StartFailure>
                do throws(StartFailure) {
                    try await started.start()
                    result = .success(())
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
        }
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
