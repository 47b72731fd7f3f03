import AdapterKit
import Foundation
import Synchronization

/// One monitor block: its widgets, the recent events, and the live subscribers (SSE and WebSocket).
///
/// An update is validated, applied and encoded once, under one lock, then offered to every subscriber's bounded
/// buffer. A subscriber whose buffer is full is cut off (its stream ends, marked `lagged`) and comes back with a
/// fresh snapshot: a slow reader never slows the workers or the other readers, and memory stays bounded.
public final class MonitorBoard: Sendable {
    /// One event, encoded once and shared by every subscriber.
    public struct Encoded: Sendable, Equatable {
        /// The board version the event brings a reader to; `nil` for a heartbeat.
        public var version: Int?
        /// The event's JSON text (empty for a heartbeat).
        public var json: String

        static let heartbeat = Encoded(version: nil, json: "")

        /// The event as one Server-Sent Events message (a comment for a heartbeat).
        public var sse: String {
            guard let version else { return ": keep-alive\n\n" }
            return "id: \(version)\ndata: \(json)\n\n"
        }
    }

    /// What a subscriber reads: the events that bring it up to date, then the live ones.
    public struct Subscription: Sendable {
        public let initial: [Encoded]
        public let events: AsyncStream<Encoded>
        fileprivate let subscriber: Subscriber
        let cancelled: @Sendable () -> Void

        /// Whether the stream ended because the reader fell too far behind (read a fresh snapshot then).
        public var lagged: Bool { subscriber.cutOff.withLock { $0 } }

        /// Stops delivery; call when the reader goes away.
        public func cancel() { cancelled() }
    }

    fileprivate final class Subscriber: Sendable {
        let continuation: AsyncStream<Encoded>.Continuation
        let cutOff = Mutex(false)
        init(_ continuation: AsyncStream<Encoded>.Continuation) { self.continuation = continuation }
    }

    private struct State {
        var store: WidgetStore
        var history: [Encoded] = []  // the latest events, oldest first
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var closed = false  // after `finishAll`: new readers get an ended stream
    }

    public let name: String
    /// Events kept for readers that reconnect with `Last-Event-ID`.
    public let historySize: Int
    /// Events a subscriber may have unread before it is cut off.
    public let bufferSize: Int
    private let state: Mutex<State>
    private let cutOffs = Atomic<Int>(0)

    /// How many times a subscriber was cut off for falling behind (each came back with a snapshot).
    public var cutOffCount: Int { cutOffs.load(ordering: .relaxed) }

    public init(name: String, store: WidgetStore = WidgetStore(), historySize: Int = 1024, bufferSize: Int = 512) {
        self.name = name
        self.historySize = historySize
        self.bufferSize = bufferSize
        self.state = Mutex(State(store: store))
    }

    /// Applies an update from `worker` and fans it out.
    /// - Throws: `MonitorError` when the update does not fit the board; nothing changes then.
    public func apply(_ update: WidgetUpdate, worker: String, at time: Double = Date().timeIntervalSince1970)
        throws(MonitorError)
    {
        let lagging = try state.withLock { state throws(MonitorError) -> [Subscriber] in
            guard let change = try state.store.apply(update, worker: worker, at: time) else { return [] }
            let event = MonitorEvent.change(change)
            let encoded = Encoded(version: event.version, json: event.json.jsonText())
            state.history.append(encoded)
            if state.history.count > historySize + historySize / 4 {
                state.history.removeFirst(state.history.count - historySize)
            }
            return Self.offer(encoded, to: &state.subscribers)
        }
        cutOff(lagging)
    }

    /// Sends a heartbeat to every subscriber (SSE readers turn it into a comment that keeps proxies open).
    public func heartbeat() {
        cutOff(state.withLock { Self.offer(.heartbeat, to: &$0.subscribers) })
    }

    /// The current widgets and version.
    public func snapshot() -> (version: Int, widgets: [Widget]) {
        state.withLock { ($0.store.version, $0.store.all) }
    }

    /// What changed after `since`: the changed widgets and the removed names; `nil` when `since` is ahead of
    /// the board (a reader of a board that restarted) and the reader should take a snapshot.
    public func changes(since: Int) -> (version: Int, widgets: [Widget], removed: [String])? {
        state.withLock { state in
            guard since <= state.store.version else { return nil }
            let changes = state.store.changes(since: since)
            return (state.store.version, changes.widgets, changes.removed)
        }
    }

    /// Subscribes to the board's events.
    /// - Parameter lastEventID: the version the reader has; it gets the events after it when they are still
    ///   kept, and a snapshot otherwise (or when `nil`).
    public func subscribe(after lastEventID: Int? = nil) -> Subscription {
        let (events, continuation) = AsyncStream.makeStream(
            of: Encoded.self, bufferingPolicy: .bufferingOldest(bufferSize))
        let subscriber = Subscriber(continuation)
        let registered = state.withLock { state -> (id: Int, initial: [Encoded])? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = subscriber
            return (state.nextID, Self.catchUp(state, after: lastEventID))
        }
        guard let (id, initial) = registered else {
            continuation.finish()
            return Subscription(initial: [], events: events, subscriber: subscriber, cancelled: {})
        }
        let cancel: @Sendable () -> Void = { [weak self] in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            continuation.finish()
        }
        continuation.onTermination = { _ in cancel() }
        return Subscription(initial: initial, events: events, subscriber: subscriber, cancelled: cancel)
    }

    /// Ends every subscription and refuses new ones (at shutdown).
    public func finishAll() {
        let all = state.withLock { state in
            state.closed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
    }

    /// The number of live subscribers.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    private static func catchUp(_ state: State, after lastEventID: Int?) -> [Encoded] {
        if let last = lastEventID, last <= state.store.version {
            if last == state.store.version { return [] }
            if let first = state.history.first?.version, first <= last + 1 {
                return state.history.filter { ($0.version ?? 0) > last }
            }
        }
        let snapshot = MonitorEvent.snapshot(version: state.store.version, widgets: state.store.all)
        return [Encoded(version: snapshot.version, json: snapshot.json.jsonText())]
    }

    /// Offers `event` to every subscriber; removes and returns those whose buffer is full.
    private static func offer(_ event: Encoded, to subscribers: inout [Int: Subscriber]) -> [Subscriber] {
        var lagging: [Subscriber] = []
        for (id, subscriber) in subscribers {
            switch subscriber.continuation.yield(event) {
            case .enqueued: continue
            case .dropped:
                subscribers[id] = nil
                lagging.append(subscriber)
            case .terminated: subscribers[id] = nil
            @unknown default: continue
            }
        }
        return lagging
    }

    /// Ends the streams of subscribers that fell behind, outside the board's lock.
    private func cutOff(_ subscribers: [Subscriber]) {
        cutOffs.add(subscribers.count, ordering: .relaxed)
        for subscriber in subscribers {
            subscriber.cutOff.withLock { $0 = true }
            subscriber.continuation.finish()
        }
    }
}
