import Foundation
import Synchronization
import WorkerHost

/// A compiled-in Swift event worker that measures how late its own one-second schedule runs, and logs the
/// figures every ten runs as `late-ms a,b,c,…` (the benchmark reads these lines).
///
/// Declare it in botyard.yaml with `swift: LatencyProbe`.
public enum LatencyProbe {
    public static func make() -> Worker {
        let samples = Samples()
        var worker = Worker(name: "latency-probe")
        worker.every(.seconds(1), name: "probe") { client in
            guard let slot = client.scheduledAt else { return }
            let batch = samples.add(Date().timeIntervalSince(slot) * 1000)
            if let batch {
                client.log.info("late-ms " + batch.map { String(format: "%.3f", $0) }.joined(separator: ","))
            }
        }
        return worker
    }

    /// Lateness figures waiting to be logged.
    final class Samples: Sendable {
        private let pending = Mutex<[Double]>([])

        /// Adds one figure; returns a batch of ten to log, when there is one.
        func add(_ milliseconds: Double) -> [Double]? {
            pending.withLock { pending in
                pending.append(milliseconds)
                guard pending.count >= 10 else { return nil }
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
        }
    }
}
