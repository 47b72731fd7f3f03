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
    private let file = Mutex<FileHandle?>(nil)

    /// A log for `worker` in `directory`; nothing is written until `open()`.
    /// - Parameter console: where to echo lines, or `nil` for none.
    public init(worker: String, directory: String, console: Console?) {
        self.worker = worker
        self.path = "\(directory)/worker-\(worker).log"
        self.console = console
    }

    /// Starts a new file for a new run, keeping the previous one as `.log.prev`.
    public func open() {
        file.withLock { handle in
            try? handle?.close()  // best effort: the old run's handle
            let manager = FileManager.default
            if manager.fileExists(atPath: path) {
                try? manager.removeItem(atPath: path + ".prev")  // best effort: may not exist
                try? manager.moveItem(atPath: path, toPath: path + ".prev")
            }
            _ = manager.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path)
        }
    }

    /// Writes a `ctx.log` or host line at `level`.
    public func write(level: LogLevel, _ message: String) {
        let stamp = Self.timestamp()
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) {
            append("\(stamp) \(level.label) \(worker) | \(line)\n")
            console?.print(worker: worker, level == .info ? String(line) : "\(level.label.trimmed) \(line)")
        }
    }

    /// Writes one line the worker printed to stdout or stderr.
    public func output(_ line: String) {
        append("\(Self.timestamp()) OUT   \(worker) | \(line)\n")
        console?.print(worker: worker, line)
    }

    /// The last `count` lines of the current file.
    public func tail(_ count: Int) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
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

    private func append(_ text: String) {
        file.withLock { handle in
            // A full disk must not take the host down: the line is lost, the worker runs on.
            try? handle?.write(contentsOf: Data(text.utf8))
        }
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

/// The host's stdout, shared by every worker's log so that lines never interleave.
public final class Console: Sendable {
    private let width: Int
    private let lock = Mutex(())

    /// A console that pads worker names to `width` characters.
    public init(width: Int = 8) {
        self.width = width
    }

    /// Prints `text` prefixed with the worker's name.
    public func print(worker: String, _ text: String) {
        let name = worker.count >= width ? worker : worker + String(repeating: " ", count: width - worker.count)
        lock.withLock { _ in
            Self.write("\(name) | \(text)\n")
        }
    }

    /// Prints a line of the host's own.
    public func print(host text: String) {
        lock.withLock { _ in
            Self.write("\(text)\n")
        }
    }

    /// Writes to stdout; a closed stdout (`botyard run … | head`) loses the echo, never the host.
    private static func write(_ text: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
    }
}
