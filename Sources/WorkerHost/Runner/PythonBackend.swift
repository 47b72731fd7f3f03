import AdapterKit
import Foundation
import NIOCore
import Synchronization

/// Runs a worker as a Python process (or any executable speaking the worker protocol) on fd 3.
final class PythonBackend: WorkerBackend {
    /// How a worker process is started.
    struct Launch: Sendable {
        var executable: String
        var arguments: [String]
        var environment: [String: String]
        /// The folder the process starts in.
        var workingDirectory: String
        /// Whether `executable` is bubblewrap: SIGTERM then goes to the processes inside, not to it.
        var underBubblewrap = false
    }

    /// Extra time past `tick_timeout` before the host decides the process is stuck and kills it: room for
    /// `on_error` (5 s in the Python runner) after a timed-out tick.
    static let killGrace = Duration.seconds(6)
    /// The bytes that mark a frame the event loop may answer from the cache.
    static let stateGet = Array("\"state.get\"".utf8)

    /// How long a process may take to load its code.
    static let loadTimeout = Duration.seconds(30)

    private let spec: WorkerSpec
    private let launch: Launch
    private let services: WorkerServices
    private let group: any EventLoopGroup
    private let children: ChildRegistry
    private let slot = ProcessSlot()
    /// Set once an event worker has loaded.
    private let session = Mutex<PythonEventSession?>(nil)

    init(
        spec: WorkerSpec, launch: Launch, services: WorkerServices, group: any EventLoopGroup,
        children: ChildRegistry
    ) {
        self.spec = spec
        self.launch = launch
        self.services = services
        self.group = group
        self.children = children
    }

    func start() async throws(StartFailure) -> WorkerShape {
        let connection = try await slot.spawn(
            launch, log: services.log, group: group, children: children,
            answer: { [services] frame, allocator in
                // Only a `state.get` can be answered here: other frames are not decoded twice.
                guard frame.readableBytesView.contains(subsequence: Self.stateGet),
                    case .call(let id, let method, let params)? = try? WorkerFrame.decode(frame.readableBytesView),
                    let value = services.answerImmediately(method: method, params: params)
                else { return nil }
                return WorkerConnection.encode(HostFrame.result(id: id, .success(value)), allocator: allocator)
            })
        guard let handlers = try await load(connection) else {
            try await setup(connection)
            return .tick
        }
        let events = PythonEventSession(connection: connection, services: services, callTimeout: spec.tickTimeout)
        session.withLock { $0 = events }
        events.start()
        return .event(handlers)
    }

    func invoke(_ invocation: EventEngine.Invocation) async -> HandlerOutcome {
        guard let events = session.withLock({ $0 }) else {
            return .crashed(WorkerFailure(type: "WorkerExited", message: "the worker process is not running"))
        }
        return await events.invoke(invocation)
    }

    func cancel(_ ids: [Int]) async {
        session.withLock { $0 }?.cancel(ids)
    }

    /// Loads the code.
    /// - Returns: an event worker's handlers, or `nil` for a tick worker.
    private func load(_ connection: WorkerConnection) async throws(StartFailure) -> HandlerSet? {
        let script: String? = if case .python(let path) = spec.code { path } else { nil }
        let initFrame = HostFrame.initialize(
            worker: spec.name, script: script, interval: spec.every, tickTimeout: spec.tickTimeout,
            blocks: services.blockList)
        let reply = await exchange(connection, send: initFrame, within: Self.loadTimeout)
        switch reply {
        case .frame(.ready(let version, _)) where version == WorkerProtocol.version:
            return nil
        case .frame(.eventReady(let version, let worker, let handlers)) where version == WorkerProtocol.version:
            do throws(HandlerSet.Refusal) { return try HandlerSet.decode(worker: worker, handlers: handlers) } catch {
                await connection.terminate()
                throw StartFailure(phase: .load, failure: WorkerFailure(type: "HandlerError", message: error.message))
            }
        case .frame(.ready(let version, _)), .frame(.eventReady(let version, _, _)):
            await connection.terminate()
            throw StartFailure(
                phase: .load,
                failure: WorkerFailure(
                    type: "ProtocolError",
                    message: "worker speaks protocol v\(version); the host speaks v\(WorkerProtocol.version)"))
        case .frame(.fatal(let failure)):
            await connection.terminate()
            throw StartFailure(phase: .load, failure: failure)
        default:
            throw StartFailure(phase: .load, failure: await failure(of: reply, connection, doing: "loading its code"))
        }
    }

    private func setup(_ connection: WorkerConnection) async throws(StartFailure) {
        services.beginTick(0)
        let reply = await exchange(
            connection, send: HostFrame.setup(timeout: spec.tickTimeout), within: spec.tickTimeout + Self.killGrace)
        switch reply {
        case .frame(.setupDone(nil)):
            return
        case .frame(.setupDone(.some(let failure))):
            await connection.terminate()
            throw StartFailure(phase: .setup, failure: failure)
        default:
            throw StartFailure(phase: .setup, failure: await failure(of: reply, connection, doing: "setup"))
        }
    }

