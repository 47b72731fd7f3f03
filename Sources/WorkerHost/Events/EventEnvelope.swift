import AdapterKit
import Foundation

/// One event on the host's bus, as every handler receives it.
public struct EventEnvelope: Sendable, Equatable {
    /// A unique id (UUID text).
    public var eventID: String
    /// A host-wide increasing number: later events have larger numbers.
    public var seq: Int
    /// When it was published.
    public var timestamp: Date
    /// What happened, e.g. `worker.state`, `notify`, `desk.fill`.
    public var kind: String
    /// Its data: a JSON object.
    public var payload: JSONValue
    /// Who published it: `host`, or a worker's name.
    public var source: String
    /// The payload's size as JSON text, in bytes: what the host's memory budgets for events count.
    public var size: Int
    /// The session a session-scoped event belongs to (`POST /api/sessions/{id}/events`).
    public var sessionID: String?

    public init(
        eventID: String, seq: Int, timestamp: Date, kind: String, payload: JSONValue, source: String, size: Int = 0
    ) {
        self.size = size
        self.eventID = eventID
        self.seq = seq
        self.timestamp = timestamp
        self.kind = kind
        self.payload = payload
        self.source = source
    }

    /// What a handler that takes no event is given (Swift handlers share one signature).
    static let empty = EventEnvelope(eventID: "", seq: 0, timestamp: .distantPast, kind: "", payload: [:], source: "")

    /// As workers read it: `{"event_id", "seq", "timestamp", "kind", "payload", "source"}`, and `session_id` for a
    /// session-scoped event.
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "event_id": .string(eventID), "seq": .number(Double(seq)),
            "timestamp": .number(timestamp.timeIntervalSince1970), "kind": .string(kind), "payload": payload,
            "source": .string(source),
        ]
        if let sessionID { fields["session_id"] = .string(sessionID) }
        return .object(fields)
    }
}

/// Checks on what a worker may publish.
public enum EventKind {
    /// Prefixes the host keeps for itself: a worker's publish of these is refused.
    public static let reserved = [
        "turn.", "prompt.", "session.", "transport.", "capabilities.", "component.", "worker.",
    ]
    /// The longest kind, in bytes.
    public static let maxBytes = 128
    /// The largest payload, as JSON text.
    public static let maxPayloadBytes = 256 * 1024

    /// Why `kind` cannot be published by a worker, or `nil` when it can.
    public static func problem(publishing kind: String) -> String? {
        guard !kind.isEmpty, kind.utf8.count <= maxBytes else {
            return "an event kind is 1 to \(maxBytes) bytes"
        }
        guard kind.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
            return "an event kind is printable ASCII without spaces, like desk.fill"
        }
        if let prefix = reserved.first(where: kind.lowercased().hasPrefix) {
            return
                "the '\(prefix)' prefix is reserved for the host; use your own, like desk.\(kind.dropFirst(prefix.count))"
        }
        return nil
    }

    /// Why an event is refused.
    public struct Refusal: Error, Equatable {
        public var message: String
    }

    /// The severities a `notify` may carry.
    public static let severities: Set<String> = ["info", "warning", "error", "success"]

    /// A `notify` payload checked, whoever publishes it: a `title`, a known `severity` (default `info`), text
    /// `body` and `source` (default: the publisher).
    /// - Returns: the payload with its defaults, or why it is refused.
    public static func notification(_ payload: JSONValue, source: String) -> Result<JSONValue, Refusal> {
        guard var fields = payload.objectValue, let title = fields["title"]?.stringValue, !title.isEmpty else {
            return .failure(Refusal(message: "a notify payload needs a 'title'"))
        }
        let severity = fields["severity"]?.stringValue ?? "info"
        guard severities.contains(severity) else {
            return .failure(
                Refusal(message: "severity '\(severity)' is not one of \(severities.sorted().joined(separator: ", "))"))
        }
        for field in ["body", "source"] where fields[field] != nil && fields[field]?.stringValue == nil {
            return .failure(Refusal(message: "a notify '\(field)' is text"))
        }
        fields["severity"] = .string(severity)
        fields["source"] = fields["source"] ?? .string(source)
        return .success(.object(fields))
    }
}
