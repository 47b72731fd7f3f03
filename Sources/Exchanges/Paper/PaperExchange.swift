import AdapterKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// A Bybit-V5-compatible exchange that trades on paper: the same endpoints, envelope, signature and recv_window
/// checks, rate limits and error codes as Bybit, with prices from a random walk or a CSV of candles.
///
/// Run it as a `Service` (the host does for a `network: paper` block) and point a `BybitClient` at `baseURL()`.
public final class PaperExchange: Service {
    public struct Configuration: Sendable {
        public var hostname = "127.0.0.1"
        /// 0 picks a free port.
        public var port = 0
        /// API keys and their secrets; each key is one account.
        public var accounts: [String: String]
        public var startingBalance = 100_000.0
        public var prices: PriceSource = .randomWalk(seed: 42)
        /// The IP limit: `ipLimit` requests per `ipWindow`, breached → HTTP 403 for `ipBan`.
        public var ipLimit = 600
        public var ipWindow: Duration = .seconds(5)
        public var ipBan: Duration = .seconds(600)
        /// How long a dropped create response is held.
        public var droppedResponseHold: Duration = .seconds(30)
        /// The exchange's own clock: Unix time in milliseconds.
        public var wallClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

        public init(accounts: [String: String]) {
            self.accounts = accounts
        }
    }

    /// Faults to inject into the next responses.
    public let faults = PaperFaults()
    private let configuration: Configuration
    private let logger: Logger
    private let venue: Mutex<PaperVenue>
    private let gate: Mutex<PaperGate>
    private let boundPort = Mutex<Int?>(nil)
    private let refusedForLimit = Atomic<Int>(0)

    public init(configuration: Configuration, logger: Logger = Logger(label: "botyard.paper")) {
        self.configuration = configuration
        self.logger = logger
        let now = configuration.wallClock()
        venue = Mutex(
            PaperVenue(
                source: configuration.prices, startMs: now, apiKeys: configuration.accounts.keys.sorted(),
                startingBalance: configuration.startingBalance))
        gate = Mutex(
            PaperGate(
                accounts: configuration.accounts, ipLimit: configuration.ipLimit,
                ipWindow: configuration.ipWindow.milliseconds, ipBan: configuration.ipBan.milliseconds))
    }

    /// Serves until the service group shuts down.
    public func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        for endpoint in BybitEndpoint.all {
            router.on(RouterPath(endpoint.path), method: endpoint.method == .GET ? .get : .post) { request, _ in
                await self.respond(endpoint, request)
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.hostname, port: configuration.port)),
            onServerRunning: { channel in self.boundPort.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
        try await app.run()  // as a service of the caller's group, which owns the signals
    }

    /// The base URL once the server listens.
    /// - Throws: when it is not listening within `timeout`.
    public func baseURL(timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = boundPort.withLock({ $0 }) { return "http://\(configuration.hostname):\(port)" }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw PriceFeedError(message: "the paper exchange did not start listening within \(timeout)")
    }

    /// How many requests the account limits refused with 10006 (injected faults not counted).
    public var limitRefusals: Int { refusedForLimit.load(ordering: .relaxed) }

    /// Every order the account holds (open, and the last 500 closed), newest first, as V5 order objects.
    public func orders(apiKey: String) -> [JSONValue] {
        venue.withLock { venue in
            guard let ledger = venue.ledgers[apiKey] else { return [] }
            return (ledger.closedOrderIDs + ledger.openOrderIDs).compactMap { id in
                ledger.orders[id].flatMap { order in PaperInstrument(order.symbol).map { order.json($0) } }
            }.reversed()
        }
    }

    // MARK: - One request