    func tick(_ request: TickRequest) async -> TickOutcome {
        guard let connection = slot.connection else {
            return .crashed(WorkerFailure(type: "WorkerExited", message: "the worker process is not running"))
        }
        services.beginTick(request.number)
        let reply = await exchange(
            connection, at: request.slot, send: { HostFrame.tick(request) }, within: request.timeout + Self.killGrace)
        switch reply {
        case .frame(.tickDone(let n, let failure)) where n == request.number:
            return failure.map(TickOutcome.failed) ?? .success
        case .timedOut:
            let stuck = WorkerFailure(
                type: "TickTimeoutError",
                message: "tick \(request.number) was still running \(DurationText.format(Self.killGrace)) after its "
                    + "\(DurationText.format(request.timeout)) timeout (blocked where Python cannot interrupt it); "
                    + "the process was killed and will be restarted")
            await connection.terminate()
            return .crashed(stuck)
        default:
            return .crashed(await failure(of: reply, connection, doing: "tick \(request.number)"))
        }
    }

    func stop() async {
        let connection = slot.stop()
        await session.withLock { $0 }?.close()
        guard let connection else { return }
        connection.send(HostFrame.shutdown)  // it may already be gone: a failed write is harmless here
        if !Task.isCancelled, await connection.waitForExit(within: .seconds(2)) == nil {
            services.log.write(level: .warn, "did not exit within 2s of the shutdown frame; sending SIGTERM")
        }
        await connection.terminate()
    }

    func kill() async {
        let connection = slot.stop()
        await session.withLock { $0 }?.close()
        await connection?.terminate(grace: .zero)
    }

    /// What the host waited for, as it turned out.
    private enum Reply {
        case frame(WorkerFrame)
        case closed
        case timedOut
        case broken(String)
    }

    /// Sends `frame` and serves the worker's ctx calls and log lines until it answers, closes, breaks the
    /// protocol, or `timeout` passes.
    private func exchange(_ connection: WorkerConnection, send frame: JSONValue, within timeout: Duration) async
        -> Reply
    {
        await exchange(connection, at: .now, send: { frame }, within: timeout)
    }

    /// As `exchange(_:send:within:)`, with the frame built and sent at `instant` (the timeout counts from then).
    private func exchange(
        _ connection: WorkerConnection, at instant: ContinuousClock.Instant,
        send frame: @escaping @Sendable () -> JSONValue,
        within timeout: Duration
    ) async -> Reply {
        let deadline = max(ContinuousClock.now, instant) + timeout
        return await connection.withDeadline(deadline) { timer in
            connection.send(at: instant, frame)
            while true {
                switch await connection.next() {
                case .closed: return .closed
                case .protocolError(let message): return .broken(message)
                case .deadline(let id): if id == timer { return .timedOut }
                case .frame(let buffer):
                    let decoded: WorkerFrame
                    do throws(FrameError) { decoded = try WorkerFrame.decode(buffer.readableBytesView) } catch {
                        return .broken(error.message)
                    }
                    if let reply = await serve(decoded, connection, deadline: deadline) { return reply }
                }
            }
        }
    }

    /// Answers a call or writes a log line; any other frame is the reply the caller waits for.
    private func serve(_ frame: WorkerFrame, _ connection: WorkerConnection, deadline: ContinuousClock.Instant) async
        -> Reply?
    {
        switch frame {
        case .call(let id, let method, let params):
            guard await connection.waitWritable(until: deadline) else {
                return .broken("it does not read the answers to its calls")
            }
            let result = await services.handle(method: method, params: params, deadline: deadline)
            connection.send(HostFrame.result(id: id, result))
            return nil
        case .log(let level, let message):
            await services.log.writeWaiting(level: LogLevel(name: level) ?? .info, message, until: deadline)
            return nil
        default:
            return .frame(frame)
        }
    }

    /// Turns an unexpected reply into a failure, ending the process and collecting its last output.
    private func failure(of reply: Reply, _ connection: WorkerConnection, doing activity: String) async -> WorkerFailure
    {
        switch reply {
        case .broken(let message):
            await connection.terminate()
            return WorkerFailure(
                type: "ProtocolError", message: "bad frame from the worker during \(activity): \(message)")
        case .frame(let frame):
            await connection.terminate()
            return WorkerFailure(type: "ProtocolError", message: "unexpected frame during \(activity): \(frame)")
        case .timedOut:
            await connection.terminate()
            return WorkerFailure(type: "TimeoutError", message: "no answer during \(activity); the process was killed")
        case .closed:
            let status = await connection.waitForExit(within: .seconds(2))
            let ended = await connection.terminate()
            await services.log.flush()
            let lastLines = services.log.tail(20).joined(separator: "\n")
            return WorkerFailure(
                type: "WorkerExited", message: "the worker process \(status ?? ended) during \(activity)",
                traceback: lastLines.isEmpty ? nil : lastLines)
        }
    }
}

extension Collection where Element == UInt8 {
    /// Whether `pattern` occurs in these bytes.
    fileprivate func contains(subsequence pattern: [UInt8]) -> Bool {
        guard let first = pattern.first, count >= pattern.count else { return false }
        var index = startIndex
        while let found = self[index...].firstIndex(of: first) {
            if self[found...].starts(with: pattern) { return true }
            index = self.index(after: found)
        }
        return false
    }
}
