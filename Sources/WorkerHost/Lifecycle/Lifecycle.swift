import Foundation

/// Where a worker is in its life.
public enum LifecycleState: String, Sendable, Codable, CaseIterable {
    /// Its code is being loaded (process started, script imported).
    case loading
    /// Its code loaded; `setup` is running.
    case starting
    /// Ticking.
    case running
    /// Shutting down.
    case stopping
    /// Not running, by request (or never started).
    case stopped
    /// Not running, because it failed; the reason says why.
    case error
    /// Never started: a flag in its `when:` is off.
    case gatedOff = "gated_off"
}

/// One change of lifecycle state, kept for the API and `botyard status`.
public struct LifecycleTransition: Sendable, Codable, Equatable {
    public var from: LifecycleState
    public var to: LifecycleState
    public var at: Date
    public var reason: String
}

/// The worker lifecycle as a pure state machine: events in, the transition (or a refusal) out.
///
/// `loading → starting → running → stopping → stopped`, or `error` from any active state.
public struct LifecycleStateMachine: Sendable {
    /// What can happen to a worker.
    public enum Event: Sendable, Equatable {
        /// Someone asked it to start.
        case start
        /// Its code loaded.
        case loaded
        /// `setup` finished.
        case setupFinished
        /// Someone asked it to stop, or the host is shutting down.
        case stop
        /// It finished stopping.
        case stopped
        /// It failed and cannot go on.
        case failed
        /// A flag of its `when:` is off: it does not start.
        case gateOff
    }

    /// Why an event was refused.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var state: LifecycleState
        public var event: Event
        public var description: String {
            switch event {
            case .start where state == .gatedOff:
                "it is gated off: turn its flag on (botyard run --flag NAME=on) and reload"
            case .start: "it is already \(state)"
            case .stop: "it is already \(state)"
            default: "\(event) is not possible while it is \(state)"
            }
        }
    }

    /// The current state.
    public private(set) var state: LifecycleState = .stopped
    /// The most recent transitions, oldest first.
    public private(set) var history: [LifecycleTransition] = []
    /// The reason given for the current state.
    public var reason: String { history.last?.reason ?? "not started" }
    private let historyLimit: Int

    /// A stopped worker that keeps at most `historyLimit` transitions.
    public init(historyLimit: Int = 50) {
        self.historyLimit = historyLimit
    }

    /// Applies an event at `time` for `reason`.
    /// - Returns: the transition made.
    /// - Throws: `Refusal` when the event makes no sense in the current state; the state is unchanged.
    @discardableResult
    public mutating func handle(_ event: Event, at time: Date, reason: String) throws(Refusal) -> LifecycleTransition {
        guard let next = Self.target(of: event, from: state) else { throw Refusal(state: state, event: event) }
        let transition = LifecycleTransition(from: state, to: next, at: time, reason: reason)
        state = next
        history.append(transition)
        if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
        return transition
    }

    /// Whether `event` would be accepted now.
    public func accepts(_ event: Event) -> Bool {
        Self.target(of: event, from: state) != nil
    }

    private static func target(of event: Event, from state: LifecycleState) -> LifecycleState? {
        switch (event, state) {
        case (.start, .stopped), (.start, .error): .loading
        case (.loaded, .loading): .starting
        case (.setupFinished, .starting): .running
        case (.stop, .loading), (.stop, .starting), (.stop, .running): .stopping
        case (.stopped, .stopping): .stopped
        case (.failed, .loading), (.failed, .starting), (.failed, .running), (.failed, .stopping): .error
        case (.gateOff, .stopped), (.gateOff, .error), (.gateOff, .gatedOff): .gatedOff
        default: nil
        }
    }
}

/// Counts consecutive failures against a worker's `max_errors`.
public struct ErrorBudget: Sendable, Equatable {
    /// How many consecutive failures stop the worker.
    public let maxErrors: Int
    /// Failures since the last success.
    public private(set) var consecutive = 0
    /// Failures since the worker started.
    public private(set) var total = 0

    public init(maxErrors: Int) {
        self.maxErrors = maxErrors
    }

    /// Records a failure.
    /// - Returns: `true` when the budget is spent and the worker must stop.
    public mutating func recordFailure() -> Bool {
        consecutive += 1
        total += 1
        return consecutive >= maxErrors
    }

    /// Records a success, which resets the consecutive count.
    public mutating func recordSuccess() {
        consecutive = 0
    }
}
