import AdapterKit
import Foundation

/// The part of a runner that the API reads: spec, lifecycle, counters.
struct RunnerRecord: Sendable {
    var spec: WorkerSpec
    var lifecycle = LifecycleStateMachine()
    var budget: ErrorBudget
    var revision = 0
    var ticks = 0
    var lastTickAt: Date?
    var lastTickDuration: Duration?
    var skipped = 0
    var restarts = 0
    var lastError: WorkerFailure?
    /// An event worker's health at its last stop.
    var events: EventHealth?

    init(spec: WorkerSpec) {
        self.spec = spec
        self.budget = ErrorBudget(maxErrors: spec.maxErrors)
    }

    mutating func resetCounters() {
        budget = ErrorBudget(maxErrors: spec.maxErrors)
        skipped = 0
        restarts = 0
    }

    /// Records a finished tick.
    /// - Returns: whether the error budget is spent.
    mutating func recordTick(_ outcome: TickOutcome, at date: Date, elapsed: Duration, skipped newlySkipped: Int)
        -> Bool
    {
        lastTickAt = date
        lastTickDuration = elapsed
        skipped += newlySkipped
        switch outcome {
        case .success:
            budget.recordSuccess()
            return false
        case .failed(let failure), .crashed(let failure):
            lastError = failure
            return budget.recordFailure()
        }
    }

    var status: WorkerStatus {
        WorkerStatus(
            name: spec.name, state: lifecycle.state, reason: lifecycle.reason, code: spec.codeDescription,
            revision: revision, intervalSeconds: spec.every.seconds, maxErrors: spec.maxErrors,
            tickTimeoutSeconds: spec.tickTimeout.seconds, ticks: ticks, lastTickAt: lastTickAt,
            lastTickMilliseconds: lastTickDuration.map { $0.seconds * 1000 }, consecutiveErrors: budget.consecutive,
            totalErrors: budget.total, skippedTicks: skipped, restarts: restarts, lastError: lastError,
            transitions: lifecycle.history)
    }
}

extension WorkerSpec {
    /// The code as a person reads it.
    var codeDescription: String {
        switch code {
        case .python(let script): script
        case .swift(let name): "swift:\(name)"
        case .command(let executable, let arguments): ([executable] + arguments).joined(separator: " ")
        }
    }
}
