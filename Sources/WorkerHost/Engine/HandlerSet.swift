import AdapterKit
import Foundation

/// An event worker's handlers as the host schedules them, whatever runs them (a Python process or Swift code).
public struct HandlerSet: Sendable, Equatable {
    /// When a handler runs.
    public enum Trigger: Sendable, Equatable {
        case startup
        case shutdown
        /// Every event of exactly this kind.
        case event(String)
        /// Fixed-rate, like ticks: the first run one interval after start.
        case every(Duration)
        case cron(CronSchedule)
        /// Kept running for the worker's life, restarted with backoff.
        case task
    }

    public struct Handler: Sendable, Equatable {
        /// The backend's number for it.
        public var id: Int
        /// The function's name, for logs and health.
        public var name: String
        public var trigger: Trigger
    }

    public let handlers: [Handler]
    /// The event handlers by kind, built once: every delivery and every runner step reads them.
    private let byKind: [String: [Handler]]
    /// How many event handlers may run at once (each schedule runs at most once at a time anyway).
    public var maxConcurrency = 16
    /// How long handlers in flight may finish at stop before they are cancelled.
    public var shutdownGrace = Duration.seconds(5)

    public init(handlers: [Handler], maxConcurrency: Int = 16, shutdownGrace: Duration = .seconds(5)) {
        self.handlers = handlers
        var byKind: [String: [Handler]] = [:]
        for handler in handlers {
            if case .event(let kind) = handler.trigger { byKind[kind, default: []].append(handler) }
        }
        self.byKind = byKind
        self.maxConcurrency = maxConcurrency
        self.shutdownGrace = shutdownGrace
    }

    /// The handlers of one trigger kind, in registration order.
    func startup() -> [Handler] { handlers.filter { $0.trigger == .startup } }
    func shutdown() -> [Handler] { handlers.filter { $0.trigger == .shutdown } }
    func tasks() -> [Handler] { handlers.filter { $0.trigger == .task } }
    func listeners(of kind: String) -> [Handler] { byKind[kind] ?? [] }
    var kinds: Set<String> { Set(byKind.keys) }

    /// The most handlers a worker may register.
    static let maxHandlers = 256
    static let maxEverySeconds = 366.0 * 86_400
}

extension HandlerSet {
    /// Why a worker's handlers were refused: names the handler and the field.
    struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Reads the `worker` and `handlers` of a Python worker's `ready` frame, checking every value: cron
    /// expressions and time zones are parsed here, so a bad one fails the worker at load.
    static func decode(worker: JSONValue?, handlers: JSONValue?) throws(Refusal) -> HandlerSet {
        guard let list = handlers?.arrayValue, list.count <= maxHandlers else {
            throw Refusal(message: "the ready frame's 'handlers' must be a list of at most \(maxHandlers)")
        }
        var decoded: [Handler] = []
        for item in list { decoded.append(try handler(item)) }
        var set = HandlerSet(handlers: decoded)
        if let concurrency = worker?["max_concurrency"] {
            guard let value = concurrency.intValue, (1...1024).contains(value) else {
                throw Refusal(message: "max_concurrency must be a whole number from 1 to 1024")
            }
            set.maxConcurrency = value
        }
        if let grace = worker?["shutdown_grace"] {
            guard let value = grace.numberValue.flatMap({ Duration.seconds(checked: $0, upTo: 60) }) else {
                throw Refusal(message: "shutdown_grace must be from 0 to 60 seconds")
            }
            set.shutdownGrace = value
        }
        return set
    }

    private static func handler(_ item: JSONValue) throws(Refusal) -> Handler {
        guard let id = item["id"]?.intValue, let name = item["name"]?.stringValue, !name.isEmpty,
            name.utf8.count <= 200, let kind = item["kind"]?.stringValue
        else { throw Refusal(message: "each handler needs an integer 'id', a 'name' and a 'kind'") }
        func fail(_ field: String, _ why: String) -> Refusal {
            Refusal(message: "handler '\(name)': \(field): \(why)")
        }
        switch kind {
        case "startup": return Handler(id: id, name: name, trigger: .startup)
        case "shutdown": return Handler(id: id, name: name, trigger: .shutdown)
        case "task": return Handler(id: id, name: name, trigger: .task)
        case "event":
            guard let event = item["event"]?.stringValue, !event.isEmpty, event.utf8.count <= EventKind.maxBytes else {
                throw fail("on_event", "the kind must be 1 to \(EventKind.maxBytes) bytes")
            }
            return Handler(id: id, name: name, trigger: .event(event))
        case "every":
            return Handler(id: id, name: name, trigger: try schedule(item, fail: fail))
        default:
            throw fail("kind", "unknown handler kind '\(kind)'")
        }
    }

    private static func schedule(_ item: JSONValue, fail: (String, String) -> Refusal) throws(Refusal) -> Trigger {
        if let seconds = item["seconds"] {
            guard let value = seconds.numberValue.flatMap({ Duration.seconds(checked: $0, upTo: maxEverySeconds) }),
                value >= .seconds(1)
            else { throw fail("every(seconds=)", "must be from 1 second to 366 days") }
            return .every(value)
        }
        guard let text = item["cron"]?.stringValue else { throw fail("every", "give seconds, minutes or cron") }
        do throws(CronSchedule.Failure) {
            return .cron(try CronSchedule(text, timeZone: item["tz"]?.stringValue ?? "UTC"))
        } catch {
            throw fail("every(\(error.field)=)", error.message)
        }
    }
}
