import AdapterKit
import Foundation
import Synchronization

/// One monitor block: its widgets, the recent events, and the live subscribers (SSE and WebSocket).
///
/// An update is validated, applied and encoded once (JSON and SSE bytes), under one lock, then offered to every
/// subscriber's bounded mailbox. A subscriber whose mailbox is full is cut off (marked `lagged`) and comes back
/// with a fresh snapshot: a slow reader never slows the workers or the other readers, and memory stays bounded.
public final class MonitorBoard: Sendable {

    /// What a subscriber reads: the events that bring it up to date, then the live ones in batches.
    public struct Subscription: Sendable {
        public let initial: [MonitorMessage]
        fileprivate let mailbox: MonitorMailbox
        let cancelled: @Sendable () -> Void

        /// The live events queued since the last call, waiting for at least one; `nil` when the subscription
        /// ended (the board shut down, the reader was cut off, or it was cancelled).
        public func next() async -> [MonitorMessage]? { await mailbox.next() }

        /// Whether the subscription ended because the reader fell too far behind (read a fresh snapshot then).
        public var lagged: Bool { mailbox.wasCutOff }

        /// Stops delivery; call when the reader goes away.
        public func cancel() { cancelled() }
    }

    private struct State {
        var store: WidgetStore
        var history: [MonitorMessage] = []  // the latest events, oldest first
        var subscribers: [Int: MonitorMailbox] = [:]
        var nextID = 0
        var closed = false  // after `finishAll`: new readers get an ended stream
    }

    public let name: String
    /// Tells this run of the board from an earlier one: versions start again at 0 when the host restarts, so
    /// event ids and ETags carry it.
    public let epoch = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    /// Events kept for readers that reconnect with `Last-Event-ID`.
    public let historySize: Int
    /// Events a subscriber may have unread before it is cut off.
    public let bufferSize: Int
    /// When non-zero, events wait for the hub's flush, every `coalescing`, and go to each reader together;
    /// zero delivers each event at once (a board without a running hub must use zero).
    public let coalescing: Duration
    private let state: Mutex<State>
    private let cutOffs = Atomic<Int>(0)

    /// How many times a subscriber was cut off for falling behind (each came back with a snapshot).
    public var cutOffCount: Int { cutOffs.load(ordering: .relaxed) }

    public init(
        name: String, store: WidgetStore = WidgetStore(), historySize: Int = 1024, bufferSize: Int = 512,
        coalescing: Duration = .zero
    ) {
        self.name = name
        self.historySize = historySize
        self.bufferSize = bufferSize
        self.coalescing = coalescing
        self.state = Mutex(State(store: store))
    }

    /// Applies an update from `worker` and fans it out.
    /// - Throws: `MonitorError` when the update does not fit the board; nothing changes then.
    public func apply(_ update: WidgetUpdate, worker: String, at time: Double = Date().timeIntervalSince1970)
        throws(MonitorError)
    {
        let lagging = try state.withLock { state throws(MonitorError) -> [MonitorMailbox] in
            guard let change = try state.store.apply(update, worker: worker, at: time) else { return [] }
            let event = MonitorEvent.change(change)
            let encoded = MonitorMessage(version: event.version, json: event.json.jsonText(), epoch: epoch)
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

    /// Hands every reader what is queued for it (the hub calls this every `coalescing`).
    public func flush() {
        for mailbox in state.withLock({ Array($0.subscribers.values) }) { mailbox.flush() }
    }

    /// The current widgets and version.
    public func snapshot() -> (version: Int, widgets: [Widget]) {
        state.withLock { ($0.store.version, $0.store.all) }
    }

    /// What changed after `since`: the changed widgets and the removed names; `nil` when `since` is ahead of
    /// the board (a reader of a board that restarted) and the reader should take a snapshot.
    public func changes(since: Int) -> (version: Int, widgets: [Widget], removed: [String])? {
        state.withLock { state in
            guard since <= state.store.version, let changes = state.store.changes(since: since) else { return nil }
            return (state.store.version, changes.widgets, changes.removed)
        }
    }

    /// Subscribes to the board's events.
    /// - Parameter lastEventID: the version the reader has; it gets the events after it when they are still
    ///   kept, and a snapshot otherwise (or when `nil`).
    public func subscribe(after lastEventID: Int? = nil) -> Subscription {
        let mailbox = MonitorMailbox(capacity: bufferSize, deferred: coalescing > .zero)
        let registered = state.withLock { state -> (id: Int, initial: CatchUp)? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = mailbox
            return (state.nextID, Self.catchUp(state, after: lastEventID))
        }
        guard let (id, catchUp) = registered else {
            mailbox.close()
            return Subscription(initial: [], mailbox: mailbox, cancelled: {})
        }
        let initial: [MonitorMessage]
        switch catchUp {
        case .events(let events): initial = events
        case .snapshot(let version, let widgets):  // encoded outside the lock: the workers never wait for it
            let snapshot = MonitorEvent.snapshot(version: version, widgets: widgets)
            initial = [MonitorMessage(version: version, json: snapshot.json.jsonText(), epoch: epoch)]
        }
        let cancel: @Sendable () -> Void = { [weak self] in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            mailbox.close()
        }
        return Subscription(initial: initial, mailbox: mailbox, cancelled: cancel)
    }

    /// Ends every subscription and refuses new ones (at shutdown).
    public func finishAll() {
        let all = state.withLock { state in
            state.closed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for mailbox in all { mailbox.close() }
    }

    /// The number of live subscribers.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// The subscribers waiting for an event (the others are writing one, or behind).
    public var waitingCount: Int { state.withLock { Array($0.subscribers.values) }.count { $0.isWaiting } }

    private enum CatchUp {
        case events([MonitorMessage])
        case snapshot(version: Int, widgets: [Widget])
    }

    private static func catchUp(_ state: State, after lastEventID: Int?) -> CatchUp {
        if let last = lastEventID, last <= state.store.version {
            if last == state.store.version { return .events([]) }
            if let first = state.history.first?.version, first <= last + 1 {
                return .events(state.history.filter { ($0.version ?? 0) > last })
            }
        }
        return .snapshot(version: state.store.version, widgets: state.store.all)
    }

    /// The version in an event id this board sent (`"<version>-<epoch>"`), or in a bare number; `nil` for an id
    /// of another epoch (a host that has restarted since: versions started again), which means a snapshot.
    public func version(fromEventID id: String) -> Int? {
        let parts = id.split(separator: "-", maxSplits: 1)
        guard let version = parts.first.flatMap({ Int($0) }) else { return nil }
        if parts.count == 2, parts[1] != epoch { return nil }
        return version
    }

    /// Offers `event` to every subscriber; removes and returns those whose buffer is full.
    private static func offer(_ event: MonitorMessage, to subscribers: inout [Int: MonitorMailbox]) -> [MonitorMailbox]
    {
        var lagging: [MonitorMailbox] = []
        for (id, mailbox) in subscribers {
            switch mailbox.offer(event) {
            case .queued: continue
            case .full:
                subscribers[id] = nil
                lagging.append(mailbox)
            case .closed: subscribers[id] = nil
            }
        }
        return lagging
    }

    /// Ends the subscriptions of readers that fell behind, outside the board's lock.
    private func cutOff(_ mailboxes: [MonitorMailbox]) {
        cutOffs.add(mailboxes.count, ordering: .relaxed)
        for mailbox in mailboxes { mailbox.close(cutOff: true) }
    }
}
