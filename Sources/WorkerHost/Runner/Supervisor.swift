import AdapterKit
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs every worker of the manifest as one `Service`: starts them all, routes operators' commands, reloads the
/// manifest on request (SIGHUP, `POST /api/reload`), and on graceful shutdown stops each one (on_shutdown or the
/// shutdown frame, SIGTERM, SIGKILL) before returning.
///
/// A reload stops the whole running set through its full stopping sequence, then starts the set made from the
/// re-read manifest (gates evaluated again). A manifest that no longer loads leaves the running set untouched.
public final class Supervisor: Service {
    /// Makes the runners of a re-read manifest, or says why it cannot be used.
    typealias Reloader = @Sendable () -> Result<[WorkerRunner], ReloadError>

    private struct Book {
        var current: [WorkerRunner] {
            didSet { byName = Self.index(current) }
        }
        /// `current` by name, for the API's lookups.
        private(set) var byName: [String: WorkerRunner]
        var ending = false

        init(_ runners: [WorkerRunner]) {
            current = runners
            byName = Self.index(runners)
        }

        private static func index(_ runners: [WorkerRunner]) -> [String: WorkerRunner] {
            Dictionary(runners.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// A runner to run, the reason to start it with, and the runner of the same name it replaces (it starts once
    /// that one has stopped).
    private typealias Arrival = (runner: WorkerRunner, reason: String, replacing: WorkerRunner?)

    private let book: Mutex<Book>
    private let arrivals: AsyncStream<[Arrival]>
    private let arrive: AsyncStream<[Arrival]>.Continuation
    private let bus: EventBus?
    private let directory: WorkerDirectory?
    /// Workers start once the API listens, so that they get its URL.
    private let runtime: RuntimeVariables?
    private let reloader: Reloader?
    private let logger: Logger

    init(
        runners: [WorkerRunner], bus: EventBus? = nil, directory: WorkerDirectory? = nil,
        runtime: RuntimeVariables? = nil, reloader: Reloader? = nil, logger: Logger = Logger(label: "botyard")
    ) {
        self.book = Mutex(Book(runners))
        (arrivals, arrive) = AsyncStream.makeStream(of: [Arrival].self)
        self.bus = bus
        self.directory = directory
        self.runtime = runtime
        self.reloader = reloader
        self.logger = logger
        arrive.yield(runners.map { ($0, "host started", nil) })
        directory?.replace(with: runners)
        bus?.subscribe { [weak self] envelope in
            for runner in self?.book.withLock({ $0.current }) ?? [] { runner.deliver(envelope) }
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.reloadOnHangUp() }
                await runtime?.waitUntilListening(within: .seconds(10))
                await runAll()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            let runners = self.book.withLock { book in
                book.ending = true
                return book.current
            }
            self.arrive.finish()
            for runner in runners { try? runner.send(.shutdown) }  // shutdown is never refused
        }
    }

    /// Runs every runner that arrives (at start, and from each reload) until the host shuts down and all of them
    /// have stopped. A reloaded worker starts as soon as its predecessor of the same name has stopped: one slow
    /// worker never holds up the others.
    private func runAll() async {
        await withDiscardingTaskGroup { group in
            for await batch in arrivals {
                for arrival in batch {
                    group.addTask { await arrival.runner.run() }
                    group.addTask {
                        await arrival.replacing?.ended()
                        arrival.runner.release(reason: arrival.reason)
                    }
                }
            }
        }
    }

    private func reloadOnHangUp() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            switch reload() {
            case .success(let names): logger.notice("SIGHUP: reloading the manifest: \(names.joined(separator: ", "))")
            case .failure(let error): logger.error("SIGHUP: the manifest was not reloaded: \(error)")
            }
        }
    }

    /// Re-reads the manifest and replaces the running set: every worker stops through its full stopping sequence,
    /// and each new one starts when the old one of its name (if any) has stopped.
    /// - Returns: the new set's worker names, or why nothing changed.
    public func reload() -> Result<[String], ReloadError> {
        guard let reloader else { return .failure(ReloadError("this host cannot reload its manifest")) }
        let made: [WorkerRunner]
        switch reloader() {
        case .success(let runners): made = runners
        case .failure(let error): return .failure(error)
        }
        for runner in made { runner.hold() }  // before the API can see them
        let old = book.withLock { book -> [WorkerRunner]? in
            guard !book.ending else { return nil }
            defer { book.current = made }
            return book.current
        }
        guard let old else { return .failure(ReloadError("the host is shutting down")) }
        directory?.replace(with: made)
        for runner in old { try? runner.send(.shutdown) }
        let byName = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        arrive.yield(made.map { ($0, "reloaded", byName[$0.name]) })
        return .success(made.map(\.name))
    }

    /// Every worker's status, in manifest order.
    public var statuses: [WorkerStatus] { book.withLock { $0.current }.map(\.status) }

    /// The names of the workers.
    public var names: [String] { book.withLock { $0.current }.map(\.name) }

    func runner(named name: String) -> WorkerRunner? {
        book.withLock { $0.byName[name] }
    }
}

/// Why a reload changed nothing.
public struct ReloadError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(_ message: String) {
        self.message = message
    }
}

extension Supervisor {
    /// Restarts `name` on behalf of the worker `by`: only if its `may_restart:` lists it, and at most once per
    /// 5 s, exactly as its `client.restart_worker` would.
    func restart(_ name: String, by worker: String) -> Result<JSONValue, CallError> {
        guard let directory else { return .failure(CallError(.runtime, "this host cannot restart workers")) }
        return directory.restart(name, by: worker)
    }
}
