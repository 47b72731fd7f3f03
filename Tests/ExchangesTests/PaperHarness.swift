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
        _ body: (PaperExchange, BybitClient) async throws -> T
    ) async throws -> T {
        var configuration = PaperExchange.Configuration(accounts: [apiKey: apiSecret])
        configure(&configuration)
        let exchange = PaperExchange(configuration: configuration)
        return try await exchange.withRunning { url in
            var clientConfiguration = BybitConfiguration(network: .custom(url: url), credentials: (apiKey, apiSecret))
            configureClient(&clientConfiguration)
            let client = BybitClient(
                configuration: clientConfiguration, http: AdapterHTTP(client: .shared), wallClock: clock.now)
            return try await body(exchange, client)
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
