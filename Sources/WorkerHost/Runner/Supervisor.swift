import Logging
import ServiceLifecycle

/// Runs every worker of the manifest as one `Service`: starts them all, routes operators' commands, and on
/// graceful shutdown stops each one (shutdown frame, SIGTERM, SIGKILL) before returning.
public final class Supervisor: Service {
    private let runners: [WorkerRunner]
    private let byName: [String: WorkerRunner]
    /// Workers start once the API listens, so that they get its URL.
    private let runtime: RuntimeVariables?

    /// - Parameters:
    ///   - bus: every runner receives its events (each keeps only the kinds it listens to).
    ///   - directory: filled with the runners, for workers that restart their peers.
    init(
        runners: [WorkerRunner], bus: EventBus? = nil, directory: WorkerDirectory? = nil,
        runtime: RuntimeVariables? = nil
    ) {
        self.runtime = runtime
        self.runners = runners
        self.byName = Dictionary(runners.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        directory?.register(runners)
        bus?.subscribe { envelope in
            for runner in runners { runner.deliver(envelope) }
        }
    }

    public func run() async throws {
        await runtime?.waitUntilListening(within: .seconds(10))
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for runner in runners {
                    group.addTask { await runner.run() }
                    try? runner.send(.start(reason: "host started"))  // a new runner is stopped: never refused
                }
            }
        } onGracefulShutdown: {
            for runner in self.runners { try? runner.send(.shutdown) }  // shutdown is never refused
        }
    }

    /// Every worker's status, in manifest order.
    public var statuses: [WorkerStatus] { runners.map(\.status) }

    /// The names of the workers.
    public var names: [String] { runners.map(\.name) }

    func runner(named name: String) -> WorkerRunner? {
        byName[name]
    }
}
