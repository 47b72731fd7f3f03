import AdapterKit
import NIOCore
import NIOPosix
import Synchronization

/// A many-producer, one-consumer queue whose consumer waits with a deadline.
///
/// Producers may be event-loop callbacks; `post` never blocks. Only one task may call `next(until:)` at a time.
/// Deadlines are timers on an event loop: precise (epoll's own timeout) and cheap to cancel.
final class Mailbox<Event: Sendable>: Sendable {
    private struct State {
        var buffer: [Event] = []
        var head = 0
        var waiter: CheckedContinuation<Event?, Never>?
        var waitID = 0
    }

    private let state = Mutex(State())
    private let timers: any EventLoop

    /// A mailbox whose deadlines run on `timers`.
    init(timers: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()) {
        self.timers = timers
    }

    /// Events posted and not yet taken.
    var depth: Int {
        state.withLock { $0.buffer.count - $0.head }
    }

    /// Adds an event, waking the consumer if it waits.
    func post(_ event: Event) {
        let waiter: CheckedContinuation<Event?, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.buffer.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// The next event, or `nil` when `deadline` passes (or the task is cancelled) first.
    /// - Parameter deadline: when to give up; `nil` waits until an event or cancellation.
    func next(until deadline: ContinuousClock.Instant?) async -> Event? {
        if let event = takeBuffered() { return event }
        let id = state.withLock { state -> Int in
            state.waitID += 1
            return state.waitID
        }
        let timer = deadline.map { deadline in
            timers.scheduleTask(in: .nanoseconds(ContinuousClock.now.duration(to: deadline).nanoseconds)) {
                self.expire(id)
            }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in install(continuation, id: id) }
        } onCancel: {
            self.expire(id)
        }
    }

    private func takeBuffered() -> Event? {
        state.withLock { state in
            guard state.head < state.buffer.count else { return nil }
            let event = state.buffer[state.head]
            state.head += 1
            if state.head == state.buffer.count {
                state.buffer.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return event
        }
    }

    private func install(_ continuation: CheckedContinuation<Event?, Never>, id: Int) {
        let immediate: Event?? = state.withLock { state in
            guard state.waitID == id else { return .some(nil) }  // expired before we got here
            if state.head < state.buffer.count {
                let event = state.buffer[state.head]
                state.head += 1
                return .some(event)
            }
            state.waiter = continuation
            return .none
        }
        if let immediate { continuation.resume(returning: immediate) }
    }

    private func expire(_ id: Int) {
        let waiter: CheckedContinuation<Event?, Never>? = state.withLock { state in
            guard state.waitID == id else { return nil }
            state.waitID += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
