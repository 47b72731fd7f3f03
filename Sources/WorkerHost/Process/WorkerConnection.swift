import AdapterKit
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
        /// The deadline of the wait numbered so passed (see `withDeadline`).
        case deadline(Int)
    }

    let process: ChildProcess
    private let mailbox: Mailbox<Inbound>
    private let gate: ReadGate
    private let control: any Channel
    private let output: any Channel
    private let exit = Mutex<ExitStatus?>(nil)

    private let children: ChildRegistry
    private let underBubblewrap: Bool

    private init(
        process: ChildProcess, mailbox: Mailbox<Inbound>, gate: ReadGate, control: any Channel, output: any Channel,
        children: ChildRegistry, underBubblewrap: Bool
    ) {
        self.children = children
        self.underBubblewrap = underBubblewrap
        self.process = process
        self.mailbox = mailbox
        self.gate = gate
        self.control = control
        self.output = output
    }

    /// Starts `executable` and connects to it.
    /// - Throws: `SpawnError`, or a NIO error when a channel cannot be set up (the process is then killed).
    static func start(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        underBubblewrap: Bool = false, log: WorkerLog, group: any EventLoopGroup, children: ChildRegistry,
        answer: @escaping FrameHandler.Answer
    ) async throws -> WorkerConnection {
        // Spawned from a long-lived pool thread: a sandbox's parent-death signal follows the spawning thread,
        // and a cooperative-pool thread may end while the worker runs.
        let process = try await NIOThreadPool.singleton.runIfActive {
            try ChildProcess.spawn(
                executable: executable, arguments: arguments, environment: environment,
                workingDirectory: workingDirectory)
        }
        children.insert(process.pid)
        let mailbox = Mailbox<Inbound>()
        let gate = ReadGate()
        do {
            let control = try await ClientBootstrap(group: group).withConnectedSocket(process.controlFD) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        FrameHandler(mailbox: mailbox, gate: gate, answer: answer))
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
            return WorkerConnection(
                process: process, mailbox: mailbox, gate: gate, control: control, output: output, children: children,
                underBubblewrap: underBubblewrap)
        } catch {
            process.signalGroup(SIGKILL)
            for _ in 0..<100 where process.reap() == nil { await group.next().pause() }
            children.remove(process.pid)
            throw error
        }
    }

    /// Runs `body` with one timer for `deadline`: when it passes, `.deadline(id)` arrives in the mailbox.
    ///
    /// One timer for a whole exchange (a tick and all its calls) keeps each call's wait to a plain resume.
    func withDeadline<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ body: (_ id: Int) async -> T
    ) async -> T {
        let id = deadlines.withLock { count in
            count += 1
            return count
        }
        let timer = control.eventLoop.scheduleTask(
            in: .nanoseconds(ContinuousClock.now.duration(to: deadline).nanoseconds)
        ) {
            [mailbox] in mailbox.post(.deadline(id))
        }
        defer { timer.cancel() }
        return await body(id)
    }

    /// The next inbound event, waiting without a timer of its own (see `withDeadline`).
    func next() async -> Inbound {
        let event = await mailbox.next(until: nil) ?? .closed
        if case .frame(let buffer) = event { gate.taken(buffer.readableBytes) }
        if gate.belowLowWater(frames: mailbox.depth), gate.reopen(), !gate.writesBlocked {
            control.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }  // closed: nothing to read
        }
        return event
    }

    private let deadlines = Mutex(0)

    /// Waits while the socket to the worker takes no more writes (a worker that does not read its answers).
    /// - Returns: whether it is writable before `deadline`.
    func waitWritable(until deadline: ContinuousClock.Instant) async -> Bool {
        while !control.isWritable, control.isActive {
            guard ContinuousClock.now < deadline else { return false }
            await control.eventLoop.pause()
        }
        return true
    }

    /// Sends one frame. Writes are queued in order on the channel; a failed write shows up as `.closed`.
    func send(_ frame: JSONValue) {
        control.writeAndFlush(Self.encode(frame, allocator: control.allocator), promise: nil)
    }

    /// Sends the frame `make` builds at `instant`, timed by the event loop (precise, and no task hop between
    /// the timer and the write); at once if `instant` has passed.
    func send(at instant: ContinuousClock.Instant, _ make: @escaping @Sendable () -> JSONValue) {
        let delay = ContinuousClock.now.duration(to: instant)
        guard delay > .zero else { return send(make()) }
        control.eventLoop.scheduleTask(in: .nanoseconds(delay.nanoseconds)) { [control] in
            control.writeAndFlush(Self.encode(make(), allocator: control.allocator), promise: nil)
        }
    }

    /// A frame as the bytes on the wire: compact JSON and a newline.
    static func encode(_ frame: JSONValue, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeString(frame.jsonText())
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }

    /// The exit status, once the process has ended and been reaped.
    func exitStatus() -> ExitStatus? {
        exit.withLock { status in
            if status == nil { status = process.reap() }
            return status
        }
    }

    /// Ends the process: SIGTERM to its group, then SIGKILL if it is still there after `grace` (at once when
    /// the task is cancelled).
    /// - Returns: how it ended.
    @discardableResult
    func terminate(grace: Duration = .seconds(5)) async -> ExitStatus {
        let grace = Task.isCancelled ? .zero : grace
        if let status = exitStatus() {
            process.signalGroup(SIGKILL)  // stragglers it left in its group
            return await finish(status)
        }
        if underBubblewrap, grace > .zero {
            process.signalDescendants(SIGTERM)  // the worker inside; bubblewrap itself ends when it does
        } else {
            process.signalGroup(SIGTERM)
        }
        if let status = await waitForExit(within: grace) {
            process.signalGroup(SIGKILL)
            return await finish(status)
        }
        process.signalGroup(SIGKILL)
        return await finish(await waitForExit(within: .seconds(5)) ?? .unknown)
    }

    /// Waits for the process to end by itself, polling every 10 ms on an event-loop timer that cancellation does
    /// not cut short: a cancelled caller still waits out `timeout`, and never spins.
    /// - Returns: its status, or `nil` if it still runs after `timeout`.
    func waitForExit(within timeout: Duration) async -> ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus() { return status }
            await control.eventLoop.pause()
        }
        return exitStatus()
    }

    /// Waits (briefly) for the output pipe to drain, so the log has the process's last lines.
    func drainOutput() async {
        let deadline = ContinuousClock.now + (Task.isCancelled ? .milliseconds(100) : .seconds(1))
        while output.isActive, ContinuousClock.now < deadline { await control.eventLoop.pause() }
    }

    private func finish(_ status: ExitStatus) async -> ExitStatus {
        if status != .unknown { children.remove(process.pid) }  // reaped: its pid may be reused
        try? await control.close()  // may already be closed by the peer
        await drainOutput()
        return status
    }
}

