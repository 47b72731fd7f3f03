/// Metadata keys for the host's structured logs.
public enum LogKey {
    /// The worker a log line is about.
    public static let workerID = "botyard.worker.id"
    /// The block a log line is about.
    public static let block = "botyard.block"
    /// The tick number a log line is about.
    public static let tick = "botyard.tick"
    /// The lifecycle state of the worker a line is about.
    public static let state = "botyard.worker.state"
    /// Why something happened.
    public static let reason = "botyard.reason"
}
