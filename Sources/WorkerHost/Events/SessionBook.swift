import Foundation
import Synchronization

/// A session: a conversation container that session-scoped events belong to (the LLM block drives agent turns
/// in them). Sessions live for the host's run.
public struct Session: Sendable, Equatable, Codable {
    public var sessionID: String
    public var agent: String?
    public var createdAt: Date
    /// Who created it: a worker's name, or `operator`.
    public var createdBy: String
    /// Events published to it.
    public var events: Int
}

/// The host's sessions, created idempotently on their id.
final class SessionBook: Sendable {
    /// At most this many sessions (a worker creating one per event in a loop cannot grow the host without bound).
    static let limit = 10_000
    /// At most this many created by one worker, so that one cannot take them all (the operator may use the rest).
    static let limitPerCreator = 1000
    static let maxIDBytes = 128

    enum Refusal: Error, Equatable {
        case badID(String)
        case full
    }

    private struct Book {
        var sessions: [String: Session] = [:]
        var order: [String] = []
    }

    private let book = Mutex(Book())

    init() {}

    /// Why `id` cannot name a session, or `nil`.
    static func problem(id: String) -> String? {
        guard !id.isEmpty, id.utf8.count <= maxIDBytes,
            id.unicodeScalars.allSatisfy({
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0))
            })
        else { return "a session id is 1 to \(maxIDBytes) letters, digits, '-', '_', '.' or ':'" }
        return nil
    }

    /// The session `id`, created if new.
    /// - Returns: it, and whether this call created it.
    func open(id: String, agent: String?, by caller: String, at now: Date = Date()) throws(Refusal) -> (
        Session, created: Bool
    ) {
        if let problem = Self.problem(id: id) { throw .badID(problem) }
        return try book.withLock { book throws(Refusal) in
            if let existing = book.sessions[id] { return (existing, false) }
            guard book.sessions.count < Self.limit else { throw .full }
            if caller != "operator",
                book.sessions.values.count(where: { $0.createdBy == caller }) >= Self.limitPerCreator
            {
                throw .full
            }
            let session = Session(sessionID: id, agent: agent, createdAt: now, createdBy: caller, events: 0)
            book.sessions[id] = session
            book.order.append(id)
            return (session, true)
        }
    }

    func session(_ id: String) -> Session? {
        book.withLock { $0.sessions[id] }
    }

    /// Counts an event published to `id`; `false` when there is no such session.
    func recordEvent(_ id: String) -> Bool {
        book.withLock { book in
            guard book.sessions[id] != nil else { return false }
            book.sessions[id]?.events += 1
            return true
        }
    }

    /// Every session, oldest first.
    var all: [Session] {
        book.withLock { book in book.order.compactMap { book.sessions[$0] } }
    }
}