    private func respond(_ endpoint: BybitEndpoint, _ request: Request) async -> Response {
        let latency = faults.latency
        if latency > .zero { try? await Task.sleep(for: latency) }
        var payload = request.uri.query ?? ""
        if endpoint.method == .POST {
            guard let body = try? await request.body.collect(upTo: 1 << 20) else {
                return Self.envelope(retCode: 10001, retMsg: "params error: body too large", now: now())
            }
            payload = String(buffer: body)
        }
        let now = now()
        guard gate.withLock({ $0.admitIP(now: now) }) else { return Self.forbidden() }
        switch faults.take(isPrivate: endpoint.isPrivate) {
        case .forbidden: return Self.forbidden()
        case .serverError: return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer()))
        case .rateLimited: return Self.tooManyVisits(now: now)
        case nil: break
        }
        let verdict = gate.withLock { gate in
            gate.check(
                endpoint, headers: { HTTPField.Name($0).flatMap { request.headers[$0] } }, payload: payload, now: now)
        }
        switch verdict {
        case .reject(let retCode, let retMsg): return Self.envelope(retCode: retCode, retMsg: retMsg, now: now)
        case .pass(let account, let limit):
            if let limit, limit.remaining < 0 {
                refusedForLimit.add(1, ordering: .relaxed)
                return Self.tooManyVisits(now: now, limit: limit)
            }
            return await answer(endpoint, payload: payload, account: account, limit: limit, now: now)
        }
    }

    private func answer(
        _ endpoint: BybitEndpoint, payload: String, account: String?, limit: PaperGate.LimitHeaders?, now: Int64
    ) async -> Response {
        let params: [String: JSONValue]
        if endpoint.method == .GET {
            params = Self.query(payload)
        } else if let object = (try? JSONParser.parse(Array((payload.isEmpty ? "{}" : payload).utf8)))?.objectValue {
            params = object
        } else {
            return Self.envelope(retCode: 10001, retMsg: "params error: the body is not a JSON object", now: now)
        }
        let result = venue.withLock { venue in
            Result { () throws(PaperReject) in
                try venue.answer(endpoint, params, account: account, now: now)
            }
        }
        if endpoint == .placeOrder, case .success = result, faults.takeDroppedCreate() {
            logger.debug("paper exchange: holding a create response past the client's timeout")
            try? await Task.sleep(for: configuration.droppedResponseHold)
        }
        switch result {
        case .success(let value): return Self.envelope(retCode: 0, retMsg: "OK", result: value, now: now, limit: limit)
        case .failure(let reject):
            return Self.envelope(retCode: reject.retCode, retMsg: reject.retMsg, now: now, limit: limit)
        }
    }

    private func now() -> Int64 { configuration.wallClock() }

    // MARK: - Wire format

    static func envelope(
        retCode: Int, retMsg: String, result: JSONValue = [:], now: Int64, limit: PaperGate.LimitHeaders? = nil
    ) -> Response {
        let body: JSONValue = [
            "retCode": .number(Double(retCode)), "retMsg": .string(retMsg), "result": result, "retExtInfo": [:],
            "time": .number(Double(now)),
        ]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let limit {
            headers.set("X-Bapi-Limit", String(limit.limit))
            headers.set("X-Bapi-Limit-Status", String(max(0, limit.remaining)))
            headers.set("X-Bapi-Limit-Reset-Timestamp", String(limit.remaining > 0 ? now : limit.resetAt))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.jsonText())))
    }

    private static func tooManyVisits(now: Int64, limit: PaperGate.LimitHeaders? = nil) -> Response {
        let limit = limit ?? PaperGate.LimitHeaders(limit: 10, remaining: 0, resetAt: now + 1000)
        return envelope(retCode: 10006, retMsg: "Too many visits!", now: now, limit: limit)
    }

    private static func forbidden() -> Response {
        Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "access too frequent")))
    }

    /// The parameters of a raw query string.
    static func query(_ text: String) -> [String: JSONValue] {
        var params: [String: JSONValue] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0) }
            guard let first = parts.first, !first.isEmpty else { continue }  // "=x" names nothing
            let name = first.removingPercentEncoding ?? first
            let value = parts.count > 1 ? parts[1].removingPercentEncoding ?? parts[1] : ""
            params[name] = .string(value)
        }
        return params
    }
}

extension HTTPFields {
    fileprivate mutating func set(_ name: String, _ value: String) {
        if let name = HTTPField.Name(name) { self[name] = value }
    }
}
