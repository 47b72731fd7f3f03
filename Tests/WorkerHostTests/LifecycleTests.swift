import Foundation
import Testing

@testable import WorkerHost

struct LifecycleTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aWorkerGoesThroughItsStatesWithReasons() throws {
        var machine = LifecycleStateMachine()
        #expect(machine.state == .stopped)
        try machine.handle(.start, at: now, reason: "host started")
        try machine.handle(.loaded, at: now, reason: "code loaded")
        try machine.handle(.setupFinished, at: now, reason: "setup finished")
        try machine.handle(.stop, at: now, reason: "stopped by operator")
        let last = try machine.handle(.stopped, at: now, reason: "stopped by operator")
        #expect(machine.history.map(\.to) == [.loading, .starting, .running, .stopping, .stopped])
        #expect(last == LifecycleTransition(from: .stopping, to: .stopped, at: now, reason: "stopped by operator"))
        #expect(machine.reason == "stopped by operator")
    }

    @Test(arguments: [LifecycleState.loading, .starting, .running, .stopping])
    func anActiveWorkerCanFail(from state: LifecycleState) throws {
        var machine = try Self.machine(in: state)
        try machine.handle(.failed, at: now, reason: "stopped after 5 consecutive errors")
        #expect(machine.state == .error)
        #expect(machine.reason == "stopped after 5 consecutive errors")
    }

    @Test func refusedEventsLeaveTheStateAlone() throws {
        var machine = try Self.machine(in: .running)
        #expect(throws: LifecycleStateMachine.Refusal(state: .running, event: .start)) {
            try machine.handle(.start, at: now, reason: "again")
        }
        #expect(machine.state == .running)
        #expect("\(LifecycleStateMachine.Refusal(state: .stopped, event: .stop))" == "it is already stopped")
        var stopped = LifecycleStateMachine()
        #expect(!stopped.accepts(.stop))
        #expect(throws: LifecycleStateMachine.Refusal.self) { try stopped.handle(.setupFinished, at: now, reason: "") }
    }

    @Test func aWorkerInErrorCanBeStartedAgain() throws {
        var machine = try Self.machine(in: .running)
        try machine.handle(.failed, at: now, reason: "boom")
        #expect(machine.accepts(.start))
        try machine.handle(.start, at: now, reason: "started by operator")
        #expect(machine.state == .loading)
    }

    @Test func aGatedOffWorkerCannotStartUntilItsGateOpens() throws {
        var machine = LifecycleStateMachine()
        try machine.handle(.gateOff, at: now, reason: "flag 'bridge' is off")
        #expect(machine.state == .gatedOff && machine.reason == "flag 'bridge' is off")
        #expect(!machine.accepts(.start) && !machine.accepts(.stop))
        #expect("\(LifecycleStateMachine.Refusal(state: .gatedOff, event: .start))".contains("turn its flag on"))
        #expect(LifecycleState.gatedOff.rawValue == "gated_off")
    }

    @Test func historyIsBounded() throws {
        var machine = LifecycleStateMachine(historyLimit: 4)
        for _ in 0..<10 {
            try machine.handle(.start, at: now, reason: "")
            try machine.handle(.failed, at: now, reason: "")
        }
        #expect(machine.history.count == 4)
    }

    @Test func theErrorBudgetCountsConsecutiveFailures() {
        var budget = ErrorBudget(maxErrors: 3)
        var exhausted = [budget.recordFailure(), budget.recordFailure()]
        budget.recordSuccess()
        #expect(budget.consecutive == 0)
        exhausted += [budget.recordFailure(), budget.recordFailure(), budget.recordFailure()]
        #expect(exhausted == [false, false, false, false, true])
        #expect(budget.total == 5)
    }

    static func machine(in state: LifecycleState) throws -> LifecycleStateMachine {
        var machine = LifecycleStateMachine()
        let path: [LifecycleStateMachine.Event] =
            switch state {
            case .loading: [.start]
            case .starting: [.start, .loaded]
            case .running: [.start, .loaded, .setupFinished]
            case .stopping: [.start, .loaded, .setupFinished, .stop]
            case .stopped, .error: []
            case .gatedOff: [.gateOff]
            }
        for event in path { try machine.handle(event, at: Date(), reason: "") }
        return machine
    }
}
