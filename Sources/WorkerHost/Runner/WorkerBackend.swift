/// What runs a worker's code: a process speaking the worker protocol, or a compiled-in Swift worker.
///
/// The runner calls `start`, then `tick` one at a time, then `stop`; `stop` may be called while a tick
/// runs, and that tick then ends promptly.
protocol WorkerBackend: Sendable {
    /// Loads the code and runs `setup` (a tick worker) or lists its handlers (an event worker).
    /// - Throws: `StartFailure` when the code cannot load or `setup` fails.
    func start() async throws(StartFailure) -> WorkerShape
    /// Runs one tick; `on_error` has already run when the outcome is a failure.
    func tick(_ request: TickRequest) async -> TickOutcome
    /// Stops: a graceful shutdown, then signals, within a bounded time.
    func stop() async
    /// Ends it at once, without a graceful shutdown (the host is being cancelled).
    func kill() async
    /// Runs one handler of an event worker.
    func invoke(_ invocation: EventEngine.Invocation) async -> HandlerOutcome
    /// Cancels handler runs; each one's `invoke` then returns `.cancelled` promptly.
    func cancel(_ ids: [Int]) async
    /// Waits until a `command:` worker's process exits by itself.
    func watch() async -> HandlerOutcome
}

extension WorkerBackend {
    func invoke(_ invocation: EventEngine.Invocation) async -> HandlerOutcome {
        .crashed(WorkerFailure(type: "ProtocolError", message: "not an event worker"))
    }

    func cancel(_ ids: [Int]) async {}

    func watch() async -> HandlerOutcome { .cancelled }
}

/// How one tick ended.
enum TickOutcome: Sendable, Equatable {
    /// `tick` returned.
    case success
    /// `tick` raised; the worker is still usable.
    case failed(WorkerFailure)
    /// The worker is gone (it crashed, broke the protocol, or was killed when stuck) and must be restarted.
    case crashed(WorkerFailure)
}

/// Why a worker could not start.
struct StartFailure: Error, Sendable {
    enum Phase: String, Sendable {
        case load, setup
    }

    var phase: Phase
    var failure: WorkerFailure
}
