import Foundation
import Synchronization

/// The host's stdout, shared by every worker's log so that lines never interleave.
///
/// Lines go through a bounded queue to a thread of their own: a stdout nobody reads (a paused terminal, a full
/// pipe) stalls only that thread. Past the bound, lines are dropped and counted, never waited for.
public final class Console: Sendable {
    private struct State {
        var lines: [String] = []
        var bytes = 0
        var dropped = 0
        var writing = false
    }

    private let width: Int
    private let limit: Int
    private let state = Mutex(State())
    private let wake = NSCondition()

    /// A console that pads worker names to `width` characters and queues at most `limitBytes`.
    public init(width: Int = 8, limitBytes: Int = 4 * 1024 * 1024) {
        self.width = width
        self.limit = limitBytes
        let thread = Thread { [self] in writeForever() }
        thread.name = "botyard-console"
        thread.start()
    }

    /// Prints `text` prefixed with the worker's name.
    public func print(worker: String, _ text: String) {
        print(raw: format(worker: worker, text))
    }

    /// A worker's line as the console shows it.
    func format(worker: String, _ text: String) -> String {
        let name = worker.count >= width ? worker : worker + String(repeating: " ", count: width - worker.count)
        return "\(name) | \(text)\n"
    }

    /// Prints a line of the host's own.
    public func print(host text: String) {
        print(raw: "\(text)\n")
    }

    /// Queues a line already formatted; never waits.
    func print(raw text: String) {
        let queued = state.withLock { state -> Bool in
            guard state.bytes + text.utf8.count <= limit else {
                state.dropped += 1
                return false
            }
            state.lines.append(text)
            state.bytes += text.utf8.count
            return true
        }
        guard queued else { return }
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    /// Waits (at most `timeout`) until every queued line is written: before the host exits.
    public func flush(within timeout: Duration = .seconds(2)) async {
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ !$0.lines.isEmpty || $0.writing }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))  // cancelled: exit with what was written
        }
    }

    private func writeForever() {
        while true {
            wake.lock()
            while state.withLock({ $0.lines.isEmpty }) { wake.wait() }
            wake.unlock()
            let (lines, dropped) = state.withLock { state in
                defer {
                    state.lines.removeAll(keepingCapacity: true)
                    state.bytes = 0
                    state.dropped = 0
                    state.writing = true
                }
                return (state.lines, state.dropped)
            }
            var text = lines.joined()
            if dropped > 0 { text += "botyard: \(dropped) console line(s) dropped: stdout was not being read\n" }
            Self.write(text)
            state.withLock { $0.writing = false }
        }
    }

    /// Writes to stdout; a closed stdout (`botyard run … | head`) loses the echo, never the host.
    private static func write(_ text: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
    }
}
