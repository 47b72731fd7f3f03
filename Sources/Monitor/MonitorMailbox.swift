import NIOCore
import Synchronization

/// One event, encoded once and shared by every subscriber.
public struct MonitorMessage: Sendable, Equatable {
    /// The board version the event brings a reader to; `nil` for a heartbeat.
    public var version: Int?
    /// The event's JSON text (empty for a heartbeat).
    public var json: String
    /// The event as one Server-Sent Events message (a comment for a heartbeat), encoded once.
    public let sse: ByteBuffer

    init(version: Int?, json: String, epoch: String) {
        self.version = version
        self.json = json
        self.sse = ByteBuffer(string: version.map { "id: \($0)-\(epoch)\ndata: \(json)\n\n" } ?? ": keep-alive\n\n")
    }

    static let heartbeat = MonitorMessage(version: nil, json: "", epoch: "")
}

/// One subscriber's bounded queue. The board offers messages without ever waiting; the reader takes everything
/// queued at once (one write per batch under load), or waits for the next message.
final class MonitorMailbox: Sendable {
    enum Offer { case queued, full, closed }

    private struct State {
        var queue: [MonitorMessage] = []
        var waiter: CheckedContinuation<[MonitorMessage]?, Never>?
        var closed = false
        var cutOff = false
    }

    let capacity: Int
    /// Whether messages wait for `flush()` instead of waking the reader at once.
    let deferred: Bool
    private let state = Mutex(State())

    init(capacity: Int, deferred: Bool = false) {
        self.capacity = capacity
        self.deferred = deferred
    }

    /// Queues `message`, or hands it to a waiting reader (unless deferred); `full` when the reader is `capacity`
    /// behind.
    func offer(_ message: MonitorMessage) -> Offer {
        typealias Waiter = CheckedContinuation<[MonitorMessage]?, Never>
        let (result, waiter, batch) = state.withLock { state -> (Offer, Waiter?, [MonitorMessage]) in
            if state.closed { return (.closed, nil, []) }
            if !deferred || state.queue.count >= capacity, let waiter = state.waiter {
                // A waiting reader is never behind: a burst that fills a deferred queue goes to it early.
                state.waiter = nil
                defer { state.queue.removeAll(keepingCapacity: true) }
                return (.queued, waiter, state.queue + [message])
            }
            guard state.queue.count < capacity else { return (.full, nil, []) }
            state.queue.append(message)
            return (.queued, nil, [])
        }
        waiter?.resume(returning: batch)
        return result
    }

    /// Hands everything queued to a waiting reader (deferred delivery).
    func flush() {
        let (waiter, batch) = state.withLock {
            state -> (CheckedContinuation<[MonitorMessage]?, Never>?, [MonitorMessage]) in
            guard let waiter = state.waiter, !state.queue.isEmpty else { return (nil, []) }
            state.waiter = nil
            defer { state.queue.removeAll(keepingCapacity: true) }
            return (waiter, state.queue)
        }
        waiter?.resume(returning: batch)
    }

    /// Everything queued, oldest first, waiting for at least one message; `nil` once closed and drained, or when
    /// the reading task is cancelled.
    func next() async -> [MonitorMessage]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[MonitorMessage]?, Never>) in
                let ready = state.withLock { state -> [MonitorMessage]?? in
                    if !state.queue.isEmpty, !deferred || state.closed {
                        defer { state.queue.removeAll(keepingCapacity: true) }
                        return .some(state.queue)
                    }
                    if state.closed || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }

    /// Ends delivery: a waiting reader gets `nil`; `cutOff` marks a reader that fell behind.
    func close(cutOff: Bool = false) {
        let waiter = state.withLock { state in
            state.closed = true
            state.cutOff = state.cutOff || cutOff
            if cutOff { state.queue.removeAll() }  // stale: the reader starts again from a snapshot
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    var wasCutOff: Bool { state.withLock { $0.cutOff } }

    /// Whether the reader is waiting for a message (rather than writing one).
    var isWaiting: Bool { state.withLock { $0.waiter != nil } }
}
