import Foundation

/// What a worker runs.
public enum WorkerCode: Sendable, Equatable {
    /// A Python script with `tick(ctx)`, run in its own process.
    case python(script: String)
    /// A `TickWorker` or event `Worker` compiled into the host, registered under this name.
    case swift(name: String)
    /// Any executable, with its arguments (`command:` and `args:`, `${BOTYARD_ROOT}` already substituted).
    case command(executable: String, arguments: [String])

    /// The executable of `command: python` (or `python3`): the host's own interpreter, the one `code:` workers run
    /// on, so that a standalone Python worker gets the same Python and the same sandbox view of it.
    public static let hostPython = "python"
}

/// One worker as the manifest declares it: code plus policy.
public struct WorkerSpec: Sendable, Equatable {
    /// The worker's name: letters, digits, `-` and `_`.
    public var name: String
    /// What it runs.
    public var code: WorkerCode
    /// Time between ticks.
    public var every: Duration = TickInterval.default
    /// Consecutive failed ticks that stop it.
    public var maxErrors = 5
    /// How long one tick may run.
    public var tickTimeout: Duration = .seconds(60)
    /// Extra environment variables for its process.
    public var environment: [String: String] = [:]
    /// The folder its process starts in (the manifest's folder).
    public var workingDirectory: String
    /// The blocks it uses (`connect:`), by name; the first of each type is its `ctx.<type>`.
    public var connect: [String] = []
    /// How its process is confined (`sandbox:`).
    public var sandbox = SandboxPolicy()
    /// The flags that must all be on for it to run (`when:`).
    public var when: [String] = []
    /// Why it does not run (a `when:` flag is off), or `nil` when it may.
    public var gatedOff: String?
    /// Every declared flag and whether it is on: its process gets `BOTYARD_FLAG__<FLAG>=1|0`.
    public var flags: [String: Bool] = [:]
    /// How an event worker's `@task` handlers restart (`tasks:`).
    public var taskBackoff = TaskBackoff.Policy()
    /// The workers this one may restart (`may_restart:`), through its token or `client.restart_worker`.
    public var mayRestart: [String] = []

    public init(name: String, code: WorkerCode, workingDirectory: String) {
        self.name = name
        self.code = code
        self.workingDirectory = workingDirectory
    }

    /// Whether `name` is usable as a worker name.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }
            && name.unicodeScalars.allSatisfy(\.isASCII)
    }
}

/// A parsed `botyard.yaml`.
public struct Manifest: Sendable, Equatable {
    /// The file it came from, if any.
    public var path: String?
    /// The workers, in the order the file lists them.
    public var workers: [WorkerSpec]
    /// The blocks, in the order the file lists them.
    public var blocks: [BlockSpec]
    /// The declared flags and whether each is on (its default, or `--flag`).
    public var flags: [String: Bool] = [:]
    /// How the runtime API's event streams replay and queue (`events:`).
    public var events = EventStreamSettings()

    public init(path: String?, workers: [WorkerSpec], blocks: [BlockSpec] = []) {
        self.path = path
        self.workers = workers
        self.blocks = blocks
    }
}

/// A problem with a manifest, naming the file, the line, the worker and the field.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var worker: String?
    public var block: String?
    public var field: String?
    public var message: String

    public init(
        file: String, line: Int? = nil, worker: String? = nil, block: String? = nil, field: String? = nil,
        message: String
    ) {
        self.file = file
        self.line = line
        self.worker = worker
        self.block = block
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ":"
        let owner = worker.map { " worker '\($0)'" } ?? block.map { " block '\($0)'" }
        if let owner { text += owner }
        if let field { text += (owner == nil ? " field '\(field)'" : ", field '\(field)'") }
        return text + (owner == nil && field == nil ? " " : ": ") + message
    }
}

extension WorkerSpec {
    /// The limits of its event engine: the handler timeout and the task restart policy.
    var engineLimits: EventEngine.Limits {
        var limits = EventEngine.Limits()
        limits.handlerTimeout = tickTimeout
        limits.tasks = taskBackoff
        return limits
    }
}

/// The runtime API's event streams (`events:` in the manifest): how many recent events, and how old, a client
/// that reconnects with `since=` can get back, and how far a client may fall behind before it is disconnected.
public struct EventStreamSettings: Sendable, Equatable {
    /// `replay:`: at most this many events kept for replay.
    public var replay = 10_000
    /// `replay_age:`: none older than this.
    public var replayAge = Duration.seconds(600)
    /// `subscriber_queue:`: a client with more than this many events waiting to be sent is disconnected.
    public var subscriberQueue = 1000
    /// `write_timeout:`: a client that takes longer than this to take one write is disconnected.
    public var writeTimeout = Duration.seconds(30)

    public init() {}
}
