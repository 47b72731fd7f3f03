/// A tick worker compiled into the host: the Swift counterpart of a Python script's
/// `setup(ctx)` / `tick(ctx)` / `on_error(ctx, error)`.
///
/// Ticks run on the host's cooperative pool: never block, and honour cancellation, which is how a tick past
/// its timeout is stopped.
public protocol TickWorker: Sendable {
    /// Called once when the worker starts.
    func setup(_ ctx: WorkerContext) async throws
    /// Called every interval.
    func tick(_ ctx: WorkerContext) async throws
    /// Called when `tick` throws, with the error.
    func onError(_ ctx: WorkerContext, error: any Error) async throws
}

extension TickWorker {
    public func setup(_ ctx: WorkerContext) async throws {}
    public func onError(_ ctx: WorkerContext, error: any Error) async throws {}
}

/// The Swift workers a manifest can name with `swift:`.
public struct TickWorkerRegistry: Sendable {
    private var factories: [String: @Sendable () -> any TickWorker] = [:]
    private var eventFactories: [String: @Sendable () -> Worker] = [:]

    public init() {}

    /// Registers a worker type under `name`; each start makes a new instance.
    public mutating func register(_ name: String, _ factory: @escaping @Sendable () -> any TickWorker) {
        factories[name] = factory
    }

    /// Registers an event worker under `name`; each start makes a new one (its handlers' captured state is fresh).
    public mutating func register(_ name: String, _ factory: @escaping @Sendable () -> Worker) {
        eventFactories[name] = factory
    }

    /// The registered names.
    public var names: Set<String> { Set(factories.keys).union(eventFactories.keys) }

    func make(_ name: String) -> (any TickWorker)? {
        factories[name]?()
    }

    func makeEvent(_ name: String) -> Worker? {
        eventFactories[name]?()
    }

    func isEventWorker(_ name: String) -> Bool {
        eventFactories[name] != nil
    }
}

/// A tick that ran past its timeout.
public struct TickTimeoutError: Error, Sendable, CustomStringConvertible {
    public var timeout: Duration
    public var description: String { "TickTimeoutError: tick did not finish within \(DurationText.format(timeout))" }
}
