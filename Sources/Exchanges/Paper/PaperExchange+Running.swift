import Logging
import ServiceLifecycle

extension PaperExchange {
    /// A fresh random API key (18 characters) and secret (36), as the paper exchange's accounts use.
    public static func generateCredentials() -> (apiKey: String, apiSecret: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        func token(_ length: Int) -> String {
            String((0..<length).map { _ in alphabet[Int.random(in: alphabet.indices, using: &generator)] })
        }
        return (token(18), token(36))
    }

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
