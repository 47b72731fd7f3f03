import AdapterKit
import Foundation

/// How the CLI prints workers.
public enum StatusFormat {
    /// One line per worker, in columns.
    public static func table(_ workers: [WorkerStatus]) -> String {
        var rows = [["NAME", "STATE", "EVERY", "TICKS", "ERRORS", "LAST TICK", "REASON"]]
        for worker in workers {
            rows.append([
                worker.name, worker.state.rawValue, worker.interval, "\(worker.ticks)",
                "\(worker.consecutiveErrors)/\(worker.maxErrors)",
                worker.lastTickAt.map { "\(Int(-$0.timeIntervalSinceNow))s ago" } ?? "-", worker.reason,
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    /// Everything about one worker.
    public static func detail(_ worker: WorkerStatus) -> String {
        var lines = [
            "\(worker.name): \(worker.state.rawValue) — \(worker.reason)",
            "  code:        \(worker.code)\(worker.revision > 0 ? " (deployed revision \(worker.revision))" : "")",
            "  every:       \(worker.interval)   tick timeout: \(Duration.seconds(checked: worker.tickTimeoutSeconds, upTo: 366 * 86_400).map(DurationText.format) ?? "?")",
            "  ticks:       \(worker.ticks)   skipped: \(worker.skippedTicks)   restarts: \(worker.restarts)",
            "  errors:      \(worker.consecutiveErrors) in a row (stops at \(worker.maxErrors)), \(worker.totalErrors) in all",
        ]
        if let error = worker.lastError {
            lines.append("  last error:  \(error)")
            if let traceback = error.traceback {
                lines += traceback.split(separator: "\n").map { "    \($0)" }
            }
        }
        if let events = worker.events { lines += eventLines(events) }
        lines.append("  transitions:")
        for transition in worker.transitions.suffix(10) {
            let time = transition.at.formatted(date: .omitted, time: .standard)
            lines.append("    \(time)  \(transition.from.rawValue) → \(transition.to.rawValue): \(transition.reason)")
        }
        return lines.joined(separator: "\n")
    }

    /// An event worker's handlers: failures, queue, skipped runs, and each task's crashes and next restart.
    static func eventLines(_ events: EventHealth) -> [String] {
        var lines = [
            "  handlers:    \(events.failures) failed   queued: \(events.queued)   dropped: \(events.overflowed)   "
                + "skipped runs: \(events.skippedRuns)"
        ]
        if let failure = events.lastFailure { lines.append("  last failure: \(failure)") }
        for task in events.tasks {
            var line = "  task \(task.name): \(task.running ? "running" : "waiting")   crashes: \(task.crashes)"
            if let next = task.nextRestartAt {
                line += "   restarts at \(next.formatted(date: .omitted, time: .standard))"
            }
            if task.exhausted { line += "   (exhausted)" }
            lines.append(line)
        }
        if let failure = events.shutdownError { lines.append("  on_shutdown failed: \(failure)") }
        return lines
    }
}
