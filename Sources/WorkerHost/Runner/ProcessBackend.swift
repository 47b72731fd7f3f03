import AdapterKit
import Foundation
import NIOCore
import Synchronization

/// Runs any executable (`command:`): spawned in its own process group (sandboxed unless `sandbox: off`), its
/// output in the worker's log, watched until it exits. Exit status 0 is a clean stop; anything else is an error
/// with the last 20 log lines attached, and it is not restarted.
final class ProcessBackend: WorkerBackend {
    /// How long a process has after SIGTERM before SIGKILL.
    static let termGrace = Duration.seconds(5)

    private let spec: WorkerSpec
    private let launch: PythonBackend.Launch
    private let log: WorkerLog
    private let group: any EventLoopGroup
    private let children: ChildRegistry
    private let slot = ProcessSlot()

    init(
        spec: WorkerSpec, launch: PythonBackend.Launch, log: WorkerLog, group: any EventLoopGroup,
        children: ChildRegistry
    ) {
        self.spec = spec
        self.launch = launch
        self.log = log
        self.group = group
        self.children = children
    }

    func start() async throws(StartFailure) -> WorkerShape {
        _ = try await slot.spawn(launch, log: log, group: group, children: children)
        return .process
    }

    /// Waits until the process exits (its fd 3 closes and it is reaped; what it writes there is ignored).
    /// - Returns: `.success` for status 0, `.failed` with the last 20 lines otherwise.
    func watch() async -> HandlerOutcome {
        guard let connection = slot.connection else { return .cancelled }
        while true {
            guard case .closed = await connection.next() else { continue }
            break
        }
        var status = await connection.waitForExit(within: .seconds(1))
        while status == nil, !Task.isCancelled, !slot.isStopped {
            status = await connection.waitForExit(within: .seconds(1))  // it closed fd 3 but still runs
        }
        guard let status else { return .cancelled }
        await connection.terminate(grace: .zero)  // reaps, and ends anything it left in its group
        if status.isSuccess { return .success }
        await log.flush()
        let lastLines = log.tail(20).joined(separator: "\n")
        return .failed(
            WorkerFailure(
                type: "WorkerExited", message: "the process \(status)", traceback: lastLines.isEmpty ? nil : lastLines))
    }

    func tick(_ request: TickRequest) async -> TickOutcome {
        .crashed(WorkerFailure(type: "ProtocolError", message: "a command worker has no ticks"))
    }

    func stop() async {
        await slot.stop()?.terminate(grace: Self.termGrace)
    }

    func kill() async {
        await slot.stop()?.terminate(grace: .zero)
    }
}
