import Logging
import ServiceLifecycle

extension PaperExchange {
    /// Runs the exchange while `body` runs, then shuts it down gracefully: for tests, benchmarks and tools that
    /// want a venue for a while without a service group of their own.
    /// - Parameter body: gets the exchange's base URL once it listens.
    public func withRunning<T: Sendable>(
        logger: Logger = Logger(label: "botyard.paper"), _ body: (String) async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(services: [self], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(try await baseURL()))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}
