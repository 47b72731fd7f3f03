import AdapterKit
import AsyncHTTPClient
import Exchanges
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// Everything `botyard run` needs.
public struct HostConfiguration: Sendable {
    /// The workers to run.
    public var manifest: Manifest
    /// Where state, logs and tokens live.
    public var data: DataDirectory
    /// The control API's address; port 0 picks a free port.
    public var hostname = "127.0.0.1"
    public var port = 8700
    /// Stop gracefully after this long, as Ctrl-C would; `nil` runs until a signal.
    public var runFor: Duration?
    public var python = PythonRuntime.locate()
    /// The compiled-in Swift workers.
    public var swiftWorkers = TickWorkerRegistry()
    /// Whether worker lines are echoed to stdout.
    public var echo = true
    /// Reads the manifest again, for a reload (SIGHUP, `POST /api/reload`); `nil` reloads `manifest` as it is.
    public var reloadManifest: (@Sendable () throws(ManifestError) -> Manifest)?

    public init(manifest: Manifest, data: DataDirectory) {
        self.manifest = manifest
        self.data = data
    }
}

/// The Botyard host: the workers' supervisor and the control API, under one `ServiceGroup`.
public enum BotyardHost {
    /// How long graceful shutdown may take before the group cancels its services.
    static let gracefulShutdownLimit = Duration.seconds(30)
    /// How long cancellation may take before the process ends itself.
    static let cancellationLimit = Duration.seconds(10)

    /// Runs until SIGINT/SIGTERM (or `runFor`), then stops every worker and returns.
    /// - Throws: `HostError` when another host holds the data directory, the port is taken or the sandbox
    ///   cannot run; other errors when the data directory or the state store cannot be set up.
    public static func run(_ configuration: HostConfiguration, logger: Logger) async throws {
        let data = configuration.data
        try data.prepare()
        let lock = try HostLock.acquire(data.lockFile)
        defer { withExtendedLifetime(lock) {} }
        try PortCheck.ensureFree(hostname: configuration.hostname, port: configuration.port)
        Hardening.makeUndumpable()
        let console: Console? =
            configuration.echo
            ? Console(width: max(8, configuration.manifest.workers.map(\.name.count).max() ?? 0)) : nil
        let launcher = try WorkerLauncher.prepare(configuration, console: console, logger: logger)
        let children = ChildRegistry()
        defer {
            let killed = children.killAll()  // whatever a cancelled or failed shutdown left behind
            if killed > 0 { logger.warning("killed \(killed) worker process group(s) left at exit") }
        }
        try await serve(configuration, launcher: launcher, children: children, console: console, logger: logger)
        console?.print(host: "botyard: every worker stopped; bye")
        await console?.flush()
    }

    private static func serve(
        _ configuration: HostConfiguration, launcher: WorkerLauncher, children: ChildRegistry, console: Console?,
        logger: Logger
    ) async throws {
        let data = configuration.data
        let token = try data.adminToken()
        let store = CachingStateStore(backing: try SQLiteStateStore(path: data.stateDatabase))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let blocks = HostBlocks(configuration.manifest.blocks, http: httpClient, logger: logger)
        let startSeq = data.readEventSeq()
        if startSeq == nil {
            logger.warning("\(data.eventSeqFile) is not a number; events are numbered from 1 again")
        }
        let bus = EventBus(startingAfter: startSeq ?? 0) { reserved in try? data.writeEventSeq(reserved) }
        let streams = EventStreamHub(bus: bus, settings: .init(configuration.manifest.events))
        let directory = WorkerDirectory(permissions: launcher.runtime)
        let makeRunners = { @Sendable (launcher: WorkerLauncher, manifest: Manifest) in
            manifest.workers.enumerated().map { index, spec in
                launcher.runner(
                    spec, index: index, store: store, http: HTTPService(client: httpClient),
                    blocks: blocks.connected(to: spec), children: children, bus: bus, directory: directory)
            }
        }
        let reloader: Supervisor.Reloader = {
            switch reload(configuration, runtime: launcher.runtime, console: console, logger: logger) {
            case .success(let (next, manifest)): .success(makeRunners(next, manifest))
            case .failure(let error): .failure(error)
            }
        }
        let supervisor = Supervisor(
            runners: makeRunners(launcher, configuration.manifest), bus: bus, directory: directory,
            runtime: launcher.runtime, reloader: reloader, logger: logger)
        var api = ControlAPI(supervisor: supervisor, store: store, data: data, python: configuration.python)
        api.monitor = blocks.monitor
        let viewerToken = try data.viewerToken()
        let credentials = Credentials(
            admin: token, viewer: viewerToken, workers: launcher.runtime, tickets: WebSocketTickets())
        api.runtime = RuntimeRoutes(
            supervisor: supervisor, bus: bus, runtime: launcher.runtime, credentials: credentials)
        api.streams = EventStreamRoutes(hub: streams)
        let app = Application(
            router: api.router(token: token, viewerToken: viewerToken),
            server: .http1WebSocketUpgrade(
                webSocketRouter: api.webSocketRouter(token: token, viewerToken: viewerToken),
                configuration: .init(
                    ws: .init(autoPing: .enabled(timePeriod: EventStreamHub.heartbeat), closeTimeout: .seconds(3)))),
            configuration: .init(
                address: .hostname(configuration.hostname, port: configuration.port), serverName: "botyard"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                launcher.runtime.listening(hostname: configuration.hostname, port: port)
                try? data.writeHostInfo(.init(port: port, pid: getpid()))  // the CLI falls back to --port
                console?.print(
                    host:
                        "botyard: control API on http://\(configuration.hostname):\(port) (token in \(data.tokenFile))")
            },
            logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            // Stopped in reverse: the monitor's streams end first, so open dashboards never hold the server.
            services: blocks.venues + [supervisor, app, blocks.monitor, streams],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = gracefulShutdownLimit
        groupConfiguration.maximumCancellationDuration = cancellationLimit
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await runGroup(group, for: configuration.runFor)
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        try? data.writeEventSeq(bus.lastSeq)  // a clean stop: the next run's events follow on without a gap
        try? FileManager.default.removeItem(atPath: data.hostFile)  // best effort: the host is gone
    }

    /// The manifest read again and a launcher for it, or why it cannot replace the running one.
    private static func reload(
        _ configuration: HostConfiguration, runtime: RuntimeVariables, console: Console?, logger: Logger
    ) -> Result<(WorkerLauncher, Manifest), ReloadError> {
        var next = configuration
        if let read = configuration.reloadManifest {
            do throws(ManifestError) { next.manifest = try read() } catch {
                return .failure(ReloadError("the manifest does not load, so nothing changed: \(error)"))
            }
        }
        guard next.manifest.blocks == configuration.manifest.blocks else {
            return .failure(ReloadError("the blocks changed, so nothing changed: restart the host to apply new blocks"))
        }
        do throws(HostError) {
            var launcher = try WorkerLauncher.prepare(next, console: console, logger: logger)
            launcher.runtime = runtime
            return .success((launcher, next.manifest))
        } catch {
            return .failure(ReloadError("the new manifest cannot run, so nothing changed: \(error)"))
        }
    }

    private static func runGroup(_ group: ServiceGroup, for duration: Duration?) async throws {
        guard let duration else { return try await group.run() }
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                try await group.run()
                return true
            }
            tasks.addTask {
                try? await Task.sleep(for: duration)  // cancelled when the group ends first (a signal)
                await group.triggerGracefulShutdown()
                return false
            }
            while let groupEnded = try await tasks.next() {
                if groupEnded { tasks.cancelAll() }
            }
        }
    }
}
