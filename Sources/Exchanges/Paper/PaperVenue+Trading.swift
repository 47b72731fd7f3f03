import AdapterKit

extension PaperVenue {
    /// Answers a private endpoint for one account's ledger.
    mutating func trade(
        _ endpoint: BybitEndpoint, _ params: [String: JSONValue], ledger: inout PaperLedger, now: Int64
    ) throws(PaperReject) -> JSONValue {
        switch endpoint {
        case .placeOrder: return try place(params, &ledger, now: now)
        case .amendOrder:
            let instrument = try Self.instrument(params["symbol"])
            try Self.requireLinear(params)
            let order = try ledger.amend(
                try Self.ref(params), qty: try Self.qty(params, instrument, required: false),
                price: try Self.price(params, instrument), now: now, market: price(instrument.symbol, now: now))
            return ["orderId": .string(order.orderId), "orderLinkId": .string(order.orderLinkId)]
        case .cancelOrder:
            try Self.requireLinear(params)
            _ = try Self.instrument(params["symbol"])
            let order = try ledger.cancel(try Self.ref(params), now: now)
            return ["orderId": .string(order.orderId), "orderLinkId": .string(order.orderLinkId)]
        case .cancelAllOrders:
            try Self.requireLinear(params)
            let symbol = try Self.symbol(params["symbol"])
            guard symbol != nil || params["settleCoin"]?.stringValue == "USDT" || params["baseCoin"] != nil else {
                throw PaperReject.params("symbol, baseCoin or settleCoin is required for linear")
            }
            let cancelled = ledger.cancelAll(symbol: symbol, now: now)
            return [
                "list": .array(
                    cancelled.map { ["orderId": .string($0.orderId), "orderLinkId": .string($0.orderLinkId)] }),
                "success": "1",
            ]
        case .openOrders: return try openOrders(params, ledger)
        case .positions: return try positions(params, ledger, now: now)
        case .setLeverage:
            try Self.requireLinear(params)
            let instrument = try Self.instrument(params["symbol"])
            let buy = try Self.number(params["buyLeverage"], "buyLeverage")
            guard let buy, buy == (try Self.number(params["sellLeverage"], "sellLeverage")),
                let leverage = Int(exactly: buy)
            else {
                throw PaperReject.params("buyLeverage and sellLeverage must be equal whole numbers in one-way mode")
            }
            try ledger.setLeverage(symbol: instrument.symbol, leverage, now: now)
            return [:]
        case .walletBalance: return try wallet(params, ledger, now: now)
        case .executions: return try executions(params, ledger, now: now)
        default: throw PaperReject(retCode: 10017, retMsg: "route not found")
        }
    }

    private mutating func place(
        _ params: [String: JSONValue], _ ledger: inout PaperLedger, now: Int64
    ) throws(PaperReject) -> JSONValue {
        try Self.requireLinear(params)
        let instrument = try Self.instrument(params["symbol"])
        guard let side = params["side"]?.stringValue, ["Buy", "Sell"].contains(side) else {
            throw PaperReject.params("side must be Buy or Sell")
        }
        guard let type = params["orderType"]?.stringValue, ["Market", "Limit"].contains(type) else {
            throw PaperReject.params("orderType must be Market or Limit")
        }
        guard let qty = try Self.qty(params, instrument, required: true) else { throw PaperReject.params("qty") }
        let limitPrice = try Self.price(params, instrument)
        if type == "Limit", limitPrice == nil { throw PaperReject.params("price is required for a Limit order") }
        let link = params["orderLinkId"]?.stringValue ?? ""
        guard link.isEmpty || OrderLinkID.isValid(link) else {
            throw PaperReject.params("orderLinkId is at most 36 letters, digits, - or _")
        }
        let timeInForce = type == "Market" ? "IOC" : params["timeInForce"]?.stringValue ?? "GTC"
        guard ["GTC", "IOC", "FOK", "PostOnly"].contains(timeInForce) else {
            throw PaperReject.params("timeInForce must be GTC, IOC, FOK or PostOnly")
        }
        let order = PaperOrder(
            orderId: "", orderLinkId: link, symbol: instrument.symbol, side: side, orderType: type,
            price: limitPrice ?? 0, qty: qty, timeInForce: timeInForce,
            reduceOnly: params["reduceOnly"]?.boolValue ?? false, createdTime: now, updatedTime: now)
        let placed = try ledger.place(order, price: price(instrument.symbol, now: now), now: now)
        return ["orderId": .string(placed.orderId), "orderLinkId": .string(placed.orderLinkId)]
    }

    private func openOrders(_ params: [String: JSONValue], _ ledger: PaperLedger) throws(PaperReject) -> JSONValue {
        try Self.requireLinear(params)
        let symbol = try Self.symbol(params["symbol"])
        var orders: [PaperOrder]
        if let ref = try? Self.ref(params) {
            orders = ledger.find(ref).map { [$0] } ?? []
        } else {
            guard symbol != nil || params["settleCoin"] != nil || params["baseCoin"] != nil else {
                throw PaperReject.params("symbol, baseCoin or settleCoin is required for linear")
            }
            let closed = Self.int(params["openOnly"]) == 1
            let ids = closed ? ledger.closedOrderIDs : ledger.openOrderIDs
            orders = ids.compactMap { ledger.orders[$0] }
        }
        orders = orders.filter { symbol == nil || $0.symbol == symbol }.reversed()  // newest first
        let limit = min(max(Self.int(params["limit"]) ?? 20, 1), 50)
        let list = orders.prefix(limit).compactMap { order in PaperInstrument(order.symbol).map { order.json($0) } }
        return ["category": "linear", "nextPageCursor": "", "list": .array(list)]
    }

