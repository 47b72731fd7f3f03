import AdapterKit
import AsyncHTTPClient
import Exchanges
import Foundation
import Synchronization

/// A paper exchange on loopback and a `BybitClient` of it, for one test.
enum PaperHarness {
    static let apiKey = "PAPERKEY0123456789"
    static let apiSecret = "PAPERSECRETabcdefghijklmnopqrstuvwxyz01"

    /// A clock in Unix milliseconds that a test can skew.
    final class SkewableClock: Sendable {
        let skew = Atomic<Int64>(0)
        func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) + skew.load(ordering: .relaxed) }
    }

    /// Runs `body` with a listening exchange and a client; stops the exchange afterwards.
    static func run<T: Sendable>(
        exchange configure: (inout PaperExchange.Configuration) -> Void = { _ in },
        client configureClient: (inout BybitConfiguration) -> Void = { _ in },
        clock: SkewableClock = SkewableClock(),
        _ body: @escaping @Sendable (PaperExchange, BybitClient) async throws -> T
    ) async throws -> T {
        var configuration = PaperExchange.Configuration(accounts: [apiKey: apiSecret])
        configure(&configuration)
        let exchange = PaperExchange(configuration: configuration)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await exchange.run()
                return nil
            }
            var clientConfiguration = BybitConfiguration(
                network: .custom(url: try await exchange.baseURL()), credentials: (apiKey, apiSecret))
            configureClient(&clientConfiguration)
            let client = BybitClient(
                configuration: clientConfiguration, http: AdapterHTTP(client: .shared), wallClock: clock.now)
            group.addTask { try await body(exchange, client) }
            while let finished = try await group.next() {
                guard let result = finished else { continue }
                group.cancelAll()
                return result
            }
            throw CancellationError()
        }
    }

    static var deadline: ContinuousClock.Instant { .now + .seconds(20) }
}

extension BybitClient {
    /// `call` with the harness's deadline, returning the envelope's `result`.
    func result(_ endpoint: BybitEndpoint, _ args: [String: JSONValue] = [:]) async throws -> JSONValue {
        try await call(endpoint, args, deadline: PaperHarness.deadline)["result"] ?? .null
    }
}
