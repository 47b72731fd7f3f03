import AdapterKit
import Foundation

/// The paper exchange's market and accounts, answering V5 requests by endpoint; pure apart from the times it is
/// given, so it is tested without a server or a clock.
struct PaperVenue: Sendable {
    /// The symbols listed when a request names none.
    static let listed = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]

    var feed: PriceFeed
    var ledgers: [String: PaperLedger]
    private var matchedUpTo: [String: Int64] = [:]  // account → Unix second its resting orders were matched to

    init(source: PriceSource, startMs: Int64, apiKeys: [String], startingBalance: Double) {
        feed = PriceFeed(source: source, startSecond: startMs / 1000)
        ledgers = Dictionary(
            uniqueKeysWithValues: apiKeys.enumerated().map { index, key in
                (key, PaperLedger(walletBalance: startingBalance, idSeed: UInt64(startMs) &* 1000 &+ UInt64(index)))
            })
    }

    /// Answers `endpoint` with `params` for `account` (`nil` for public endpoints) at Unix time `now` in ms.
    mutating func answer(
        _ endpoint: BybitEndpoint, _ params: [String: JSONValue], account: String?, now: Int64
    ) throws(PaperReject) -> JSONValue {
        if let account { advance(account, now: now) }
        switch endpoint {
        case .serverTime:
            return ["timeSecond": .string(String(now / 1000)), "timeNano": .string(String(now) + "000000")]
        case .tickers: return try tickers(params, now: now)
        case .kline: return try kline(params, now: now)
        case .orderbook: return try orderbook(params, now: now)
        case .instrumentsInfo:
            try Self.requireLinear(params)
            let symbols = try Self.symbol(params["symbol"]).map { [$0] } ?? Self.listed
            return [
                "category": "linear", "list": .array(symbols.compactMap { PaperInstrument($0)?.json }),
                "nextPageCursor": "",
            ]
        default:
            guard let account, var ledger = ledgers[account] else { throw PaperReject(retCode: 10003, retMsg: "") }
            defer { ledgers[account] = ledger }
            return try trade(endpoint, params, ledger: &ledger, now: now)
        }
    }

    /// The price of `symbol` now.
    mutating func price(_ symbol: String, now: Int64) -> Double {
        feed.price(symbol, at: now / 1000)
    }

    /// Fills the account's resting orders that the prices since its last request reached.
    private mutating func advance(_ account: String, now: Int64) {
        guard var ledger = ledgers[account] else { return }
        let second = now / 1000
        let from = min(matchedUpTo[account] ?? second, second)
        let symbols = Set(ledger.openOrderIDs.compactMap { ledger.orders[$0]?.symbol })
        for symbol in symbols.sorted() {
            let path = feed.prices(symbol, from: from, to: second).prices
            guard let low = path.min(), let high = path.max() else { continue }
            ledger.match(symbol: symbol, low: low, high: high, now: now)
        }
        matchedUpTo[account] = second
        ledgers[account] = ledger
    }

    // MARK: - Market data

    private mutating func tickers(_ params: [String: JSONValue], now: Int64) throws(PaperReject) -> JSONValue {
        try Self.requireLinear(params)
        let symbols = try Self.symbol(params["symbol"]).map { [$0] } ?? Self.listed
        var list: [JSONValue] = []
        for symbol in symbols {
            guard let instrument = PaperInstrument(symbol) else { continue }
            let second = now / 1000
            let day = feed.prices(symbol, from: second - 86_400, to: second).prices
            let last = price(symbol, now: now)
            let open = day.first ?? last
            let hourAgo = feed.price(symbol, at: second - 3600)
            list.append([
                "symbol": .string(symbol), "lastPrice": instrument.price(last), "indexPrice": instrument.price(last),
                "markPrice": instrument.price(last), "prevPrice24h": instrument.price(open),
                "price24hPcnt": .string(PaperInstrument.format(last / open - 1, 6)),
                "highPrice24h": instrument.price(day.max() ?? last), "lowPrice24h": instrument.price(day.min() ?? last),
                "prevPrice1h": instrument.price(hourAgo), "openInterest": "0", "openInterestValue": "0",
                "turnover24h": "0", "volume24h": "0", "fundingRate": "0.0001",
                "nextFundingTime": .string(String((now / 28_800_000 + 1) * 28_800_000)),
                "predictedDeliveryPrice": "", "basisRate": "", "basis": "", "deliveryFeeRate": "", "deliveryTime": "0",
                "bid1Price": instrument.price(last - instrument.tickSize), "bid1Size": "1",
                "ask1Price": instrument.price(last), "ask1Size": "1", "preOpenPrice": "", "preQty": "",
                "curPreListingPhase": "", "fundingIntervalHour": "8", "fundingCap": "0.005", "basisRateYear": "",
            ])
        }
        return ["category": "linear", "list": .array(list)]
    }

    private mutating func kline(_ params: [String: JSONValue], now: Int64) throws(PaperReject) -> JSONValue {
        if params["category"] != nil { try Self.requireLinear(params) }
        let instrument = try Self.instrument(params["symbol"])
        let minutes: Int64 =
            switch params["interval"]?.stringValue ?? "" {
            case "1", "3", "5", "15", "30", "60", "120", "240", "360", "720":
                Int64(params["interval"]?.stringValue ?? "") ?? 1
            case "D": 1440
            case "W": 10_080
            case "M": 43_200
            default: throw PaperReject.params("interval must be one of 1,3,5,15,30,60,120,240,360,720,D,W,M")
            }
        let limit = min(max(Self.int(params["limit"]) ?? 200, 1), 1000)
        let span = minutes * 60
        let endSecond = min(Self.int64(params["end"]).map { $0 / 1000 } ?? now / 1000, now / 1000)
        let startSecond = Self.int64(params["start"]).map { $0 / 1000 } ?? (endSecond / span - Int64(limit) + 1) * span
        var candles: [JSONValue] = []
        var bucket = endSecond / span * span
        while bucket >= startSecond / span * span, candles.count < limit {
            let path = feed.prices(instrument.symbol, from: bucket, to: min(bucket + span - 1, endSecond)).prices
            guard let open = path.first, let close = path.last, let low = path.min(), let high = path.max() else {
                break
            }
            candles.append([
                .string(String(bucket * 1000)), instrument.price(open), instrument.price(high),
                instrument.price(low), instrument.price(close), "0", "0",
            ])
            bucket -= span
        }
        return ["category": "linear", "symbol": .string(instrument.symbol), "list": .array(candles)]
    }

    private mutating func orderbook(_ params: [String: JSONValue], now: Int64) throws(PaperReject) -> JSONValue {
        try Self.requireLinear(params)
        let instrument = try Self.instrument(params["symbol"])
        let depth = min(max(Self.int(params["limit"]) ?? 25, 1), 500)
        let last = price(instrument.symbol, now: now)
        let levels = (0..<depth).map { Double($0) }
        let size = instrument.qty(instrument.qtyStep * 1000)
        return [
            "s": .string(instrument.symbol),
            "b": .array(levels.map { [instrument.price(last - instrument.tickSize * ($0 + 1)), size] }),
            "a": .array(levels.map { [instrument.price(last + instrument.tickSize * $0), size] }),
            "ts": .number(Double(now)), "u": .number(Double(now / 1000)), "seq": .number(Double(now / 1000)),
            "cts": .number(Double(now)),
        ]
    }

    // MARK: - Parameters

    static func requireLinear(_ params: [String: JSONValue]) throws(PaperReject) {
        guard let category = params["category"]?.stringValue else { throw PaperReject.params("category is required") }
        guard category == "linear" else {
            throw PaperReject.params("the paper exchange trades category=linear only, not \(category)")
        }
    }

    static func instrument(_ value: JSONValue?) throws(PaperReject) -> PaperInstrument {
        guard let symbol = value?.stringValue else { throw PaperReject.params("symbol is required") }
        guard let instrument = PaperInstrument(symbol) else {
            throw PaperReject(retCode: 10001, retMsg: "params error: symbol invalid")
        }
        return instrument
    }

    /// The listed symbol `value` names, or `nil` when it names none.
    static func symbol(_ value: JSONValue?) throws(PaperReject) -> String? {
        guard let value else { return nil }
        return try instrument(value).symbol
    }

    static func int(_ value: JSONValue?) -> Int? {
        value?.intValue ?? value?.stringValue.flatMap { Int($0) }
    }

    static func int64(_ value: JSONValue?) -> Int64? {
        int(value).map(Int64.init)
    }

    static func number(_ value: JSONValue?, _ name: String) throws(PaperReject) -> Double? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue, let number = Double(text), number.isFinite else {
            throw PaperReject.params("\(name) must be a number in a string")
        }
        return number
    }
}
