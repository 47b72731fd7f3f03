import AdapterKit
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Writes one worker's log lines on a thread of its own, off the event loops and the cooperative pool, through
/// a bounded queue: a stalled disk slows only the worker that logs (its producers wait for room, up to their
/// deadline), never the API or other workers; the console echo never blocks it (see `Console`). Rotates the
/// file by size while running.
final class LogWriter: Sendable {
    /// What the writer thread does next.
    enum Item: Sendable {
        case line(file: String, echo: String?)
        /// Starts a new file, keeping the previous run's as `.prev`.
        case open
    }

    /// Sizes and counts, injectable for tests.
    struct Limits: Sendable {
        /// Queued bytes above which producers wait.
        var queueBytes = 1024 * 1024
        /// The size at which the file is rotated while running.
        var fileBytes: UInt64 = 10 * 1024 * 1024
        /// Rotated files kept beside the current one (`.1` newest).
        var keep = 3
    }

    private struct State {
        var items: [Item] = []
        var bytes = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        /// Waits whose deadline or cancellation came before they began to wait.
        var expired: Set<Int> = []
        /// Lines dropped since the last one written: a producer past its deadline, or host lines over the bound.
        var dropped = 0
        var drained: [@Sendable () -> Void] = []
        /// A batch taken from `items` is being written.
        var writing = false
    }

    private let state = Mutex(State())
    private let wake = NSCondition()
    private let timers: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    private let path: String
    private let console: Console?
    private let limits: Limits

    init(path: String, console: Console?, limits: Limits = Limits()) {
        self.path = path
        self.console = console
        self.limits = limits
        let thread = Thread { [self] in drainForever() }
        thread.name = "botyard-log"
        thread.start()
    }

    /// Whether the queue is over its bound (producers should wait).
    var isFull: Bool { state.withLock { $0.bytes >= limits.queueBytes } }

    /// Queues an item without waiting; past four times the bound, a line is dropped (and counted) instead.
    func enqueue(_ item: Item) {
        let queued = state.withLock { state -> Bool in
            if case .line = item, state.bytes >= 4 * limits.queueBytes {
                state.dropped += 1
                return false
            }
            state.items.append(item)
            state.bytes += item.size
            return true
        }
        if queued { signal() }
    }

    private func signal() {
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    /// Queues an item, first waiting while the queue is full, until `deadline` (then the line is dropped and
    /// counted) or until the task is cancelled.
    /// - Returns: whether the item was queued.
    @discardableResult
    func enqueueWaiting(_ item: Item, until deadline: ContinuousClock.Instant? = nil) async -> Bool {
        while isFull {
            guard !Task.isCancelled, deadline.map({ ContinuousClock.now < $0 }) ?? true else {
                state.withLock { $0.dropped += 1 }
                return false
            }
            await waitForRoom(until: deadline)
        }
        enqueue(item)
        return true
    }

    /// Waits until the writer drains, the deadline passes or the task is cancelled.
    private func waitForRoom(until deadline: ContinuousClock.Instant?) async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = deadline.map { deadline in
            timers.scheduleTask(in: .nanoseconds(ContinuousClock.now.duration(to: deadline).nanoseconds)) {
                self.wakeWaiter(id)
            }
        }
        defer {
            timer?.cancel()
            _ = state.withLock { $0.expired.remove(id) }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    guard state.bytes >= limits.queueBytes, state.expired.remove(id) == nil else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.wakeWaiter(id)
        }
    }

    private func wakeWaiter(_ id: Int) {
        let waiter = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)  // not waiting yet: it must not start
                return nil as CheckedContinuation<Void, Never>?
            }
            return waiter
        }
        waiter?.resume()
    }

    /// Whether everything queued so far is written.
    var isIdle: Bool { state.withLock { $0.items.isEmpty && !$0.writing } }

    /// Calls `action` once the queue has room again (at once if it has).
    func whenRoom(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard state.bytes >= limits.queueBytes else { return true }
            state.drained.append(action)
            return false
        }
        if now { action() }
    }

    private func drainForever() {
        var sink = Sink()
        while true {
            wake.lock()
            while state.withLock({ $0.items.isEmpty }) { wake.wait() }
            wake.unlock()
            let (batch, waiters, drained, dropped) = state.withLock { state in
                defer {
                    state.writing = true
                    state.items.removeAll(keepingCapacity: true)
                    state.bytes = 0
                    state.waiters = [:]
                    state.drained = []
                    state.dropped = 0
                }
                return (state.items, state.waiters.values, state.drained, state.dropped)
            }
            for item in batch { write(item, to: &sink) }
            if dropped > 0 {
                let note =
                    "\(Date().formatted(.iso8601)) WARN  log | \(dropped) line(s) dropped: the log could not keep up\n"
                write(.line(file: note, echo: nil), to: &sink)
            }
            flush(&sink)
            state.withLock { $0.writing = false }
            waiters.forEach { $0.resume() }
            drained.forEach { $0() }
        }
    }

    /// The open file and what is waiting to go into it: a batch is written with one call, not one per line.
    private struct Sink {
        var handle: FileHandle?
        var size: UInt64 = 0
        var pending: [UInt8] = []
        var echo = ""
    }

    private func write(_ item: Item, to sink: inout Sink) {
        switch item {
        case .open:
            flush(&sink)
            try? sink.handle?.close()  // best effort: the old run's handle
            Self.rotate(path, to: [path + ".prev"])
            sink.handle = Self.create(path)
            sink.size = 0
        case .line(let text, let echo):
            let length = UInt64(text.utf8.count)
            if sink.size + UInt64(sink.pending.count) + length > limits.fileBytes, sink.handle != nil {
                flush(&sink)
                try? sink.handle?.close()  // best effort
                Self.rotate(path, to: (1...max(1, limits.keep)).map { "\(path).\($0)" })
                sink.handle = Self.create(path)
                sink.size = 0
            }
            sink.pending.append(contentsOf: text.utf8)
            if let echo { sink.echo += echo }
            if sink.pending.count >= 256 * 1024 { flush(&sink) }
        }
    }

    private func flush(_ sink: inout Sink) {
        if !sink.pending.isEmpty {
            // A full disk must not take the host down: the lines are lost, the worker runs on.
            try? sink.handle?.write(contentsOf: sink.pending)
            sink.size += UInt64(sink.pending.count)
            sink.pending.removeAll(keepingCapacity: true)
        }
        if !sink.echo.isEmpty {
            console?.print(raw: sink.echo)
            sink.echo = ""
        }
    }

    /// Moves `path` to `names[0]`, shifting older ones along and dropping the last.
    private static func rotate(_ path: String, to names: [String]) {
        let manager = FileManager.default
        guard manager.fileExists(atPath: path) else { return }
        try? manager.removeItem(atPath: names[names.count - 1])  // best effort: may not exist
        for index in stride(from: names.count - 1, to: 0, by: -1) {
            try? manager.moveItem(atPath: names[index - 1], toPath: names[index])  // may not exist
        }
        try? manager.moveItem(atPath: path, toPath: names[0])
    }

    private static func create(_ path: String) -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        return FileHandle(forWritingAtPath: path)
    }
}

extension LogWriter.Item {
    fileprivate var size: Int {
        switch self {
        case .line(let file, let echo): file.utf8.count + (echo?.utf8.count ?? 0)
        case .open: 0
        }
    }
}
