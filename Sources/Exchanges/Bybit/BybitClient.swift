import AdapterKit
import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// A Bybit V5 REST client: signs requests, keeps within the account's rate limits, syncs with the server's clock,
/// retries what is safe to retry, and never places an order twice.
///
/// One client per block: every worker connected to the block shares it, and so shares its rate limiter.
public final class BybitClient: Sendable {
    public let configuration: BybitConfiguration
    private let http: AdapterHTTP
    private let signer: BybitSigner?
    private let limiter: RateLimiter<ContinuousClock>
    private let redactor: Redactor
    private let retry: RetryPolicy
    private let wallClock: @Sendable () -> Int64
    private let logger: Logger
    private let clockState = Mutex(ClockState())
    private let initialSync = Mutex<Task<Void, any Error>?>(nil)
    private let sequence = Atomic<Int>(0)
    private let startedAt: Int64

    private struct ClockState {
        var offset: Int64 = 0  // server time minus local time, in milliseconds
        var synced = false
    }

    /// - Parameters:
    ///   - wallClock: local Unix time in milliseconds (injected so tests can skew it).
    ///   - limiter: the block's limiter; by default one with Bybit's documented limits.
    public init(
        configuration: BybitConfiguration, http: AdapterHTTP, limiter: RateLimiter<ContinuousClock>? = nil,
        retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "botyard.bybit"),
        wallClock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.configuration = configuration
        self.http = http
        self.signer = configuration.credentials.map { BybitSigner(apiKey: $0.apiKey, apiSecret: $0.apiSecret) }
        self.limiter = limiter ?? RateLimiter(limits: BybitRateLimits.all)
        self.redactor = Redactor(
            secrets: [configuration.credentials?.apiKey, configuration.credentials?.apiSecret].compactMap { $0 })
        self.retry = retry
        self.logger = logger
        self.wallClock = wallClock
        self.startedAt = wallClock()
    }

    /// The server's clock minus ours, in milliseconds, as last measured.
    public var clockOffset: Int64 { clockState.withLock { $0.offset } }

    /// Calls `endpoint` with pybit-style arguments and returns the whole response envelope
    /// (`retCode`, `retMsg`, `result`, `retExtInfo`, `time`), as pybit returns it.
    ///
    /// `place_order` always carries an `orderLinkId` (one is derived when `args` has none); a lost response is
    /// retried with the same id, and a duplicate answer (110072) is resolved by looking the order up, so the
    /// caller gets exactly one order.
    /// - Throws: `BybitError` for a non-zero retCode, an HTTP error, a rate-limit wait past `deadline`, or no response.
    public func call(
        _ endpoint: BybitEndpoint, _ args: [String: JSONValue] = [:], deadline: ContinuousClock.Instant
    ) async throws(BybitError) -> JSONValue {
        var args = BybitParameters.normalized(args)
        if endpoint == .placeOrder, args["orderLinkId"]?.stringValue?.isEmpty ?? true {
            args["orderLinkId"] = .string(nextOrderLinkID())
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await send(endpoint, args, deadline: deadline)
            } catch {
                if error.code == .duplicateOrder, endpoint == .placeOrder {
                    return try await existingOrder(args, deadline: deadline, duplicate: error)
                }
                try await prepareRetry(after: error, endpoint: endpoint, attempt: attempt, deadline: deadline)
            }
        }
    }

    /// Measures the server's clock against ours from `/v5/market/time`.
    public func syncTime(deadline: ContinuousClock.Instant) async throws(BybitError) {
        let before = wallClock()
        let envelope = try await send(.serverTime, [:], deadline: deadline)
        let after = wallClock()
        guard let nanos = envelope["result"]?["timeNano"]?.stringValue.flatMap({ Int64($0) }) else {
            throw BybitError(code: .http, retMsg: "server time missing from /v5/market/time")
        }
        let offset = nanos / 1_000_000 - (before + after) / 2
        guard abs(offset) < 86_400_000 else {
            throw BybitError(code: .http, retMsg: "the server's clock is more than a day from ours (\(offset) ms)")
        }
        clockState.withLock { $0 = ClockState(offset: offset, synced: true) }
    }

    /// Syncs the clock once for every caller that needs it first (concurrent first calls share one request).
    private func firstSync(deadline: ContinuousClock.Instant) async throws(BybitError) {
        let task = initialSync.withLock { current in
            if let current { return current }
            let task = Task { try await self.syncTime(deadline: deadline) }
            current = task
            return task
        }
        do {
            try await task.value
        } catch {
            initialSync.withLock { $0 = nil }  // the next call tries again
            throw error as? BybitError ?? BybitError(code: .transport, retMsg: "clock sync failed: \(error)")
        }
    }

    /// A fresh orderLinkId for an order whose caller gave none.
    public func nextOrderLinkID() -> String {
        let number = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        return OrderLinkID.derive(
            worker: configuration.orderLinkPrefix, hostStart: startedAt, tick: 0, sequence: number)
    }

    // MARK: - One request

    private func send(
        _ endpoint: BybitEndpoint, _ args: [String: JSONValue], deadline: ContinuousClock.Instant
    ) async throws(BybitError) -> JSONValue {
        if endpoint.isPrivate, !clockState.withLock({ $0.synced }) {
            try await firstSync(deadline: deadline)
        }
        do {
            try await limiter.acquire(BybitRateLimits.costs(endpoint), deadline: deadline)
        } catch {
            throw BybitError(code: .rateLimited, retMsg: "\(endpoint.name): \(error.message)")
        }
        let request = try request(endpoint, args)
        let requestDeadline = min(deadline, .now + configuration.requestTimeout)
        let response: AdapterHTTP.Response
        do {
            response = try await http.send(request, deadline: requestDeadline)
        } catch {
            throw BybitError(code: .transport, retMsg: redactor.redact(error.description))
        }
        noteLimitHeaders(response.headers, endpoint: endpoint)
        return try envelope(of: response, endpoint: endpoint)
    }

    /// The request `call` sends for already-normalized `args`: URL, signed headers and body bytes.
    /// - Throws: `BybitError` for a private endpoint on a client without credentials.
    public func request(_ endpoint: BybitEndpoint, _ args: [String: JSONValue]) throws(BybitError)
        -> AdapterHTTP.Request
    {
        let payload = endpoint.method == .GET ? BybitParameters.query(args) : JSONValue.object(args).jsonText()
        var url = configuration.network.baseURL + endpoint.path
        if endpoint.method == .GET, !payload.isEmpty { url += "?" + payload }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if endpoint.isPrivate {
            guard let signer else {
                throw BybitError(code: .rejected, retMsg: "\(endpoint.name) needs api_key and api_secret on the block")
            }
            let timestamp = wallClock() + clockOffset
            headers =
                signer.headers(timestamp: timestamp, recvWindow: configuration.recvWindow, payload: payload)
                + [("Accept", "application/json")]
        }
        return AdapterHTTP.Request(
            method: endpoint.method, url: url, headers: headers,
            body: endpoint.method == .GET ? nil : Array(payload.utf8))
    }

    private func envelope(of response: AdapterHTTP.Response, endpoint: BybitEndpoint) throws(BybitError) -> JSONValue {
        let parsed = try? JSONParser.parse(response.body)
        let retCode = parsed?["retCode"]?.intValue ?? parsed?["ret_code"]?.intValue
        let retMsg = (parsed?["retMsg"] ?? parsed?["ret_msg"])?.stringValue.map(redactor.redact)
        if var error = BybitError.classify(httpStatus: response.status, retCode: retCode, retMsg: retMsg) {
            error.retryAfter = response.headers["retry-after"].flatMap { Int($0) }.map {
                .seconds(max(0, min($0, 600)))
            }
            if error.code == .rateLimited {
                drain(endpoint, headers: response.headers, fallback: error.retryAfter ?? .seconds(2))
            }
            if error.code == .ipBanned { drain(nil, headers: [:], fallback: .seconds(600)) }
            throw error
        }
        guard let parsed, parsed.objectValue != nil, retCode != nil else {
            throw BybitError(
                code: .http, retMsg: "\(endpoint.path) answered HTTP 200 without a V5 envelope", httpStatus: 200)
        }
        return parsed
    }

    // MARK: - Rate-limit correction

    /// Blocks the endpoint's limit until the reset the server reports once its allowance is used up.
    private func noteLimitHeaders(_ headers: [String: String], endpoint: BybitEndpoint) {
        guard headers["x-bapi-limit-status"].flatMap({ Int($0) }) == 0 else { return }
        drain(endpoint, headers: headers, fallback: .seconds(1))
    }

    /// Blocks the endpoint's limit (or, for `nil`, the IP limit) until the reset header's time, or for `fallback`.
    private func drain(_ endpoint: BybitEndpoint?, headers: [String: String], fallback: Duration) {
        var wait = fallback
        if let reset = headers["x-bapi-limit-reset-timestamp"].flatMap({ Int64($0) }) {
            let serverNow = wallClock() + clockOffset
            let (remaining, overflow) = reset.subtractingReportingOverflow(serverNow)
            wait = .milliseconds(overflow ? (reset < 0 ? 0 : 60_000) : max(0, min(remaining, 60_000)))
        }
        let limitID = endpoint.flatMap(\.accountLimit) ?? BybitRateLimits.ip
        limiter.block(limitID, until: .now + wait)
        logger.warning("bybit rate limit reached", metadata: ["limit": "\(limitID)", "wait": "\(wait)"])
    }

    // MARK: - Retries

    private func prepareRetry(
        after error: BybitError, endpoint: BybitEndpoint, attempt: Int, deadline: ContinuousClock.Instant
    ) async throws(BybitError) {
        guard attempt < retry.maxAttempts else { throw error }
        switch error.code {
        case .clockSkew:
            // The server did not act on the request; measure its clock again and resend.
            try await syncTime(deadline: deadline)
        case .rateLimited:
            // Not acted on either; the limiter now holds the next attempt until the reset.
            guard error.httpStatus != nil else { throw error }
        case .ipBanned, .duplicateOrder:
            throw error
        case .rejected where !error.isRetryable:
            throw error
        default:
            guard error.isRetryable || error.code == .http && (error.httpStatus ?? 0) >= 500,
                endpoint.replay != .unsafe,
                let delay = retry.delay(
                    afterAttempt: attempt, retryAfter: error.retryAfter, jitter: Double.random(in: 0...1)),
                .now + delay < deadline
            else { throw error }
            logger.info("bybit retry", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
            try? await Task.sleep(for: delay)
        }
    }

    /// Answers a duplicate create with the order already placed under that orderLinkId.
    private func existingOrder(
        _ args: [String: JSONValue], deadline: ContinuousClock.Instant, duplicate: BybitError
    ) async throws(BybitError) -> JSONValue {
        var lookup: [String: JSONValue] = [
            "category": args["category"] ?? "linear", "orderLinkId": args["orderLinkId"] ?? "",
        ]
        var found = try await send(.openOrders, lookup, deadline: deadline)
        if found["result"]?["list"]?.arrayValue?.isEmpty ?? true {
            lookup["openOnly"] = "1"  // already filled or cancelled
            found = try await send(.openOrders, lookup, deadline: deadline)
        }
        guard let order = found["result"]?["list"]?.arrayValue?.first else { throw duplicate }
        return [
            "retCode": 0, "retMsg": "OK",
            "result": ["orderId": order["orderId"] ?? "", "orderLinkId": order["orderLinkId"] ?? ""],
            "retExtInfo": [:], "time": found["time"] ?? .null,
        ]
    }
}
