import NIOCore
import Synchronization

/// The one process of a backend: spawned once, ended once. A stop that comes while the process is still
/// spawning ends it as soon as it exists, so no process outlives its backend's stop.
final class ProcessSlot: Sendable {
    private struct State {
        var connection: WorkerConnection?
        var stopped = false
    }

    private let state = Mutex(State())

    /// The running process, if any.
    var connection: WorkerConnection? { state.withLock { $0.connection } }

    /// Whether `stop` has been called.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Spawns `launch` and connects to it.
    /// - Throws: `StartFailure` (load) when it cannot spawn, or when the backend was stopped meanwhile.
    func spawn(
        _ launch: PythonBackend.Launch, log: WorkerLog, group: any EventLoopGroup, children: ChildRegistry,
        answer: @escaping FrameHandler.Answer = { _, _ in nil }
    ) async throws(StartFailure) -> WorkerConnection {
        let connection: WorkerConnection
        do {
            connection = try await WorkerConnection.start(
                executable: launch.executable, arguments: launch.arguments, environment: launch.environment,
                workingDirectory: launch.workingDirectory, underBubblewrap: launch.underBubblewrap, log: log,
                group: group, children: children, answer: answer)
        } catch {
            throw StartFailure(phase: .load, failure: WorkerFailure(type: "SpawnError", message: "\(error)"))
        }
        let stoppedMeanwhile = state.withLock { state in
            if !state.stopped { state.connection = connection }
            return state.stopped
        }
        if stoppedMeanwhile {
            await connection.terminate(grace: .zero)
            throw StartFailure(phase: .load, failure: WorkerFailure(type: "Stopped", message: "stopped while starting"))
        }
        return connection
    }

    /// Marks the slot stopped (a process still spawning is ended when it appears).
    /// - Returns: the running process, now the caller's to end.
    func stop() -> WorkerConnection? {
        state.withLock { state in
            state.stopped = true
            defer { state.connection = nil }
            return state.connection
        }
    }
}