/// Forwards decoded frames, protocol errors and the close of the socket to a mailbox; a frame that can be
/// answered at once (a cached `state.get`) is answered on the event loop, saving two thread hops.
final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    /// Answers a frame at once, or returns `nil` to pass it to the mailbox. Runs on the event loop: no I/O.
    typealias Answer = @Sendable (ByteBuffer, ByteBufferAllocator) -> ByteBuffer?

    private let mailbox: Mailbox<WorkerConnection.Inbound>
    private let gate: ReadGate
    private let answer: Answer
    private var failed = false

    init(mailbox: Mailbox<WorkerConnection.Inbound>, gate: ReadGate, answer: @escaping Answer) {
        self.mailbox = mailbox
        self.gate = gate
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        // While the worker leaves answers unread, frames already read wait in the mailbox instead of being
        // answered here: the exchange then waits for the socket, bounded by the tick's deadline.
        if !gate.writesBlocked, context.channel.isWritable, let reply = answer(frame, context.channel.allocator) {
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            if !context.channel.isWritable {  // the worker is not reading its answers: read no more questions
                gate.writesBlocked = true
                try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)  // closed: fine
            }
        } else {
            gate.queued(frame.readableBytes)
            mailbox.post(.frame(frame))
            if gate.aboveHighWater(frames: mailbox.depth), gate.close() {
                // Fails only on a closed channel, which reads nothing anyway.
                try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, gate.writesBlocked {
            gate.writesBlocked = false
            if !gate.isClosed { try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true) }
        }
        context.fireChannelWritabilityChanged()
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
        guard log.output(unwrapInboundIn(data)) else { return }
        // The log's queue is full: stop reading until it drains, so the worker blocks in its own write.
        let channel = context.channel
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)  // closed: nothing to read
        log.whenRoom { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Backpressure for a worker that sends frames faster than the host handles them: reading stops above
/// `highWater` queued frames or `highWaterBytes` queued bytes (the worker then blocks in its own write) and
/// resumes below `lowWater` frames and `lowWaterBytes`.
final class ReadGate: Sendable {
    static let highWater = 1000
    static let lowWater = 100
    static let highWaterBytes = 8 * 1024 * 1024
    static let lowWaterBytes = 1024 * 1024
    private let closed = Mutex(false)
    private let bytes = Atomic<Int>(0)
    private let blocked = Atomic<Bool>(false)

    /// Whether reading is paused because the worker does not read the host's answers.
    var writesBlocked: Bool {
        get { blocked.load(ordering: .relaxed) }
        set { blocked.store(newValue, ordering: .relaxed) }
    }

    /// Whether reading is paused because too many frames are queued.
    var isClosed: Bool { closed.withLock { $0 } }

    /// Counts a frame put in the mailbox.
    func queued(_ count: Int) {
        bytes.add(count, ordering: .relaxed)
    }

    /// Counts a frame taken from the mailbox.
    func taken(_ count: Int) {
        bytes.subtract(count, ordering: .relaxed)
    }

    /// The bytes of frames queued and not yet taken.
    var queuedBytes: Int { bytes.load(ordering: .relaxed) }

    func aboveHighWater(frames: Int) -> Bool {
        frames > Self.highWater || queuedBytes > Self.highWaterBytes
    }

    func belowLowWater(frames: Int) -> Bool {
        frames < Self.lowWater && queuedBytes < Self.lowWaterBytes
    }

    /// Marks reading as stopped. - Returns: whether it was open.
    func close() -> Bool {
        closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
    }

    /// Marks reading as resumed. - Returns: whether it was stopped.
    func reopen() -> Bool {
        closed.withLock { closed in
            defer { closed = false }
            return closed
        }
    }
}
