import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A running worker process and the host's two channels to it: the protocol socket and its output pipe.
///
/// Inbound frames land in a mailbox that one task reads with a deadline; the output pipe is written to the
/// worker's log line by line.
final class WorkerConnection: Sendable {
    /// What arrives from the worker.
    enum Inbound: Sendable {
        case frame(ByteBuffer)
        case protocolError(String)
        case closed
    }

    let process: ChildProcess
    private let mailbox: Mailbox<Inbound>
    private let control: any Channel
    private let output: any Channel
    private let exit = Mutex<ExitStatus?>(nil)

    private init(process: ChildProcess, mailbox: Mailbox<Inbound>, control: any Channel, output: any Channel) {
        self.process = process
        self.mailbox = mailbox
        self.control = control
        self.output = output
    }

    /// Starts `executable` and connects to it.
    /// - Throws: `SpawnError`, or a NIO error when a channel cannot be set up (the process is then killed).
    static func start(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        log: WorkerLog, group: any EventLoopGroup
    ) async throws -> WorkerConnection {
        let process = try ChildProcess.spawn(
            executable: executable, arguments: arguments, environment: environment, workingDirectory: workingDirectory)
        let mailbox = Mailbox<Inbound>()
        do {
            let control = try await ClientBootstrap(group: group).withConnectedSocket(process.controlFD) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(FrameHandler(mailbox: mailbox))
                    return channel
                }
            }
            let output = try await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(input: process.outputFD) {
                channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(OutputLineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(OutputHandler(log: log))
                    return channel
                }
            }
            return WorkerConnection(process: process, mailbox: mailbox, control: control, output: output)
        } catch {
            process.signalGroup(SIGKILL)
            _ = process.reapBlocking(within: .seconds(1))
            throw error
        }
    }

    /// Waits for the next inbound event until `deadline`.
    func next(until deadline: ContinuousClock.Instant) async -> Inbound? {
        await mailbox.next(until: deadline)
    }

    /// Sends one frame.
    /// - Throws: when the socket is closed.
    func send(_ frame: JSONValue) async throws {
        var buffer = control.allocator.buffer(capacity: 256)
        buffer.writeString(frame.jsonText())
        buffer.writeInteger(UInt8(ascii: "\n"))
        try await control.writeAndFlush(buffer)
    }

    /// The exit status, once the process has ended and been reaped.
    func exitStatus() -> ExitStatus? {
        exit.withLock { status in
            if status == nil { status = process.reap() }
            return status
        }
    }

    /// Ends the process: SIGTERM to its group, then SIGKILL if it is still there after `grace`.
    /// - Returns: how it ended.
    @discardableResult
    func terminate(grace: Duration = .seconds(5)) async -> ExitStatus {
        if let status = exitStatus() {
            process.signalGroup(SIGKILL)  // stragglers it left in its group
            return await finish(status)
        }
        process.signalGroup(SIGTERM)
        if let status = await waitForExit(within: grace) {
            process.signalGroup(SIGKILL)
            return await finish(status)
        }
        process.signalGroup(SIGKILL)
        return await finish(await waitForExit(within: .seconds(5)) ?? .unknown)
    }

    /// Waits for the process to end by itself.
    /// - Returns: its status, or `nil` if it still runs after `timeout`.
    func waitForExit(within timeout: Duration) async -> ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus() { return status }
            try? await Task.sleep(for: .milliseconds(10))  // cancellation ends the wait early: fine
        }
        return exitStatus()
    }

    /// Waits (briefly) for the output pipe to drain, so the log has the process's last lines.
    func drainOutput() async {
        let deadline = ContinuousClock.now + .seconds(1)
        while output.isActive, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))  // best effort
        }
    }

    private func finish(_ status: ExitStatus) async -> ExitStatus {
        try? await control.close()  // may already be closed by the peer
        await drainOutput()
        return status
    }
}

extension ChildProcess {
    /// Polls for the process's end without an event loop (used only on setup failure).
    func reapBlocking(within timeout: Duration) -> ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reap() { return status }
            usleep(5000)
        }
        return nil
    }
}

/// Forwards decoded frames, protocol errors and the close of the socket to a mailbox.
private final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let mailbox: Mailbox<WorkerConnection.Inbound>
    private var failed = false

    init(mailbox: Mailbox<WorkerConnection.Inbound>) {
        self.mailbox = mailbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        mailbox.post(.frame(unwrapInboundIn(data)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !failed else { return }
        failed = true
        mailbox.post(.protocolError("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        mailbox.post(.closed)
        context.fireChannelInactive()
    }
}

/// Splits a worker's output into lines (a line longer than 64 KiB is cut).
private struct OutputLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            let line = buffer.readString(length: length) ?? ""
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(Self.wrapInboundOut(line))
            return .continue
        }
        if buffer.readableBytes > 65536, let line = buffer.readString(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(line))
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0, let line = buffer.readString(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(line))
        }
        return .needMoreData
    }
}

/// Writes each output line to the worker's log.
private final class OutputHandler: ChannelInboundHandler {
    typealias InboundIn = String
    private let log: WorkerLog

    init(log: WorkerLog) {
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        log.output(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
