import AdapterKit
import Foundation

/// The worker protocol's version; `init` carries it and `ready` must echo it.
public enum WorkerProtocol {
    /// The version this host speaks.
    public static let version = 1
    /// The largest frame a worker may send, in bytes (newline excluded).
    public static let maxFrameBytes = 4 * 1024 * 1024
}

/// A failure reported by worker code: the exception's type, message and traceback.
public struct WorkerFailure: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The exception type, e.g. `ValueError`, `TickTimeoutError`, `SyntaxError`.
    public var type: String
    /// The exception's message.
    public var message: String
    /// The traceback, or the last lines of the worker's output.
    public var traceback: String?
    /// The file the failure points at, for load errors.
    public var file: String?
    /// The line the failure points at, for load errors.
    public var line: Int?

    public init(type: String, message: String, traceback: String? = nil, file: String? = nil, line: Int? = nil) {
        self.type = type
        self.message = message
        self.traceback = traceback
        self.file = file
        self.line = line
    }

    /// A failure as a worker reports it: `{"type", "message", "traceback", "file", "line"}`.
    init?(json: JSONValue) {
        guard let type = json["type"]?.stringValue else { return nil }
        self.init(
            type: type, message: json["message"]?.stringValue ?? "", traceback: json["traceback"]?.stringValue,
            file: json["file"]?.stringValue, line: json["line"]?.intValue)
    }

    public var description: String {
        var place = ""
        if let file { place = line.map { " (\(file), line \($0))" } ?? " (\(file))" }
        return "\(type): \(message)\(place)"
    }
}

/// A frame a worker sends to the host.
enum WorkerFrame: Sendable, Equatable {
    /// The code loaded; the worker is ready for `setup`.
    case ready(version: Int, runtime: String)
    /// The code could not be loaded (syntax error, no `tick`); the worker exits.
    case fatal(WorkerFailure)
    /// `setup` finished, with the failure if it raised.
    case setupDone(failure: WorkerFailure?)
    /// Tick `n` finished, with the failure if it raised.
    case tickDone(n: Int, failure: WorkerFailure?)
    /// A ctx call waiting for its result.
    case call(id: Int, method: String, params: JSONValue)
    /// A `ctx.log` line.
    case log(level: String, message: String)
    /// An event worker loaded: its settings and handlers (checked by `HandlerSet.decode`).
    case eventReady(version: Int, worker: JSONValue?, handlers: JSONValue?)
    /// Handler run `id` ended: with the failure if it raised, or cancelled by the host.
    case done(id: Int, failure: WorkerFailure?, cancelled: Bool)
}

/// Why a frame from a worker was refused.
struct FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension WorkerFrame {
    /// Decodes one line from a worker.
    /// - Throws: `FrameError` naming what is wrong, with the start of the offending text.
    static func decode(_ bytes: some DataProtocol) throws(FrameError) -> WorkerFrame {
        let object: [String: JSONValue]
        do {
            guard let parsed = try JSONParser.parse(bytes).objectValue else {
                throw JSONParser.Failure(offset: 0, reason: "")
            }
            object = parsed
        } catch {
            throw FrameError(message: "malformed frame (not a JSON object): \(preview(bytes))")
        }
        guard let type = object["type"]?.stringValue else {
            throw FrameError(message: "frame without a \"type\": \(preview(bytes))")
        }
        return try make(type: type, object, bytes: bytes)
    }

