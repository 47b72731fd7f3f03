import Logging
import ServiceLifecycle

/// Runs every worker of the manifest as one `Service`: starts them all, routes operators' commands, and on
/// graceful shutdown stops each one (shutdown frame, SIGTERM, SIGKILL) before returning.
public final class Supervisor: Service {
    private let runners: [WorkerRunner]
    private let byName: [String: WorkerRunner]

    init(runners: [WorkerRunner]) {
        self.runners = runners
        self.byName = Dictionary(runners.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func run() async throws {
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
