import Foundation
import Synchronization

/// Where a worker's lines go: its own file (`<data-dir>/logs/worker-<name>.log`) and, prefixed with its
/// name, the host's stdout.
public final class WorkerLog: Sendable {
    /// The worker's name.
    public let worker: String
    /// The log file's path.
    public let path: String
    private let console: Console?
    private let writer: LogWriter

    /// A log for `worker` in `directory`; nothing is written until `open()`.
    /// - Parameter console: where to echo lines, or `nil` for none.
    public init(worker: String, directory: String, console: Console?) {
        self.worker = worker
        self.path = "\(directory)/worker-\(worker).log"
        self.console = console
        self.writer = LogWriter(path: path, console: console)
    }

    /// Starts a new file for a new run, keeping the previous one as `.log.prev`.
    public func open() {
        writer.enqueue(.open)
    }

    /// Writes a host line (or a Swift worker's `ctx.log`) at `level`, without waiting.
    public func write(level: LogLevel, _ message: String) {
        for item in items(level: level, message) { writer.enqueue(item) }
    }

    /// Writes a worker's `ctx.log` line, waiting while its queue is full: a worker that floods its log is
    /// slowed, nothing else.
    /// Past `deadline` (the tick's), lines are dropped and counted instead, so a stalled disk cannot hold a tick
    /// past its timeout.
    func writeWaiting(level: LogLevel, _ message: String, until deadline: ContinuousClock.Instant? = nil) async {
        for item in items(level: level, message) { await writer.enqueueWaiting(item, until: deadline) }
    }

    private func items(level: LogLevel, _ message: String) -> [LogWriter.Item] {
        let stamp = Self.timestamp()
        return message.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            .line(
                file: "\(stamp) \(level.label) \(worker) | \(line)\n",
                echo: console?.format(worker: worker, level == .info ? String(line) : "\(level.label.trimmed) \(line)"))
        }
    }

    /// Writes one line the worker printed to stdout or stderr.
    /// - Returns: whether the queue is now full (the caller stops reading the worker's output until `whenRoom`).
    @discardableResult
    public func output(_ line: String) -> Bool {
        writer.enqueue(
            .line(file: "\(Self.timestamp()) OUT   \(worker) | \(line)\n", echo: console?.format(worker: worker, line)))
        return writer.isFull
    }

    /// Waits (at most `timeout`) until every line queued so far is in the file, so that `tail` sees them.
    func flush(within timeout: Duration = .seconds(1)) async {
        let deadline = ContinuousClock.now + timeout
        while !writer.isIdle, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))  // cancelled: read what is there
        }
    }

    /// Calls `action` once the queue has room again.
    func whenRoom(_ action: @escaping @Sendable () -> Void) {
        writer.whenRoom(action)
    }

    /// The last `count` lines of the current file, read from its end (at most the last 4 MiB).
    public func tail(_ count: Int) -> [String] {
        guard count > 0, let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }  // best effort: read-only handle
        let end = (try? handle.seekToEnd()) ?? 0
        var start = end
        var data = Data()
        while start > 0, data.count < 4 * 1024 * 1024, data.reduce(0, { $0 + ($1 == 10 ? 1 : 0) }) <= count {
            let step = min(start, 64 * 1024)
            start -= step
            try? handle.seek(toOffset: start)
            data = ((try? handle.read(upToCount: Int(step))) ?? Data()) + data
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        if start > 0, !lines.isEmpty { lines.removeFirst() }  // cut mid-line
        return Array(lines.suffix(count))
    }

    /// The file's bytes from `offset` (at most 1 MiB), and the offset to ask for next.
    public func read(from offset: UInt64) -> (text: String, next: UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ("", offset) }
        defer { try? handle.close() }  // best effort: read-only handle
        let end = (try? handle.seekToEnd()) ?? 0
        let start = offset > end ? 0 : offset  // the file was rotated: start again
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: 1024 * 1024)) ?? Data()
        return (String(decoding: data, as: UTF8.self), start + UInt64(data.count))
    }

    private static func timestamp() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// The levels of `ctx.log`.
public enum LogLevel: String, Sendable, CaseIterable {
    case debug, info, warn, error

    /// The level named `text` (`warning` reads as `warn`), or `nil`.
    public init?(name text: String) {
        switch text.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        default: return nil
        }
    }

    var label: String {
        switch self {
        case .debug: "DEBUG"
        case .info: "INFO "
        case .warn: "WARN "
        case .error: "ERROR"
        }
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespaces) }
}