    private static func make(type: String, _ object: [String: JSONValue], bytes: some DataProtocol) throws(FrameError)
        -> WorkerFrame
    {
        func need<T>(_ field: String, _ read: (JSONValue) -> T?) throws(FrameError) -> T {
            guard let value = object[field].flatMap(read) else {
                throw FrameError(message: "\(type) frame without \"\(field)\": \(preview(bytes))")
            }
            return value
        }
        switch type {
        case "ready" where object["mode"]?.stringValue == "event":
            return .eventReady(
                version: try need("v", \.intValue), worker: object["worker"], handlers: object["handlers"])
        case "done":
            return .done(
                id: try need("id", \.intValue), failure: object["error"].flatMap(WorkerFailure.init(json:)),
                cancelled: object["cancelled"]?.boolValue ?? false)
        case "ready":
            return .ready(version: try need("v", \.intValue), runtime: object["runtime"]?.stringValue ?? "unknown")
        case "fatal": return .fatal(try need("error", WorkerFailure.init(json:)))
        case "setup_done": return .setupDone(failure: object["error"].flatMap(WorkerFailure.init(json:)))
        case "tick_done":
            return .tickDone(n: try need("n", \.intValue), failure: object["error"].flatMap(WorkerFailure.init(json:)))
        case "call":
            return .call(
                id: try need("id", \.intValue), method: try need("method", \.stringValue),
                params: object["params"] ?? [:])
        case "log":
            return .log(level: object["level"]?.stringValue ?? "info", message: try need("message", \.stringValue))
        default: throw FrameError(message: "unknown frame type \"\(type)\"")
        }
    }

    static func preview(_ bytes: some DataProtocol) -> String {
        let text = String(decoding: Data(bytes.prefix(80)), as: UTF8.self)
        return bytes.count > 80 ? "\(text)…" : text
    }
}

/// Frames the host sends to a worker.
enum HostFrame {
    /// - Parameter blocks: the worker's connected blocks, in `connect:` order: name and type, never a secret.
    static func initialize(
        worker: String, script: String?, interval: Duration, tickTimeout: Duration,
        blocks: [(name: String, type: String)] = []
    ) -> JSONValue {
        [
            "type": "init", "v": .number(Double(WorkerProtocol.version)),
            "worker": ["name": .string(worker), "interval": .number(interval.seconds)],
            "script": script.map(JSONValue.string) ?? .null,
            "tick_timeout": .number(tickTimeout.seconds),
            "blocks": .array(blocks.map { ["name": .string($0.name), "type": .string($0.type)] }),
        ]
    }

    static func setup(timeout: Duration) -> JSONValue {
        ["type": "setup", "timeout": .number(timeout.seconds)]
    }

    static func tick(_ request: TickRequest) -> JSONValue {
        [
            "type": "tick", "n": .number(Double(request.number)),
            "scheduled_at": .number(request.scheduledAt.timeIntervalSince1970),
            "sent_at": .number(Date().timeIntervalSince1970),
            "interval": .number(request.interval.seconds), "timeout": .number(request.timeout.seconds),
        ]
    }

    static func result(id: Int, _ outcome: Result<JSONValue, CallError>) -> JSONValue {
        switch outcome {
        case .success(let value):
            return ["type": "result", "id": .number(Double(id)), "ok": true, "value": value]
        case .failure(let error):
            var failure = error.details
            failure["type"] = .string(error.kind.rawValue)
            failure["message"] = .string(error.message)
            return ["type": "result", "id": .number(Double(id)), "ok": false, "error": .object(failure)]
        }
    }

    static let shutdown: JSONValue = ["type": "shutdown"]

    /// Runs one handler of an event worker.
    static func run(_ invocation: EventEngine.Invocation) -> JSONValue {
        [
            "type": "run", "id": .number(Double(invocation.id)), "handler": .number(Double(invocation.handler.id)),
            "event": invocation.event?.json ?? .null,
            "timeout": invocation.timeout.map { .number($0.seconds) } ?? .null,
            "scheduled_at": invocation.scheduledAt.map { .number($0.timeIntervalSince1970) } ?? .null,
            "sent_at": .number(Date().timeIntervalSince1970),
        ]
    }

    static func cancel(_ id: Int) -> JSONValue {
        ["type": "cancel", "id": .number(Double(id))]
    }
}

/// One tick, as the host asks a worker to run it.
public struct TickRequest: Sendable, Equatable {
    /// The tick's number, from 1, counted across restarts of the process.
    public var number: Int
    /// The wall-clock time of its slot.
    public var scheduledAt: Date
    /// Its slot on the monotonic clock: the tick starts then (the runner prepares it slightly ahead).
    public var slot: ContinuousClock.Instant
    /// The worker's current interval.
    public var interval: Duration
    /// How long the tick may run.
    public var timeout: Duration
}
