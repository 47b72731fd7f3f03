import AdapterKit
import Exchanges
import Foundation
import Logging
import Synchronization

/// A `type: bybit` block at run time: one `BybitClient` shared by every worker connected to the block, and so
/// one rate limiter for the account; for a paper block, also the paper exchange it trades on.
final class BybitBlock: Sendable {
    let name: String
    /// The paper exchange, run by the host's service group, when the block is `network: paper`.
    let paper: PaperExchange?
    private let settings: BybitBlockSettings
    private let http: AdapterHTTP
    private let logger: Logger
    private let paperCredentials: (apiKey: String, apiSecret: String)?
    private let cached = Mutex<BybitClient?>(nil)

    init(name: String, settings: BybitBlockSettings, http: AdapterHTTP, logger: Logger) {
        self.name = name
        self.settings = settings
        self.http = http
        self.logger = logger
        if case .paper(let prices) = settings.venue {
            let credentials = PaperExchange.generateCredentials()
            var configuration = PaperExchange.Configuration(accounts: [credentials.apiKey: credentials.apiSecret])
            configuration.prices = prices
            paperCredentials = credentials
            paper = PaperExchange(configuration: configuration, logger: logger)
        } else {
            paperCredentials = nil
            paper = nil
        }
    }

    /// The block's client, made on first use (a paper block's once its exchange listens).
    /// - Throws: `CallError` when the paper exchange is not listening before `deadline`.
    func client(deadline: ContinuousClock.Instant) async throws(CallError) -> BybitClient {
        if let client = cached.withLock({ $0 }) { return client }
        var configuration: BybitConfiguration
        if let paper {
            let url: String
            do {
                url = try await paper.baseURL(timeout: min(.seconds(10), deadline - .now))
            } catch {
                throw CallError(.connection, "block '\(name)': the paper exchange is not listening")
            }
            configuration = BybitConfiguration(network: .custom(url: url), credentials: paperCredentials)
        } else {
            let network: BybitNetwork = if case .bybit(let network) = settings.venue { network } else { .testnet }
            let credentials = settings.apiKey.flatMap { key in settings.apiSecret.map { (key, $0) } }
            configuration = BybitConfiguration(network: network, credentials: credentials)
        }
        configuration.recvWindow = settings.recvWindow
        let client = BybitClient(configuration: configuration, http: http, logger: logger)
        return cached.withLock { existing in
            if let existing { return existing }
            existing = client
            return client
        }
    }

    /// Calls a pybit-named method and returns the response envelope.
    /// - Throws: `CallError` of kind `bybitError` (with `ret_code` and `ret_msg`), `timeout` or `connection`.
    func call(_ method: String, args: [String: JSONValue], deadline: ContinuousClock.Instant) async throws(CallError)
        -> JSONValue
    {
        guard let endpoint = BybitEndpoint.named(method) else {
            let known = BybitEndpoint.all.map(\.name).joined(separator: ", ")
            throw CallError(.unknownCall, "ctx.bybit has no method '\(method)'; it has \(known)")
        }
        let client = try await client(deadline: deadline)
        do {
            return try await client.call(endpoint, args, deadline: deadline)
        } catch {
            throw Self.callError(error, method: method)
        }
    }

    static func callError(_ error: BybitError, method: String) -> CallError {
        if error.code == .transport {
            return CallError(.connection, "bybit.\(method): \(error.retMsg)")
        }
        var failure = CallError(.bybitError, "bybit.\(method): \(error)")
        failure.details = ["ret_code": .number(Double(error.retCode)), "ret_msg": .string(error.retMsg)]
        if let status = error.httpStatus { failure.details["http_status"] = .number(Double(status)) }
        return failure
    }
}
