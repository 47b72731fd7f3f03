import DequeModule
import Synchronization

/// One event as the streams send it: its JSON text made once, shared by every subscriber.
struct StreamedEvent: Sendable {
    var seq: Int
    var kind: String
    /// The envelope as one line of JSON.
    var json: String
    /// The payload's size, what the queues' byte budgets count.
    var size: Int

    /// As a Server-Sent Event: `id:` is the `seq`, which a reconnecting EventSource sends as `Last-Event-ID`.
    var sse: String { "id: \(seq)\ndata: \(json)\n\n" }
}

/// Which kinds a stream client asked for: every kind (no `kinds=`), exact kinds, or `prefix.*`.
struct KindFilter: Sendable, Equatable {
    private let exact: Set<String>
    private let prefixes: [String]
    private let all: Bool

    init(_ kinds: [String]) {
        let kinds = kinds.filter { !$0.isEmpty }
        all = kinds.isEmpty || kinds.contains("*")
        exact = Set(kinds.filter { !$0.hasSuffix(".*") })
        prefixes = kinds.filter { $0.hasSuffix(".*") }.map { String($0.dropLast()) }
    }

    func matches(_ kind: String) -> Bool {
        all || exact.contains(kind) || prefixes.contains { kind.hasPrefix($0) }
    }
}

/// A stream client's queue: the bus's thread offers events without waiting; the client's writer takes them.
///
/// The queue is bounded. A client that falls behind past it is not slowed down nor silently skipped: the
/// subscription ends as `lagged`, its queue is freed, and the route closes the connection saying so.
final class EventSubscription: Sendable {
    enum End: Error, Sendable, Equatable {
        /// The client fell behind: more than the queue's limit waited to be sent.
        case lagged
        /// The host is stopping, or the client went away.
        case closed
    }

    struct Limits: Sendable, Equatable {
        var count = 1000
        var bytes = 16 * 1024 * 1024
    }

    private struct State {
        var queue: Deque<StreamedEvent> = []
        /// The payload bytes of the live events queued (replayed ones are not counted: the buffer bounds them).
        var bytes = 0
        /// How many events at the front of the queue are replayed ones.
        var replayLeft = 0
        var end: End?
        var waiter: CheckedContinuation<Void, Never>?
        /// Those waiting in `ended()`.
        var endWaiters: [CheckedContinuation<End, Never>] = []
        /// A heartbeat is due: `next()` returns no events, so the writer sends a ping.
        var poked = false
    }

    let filter: KindFilter
    let limits: Limits
    private let state = Mutex(State())

    init(filter: KindFilter, limits: Limits) {
        self.filter = filter
        self.limits = limits
    }

    /// Queues `event` if it matches; ends the subscription as `lagged` when the queue overflows.
    func offer(_ event: StreamedEvent) {
        guard filter.matches(event.kind) else { return }
        let overflowed = state.withLock { state -> Bool in
            guard state.end == nil else { return false }
            state.queue.append(event)
            state.bytes += event.size
            return state.queue.count - state.replayLeft > limits.count || state.bytes > limits.bytes
        }
        if overflowed { return end(.lagged) }
        wake()
    }

    /// Makes a waiting `next()` return with no events: a heartbeat is due.
    func poke() {
        state.withLock { $0.poked = true }
        wake()
    }

    private func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Queues the replayed events first (they are not counted against the limits: the buffer bounds them).
    func prepend(_ events: [StreamedEvent]) {
        state.withLock { state in
            state.queue.insert(contentsOf: events, at: 0)
            state.replayLeft += events.count
        }
    }

    /// Whether it has ended (its queue may still hold events to send).
    var hasEnded: Bool { state.withLock { $0.end != nil } }

    /// At most this many events, or about this many payload bytes, are taken at once: a write stays small, and what
    /// is not yet being written still counts against the limits.
    static let batchCount = 256
    static let batchBytes = 256 * 1024

    /// Ends the subscription (a lagged one's queue is freed at once); a waiting `next()` or `ended()` returns.
    func end(_ end: End) {
        let (waiter, endWaiters, final) = state.withLock { state in
            if state.end == nil { state.end = end }
            if state.end == .lagged {
                state.queue = []
                state.bytes = 0
                state.replayLeft = 0
            }
            defer {
                state.waiter = nil
                state.endWaiters = []
            }
            return (state.waiter, state.endWaiters, state.end ?? end)
        }
        waiter?.resume()
        for endWaiter in endWaiters { endWaiter.resume(returning: final) }
    }

    /// Waits until the subscription ends, however the writer is doing (a write to a stuck client never returns
    /// by itself: this is what notices the overflow). A cancelled caller ends the subscription.
    func ended() async -> End {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ended = state.withLock { state -> End? in
                    if let end = state.end { return end }
                    state.endWaiters.append(continuation)
                    return nil
                }
                if let ended { continuation.resume(returning: ended) }
            }
        } onCancel: {
            end(.closed)
        }
    }

    /// Everything queued (waiting until something is), or how the subscription ended once the queue is empty.
    /// A cancelled caller ends the subscription.
    func next() async -> Result<[StreamedEvent], End> {
        while true {
            if let taken = take() { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if !state.queue.isEmpty || state.end != nil || state.poked { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                end(.closed)
            }
        }
    }

    private func take() -> Result<[StreamedEvent], End>? {
        state.withLock { state in
            if state.end == .lagged { return .failure(.lagged) }
            if !state.queue.isEmpty {
                var events: [StreamedEvent] = []
                var size = 0
                while let event = state.queue.first, events.count < Self.batchCount,
                    events.isEmpty || size + event.size <= Self.batchBytes
                {
                    state.queue.removeFirst()
                    events.append(event)
                    size += event.size
                    if state.replayLeft > 0 { state.replayLeft -= 1 } else { state.bytes -= event.size }
                }
                return .success(events)
            }
            if let end = state.end { return .failure(end) }
            if state.poked {
                state.poked = false
                return .success([])
            }
            return nil
        }
    }
}
