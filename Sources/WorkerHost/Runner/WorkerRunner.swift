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
    private let record: Mutex<RunnerRecord>
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
        self.record = Mutex(record)
    }

    /// The worker as it is now.
    var status: WorkerStatus { record.withLock { $0.status } }

    /// Asks the worker to do something.
    /// - Throws: `LifecycleStateMachine.Refusal` when the command makes no sense now (start while running).
    func send(_ command: Command) throws(LifecycleStateMachine.Refusal) {
        try record.withLock { record throws(LifecycleStateMachine.Refusal) in
            switch command {
            case .start where !record.lifecycle.accepts(.start):
                throw .init(state: record.lifecycle.state, event: .start)
            case .stop where !record.lifecycle.accepts(.stop):
                throw .init(state: record.lifecycle.state, event: .stop)
            default: break
            }
        }
        mailbox.post(.command(command))
    }

    /// The worker's loop; returns after `.shutdown`, with the worker stopped.
    func run() async {
        await withDiscardingTaskGroup { group in
            var loop = RunnerLoop()
            while true {
                let event = await mailbox.next(until: loop.wakeUp)
                if case .command(.shutdown) = event {
                    await stop(&loop, reason: "host shutting down")
                    return
                }
                await handle(event, &loop, group: &group)
            }
        }
    }

    private func handle(_ event: Event?, _ loop: inout RunnerLoop, group: inout DiscardingTaskGroup) async {
        switch event {
        case nil:
            if loop.backend != nil, !loop.ticking { beginTick(&loop, group: &group) }
        case .tickFinished(let generation, let outcome) where generation == loop.generation:
            loop.ticking = false
            await finishTick(outcome, &loop, group: &group)
        case .tickFinished:
            break  // a tick of a process already stopped
        case .started(let generation, _, let result, let restart) where generation == loop.generation:
            started(result, restart: restart, &loop)
        case .started(_, let backend, let result, _):
            if case .success = result { await backend.stop() }  // started after it was stopped: end it
        case .command(let command):
            await perform(command, &loop, group: &group)
        }
    }

    private func perform(_ command: Command, _ loop: inout RunnerLoop, group: inout DiscardingTaskGroup) async {
        switch command {
        case .start(let reason):
            start(&loop, reason: reason, group: &group)
        case .stop(let reason):
            await stop(&loop, reason: reason)
        case .restart:
            await stop(&loop, reason: "restart requested")
            start(&loop, reason: "restarted", group: &group)
        case .setInterval(let interval):
            record.withLock { $0.spec.every = interval }
            loop.scheduler?.setInterval(interval, now: .now)
            log.write(level: .info, "interval changed to \(DurationText.format(interval))")
        case .deploy(let script, let revision):
            record.withLock {
                $0.spec.code = .python(script: script)
                $0.revision = revision
            }
            await stop(&loop, reason: "deploying revision \(revision)")
            start(&loop, reason: "deployed revision \(revision)", group: &group)
        case .shutdown:
            break  // handled by run()
        }
    }

    private func start(_ loop: inout RunnerLoop, reason: String, group: inout DiscardingTaskGroup) {
        guard transition(.start, reason) else { return }
        log.open()
        record.withLock { $0.resetCounters() }
        launch(&loop, restart: false, group: &group)
    }

    /// Starts a backend in a child task, so that the loop still answers `stop` and shutdown while code loads
    /// and `setup` runs; `.started` reports the outcome.
    private func launch(_ loop: inout RunnerLoop, restart: Bool, group: inout DiscardingTaskGroup) {
        let backend = makeBackend(record.withLock { $0.spec })
        loop.generation += 1
        loop.backend = backend
        loop.starting = true
        let generation = loop.generation
        group.addTask { [mailbox] in
            let result: Result<Void, StartFailure>
            do throws(StartFailure) {
                try await backend.start()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            mailbox.post(.started(generation: generation, backend, result, restart: restart))
        }
    }

    private func started(_ result: Result<Void, StartFailure>, restart: Bool, _ loop: inout RunnerLoop) {
        loop.starting = false
        let spec = record.withLock { $0.spec }
        switch result {
        case .success:
            loop.scheduler = TickScheduler(interval: spec.every, start: restart ? .now + spec.every : .now)
            guard !restart else { return }
            transition(.loaded, "code loaded")
            transition(.setupFinished, "setup finished")
        case .failure(let error):
            let verb =
                restart
                ? "restart failed" : error.phase == .load ? "could not load \(spec.codeDescription)" : "setup failed"
            log.write(level: .error, "\(verb): \(error.failure)")
            record.withLock { $0.lastError = error.failure }
            loop.clear()
            transition(.failed, "\(verb): \(error.failure)")
        }
    }

    private func stop(_ loop: inout RunnerLoop, reason: String) async {
        guard record.withLock({ $0.lifecycle.accepts(.stop) }) else { return }
        transition(.stop, reason)
        await loop.backend?.stop()
        loop.clear()
        transition(.stopped, reason)
        log.write(level: .info, "stopped: \(reason)")
    }

    private func beginTick(_ loop: inout RunnerLoop, group: inout DiscardingTaskGroup) {
        let now = ContinuousClock.now
        guard let backend = loop.backend, let next = loop.scheduler?.next, now >= next - RunnerLoop.lead,
            let slot = loop.scheduler?.fire(now: max(now, next))
        else { return }
        let request = record.withLock { record in
            record.ticks += 1
            return TickRequest(
                number: record.ticks, scheduledAt: Date(timeIntervalSinceNow: now.duration(to: slot).seconds),
                slot: slot, interval: record.spec.every, timeout: record.spec.tickTimeout)
        }
        loop.ticking = true
        loop.tickStarted = max(now, slot)
        let generation = loop.generation
        group.addTask { [mailbox] in
            let outcome = await backend.tick(request)
            mailbox.post(.tickFinished(generation: generation, outcome))
        }
    }

    private func finishTick(_ outcome: TickOutcome, _ loop: inout RunnerLoop, group: inout DiscardingTaskGroup) async {
        let now = ContinuousClock.now
        let skipped = loop.scheduler?.finish(now: now) ?? 0
        let elapsed = loop.tickStarted.map { $0.duration(to: now) } ?? .zero
        let exhausted = record.withLock { $0.recordTick(outcome, elapsed: elapsed, skipped: skipped) }
        switch outcome {
        case .success:
            return
        case .failed(let failure), .crashed(let failure):
            log.write(level: .error, "tick failed: \(failure)")
            logger.info("tick failed", metadata: [LogKey.workerID: "\(name)", "error": "\(failure)"])
        }
        if exhausted {
            let maxErrors = record.withLock { $0.spec.maxErrors }
            let reason = "stopped after \(maxErrors) consecutive errors"
            await loop.backend?.stop()
            loop.clear()
            transition(.failed, reason)
            log.write(level: .error, reason)
        } else if case .crashed = outcome {
            log.write(level: .warn, "restarting the worker process")
            await loop.backend?.stop()
            loop.clear()
            record.withLock { $0.restarts += 1 }
            launch(&loop, restart: true, group: &group)
        }
    }

    @discardableResult
    private func transition(_ event: LifecycleStateMachine.Event, _ reason: String) -> Bool {
        record.withLock { record in
            do {
                try record.lifecycle.handle(event, at: Date(), reason: reason)
                return true
            } catch {
                return false
            }
        }
    }
}

/// What the worker's loop holds while it runs.
struct RunnerLoop {
    var backend: (any WorkerBackend)?
    var scheduler: TickScheduler<ContinuousClock.Instant>?
    var ticking = false
    /// Loading code and running `setup` in a child task.
    var starting = false
    var tickStarted: ContinuousClock.Instant?
    /// Bumped for each new backend, so that a late tick result of an old process is ignored.
    var generation = 0

    /// How far ahead of its slot a tick is prepared; the backend starts it on the slot itself, so that the
    /// runner's own wake-up latency does not make ticks late.
    static let lead = Duration.milliseconds(5)

    /// When the loop must wake up without an event: just before the next slot, unless a tick is running.
    var wakeUp: ContinuousClock.Instant? {
        guard backend != nil, !ticking, !starting, let next = scheduler?.next else { return nil }
        return next - Self.lead
    }

    mutating func clear() {
        backend = nil
        scheduler = nil
        ticking = false
        starting = false
        generation += 1
    }
}
