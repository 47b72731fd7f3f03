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
        var seq: Int
        /// The `seq` that `reserve` was last told: a host that crashes starts again after it.
        var reserved: Int
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
    }

    private let book: Mutex<Book>
    private let reserve: (@Sendable (Int) -> Void)?
    private let block: Int

    /// A bus whose first event is `seq + 1`. With `reserve`, the numbers stay increasing across a crash: it is told
    /// a `seq` not yet used (now, and each time `block` more are used), which the host keeps for its next start.
    public init(startingAfter seq: Int = 0, block: Int = 100_000, reserve: (@Sendable (Int) -> Void)? = nil) {
        let seq = max(0, min(seq, Self.maxStart))
        self.block = max(1, block)
        self.reserve = reserve
        book = Mutex(Book(seq: seq, reserved: seq))
        if let reserve {
            book.withLock { $0.reserved = seq + self.block }
            reserve(seq + self.block)
        }
    }

    /// The largest `seq` a bus starts after: far beyond any run's count, and below 10^15, so that every `seq`
    /// stays a whole number in JSON.
    public static let maxStart = 1 << 49

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
        kind: String, payload: JSONValue, source: String, size: Int? = nil, sessionID: String? = nil,
        at date: Date = Date()
    ) -> EventEnvelope {
        let size = size ?? payload.jsonText().utf8.count
        // Numbered and handed out under one lock, so every subscriber sees events in `seq` order.
        return book.withLock { book in
            book.seq += 1
            if let reserve, book.seq > book.reserved {
                book.reserved = book.seq + block
                reserve(book.reserved)
            }
            var envelope = EventEnvelope(
                eventID: UUID().uuidString.lowercased(), seq: book.seq, timestamp: date, kind: kind, payload: payload,
                source: source, size: size)
            envelope.sessionID = sessionID
            for subscriber in book.subscribers.values { subscriber(envelope) }
            return envelope
        }
    }

    /// The `seq` of the latest event.
    public var lastSeq: Int { book.withLock { $0.seq } }
}
