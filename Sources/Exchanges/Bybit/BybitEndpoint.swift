import AdapterKit
import NIOHTTP1

/// One Bybit V5 REST endpoint, named as pybit's `HTTP` session names it.
public struct BybitEndpoint: Sendable, Hashable {
    /// What resending the request after a lost response can do.
    public enum Replay: Sendable, Hashable {
        /// Nothing: a read.
        case safe
        /// Nothing, because the request carries an `orderLinkId` the server deduplicates.
        case idempotentCreate
        /// Something: never resent automatically.
        case unsafe
    }

    /// pybit's method name, e.g. `place_order`.
    public var name: String
    public var method: HTTPMethod
    /// The path after the base URL, e.g. `/v5/order/create`.
    public var path: String
    /// Whether the request is signed.
    public var isPrivate: Bool
    public var replay: Replay
    /// The per-account limit's key in `BybitRateLimits`, if the endpoint has one.
    public var accountLimit: String?

    public static let serverTime = public_("get_server_time", "/v5/market/time")
    public static let tickers = public_("get_tickers", "/v5/market/tickers")
    public static let kline = public_("get_kline", "/v5/market/kline")
    public static let orderbook = public_("get_orderbook", "/v5/market/orderbook")
    public static let instrumentsInfo = public_("get_instruments_info", "/v5/market/instruments-info")
    public static let placeOrder = private_(
        "place_order", .POST, "/v5/order/create", .idempotentCreate, limit: "order/create")
    public static let amendOrder = private_("amend_order", .POST, "/v5/order/amend", .unsafe, limit: "order/amend")
    public static let cancelOrder = private_("cancel_order", .POST, "/v5/order/cancel", .unsafe, limit: "order/cancel")
    public static let cancelAllOrders = private_(
        "cancel_all_orders", .POST, "/v5/order/cancel-all", .unsafe, limit: "order/cancel-all")
    public static let openOrders = private_("get_open_orders", .GET, "/v5/order/realtime", .safe, limit: "order/query")
    public static let positions = private_("get_positions", .GET, "/v5/position/list", .safe, limit: "position/list")
    public static let setLeverage = private_(
        "set_leverage", .POST, "/v5/position/set-leverage", .unsafe, limit: "position/set-leverage")
    public static let walletBalance = private_(
        "get_wallet_balance", .GET, "/v5/account/wallet-balance", .safe, limit: "account/wallet-balance")
    public static let executions = private_("get_executions", .GET, "/v5/execution/list", .safe, limit: "order/query")

    public static func == (lhs: BybitEndpoint, rhs: BybitEndpoint) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// Every endpoint the adapter speaks.
    public static let all: [BybitEndpoint] = [
        serverTime, tickers, kline, orderbook, instrumentsInfo, placeOrder, amendOrder, cancelOrder, cancelAllOrders,
        openOrders, positions, setLeverage, walletBalance, executions,
    ]

    /// The endpoint pybit calls `name`.
    public static func named(_ name: String) -> BybitEndpoint? {
        all.first { $0.name == name }
    }

    private static func public_(_ name: String, _ path: String) -> BybitEndpoint {
        BybitEndpoint(name: name, method: .GET, path: path, isPrivate: false, replay: .safe, accountLimit: nil)
    }

    private static func private_(
        _ name: String, _ method: HTTPMethod, _ path: String, _ replay: Replay, limit: String
    ) -> BybitEndpoint {
        BybitEndpoint(name: name, method: method, path: path, isPrivate: true, replay: replay, accountLimit: limit)
    }
}

/// Bybit's documented limits: 600 requests per 5 s per IP, and per-account limits per endpoint per second.
public enum BybitRateLimits {
    /// The IP-wide limit's key.
    public static let ip = "ip"

    /// The per-account limits (requests per second) by endpoint key; linear/inverse figures, which are the
    /// strictest for trading.
    public static let perSecond: [String: Int] = [
        "order/create": 10, "order/amend": 10, "order/cancel": 10, "order/cancel-all": 10, "order/query": 50,
        "position/list": 50, "position/set-leverage": 10, "account/wallet-balance": 50,
    ]

    /// Bybit counts requests by their arrival in fixed windows; the limiter spaces them by their departure.
    /// A 10 % longer window absorbs the difference in network delay (Hummingbot's throttler keeps a margin
    /// for the same reason); the server's own correction (10006, `X-Bapi-Limit-Status`) covers the rest.
    public static let safetyMargin = 1.1

    /// Every limit, for one block's limiter.
    public static var all: [RateLimit] {
        [RateLimit(id: ip, limit: 600, window: .seconds(5) * safetyMargin)]
            + perSecond.map { RateLimit(id: $0.key, limit: $0.value, window: .seconds(1) * safetyMargin) }
    }

    /// What one request to `endpoint` draws.
    public static func costs(_ endpoint: BybitEndpoint) -> [RateLimitCost] {
        [RateLimitCost(ip)] + (endpoint.accountLimit.map { [RateLimitCost($0)] } ?? [])
    }
}
