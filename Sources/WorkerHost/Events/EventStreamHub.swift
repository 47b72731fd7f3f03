import AdapterKit
import Foundation
import ServiceLifecycle
import Synchronization

/// The runtime API's event streams (WebSocket and Server-Sent Events): one subscriber on the bus that keeps the
/// replay buffer and fans each event out to the stream clients' queues.
///
/// As a `Service` it ends every stream at shutdown, so that no open stream holds the HTTP server.
final class EventStreamHub: Service, Sendable {
    struct Settings: Sendable, Equatable {
        var replay = ReplayBuffer<StreamedEvent>.Limits()
        var queue = EventSubscription.Limits(count: 1000, bytes: 4 * 1024 * 1024)
        /// At most this many open streams: with each client's queue bounded, the host's memory is too.
        var maxStreams = 256
        /// At most this many for one caller other than the operator, so that one worker or dashboard cannot take
        /// every slot.
        var maxStreamsPerCaller = 32
        /// A write to a client that takes longer than this ends its stream (the client stopped reading).
        var writeTimeout = Duration.seconds(30)

        init() {}

        /// The manifest's `events:`.
        init(_ manifest: EventStreamSettings) {
            replay.count = manifest.replay
            replay.age = manifest.replayAge
            queue.count = manifest.subscriberQueue
            writeTimeout = manifest.writeTimeout
        }
    }

    private struct Book {
        var buffer: ReplayBuffer<StreamedEvent>
        var subscribers: [ObjectIdentifier: EventSubscription] = [:]
        /// The open streams of each caller.
        var owners: [ObjectIdentifier: String] = [:]
        /// Set at shutdown: a stream opened after it ends at once.
        var closed = false
    }

    let settings: Settings
    private let book: Mutex<Book>

    /// Subscribes to `bus`; every event it publishes from now on is kept and streamed.
    init(bus: EventBus, settings: Settings = Settings()) {
        self.settings = settings
        book = Mutex(Book(buffer: ReplayBuffer(limits: settings.replay, startingAfter: bus.lastSeq)))
        bus.subscribe { [weak self] envelope in self?.append(envelope) }
    }

    /// Called by the bus, in `seq` order.
    private func append(_ envelope: EventEnvelope) {
        let event = StreamedEvent(
            seq: envelope.seq, kind: envelope.kind, json: envelope.json.jsonText(), size: envelope.size)
        let now = ContinuousClock.now
        book.withLock { book in
            book.buffer.append(seq: event.seq, kind: event.kind, size: event.size, at: now, event)
            for subscriber in book.subscribers.values { subscriber.offer(event) }
        }
    }

    /// A subscription to the kinds `filter` matches; with `since`, it starts with every kept event after it,
    /// preceded by a `transport.gap` event when some are gone. Replay and live events meet without a gap or a
    /// repeat: both are decided under one lock.
    func subscribe(_ filter: KindFilter, since: Int?, owner: String = "operator") -> EventSubscription {
        let subscription = EventSubscription(filter: filter, limits: settings.queue)
        let now = ContinuousClock.now
        book.withLock { book in
            guard !book.closed else { return subscription.end(.closed) }
            if let since {
                book.buffer.expire(now: now)
                let replay = book.buffer.replay(after: since, matching: filter.matches)
                var events = replay.elements
                if replay.hasGap { events.insert(Self.gap(replay, since: since), at: 0) }
                subscription.prepend(events)
            }
            book.subscribers[ObjectIdentifier(subscription)] = subscription
            book.owners[ObjectIdentifier(subscription)] = owner
        }
        return subscription
    }

    func unsubscribe(_ subscription: EventSubscription) {
        book.withLock { book in
            book.subscribers.removeValue(forKey: ObjectIdentifier(subscription))
            book.owners.removeValue(forKey: ObjectIdentifier(subscription))
        }
        subscription.end(.closed)
    }

    /// The number of open streams.
    var count: Int { book.withLock { $0.subscribers.count } }

    /// Why `owner` cannot open another stream now (`maxStreams` are open, or its own share), or `nil`.
    func refusal(for owner: String) -> String? {
        book.withLock { book in
            if book.subscribers.count >= settings.maxStreams {
                return "\(settings.maxStreams) event streams are open; try again later"
            }
            let own = book.owners.values.count { $0 == owner }
            if owner != "operator", own >= settings.maxStreamsPerCaller {
                return "\(owner) has \(own) event streams open, the most one caller may; close one first"
            }
            return nil
        }
    }

    /// `transport.gap`: the stream cannot give everything after `since`. Its `seq` is the last one gone, so a
    /// client that keeps the latest `seq` it saw resumes past the gap next time.
    static func gap(_ replay: ReplayBuffer<StreamedEvent>.Replay, since: Int) -> StreamedEvent {
        let payload: JSONValue = [
            "since": .number(Double(since)), "resumed_after": .number(Double(replay.gapEnd)),
            "missed": replay.missed.map { .number(Double($0)) } ?? .null,
            "reason": .string(replay.reason),
        ]
        let envelope = EventEnvelope(
            eventID: UUID().uuidString.lowercased(), seq: replay.gapEnd, timestamp: Date(), kind: "transport.gap",
            payload: payload, source: "host")
        return StreamedEvent(seq: replay.gapEnd, kind: envelope.kind, json: envelope.json.jsonText(), size: 0)
    }

    /// How often every stream gets a heartbeat (an SSE `: ping` comment; WebSockets ping on their own).
    static let heartbeat = Duration.seconds(20)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.heartbeat)
                for subscriber in self.book.withLock({ Array($0.subscribers.values) }) { subscriber.poke() }
            }
        }
        let subscribers = book.withLock { book in
            defer {
                book.subscribers = [:]
                book.closed = true
            }
            return Array(book.subscribers.values)
        }
        for subscriber in subscribers { subscriber.end(.closed) }
    }
}
