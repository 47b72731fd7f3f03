import Foundation
import Testing

@testable import WorkerHost

/// The runner's policy, driven instant by instant: no processes, no sleeping.
struct RunnerStateMachineTests {
    typealias Action = RunnerStateMachine.Action
    let t0 = ContinuousClock.now
    let date = Date(timeIntervalSince1970: 1_800_000_000)

    func machine(maxErrors: Int = 3) -> RunnerStateMachine {
        var spec = WorkerSpec(name: "w", code: .python(script: "/x.py"), workingDirectory: "/")
        spec.every = .seconds(1)
        spec.maxErrors = maxErrors
        return RunnerStateMachine(record: RunnerRecord(spec: spec))
    }

    /// A machine started and running, its first tick due at `t0`.
    func running(maxErrors: Int = 3) -> RunnerStateMachine {
        var machine = machine(maxErrors: maxErrors)
        _ = machine.command(.start(reason: "test"), now: t0, date: date)
        _ = machine.started(generation: 1, result: .success(()), restart: false, now: t0, date: date)
        return machine
    }

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int64(seconds * 1000)) }

    @Test func startLaunchesThenRunsAndTicksOnItsSlots() {
        var machine = machine()
        #expect(machine.command(.start(reason: "go"), now: t0, date: date) == [.openLog, .launch(generation: 1, restart: false)])
        #expect(machine.record.lifecycle.state == .loading)
        #expect(machine.wakeUp == nil, "no tick while loading")
        #expect(machine.started(generation: 1, result: .success(()), restart: false, now: t0, date: date).isEmpty)
        #expect(machine.record.lifecycle.state == .running)
        guard case .tick(1, let request)? = machine.timerFired(now: t0, date: date).first else {
            Issue.record("no tick")
            return
        }
        #expect(request.number == 1)
        #expect(machine.wakeUp == nil, "never two ticks at once")
        #expect(machine.timerFired(now: at(5), date: date).isEmpty)
        #expect(machine.tickFinished(generation: 1, .success, now: at(0.2), date: date).isEmpty)
        #expect(machine.wakeUp == at(1) - RunnerStateMachine.lead)
    }

    @Test func aTimerBeforeTheSlotFiresNothing() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        _ = machine.tickFinished(generation: 1, .success, now: at(0.1), date: date)
        #expect(machine.timerFired(now: at(0.5), date: date).isEmpty)
    }

    @Test func consecutiveFailuresStopTheWorkerInError() {
        var machine = running(maxErrors: 2)
        let failure = WorkerFailure(type: "ValueError", message: "bad")
        _ = machine.timerFired(now: t0, date: date)
        #expect(machine.tickFinished(generation: 1, .failed(failure), now: at(0.1), date: date).contains(.log(.error, "tick failed: \(failure)")))
        _ = machine.timerFired(now: at(1), date: date)
        let actions = machine.tickFinished(generation: 1, .failed(failure), now: at(1.1), date: date)
        #expect(actions.last == .stopBackend)
        #expect(machine.backendStopped(now: at(1.2), date: date) == [.log(.error, "stopped after 2 consecutive errors")])
        #expect(machine.record.lifecycle.state == .error)
        #expect(machine.record.budget.total == 2)
    }

    @Test func aSuccessResetsTheConsecutiveCount() {
        var machine = running(maxErrors: 2)
        let failure = WorkerFailure(type: "ValueError", message: "bad")
        for (index, outcome) in [TickOutcome.failed(failure), .success, .failed(failure)].enumerated() {
            _ = machine.timerFired(now: at(Double(index)), date: date)
            _ = machine.tickFinished(generation: 1, outcome, now: at(Double(index) + 0.1), date: date)
        }
        #expect(machine.record.lifecycle.state == .running)
        #expect(machine.record.budget.consecutive == 1)
    }

    @Test func aCrashRelaunchesANewGenerationOneIntervalLater() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        let crash = WorkerFailure(type: "WorkerExited", message: "gone")
        let actions = machine.tickFinished(generation: 1, .crashed(crash), now: at(0.1), date: date)
        #expect(actions.suffix(2) == [.log(.warn, "restarting the worker process"), .stopBackend])
        #expect(machine.backendStopped(now: at(0.2), date: date) == [.launch(generation: 2, restart: true)])
        #expect(machine.record.restarts == 1)
        #expect(machine.started(generation: 2, result: .success(()), restart: true, now: at(0.3), date: date).isEmpty)
        #expect(machine.wakeUp == at(1.3) - RunnerStateMachine.lead)
        #expect(machine.record.lifecycle.state == .running)
    }

    @Test func lateResultsOfAStoppedGenerationAreIgnoredOrDiscarded() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        #expect(machine.command(.restart(reason: "restart requested"), now: at(0.1), date: date) == [.stopBackend])
        _ = machine.backendStopped(now: at(0.2), date: date)  // relaunches as generation 3
        #expect(machine.tickFinished(generation: 1, .success, now: at(0.3), date: date).isEmpty)
        #expect(machine.started(generation: 1, result: .success(()), restart: false, now: at(0.3), date: date) == [.discardStale])
        #expect(machine.started(generation: 3, result: .success(()), restart: false, now: at(0.4), date: date).isEmpty)
        #expect(machine.record.lifecycle.state == .running)
    }

    @Test func stopDuringSetupStopsTheLaunchingBackend() {
        var machine = machine()
        _ = machine.command(.start(reason: "go"), now: t0, date: date)
        #expect(machine.command(.stop(reason: "operator"), now: at(0.1), date: date) == [.stopBackend])
        #expect(machine.backendStopped(now: at(0.2), date: date) == [.log(.info, "stopped: operator")])
        #expect(machine.record.lifecycle.state == .stopped)
        #expect(machine.started(generation: 1, result: .success(()), restart: false, now: at(0.3), date: date) == [.discardStale])
    }

    @Test func aFailedSetupEndsInErrorAfterStoppingTheProcess() {
        var machine = machine()
        _ = machine.command(.start(reason: "go"), now: t0, date: date)
        let failure = StartFailure(phase: .setup, failure: WorkerFailure(type: "KeyError", message: "x"))
        #expect(machine.started(generation: 1, result: .failure(failure), restart: false, now: t0, date: date) == [.stopBackend])
        _ = machine.backendStopped(now: at(0.1), date: date)
        #expect(machine.record.lifecycle.state == .error)
        #expect(machine.record.lifecycle.reason.hasPrefix("setup failed"))
    }

    @Test func shutdownWinsOverARestartInProgressAndFinishes() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        _ = machine.tickFinished(generation: 1, .crashed(WorkerFailure(type: "X", message: "y")), now: at(0.1), date: date)
        #expect(machine.command(.shutdown, now: at(0.2), date: date).isEmpty)  // already stopping
        #expect(machine.backendStopped(now: at(0.3), date: date) == [.log(.info, "stopped: host shutting down")])
        #expect(machine.finished)
        #expect(machine.command(.start(reason: "late"), now: at(0.4), date: date).isEmpty, "no start after shutdown")
    }

    @Test func shutdownOfAStoppedWorkerFinishesAtOnce() {
        var machine = machine()
        #expect(machine.command(.shutdown, now: t0, date: date).isEmpty)
        #expect(machine.finished)
    }

    @Test func anOperatorStopDuringACrashRestartIsNotLost() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        _ = machine.tickFinished(generation: 1, .crashed(WorkerFailure(type: "X", message: "y")), now: at(0.1), date: date)
        _ = machine.command(.stop(reason: "operator"), now: at(0.2), date: date)
        #expect(machine.backendStopped(now: at(0.3), date: date) == [.log(.info, "stopped: operator")])
        #expect(machine.record.lifecycle.state == .stopped)
    }

    @Test func deployOfAStoppedWorkerStartsIt() {
        var machine = machine()
        let actions = machine.command(.deploy(script: "/rev-2.py", revision: 2), now: t0, date: date)
        #expect(actions == [.openLog, .launch(generation: 1, restart: false)])
        #expect(machine.record.revision == 2)
        #expect(machine.spec.code == .python(script: "/rev-2.py"))
    }

    @Test func anIntervalChangeMovesTheNextSlot() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        _ = machine.tickFinished(generation: 1, .success, now: at(0.1), date: date)
        _ = machine.command(.setInterval(.seconds(5)), now: at(0.2), date: date)
        #expect(machine.wakeUp == at(5) - RunnerStateMachine.lead)
    }

    @Test func anOverrunSkipsMissedSlots() {
        var machine = running()
        _ = machine.timerFired(now: t0, date: date)
        _ = machine.tickFinished(generation: 1, .success, now: at(3.5), date: date)
        #expect(machine.record.skipped == 3)
        #expect(machine.wakeUp == at(4) - RunnerStateMachine.lead)
    }
}
