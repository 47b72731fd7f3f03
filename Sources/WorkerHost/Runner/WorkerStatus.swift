import AdapterKit
import Foundation

/// A worker as the API and `botyard status` show it.
public struct WorkerStatus: Sendable, Codable, Equatable {
    public var name: String
    public var state: LifecycleState
    /// Why it is in that state.
    public var reason: String
    /// What it runs: a script path, or `swift:Name`.
    public var code: String
    /// The deployed code revision (0 = the manifest's file).
    public var revision: Int
    /// Seconds between ticks.
    public var intervalSeconds: Double
    public var maxErrors: Int
    public var tickTimeoutSeconds: Double
    /// Ticks run since the host started.
    public var ticks: Int
    public var lastTickAt: Date?
    public var lastTickMilliseconds: Double?
    public var consecutiveErrors: Int
    public var totalErrors: Int
    /// Slots missed because a tick overran.
    public var skippedTicks: Int
    /// Times the process was restarted after a crash or a kill.
    public var restarts: Int
    public var lastError: WorkerFailure?
    public var transitions: [LifecycleTransition]
    /// An event worker's handlers: failures, queue, skipped schedule runs, tasks.
    public var events: EventHealth?
    /// The absolute path of its log file.
    public var logPath: String?

    /// The interval as a person writes it.
    public var interval: String {
        Duration.seconds(checked: intervalSeconds, upTo: 366 * 86_400).map(DurationText.format) ?? "?"
    }
}
