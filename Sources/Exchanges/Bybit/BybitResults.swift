import AdapterKit

/// Typed views of V5 results for Swift callers; Python workers get the raw `result` object instead.
/// Bybit sends numbers as strings; each view parses the fields a strategy uses and keeps the raw object.
public protocol BybitResult: Sendable {
    /// Parses one element of a result's `list` (or the result itself); `nil` when a required field is missing.
    init?(json: JSONValue)
}

extension BybitResult {
    /// The elements of `result.list` that parse.
    public static func list(_ envelope: JSONValue) -> [Self] {
        envelope["result"]?["list"]?.arrayValue?.compactMap(Self.init(json:)) ?? []
    }
}

extension JSONValue {
    /// A Bybit number field (sent as a string, sometimes as a number).
    fileprivate func number(_ key: String) -> Double? {
        self[key]?.stringValue.flatMap(Double.init) ?? self[key]?.numberValue
    }
}

/// One `get_tickers` entry.
public struct BybitTicker: BybitResult {
    public var symbol: String
    public var lastPrice: Double
    public var bid: Double?
    public var ask: Double?
    public var raw: JSONValue

    public init?(json: JSONValue) {
        guard let symbol = json["symbol"]?.stringValue, let last = json.number("lastPrice") else { return nil }
        self.symbol = symbol
        self.lastPrice = last
        self.bid = json.number("bid1Price")
        self.ask = json.number("ask1Price")
        self.raw = json
    }
}

/// One `get_kline` candle: `[start, open, high, low, close, volume, turnover]`.
public struct BybitCandle: BybitResult {
    /// The candle's start, in Unix milliseconds.
    public var start: Int64
    public var open, high, low, close, volume: Double

    public init?(json: JSONValue) {
        guard let raw = json.arrayValue, raw.count >= 6, let start = raw[0].stringValue.flatMap({ Int64($0) }) else {
            return nil
        }
        let fields = raw[1...5].compactMap { $0.stringValue.flatMap(Double.init) }.filter(\.isFinite)
        guard fields.count == 5 else { return nil }
        self.start = start
        (open, high, low, close, volume) = (fields[0], fields[1], fields[2], fields[3], fields[4])
    }
}

/// What `place_order`, `amend_order` and `cancel_order` answer.
public struct BybitOrderAck: BybitResult {
    public var orderId: String
    public var orderLinkId: String

    public init?(json: JSONValue) {
        guard let id = json["orderId"]?.stringValue else { return nil }
        orderId = id
        orderLinkId = json["orderLinkId"]?.stringValue ?? ""
    }

    /// The acknowledgement in an envelope's `result`.
    public init?(envelope: JSONValue) {
        guard let result = envelope["result"] else { return nil }
        self.init(json: result)
    }
}

/// One `get_open_orders` entry.
public struct BybitOrder: BybitResult {
    public var orderId: String
    public var orderLinkId: String
    public var symbol: String
    public var side: String
    public var orderType: String
    public var status: String
    public var price: Double
    public var qty: Double
    public var filledQty: Double
    public var raw: JSONValue

    public init?(json: JSONValue) {
        guard let id = json["orderId"]?.stringValue, let symbol = json["symbol"]?.stringValue else { return nil }
        orderId = id
        orderLinkId = json["orderLinkId"]?.stringValue ?? ""
        self.symbol = symbol
        side = json["side"]?.stringValue ?? ""
        orderType = json["orderType"]?.stringValue ?? ""
        status = json["orderStatus"]?.stringValue ?? ""
        price = json.number("price") ?? 0
        qty = json.number("qty") ?? 0
        filledQty = json.number("cumExecQty") ?? 0
        raw = json
    }
}

/// One `get_positions` entry; `size` is signed here (negative when short), unlike Bybit's.
public struct BybitPosition: BybitResult {
    public var symbol: String
    public var size: Double
    public var avgPrice: Double
    public var unrealisedPnl: Double
    public var leverage: Double
    public var raw: JSONValue

    public init?(json: JSONValue) {
        guard let symbol = json["symbol"]?.stringValue, let size = json.number("size") else { return nil }
        self.symbol = symbol
        self.size = json["side"]?.stringValue == "Sell" ? -size : size
        avgPrice = json.number("avgPrice") ?? 0
        unrealisedPnl = json.number("unrealisedPnl") ?? 0
        leverage = json.number("leverage") ?? 0
        raw = json
    }
}

/// One `get_wallet_balance` account.
public struct BybitWallet: BybitResult {
    public var accountType: String
    public var totalEquity: Double
    public var availableBalance: Double
    public var raw: JSONValue

    public init?(json: JSONValue) {
        guard let type = json["accountType"]?.stringValue, let equity = json.number("totalEquity") else { return nil }
        accountType = type
        totalEquity = equity
        availableBalance = json.number("totalAvailableBalance") ?? 0
        raw = json
    }
}

/// One `get_executions` fill.
public struct BybitExecution: BybitResult {
    public var execId: String
    public var orderId: String
    public var symbol: String
    public var side: String
    public var price: Double
    public var qty: Double
    public var fee: Double
    public var isMaker: Bool
    public var time: Int64

    public init?(json: JSONValue) {
        guard let id = json["execId"]?.stringValue, let price = json.number("execPrice") else { return nil }
        execId = id
        orderId = json["orderId"]?.stringValue ?? ""
        symbol = json["symbol"]?.stringValue ?? ""
        side = json["side"]?.stringValue ?? ""
        self.price = price
        qty = json.number("execQty") ?? 0
        fee = json.number("execFee") ?? 0
        isMaker = json["isMaker"]?.boolValue ?? false
        time = json["execTime"]?.stringValue.flatMap { Int64($0) } ?? 0
    }
}
