import WorkerHost

/// A compiled-in Swift tick worker: counts its beats in state and logs every one.
///
/// Declare it in botyard.yaml with `swift: Heartbeat`.
public struct Heartbeat: TickWorker {
    public init() {}

    public func setup(_ ctx: WorkerContext) async throws {
        ctx.log.info("Heartbeat started (every \(DurationText.format(ctx.worker.interval)))")
    }

    public func tick(_ ctx: WorkerContext) async throws {
        let beats = try await ctx.state.incr("beats")
        ctx.log.info("beat #\(beats)")
    }

    public func onError(_ ctx: WorkerContext, error: any Error) async throws {
        ctx.log.error("Heartbeat failed: \(error)")
    }
}

/// The example Swift workers, for the host's registry.
public enum ExampleStrategies {
    /// Registers every example under its type name.
    public static func register(into registry: inout TickWorkerRegistry) {
        registry.register("Heartbeat") { Heartbeat() }
        registry.register("PingCounter") { PingCounter.make() }
        registry.register("LatencyProbe") { LatencyProbe.make() }
    }
}
