import Synchronization

/// Runs a compiled-in `TickWorker` inside the host.
final class SwiftBackend: WorkerBackend {
    private let spec: WorkerSpec
    private let make: @Sendable () -> (any TickWorker)?
    private let services: WorkerServices
    private let instance = Mutex<(any TickWorker)?>(nil)
    private let gate: SwiftTickGate

    /// - Parameter gate: shared by every backend of one worker, so that its calls never overlap.
    init(
        spec: WorkerSpec, services: WorkerServices, gate: SwiftTickGate = SwiftTickGate(),
        make: @escaping @Sendable () -> (any TickWorker)?
    ) {
        self.spec = spec
        self.services = services
        self.gate = gate
        self.make = make
    }

    func start() async throws(StartFailure) -> WorkerShape {
        guard let worker = make() else {
            throw StartFailure(
                phase: .load, failure: WorkerFailure(type: "LookupError", message: "no Swift worker named \(spec.name)")
            )
        }
        instance.withLock { $0 = worker }
        let ctx = context(tick: 0, timeout: spec.tickTimeout)
        let result = await gate.run(within: spec.tickTimeout) { try await worker.setup(ctx) }
        if case .failure(let error) = result {
            throw StartFailure(phase: .setup, failure: Self.failure(error))
        }
        return .tick
    }

    func tick(_ request: TickRequest) async -> TickOutcome {
        guard let worker = instance.withLock({ $0 }) else {
            return .crashed(WorkerFailure(type: "WorkerExited", message: "the worker is not running"))
        }
        try? await Task.sleep(until: request.slot, tolerance: .zero, clock: .continuous)  // prepared ahead of its slot
        let ctx = context(tick: request.number, timeout: request.timeout)
        let result = await gate.run(within: request.timeout) { try await worker.tick(ctx) }
        guard case .failure(let error) = result else { return .success }
        guard !(error is PreviousCallRunning) else { return .failed(Self.failure(error)) }
        let handled = await gate.run(within: .seconds(5)) { try await worker.onError(ctx, error: error) }
        if case .failure(let onErrorFailure) = handled {
            services.log.write(level: .error, "onError failed: \(onErrorFailure)")
        }
        return .failed(Self.failure(error))
    }

    func stop() async {
        instance.withLock { $0 = nil }
        gate.cancel()
        if await !gate.waitIdle(within: .seconds(2)) {
            services.log.write(level: .warn, "a tick still runs after stop: it does not honour cancellation")
        }
    }

    func kill() async {
        instance.withLock { $0 = nil }
        gate.cancel()
    }

    private func context(tick: Int, timeout: Duration) -> WorkerContext {
        services.beginTick(tick)
        return WorkerContext(
            worker: .init(name: spec.name, tick: tick, interval: spec.every), services: services,
            deadline: .now + timeout)
    }

    private static func failure(_ error: any Error) -> WorkerFailure {
        if let timeout = error as? TickTimeoutError {
            return WorkerFailure(
                type: "TickTimeoutError", message: "tick did not finish within \(DurationText.format(timeout.timeout))")
        }
        return WorkerFailure(type: String(describing: type(of: error)), message: "\(error)")
    }
}