    private mutating func positions(
        _ params: [String: JSONValue], _ ledger: PaperLedger, now: Int64
    ) throws(PaperReject) -> JSONValue {
        try Self.requireLinear(params)
        var symbols: [String]
        if let value = params["symbol"] {
            symbols = [try Self.instrument(value).symbol]
        } else {
            guard params["settleCoin"] != nil || params["baseCoin"] != nil else {
                throw PaperReject.params("symbol or settleCoin is required for linear")
            }
            symbols = ledger.positions.filter { $0.value.size != 0 }.keys.sorted()
        }
        var list: [JSONValue] = []
        for symbol in symbols {
            guard let instrument = PaperInstrument(symbol) else { continue }
            list.append(ledger.position(symbol).json(instrument, mark: price(symbol, now: now)))
        }
        return ["category": "linear", "nextPageCursor": "", "list": .array(list)]
    }

    private mutating func wallet(
        _ params: [String: JSONValue], _ ledger: PaperLedger, now: Int64
    ) throws(PaperReject) -> JSONValue {
        guard params["accountType"]?.stringValue == "UNIFIED" else {
            throw PaperReject.params("accountType must be UNIFIED")
        }
        var marks: [String: Double] = [:]
        for symbol in Set(ledger.positions.keys).union(ledger.openOrderIDs.compactMap { ledger.orders[$0]?.symbol }) {
            marks[symbol] = price(symbol, now: now)
        }
        let pnl = ledger.unrealisedPnl { marks[$0] ?? 0 }
        let margin = ledger.initialMargin { marks[$0] ?? 0 }
        let equity = ledger.walletBalance + pnl
        let available = equity - margin.positions - margin.orders
        let cumRealised = ledger.positions.values.reduce(0) { $0 + $1.cumRealisedPnl }
        let usdt: JSONValue = [
            "coin": "USDT", "equity": PaperInstrument.usdt(equity), "usdValue": PaperInstrument.usdt(equity),
            "walletBalance": PaperInstrument.usdt(ledger.walletBalance), "locked": "0", "borrowAmount": "0",
            "accruedInterest": "0", "totalOrderIM": PaperInstrument.usdt(margin.orders),
            "totalPositionIM": PaperInstrument.usdt(margin.positions), "totalPositionMM": "0",
            "unrealisedPnl": PaperInstrument.usdt(pnl), "cumRealisedPnl": PaperInstrument.usdt(cumRealised),
            "bonus": "0", "marginCollateral": true, "collateralSwitch": true, "spotBorrow": "0",
        ]
        let wanted = params["coin"]?.stringValue.map { $0.split(separator: ",").map(String.init) }
        let coins: [JSONValue] = wanted == nil || wanted?.contains("USDT") == true ? [usdt] : []
        let account: JSONValue = [
            "accountType": "UNIFIED", "totalEquity": PaperInstrument.usdt(equity),
            "totalWalletBalance": PaperInstrument.usdt(ledger.walletBalance),
            "totalMarginBalance": PaperInstrument.usdt(equity),
            "totalAvailableBalance": PaperInstrument.usdt(available),
            "totalPerpUPL": PaperInstrument.usdt(pnl), "totalInitialMargin": PaperInstrument.usdt(margin.positions),
            "totalMaintenanceMargin": "0", "accountIMRate": "0", "accountMMRate": "0", "accountLTV": "0",
            "coin": .array(coins),
        ]
        return ["list": [account]]
    }

    private mutating func executions(
        _ params: [String: JSONValue], _ ledger: PaperLedger, now: Int64
    ) throws(PaperReject) -> JSONValue {
        try Self.requireLinear(params)
        let symbol = try Self.symbol(params["symbol"])
        let orderId = params["orderId"]?.stringValue
        let link = params["orderLinkId"]?.stringValue
        let limit = min(max(Self.int(params["limit"]) ?? 50, 1), 100)
        let matching = ledger.executions.reversed().filter { fill in
            (symbol == nil || fill.symbol == symbol) && (orderId == nil || fill.orderId == orderId)
                && (link == nil || fill.orderLinkId == link)
        }
        var list: [JSONValue] = []
        for fill in matching.prefix(limit) {
            guard let instrument = PaperInstrument(fill.symbol) else { continue }
            list.append(fill.json(instrument, mark: price(fill.symbol, now: now)))
        }
        return ["category": "linear", "nextPageCursor": "", "list": .array(list)]
    }

    // MARK: - Order fields

    static func ref(_ params: [String: JSONValue]) throws(PaperReject) -> PaperLedger.OrderRef {
        if let id = params["orderId"]?.stringValue, !id.isEmpty { return .id(id) }
        if let link = params["orderLinkId"]?.stringValue, !link.isEmpty { return .link(link) }
        throw PaperReject.params("orderId or orderLinkId is required")
    }

    static func qty(
        _ params: [String: JSONValue], _ instrument: PaperInstrument, required: Bool
    ) throws(PaperReject) -> Double? {
        guard let qty = try number(params["qty"], "qty") else {
            if required { throw PaperReject.params("qty is required") }
            return nil
        }
        guard qty >= instrument.qtyStep else {
            throw PaperReject(retCode: 110017, retMsg: "orderQty will be truncated to zero.")
        }
        guard PaperInstrument.onGrid(qty, instrument.qtyStep) else {
            throw PaperReject.params("qty must be a multiple of qtyStep \(instrument.qtyStep)")
        }
        return qty
    }

    static func price(_ params: [String: JSONValue], _ instrument: PaperInstrument) throws(PaperReject) -> Double? {
        guard let price = try number(params["price"], "price") else { return nil }
        guard price > 0, PaperInstrument.onGrid(price, instrument.tickSize) else {
            throw PaperReject(retCode: 10001, retMsg: "params error: price must be a positive multiple of tickSize")
        }
        return price
    }
}
