import AdapterKit
import Foundation

/// An event worker compiled into the host: the Swift counterpart of Python's `botyard.Worker` and its decorators.
///
/// ```swift
/// var worker = Worker(name: "desk")
/// worker.onEvent("desk.fill", name: "record") { event, client in
///     _ = try await client.state.incr("fills")
/// }
/// worker.every(cron: "0 9 * * 1-5", tz: "Europe/London", name: "summary") { client in … }
/// ```
/// Register it with `registry.register("Desk") { makeDeskWorker() }` and declare it with `swift: Desk`. Handlers run
/// on the host's cooperative pool: never block, and honour cancellation (that is how a stop and a timeout end them).
public struct Worker: Sendable {
    public typealias Body = @Sendable (RuntimeClient) async throws -> Void
    public typealias EventBody = @Sendable (EventEnvelope, RuntimeClient) async throws -> Void

    /// How a schedule is written; checked when the worker loads.
    public enum Schedule: Sendable {
        case interval(Duration)
        case cron(String, tz: String)
    }

    enum Trigger: Sendable {
        case startup, shutdown, task
        case event(String)
        case every(Schedule)
    }

    struct Entry: Sendable {
        var name: String
        var trigger: Trigger
        var body: EventBody
    }

    public let name: String
    /// How many event handlers may run at once (1–1024).
    public var maxConcurrency: Int
    /// How long handlers in flight may finish at stop before they are cancelled.
    public var shutdownGrace: Duration
    private(set) var entries: [Entry] = []

    public init(name: String, maxConcurrency: Int = 16, shutdownGrace: Duration = .seconds(5)) {
        self.name = name
        self.maxConcurrency = maxConcurrency
        self.shutdownGrace = shutdownGrace
    }

    /// Runs once when the worker starts, before any event or schedule.
    public mutating func onStartup(name: String, _ body: @escaping Body) {
        add(name, .startup, body)
    }

    /// Runs once at stop; shutdown handlers run in reverse registration order.
    public mutating func onShutdown(name: String, _ body: @escaping Body) {
        add(name, .shutdown, body)
    }

    /// Runs for every event whose kind is exactly `kind`.
    public mutating func onEvent(_ kind: String, name: String, _ body: @escaping EventBody) {
        entries.append(Entry(name: name, trigger: .event(kind), body: body))
    }

    /// Runs fixed-rate: the first run one interval after start.
    public mutating func every(_ interval: Duration, name: String, _ body: @escaping Body) {
        add(name, .every(.interval(interval)), body)
    }

    /// Runs at the times of a cron expression in the IANA zone `tz`.
    public mutating func every(cron: String, tz: String = "UTC", name: String, _ body: @escaping Body) {
        add(name, .every(.cron(cron, tz: tz)), body)
    }

    /// Kept running for the worker's life, restarted with backoff when it returns or throws.
    public mutating func task(name: String, _ body: @escaping Body) {
        add(name, .task, body)
    }

    private mutating func add(_ name: String, _ trigger: Trigger, _ body: @escaping Body) {
        entries.append(Entry(name: name, trigger: trigger, body: { _, client in try await body(client) }))
    }

    /// The handlers as the host schedules them.
    /// - Throws: `HandlerSet.Refusal` naming the handler and the field (a bad cron, zone or interval).
    func handlerSet() throws(HandlerSet.Refusal) -> HandlerSet {
        guard (1...1024).contains(maxConcurrency) else {
            throw HandlerSet.Refusal(message: "maxConcurrency must be from 1 to 1024")
        }
        guard shutdownGrace >= .zero, shutdownGrace <= .seconds(60) else {
            throw HandlerSet.Refusal(message: "shutdownGrace must be from 0 to 60 seconds")
        }
        var handlers: [HandlerSet.Handler] = []
        for (id, entry) in entries.enumerated() {
            handlers.append(HandlerSet.Handler(id: id, name: entry.name, trigger: try Self.trigger(entry)))
        }
        return HandlerSet(handlers: handlers, maxConcurrency: maxConcurrency, shutdownGrace: shutdownGrace)
    }

    private static func trigger(_ entry: Entry) throws(HandlerSet.Refusal) -> HandlerSet.Trigger {
        switch entry.trigger {
        case .startup: return .startup
        case .shutdown: return .shutdown
        case .task: return .task
        case .event(let kind): return .event(kind)
        case .every(.interval(let interval)):
            guard interval >= .seconds(1), interval <= .seconds(366 * 86_400) else {
                throw HandlerSet.Refusal(message: "handler '\(entry.name)': every: must be from 1 second to 366 days")
            }
            return .every(interval)
        case .every(.cron(let text, let tz)):
            do throws(CronSchedule.Failure) { return .cron(try CronSchedule(text, timeZone: tz)) } catch {
                throw HandlerSet.Refusal(message: "handler '\(entry.name)': every(\(error.field):): \(error.message)")
            }
        }
    }
}

/// What an event worker's handlers use: the ctx services, publishing, and its peers.
public struct RuntimeClient: Sendable {
    let services: WorkerServices
    let callTimeout: Duration
    /// For a schedule's run: the wall-clock time of its slot (how late it runs is `Date() - scheduledAt`).
    public var scheduledAt: Date?

    /// The worker's name.
    public var workerName: String { services.worker }

    /// The ctx services (`state`, `log`, `http`, blocks); each access starts a fresh call deadline.
    public var ctx: WorkerContext {
        WorkerContext(
            worker: .init(name: services.worker, tick: 0, interval: .zero), services: services,
            deadline: .now + callTimeout)
    }

    public var state: WorkerContext.State { ctx.state }
    public var log: WorkerContext.Log { ctx.log }

    /// Publishes an event on the host's bus.
    /// - Returns: its `seq`.
    @discardableResult
    public func publish(_ kind: String, _ payload: JSONValue = [:]) throws(CallError) -> Int {
        try services.publish(["kind": .string(kind), "payload": payload])["seq"]?.intValue ?? 0
    }

    /// Publishes a `notify` event.
    public func notify(title: String, body: String = "", severity: String = "info") throws(CallError) {
        let payload: JSONValue = [
            "source": .string(workerName), "title": .string(title), "body": .string(body),
            "severity": .string(severity),
        ]
        try services.publish(["kind": "notify", "payload": payload])
    }

    /// Restarts another worker (or this one).
    public func restartWorker(_ name: String) throws(CallError) {
        _ = try services.restartPeer(["name": .string(name)])
    }
}
