import AdapterKit
import NIOCore
import NIOPosix
import Synchronization

/// Runs a Swift worker's code one call at a time, across restarts and deploys of that worker: a tick past its
/// timeout is cancelled and reported at once, and the next call waits for it to end (briefly) or is refused,
/// so two ticks of one worker never overlap even when one ignores cancellation.
final class SwiftTickGate: Sendable {
    private struct State {
        var busy = false
        var running: Task<Void, Never>?
        /// Ends the current caller's wait: `cancel()` uses it, so a stop never waits for a deaf body.
        var finish: (@Sendable (Result<Void, any Error>) -> Void)?
    }

    private let state = Mutex(State())
    private let timers: any EventLoop

    init(timers: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()) {
        self.timers = timers
    }

    /// Whether a call is still running (a timed-out one that has not yet honoured its cancellation).
    var busy: Bool { state.withLock { $0.busy } }

    /// Runs `body`, cancelling it when `timeout` passes; returns then without waiting for it to finish.
    /// - Returns: its result; `TickTimeoutError` at the timeout, `PreviousCallRunning` when the last call
    ///   still runs after a second's wait, `CancellationError` when the caller is cancelled.
    func run(within timeout: Duration, _ body: @escaping @Sendable () async throws -> Void) async
        -> Result<Void, any Error>
    {
        guard await claim(within: .seconds(1)) else { return .failure(PreviousCallRunning()) }
        let outcome = Mutex<CheckedContinuation<Result<Void, any Error>, Never>?>(nil)
        let finish: @Sendable (Result<Void, any Error>) -> Void = { result in
            outcome.withLock { continuation in
                defer { continuation = nil }
                return continuation
            }?.resume(returning: result)
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                outcome.withLock { $0 = continuation }
                let task = start(body, finish: finish)
                timers.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
                    finish(.failure(TickTimeoutError(timeout: timeout)))
                    task.cancel()
                }
            }
        } onCancel: {
            finish(.failure(CancellationError()))
            cancel()
        }
    }

    /// Cancels the call in flight, if any, and ends its caller's wait with `CancellationError`.
    func cancel() {
        let (task, finish) = state.withLock { ($0.running, $0.finish) }
        task?.cancel()
        finish?(.failure(CancellationError()))
    }

    /// Marks the gate busy for a new call, waiting up to `timeout` for the last one to end: check and set in one
    /// step, so two callers can never both start.
    private func claim(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let claimed = state.withLock { state -> Bool in
                guard !state.busy else { return false }
                state.busy = true
                return true
            }
            if claimed { return true }
            guard ContinuousClock.now < deadline else { return false }
            await timers.pause()
        }
    }

    /// Waits until no call runs.
    /// - Returns: whether it is idle within `timeout`.
    func waitIdle(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while busy, ContinuousClock.now < deadline {
            await timers.pause()
        }
        return !busy
    }

    /// The call's own task: owned by the gate (it must be able to outlive a timed-out caller).
    private func start(
        _ body: @escaping @Sendable () async throws -> Void,
        finish: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) -> Task<Void, Never> {
        state.withLock { state in
            state.finish = finish
            let task = Task {
                do {
                    try await body()
                    finish(.success(()))
                } catch {
                    finish(.failure(error))
                }
                self.state.withLock { $0.busy = false }
            }
            state.running = task
            return task
        }
    }
}

/// A Swift worker's previous tick ignored its cancellation and is still running.
struct PreviousCallRunning: Error, CustomStringConvertible {
    var description: String {
        "the previous tick is still running after its timeout (it does not honour cancellation); not starting another"
    }
}
