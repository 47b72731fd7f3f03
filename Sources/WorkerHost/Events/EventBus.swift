import AdapterKit
import Foundation
import Synchronization

/// The host's event bus: numbers each event (`seq`, host-wide, increasing) and hands it to every subscriber.
///
/// Delivery is a non-blocking post into each subscriber's own queue (a runner's mailbox), so a slow worker
/// never holds up a publisher or another worker. Subscribers see only events published after they subscribed.
public final class EventBus: Sendable {
    public typealias Subscriber = @Sendable (EventEnvelope) -> Void

    private struct Book {
        var seq = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
    }

    private let book = Mutex(Book())

    public init() {}

    /// Adds a subscriber.
    /// - Returns: its id, for `unsubscribe`.
    @discardableResult
    public func subscribe(_ subscriber: @escaping Subscriber) -> Int {
        book.withLock { book in
            book.nextID += 1
            book.subscribers[book.nextID] = subscriber
            return book.nextID
        }
    }

    public func unsubscribe(_ id: Int) {
        _ = book.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// Publishes an event.
    /// - Returns: the envelope as delivered, with its `seq`.
    @discardableResult
    public func publish(
        kind: String, payload: JSONValue, source: String, size: Int? = nil, at date: Date = Date()
    ) -> EventEnvelope {
        let size = size ?? payload.jsonText().utf8.count
        // Numbered and handed out under one lock, so every subscriber sees events in `seq` order.
        return book.withLock { book in
            book.seq += 1
            let envelope = EventEnvelope(
                eventID: UUID().uuidString.lowercased(), seq: book.seq, timestamp: date, kind: kind, payload: payload,
                source: source, size: size)
            for subscriber in book.subscribers.values { subscriber(envelope) }
            return envelope
        }
    }

    /// The `seq` of the latest event.
    public var lastSeq: Int { book.withLock { $0.seq } }
}
