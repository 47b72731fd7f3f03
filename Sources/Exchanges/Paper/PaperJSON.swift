import AdapterKit
import Foundation

/// A linear USDT perpetual's trading rules on the paper exchange.
struct PaperInstrument: Sendable {
    var symbol: String
    var priceDecimals: Int
    var qtyDecimals: Int

    /// Any `…USDT` symbol of letters and digits trades; its precision follows its usual price.
    init?(_ symbol: String) {
        guard symbol.hasSuffix("USDT"), symbol.count > 4, symbol.count <= 20,
            symbol.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) })
        else { return nil }
        self.symbol = symbol
        let price = PriceFeed.startPrice(symbol)
        priceDecimals = price >= 1000 ? 1 : price >= 10 ? 2 : 4
        qtyDecimals = price >= 1000 ? 3 : price >= 10 ? 2 : 0
    }

    var tickSize: Double { pow(10, -Double(priceDecimals)) }
    var qtyStep: Double { pow(10, -Double(qtyDecimals)) }

    func price(_ value: Double) -> JSONValue { .string(Self.format(value, priceDecimals)) }
    func qty(_ value: Double) -> JSONValue { .string(Self.format(value, qtyDecimals)) }

    /// Whether `value` lies on the grid of `step`.
    static func onGrid(_ value: Double, _ step: Double) -> Bool {
        abs((value / step).rounded() * step - value) < step * 1e-6
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// An amount of USDT as Bybit shows it.
    static func usdt(_ value: Double) -> JSONValue { .string(format(value, 8)) }

    var json: JSONValue {
        [
            "symbol": .string(symbol), "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": .string(String(symbol.dropLast(4))), "quoteCoin": "USDT", "settleCoin": "USDT",
            "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
            "priceScale": .string(String(priceDecimals)),
            "leverageFilter": ["minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"],
            "priceFilter": ["minPrice": price(tickSize), "maxPrice": "1999999.8", "tickSize": price(tickSize)],
            "lotSizeFilter": [
                "maxOrderQty": "1190.000", "minOrderQty": qty(qtyStep), "qtyStep": qty(qtyStep),
                "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "500.000", "minNotionalValue": "5",
            ],
            "unifiedMarginTrade": true, "fundingInterval": 480, "copyTrading": "both", "symbolType": "",
        ]
    }
}

extension PaperOrder {
    func json(_ instrument: PaperInstrument) -> JSONValue {
        let avgPrice = cumExecQty > 0 ? instrument.price(cumExecValue / cumExecQty) : ""
        return [
            "orderId": .string(orderId), "orderLinkId": .string(orderLinkId), "blockTradeId": "",
            "symbol": .string(symbol), "price": orderType == "Limit" ? instrument.price(price) : "0",
            "qty": instrument.qty(qty), "side": .string(side), "isLeverage": "", "positionIdx": 0,
            "orderStatus": .string(status), "cancelType": status == "Cancelled" ? "CancelByUser" : "UNKNOWN",
            "rejectReason": "EC_NoError", "avgPrice": avgPrice, "leavesQty": instrument.qty(leavesQty),
            "leavesValue": PaperInstrument.usdt(leavesQty * price), "cumExecQty": instrument.qty(cumExecQty),
            "cumExecValue": PaperInstrument.usdt(cumExecValue), "cumExecFee": PaperInstrument.usdt(cumExecFee),
            "timeInForce": .string(timeInForce), "orderType": .string(orderType), "stopOrderType": "",
            "orderIv": "", "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0", "tpTriggerBy": "",
            "slTriggerBy": "", "triggerDirection": 0, "triggerBy": "", "lastPriceOnCreated": "",
            "reduceOnly": .bool(reduceOnly), "closeOnTrigger": false, "smpType": "None", "smpGroup": 0,
            "smpOrderId": "", "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "placeType": "",
            "createdTime": .string(String(createdTime)), "updatedTime": .string(String(updatedTime)),
        ]
    }
}

extension PaperPosition {
    func json(_ instrument: PaperInstrument, mark: Double) -> JSONValue {
        let value = abs(size) * avgPrice
        return [
            "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": .string(instrument.symbol),
            "side": .string(size > 0 ? "Buy" : size < 0 ? "Sell" : ""), "size": instrument.qty(abs(size)),
            "avgPrice": instrument.price(avgPrice), "positionValue": PaperInstrument.usdt(value),
            "tradeMode": 0, "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": size == 0 ? 0 : 2,
            "leverage": .string(String(leverage)), "positionBalance": PaperInstrument.usdt(value / Double(leverage)),
            "markPrice": instrument.price(mark), "liqPrice": "", "bustPrice": "",
            "positionMM": PaperInstrument.usdt(value * 0.005),
            "positionIM": PaperInstrument.usdt(value / Double(leverage)), "tpslMode": "Full",
            "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
            "unrealisedPnl": PaperInstrument.usdt(size * (mark - avgPrice)),
            "curRealisedPnl": PaperInstrument.usdt(curRealisedPnl),
            "cumRealisedPnl": PaperInstrument.usdt(cumRealisedPnl), "breakEvenPrice": instrument.price(avgPrice),
            "seq": 1, "isReduceOnly": false, "createdTime": .string(String(createdTime)),
            "updatedTime": .string(String(updatedTime)),
        ]
    }
}

extension PaperExecution {
    func json(_ instrument: PaperInstrument, mark: Double) -> JSONValue {
        [
            "symbol": .string(symbol), "orderId": .string(orderId), "orderLinkId": .string(orderLinkId),
            "side": .string(side), "orderPrice": orderType == "Limit" ? instrument.price(orderPrice) : "0",
            "orderQty": instrument.qty(orderQty), "leavesQty": instrument.qty(leavesQty),
            "orderType": .string(orderType),
            "stopOrderType": "", "execFee": PaperInstrument.usdt(fee), "execId": .string(execId),
            "execPrice": instrument.price(price), "execQty": instrument.qty(qty), "execType": "Trade",
            "execValue": PaperInstrument.usdt(qty * price), "execTime": .string(String(time)), "feeCurrency": "USDT",
            "isMaker": .bool(isMaker), "feeRate": .string(String(feeRate)), "markPrice": instrument.price(mark),
            "closedSize": instrument.qty(closedSize), "seq": 1, "extraFees": "",
        ]
    }
}
