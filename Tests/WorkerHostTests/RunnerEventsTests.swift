import AdapterKit
import Foundation
import Testing

@testable import WorkerHost

/// The runner's event-worker path, driven instant by instant: startup, stop with drain, reverse shutdown.
struct RunnerEventsTests {
    typealias Handler = HandlerSet.Handler
    let t0 = ContinuousClock.now
    let date = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int64(seconds * 1000)) }

    static let set = HandlerSet(
        handlers: [
            Handler(id: 0, name: "open", trigger: .startup), Handler(id: 1, name: "close_a", trigger: .shutdown),
            Handler(id: 2, name: "close_b", trigger: .shutdown),
            Handler(id: 3, name: "on_fill", trigger: .event("fill")),
            Handler(id: 4, name: "reader", trigger: .task),
        ], maxConcurrency: 4, shutdownGrace: .seconds(5))

    /// A machine whose backend reported `set`; returns it with the actions of that report.
    func started() -> (RunnerStateMachine, [RunnerStateMachine.Action]) {
        var machine = RunnerStateMachine(
            record: RunnerRecord(spec: WorkerSpec(name: "w", code: .python(script: "/w.py"), workingDirectory: "/")))
        _ = machine.command(.start(reason: "test"), now: t0, date: date)
        let actions = machine.started(
            generation: 1, result: .success(()), shape: .event(Self.set), restart: false, now: t0, date: date)
        return (machine, actions)
    }

    func names(_ actions: [RunnerStateMachine.Action]) -> [String] {
        actions.flatMap { action -> [String] in
            switch action {
            case .invoke(_, let invocation): [invocation.handler.name]
            case .runInOrder(_, let invocations, _): invocations.map(\.handler.name)
            default: []
            }
        }
    }

    @Test func startupRunsBeforeAnythingElseThenTasksStart() {
        var (machine, actions) = started()
        #expect(names(actions) == ["open"])
        #expect(machine.record.lifecycle.state == .starting)
        let event = EventEnvelope(eventID: "e", seq: 1, timestamp: date, kind: "fill", payload: [:], source: "t")
        #expect(machine.deliver(event, now: t0, date: date).isEmpty, "no event before on_startup has finished")
        let running = machine.sequenceFinished(generation: 1, .startup, nil, now: t0, date: date)
        #expect(names(running) == ["reader"] && machine.record.lifecycle.state == .running)
        #expect(machine.listenedKinds == ["fill"])
    }

    @Test func aFailingStartupIsAnErrorWithoutShutdownHandlers() {
        var (machine, _) = started()
        let failure = WorkerFailure(type: "OSError", message: "open: refused")
        #expect(machine.sequenceFinished(generation: 1, .startup, failure, now: t0, date: date) == [.stopBackend])
        _ = machine.backendStopped(now: t0, date: date)
        #expect(machine.record.lifecycle.state == .error)
        #expect(machine.record.lifecycle.reason == "on_startup failed: OSError: open: refused")
    }

    @Test func stopDrainsCancelsThenRunsShutdownInReverseAndForcesAHungRunOut() {
        var (machine, _) = started()
        let tasks = machine.sequenceFinished(generation: 1, .startup, nil, now: t0, date: date)
        guard case .invoke(_, let reader)? = tasks.first else { return #expect(Bool(false)) }
        let event = EventEnvelope(eventID: "e", seq: 1, timestamp: date, kind: "fill", payload: [:], source: "t")
        guard case .invoke(_, let fill)? = machine.deliver(event, now: t0, date: date).first else {
            return #expect(Bool(false))
        }
        let stop = machine.command(.stop(reason: "operator"), now: at(1), date: date)
        #expect(stop == [.cancel([reader.id])], "the task is cancelled at once; the handler gets the grace")
        #expect(machine.record.lifecycle.state == .stopping)
        _ = machine.handlerFinished(generation: 1, id: reader.id, .cancelled, now: at(1.1), date: date)
        #expect(machine.wakeUp(now: at(1.1), date: date) == at(6))
        #expect(machine.timerFired(now: at(6), date: date).contains(.cancel([fill.id])))
        // The handler ignores its cancel; two seconds later the stop goes on without it.
        #expect(machine.wakeUp(now: at(6), date: date) == at(8))
        let shutdown = machine.timerFired(now: at(8), date: date)
        #expect(names(shutdown) == ["close_b", "close_a"], "on_shutdown in reverse registration order")
        let failure = WorkerFailure(type: "OSError", message: "close_b: flush failed")
        #expect(
            machine.sequenceFinished(generation: 1, .shutdown, failure, now: at(8), date: date).last == .stopBackend)
        _ = machine.backendStopped(now: at(8), date: date)
        #expect(machine.record.lifecycle.state == .stopped, "a failing on_shutdown still ends stopped")
        #expect(machine.status.events?.shutdownError == failure)
    }

    @Test func aCrashedProcessFailsTheWorkerWithoutShutdownHandlers() {
        var (machine, _) = started()
        let tasks = machine.sequenceFinished(generation: 1, .startup, nil, now: t0, date: date)
        guard case .invoke(_, let reader)? = tasks.first else { return #expect(Bool(false)) }
        let gone = WorkerFailure(type: "WorkerExited", message: "the worker process exited with status 1")
        let actions = machine.handlerFinished(generation: 1, id: reader.id, .crashed(gone), now: t0, date: date)
        #expect(actions.last == .stopBackend && names(actions).isEmpty)
        _ = machine.backendStopped(now: t0, date: date)
        #expect(machine.record.lifecycle.state == .error && machine.record.lastError == gone)
    }
}
