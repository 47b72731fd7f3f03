import AdapterKit
import AsyncHTTPClient
import Foundation
import Synchronization

/// Drives a compiled-in event `Worker`'s handlers without a host, for a strategy's own tests: startup, events,
/// schedules on a fake clock, and shutdown, against a real state store in a temporary folder.
///
/// ```swift
/// let harness = try WorkerHarness(PingCounter.make())
/// #expect(await harness.startup().isEmpty)
/// #expect(await harness.emit("desk.ping").isEmpty)
/// #expect(harness.published.map(\.kind) == ["desk.pong"])
/// #expect(await harness.advance(by: .seconds(3)) == 3)
/// ```
public final class WorkerHarness: @unchecked Sendable {  // used from one test task at a time
    public let worker: Worker
    /// The worker's name in the state store and the events it publishes.
    public let name: String
    private let folder: URL
    private let services: WorkerServices
    private let bus = EventBus()
    private let recorder = Recorder()
    /// Fake seconds since startup.
    public private(set) var elapsed = Duration.zero
    private let started = Date()
    private var seq = 0

    public init(_ worker: Worker, name: String = "test") throws {
        self.worker = worker
        self.name = name
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("botyard-harness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: folder.appendingPathComponent("state.sqlite").path)
        let log = WorkerLog(worker: name, directory: folder.path, console: nil)
        services = WorkerServices(
            worker: name, store: store, log: log, http: HTTPService(client: .shared), bus: bus, directory: nil)
        bus.subscribe { [recorder] in recorder.add($0) }
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)  // best effort
    }

    /// The events the worker published, oldest first.
    public var published: [EventEnvelope] { recorder.events }

    /// The client its handlers get: `client.state` here is the harness's store.
    public var client: RuntimeClient { RuntimeClient(services: services, callTimeout: .seconds(60)) }

    /// Runs the `onStartup` handlers in order, stopping at the first error.
    /// - Returns: the errors thrown (empty when all passed).
    public func startup() async -> [any Error] {
        for entry in entries(.startup) {
            if let error = await run(entry, event: nil) { return [error] }
        }
        return []
    }

    /// Delivers an event to every handler of its kind, one after another.
    /// - Returns: the errors thrown.
    public func emit(_ kind: String, _ payload: JSONValue = [:], source: String = "test") async -> [any Error] {
        seq += 1
        let envelope = EventEnvelope(
            eventID: UUID().uuidString.lowercased(), seq: seq, timestamp: Date(), kind: kind, payload: payload,
            source: source)
        var errors: [any Error] = []
        for entry in worker.entries {
            guard case .event(let listened) = entry.trigger, listened == kind else { continue }
            if let error = await run(entry, event: envelope) { errors.append(error) }
        }
        return errors
    }

    /// Moves the fake clock and runs each interval schedule once per slot that passed (the first slot is one
    /// interval after startup).
    /// - Returns: how many runs happened; errors are in `errors`.
    @discardableResult
    public func advance(by duration: Duration) async -> Int {
        let before = elapsed
        elapsed += duration
        var runs = 0
        for entry in worker.entries {
            guard case .every(.interval(let interval)) = entry.trigger, interval > .zero else { continue }
            let done = Int(min(before / interval, 1e6))
            let due = Int(min(elapsed / interval, 1e6))
            for slot in (done + 1)..<max(done + 1, due + 1) {
                let scheduled = started.addingTimeInterval((interval * slot).seconds)
                if let error = await run(entry, event: nil, scheduledAt: scheduled) { errors.append(error) }
                runs += 1
            }
        }
        return runs
    }

    /// Errors from `advance` and `fire`, in order.
    public private(set) var errors: [any Error] = []

    /// Runs one schedule or task handler by name (a cron schedule is fired this way).
    public func fire(_ handler: String) async throws {
        guard let entry = worker.entries.first(where: { $0.name == handler }) else {
            throw HarnessError(message: "no handler named \(handler)")
        }
        if let error = await run(entry, event: nil) { throw error }
    }

    /// Runs the `onShutdown` handlers in reverse order, all of them.
    /// - Returns: the errors thrown.
    public func shutdown() async -> [any Error] {
        var errors: [any Error] = []
        for entry in entries(.shutdown).reversed() {
            if let error = await run(entry, event: nil) { errors.append(error) }
        }
        return errors
    }

    private enum Kind { case startup, shutdown }

    private func entries(_ kind: Kind) -> [Worker.Entry] {
        worker.entries.filter { entry in
            switch (kind, entry.trigger) {
            case (.startup, .startup), (.shutdown, .shutdown): true
            default: false
            }
        }
    }

    private func run(_ entry: Worker.Entry, event: EventEnvelope?, scheduledAt: Date? = nil) async -> (any Error)? {
        var client = self.client
        client.scheduledAt = scheduledAt
        do {
            try await entry.body(event ?? .empty, client)
            return nil
        } catch {
            return error
        }
    }
}

/// A harness call that makes no sense (a handler that does not exist).
public struct HarnessError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The bus's subscriber: keeps what the worker published.
private final class Recorder: Sendable {
    private let list = Mutex<[EventEnvelope]>([])

    func add(_ envelope: EventEnvelope) {
        list.withLock { $0.append(envelope) }
    }

    var events: [EventEnvelope] { list.withLock { $0 } }
}
