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
        var current: [WorkerRunner]
        /// The set a reload made, waiting for `current` to stop.
        var next: [WorkerRunner]?
        var ending = false
    }

    private let book: Mutex<Book>
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
        self.book = Mutex(Book(current: runners))
        self.bus = bus
        self.directory = directory
        self.runtime = runtime
        self.reloader = reloader
        self.logger = logger
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
                await runGenerations()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            let runners = self.book.withLock { book in
                book.ending = true
                book.next = nil
                return book.current
            }
            for runner in runners { try? runner.send(.shutdown) }  // shutdown is never refused
        }
    }

    /// Runs the current set until it has stopped, then the set a reload made, until the host shuts down.
    private func runGenerations() async {
        var reason = "host started"
        while true {
            let runners = book.withLock { $0.current }
            await withDiscardingTaskGroup { group in
                for runner in runners {
                    group.addTask { await runner.run() }
                    try? runner.send(.start(reason: reason))  // a new runner is stopped: never refused
                }
            }
            let next = book.withLock { book -> [WorkerRunner]? in
                guard !book.ending, let next = book.next else { return nil }
                book.current = next
                book.next = nil
                return next
            }
            guard let next else { return }
            directory?.replace(with: next)
            reason = "reloaded"
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
    /// then the new set starts.
    /// - Returns: the new set's worker names, or why nothing changed.
    public func reload() -> Result<[String], ReloadError> {
        guard let reloader else { return .failure(ReloadError("this host cannot reload its manifest")) }
        let made: [WorkerRunner]
        switch reloader() {
        case .success(let runners): made = runners
        case .failure(let error): return .failure(error)
        }
        let stopping = book.withLock { book -> [WorkerRunner]? in
            guard !book.ending else { return nil }
            book.next = made
            return book.current
        }
        guard let stopping else { return .failure(ReloadError("the host is shutting down")) }
        for runner in stopping { try? runner.send(.shutdown) }
        return .success(made.map(\.name))
    }

    /// Every worker's status, in manifest order.
    public var statuses: [WorkerStatus] { book.withLock { $0.current }.map(\.status) }

    /// The names of the workers.
    public var names: [String] { book.withLock { $0.current }.map(\.name) }

    func runner(named name: String) -> WorkerRunner? {
        book.withLock { $0.current }.first { $0.name == name }
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
