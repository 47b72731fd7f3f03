import AdapterKit
import Foundation
import NIOCore
import Synchronization

/// The host's side of a Python event worker's connection once it is running: many handler runs at once, their
/// ctx calls answered concurrently, and one reader that owns the socket.
///
/// A run past its timeout plus `PythonBackend.killGrace` means the process is stuck where Python cannot interrupt
/// it: the process is killed, and every run still open ends as crashed.
final class PythonEventSession: Sendable {
    /// Calls answered at once; beyond this the reader waits for one to finish before reading more frames.
    static let maxCallsInFlight = 64

    private struct Book {
        var pending: [Int: CheckedContinuation<HandlerOutcome, Never>] = [:]
        /// Deadline timer ids (see `WorkerConnection.withDeadline`) and the run each one guards.
        var timers: [Int: Int] = [:]
        /// Set once the connection is gone: new runs end at once with this failure.
        var gone: WorkerFailure?
    }

    private let connection: WorkerConnection
    private let services: WorkerServices
    private let callTimeout: Duration
    private let book = Mutex(Book())
    private let reader = Mutex<Task<Void, Never>?>(nil)

    init(connection: WorkerConnection, services: WorkerServices, callTimeout: Duration) {
        self.connection = connection
        self.services = services
        self.callTimeout = callTimeout
    }

    /// Starts reading the worker's frames.
    func start() {
        reader.withLock { $0 = Task { await self.read() } }
    }

    /// Runs one handler and waits for its `done` (bounded by its timeout plus the kill grace).
    func invoke(_ invocation: EventEngine.Invocation) async -> HandlerOutcome {
        guard let timeout = invocation.timeout else { return await run(invocation, timer: nil) }
        return await connection.withDeadline(.now + timeout + PythonBackend.killGrace) { timer in
            await run(invocation, timer: timer)
        }
    }

    private func run(_ invocation: EventEngine.Invocation, timer: Int?) async -> HandlerOutcome {
        await withCheckedContinuation { continuation in
            let gone = book.withLock { book -> WorkerFailure? in
                if let gone = book.gone { return gone }
                book.pending[invocation.id] = continuation
                if let timer { book.timers[timer] = invocation.id }
                return nil
            }
            if let gone { return continuation.resume(returning: .crashed(gone)) }
            connection.send(HostFrame.run(invocation))
        }
    }

    func cancel(_ ids: [Int]) {
        for id in ids { connection.send(HostFrame.cancel(id)) }
    }

    /// Ends every open run as cancelled and stops reading (the process is being stopped).
    func close() async {
        finishAll(.cancelled, gone: WorkerFailure(type: "Stopped", message: "the worker is stopping"))
        let task = reader.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    // MARK: - Reading

    private func read() async {
        await withTaskGroup(of: Void.self) { calls in
            var inFlight = 0
            while !Task.isCancelled {
                if inFlight >= Self.maxCallsInFlight, await calls.next() != nil { inFlight -= 1 }
                guard let frame = await nextFrame() else { return }
                switch frame {
                case .done(let id, let failure, let cancelled):
                    finish(id, cancelled ? .cancelled : failure.map(HandlerOutcome.failed) ?? .success)
                case .call(let id, let method, let params):
                    inFlight += 1
                    calls.addTask { await self.answer(id: id, method: method, params: params) }
                case .log(let level, let message):
                    await services.log.writeWaiting(
                        level: LogLevel(name: level) ?? .info, message, until: .now + .seconds(5))
                default:
                    return await broken("unexpected frame \(frame)")
                }
            }
        }
    }

    /// The next frame; `nil` once the session is over (it then has ended every open run).
    private func nextFrame() async -> WorkerFrame? {
        while true {
            let inbound = await connection.next()
            if Task.isCancelled { return nil }  // `close`: the backend ends the process itself
            switch inbound {
            case .closed:
                await exited()
                return nil
            case .protocolError(let message):
                await broken(message)
                return nil
            case .deadline(let timer):
                guard let id = book.withLock({ $0.timers.removeValue(forKey: timer) }), isPending(id) else { continue }
                await stuck(id)
                return nil
            case .frame(let buffer):
                do throws(FrameError) { return try WorkerFrame.decode(buffer.readableBytesView) } catch {
                    await broken(error.message)
                    return nil
                }
            }
        }
    }

    private func answer(id: Int, method: String, params: JSONValue) async {
        let deadline = ContinuousClock.now + callTimeout
        let result = await services.handle(method: method, params: params, deadline: deadline)
        guard await connection.waitWritable(until: deadline) else { return }
        connection.send(HostFrame.result(id: id, result))
    }

    // MARK: - Endings

    private func isPending(_ id: Int) -> Bool {
        book.withLock { $0.pending[id] != nil }
    }

    private func finish(_ id: Int, _ outcome: HandlerOutcome) {
        let continuation = book.withLock { $0.pending.removeValue(forKey: id) }
        continuation?.resume(returning: outcome)
    }

    private func finishAll(_ outcome: HandlerOutcome, gone: WorkerFailure) {
        let open = book.withLock { book in
            if book.gone == nil { book.gone = gone }
            defer { book.pending = [:] }
            return Array(book.pending.values)
        }
        for continuation in open { continuation.resume(returning: outcome) }
    }

    private func broken(_ message: String) async {
        await connection.terminate()
        let failure = WorkerFailure(type: "ProtocolError", message: "bad frame from the worker: \(message)")
        finishAll(.crashed(failure), gone: failure)
    }

    private func stuck(_ id: Int) async {
        await connection.terminate()
        let failure = WorkerFailure(
            type: "HandlerTimeoutError",
            message: "handler run \(id) was still running \(DurationText.format(PythonBackend.killGrace)) past its "
                + "timeout (blocked where Python cannot interrupt it); the process was killed")
        finishAll(.crashed(failure), gone: failure)
    }

    private func exited() async {
        let status = await connection.waitForExit(within: .seconds(2))
        let ended = await connection.terminate()
        await services.log.flush()
        let lastLines = services.log.tail(20).joined(separator: "\n")
        let failure = WorkerFailure(
            type: "WorkerExited", message: "the worker process \(status ?? ended)",
            traceback: lastLines.isEmpty ? nil : lastLines)
        finishAll(.crashed(failure), gone: failure)
    }
}
