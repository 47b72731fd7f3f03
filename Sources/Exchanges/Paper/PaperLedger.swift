import AdapterKit
import Foundation

/// A business rejection, answered as HTTP 200 with this retCode, as Bybit does.
struct PaperReject: Error, Sendable {
    var retCode: Int
    var retMsg: String

    static func params(_ detail: String) -> PaperReject {
        PaperReject(retCode: 10001, retMsg: "params error: \(detail)")
    }
}

/// One order on the paper exchange.
struct PaperOrder: Sendable {
    var orderId: String
    var orderLinkId: String
    var symbol: String
    var side: String  // Buy or Sell
    var orderType: String  // Market or Limit
    var price: Double  // 0 for market orders
    var qty: Double
    var timeInForce: String
    var reduceOnly: Bool
    var status = "New"
    var cumExecQty = 0.0
    var cumExecValue = 0.0
    var cumExecFee = 0.0
    var createdTime: Int64
    var updatedTime: Int64

    var sign: Double { side == "Buy" ? 1 : -1 }
    var leavesQty: Double { status == "New" || status == "PartiallyFilled" ? qty - cumExecQty : 0 }
    var isOpen: Bool { status == "New" || status == "PartiallyFilled" }
}

/// A linear position in one-way mode.
struct PaperPosition: Sendable {
    var size = 0.0  // signed: positive long, negative short
    var avgPrice = 0.0
    var leverage = 10
    var curRealisedPnl = 0.0
    var cumRealisedPnl = 0.0
    var createdTime: Int64 = 0
    var updatedTime: Int64 = 0
}

/// One fill.
struct PaperExecution: Sendable {
    var execId: String
    var orderId: String
    var orderLinkId: String
    var symbol: String
    var side: String
    var orderType: String
    var orderPrice: Double
    var orderQty: Double
    var leavesQty: Double
    var price: Double
    var qty: Double
    var fee: Double
    var feeRate: Double
    var isMaker: Bool
    var closedSize: Double
    var time: Int64
}

/// One account's orders, positions and USDT balance; pure, driven by the exchange with prices and times.
struct PaperLedger: Sendable {
    static let takerFee = 0.00055
    static let makerFee = 0.0002
    static let maxOpenPerSymbol = 500
    static let closedKept = 500

    var walletBalance: Double
    private(set) var orders: [String: PaperOrder] = [:]
    private(set) var openOrderIDs: [String] = []  // oldest first
    private(set) var closedOrderIDs: [String] = []  // oldest first, at most `closedKept`
    private(set) var linkIDs: Set<String> = []
    private(set) var positions: [String: PaperPosition] = [:]
    private(set) var executions: [PaperExecution] = []
    private var nextNumber: UInt64

    init(walletBalance: Double, idSeed: UInt64) {
        self.walletBalance = walletBalance
        self.nextNumber = idSeed
    }

    // MARK: - Orders

    /// Validates and accepts a new order, filling what crosses `price` at once.
    mutating func place(_ order: PaperOrder, price: Double, now: Int64) throws(PaperReject) -> PaperOrder {
        guard !linkIDs.contains(order.orderLinkId) else {
            throw PaperReject(retCode: 110072, retMsg: "OrderLinkedID is duplicate")
        }
        guard openOrderIDs.count(where: { orders[$0]?.symbol == order.symbol }) < Self.maxOpenPerSymbol else {
            throw PaperReject(retCode: 110020, retMsg: "Not allowed to have more than 500 active orders")
        }
        var order = order
        if order.reduceOnly { try trimReduceOnly(&order) }
        try checkMargin(order, price: price)
        nextNumber += 1
        order.orderId = Self.uuid(nextNumber)
        if !order.orderLinkId.isEmpty { linkIDs.insert(order.orderLinkId) }
        orders[order.orderId] = order
        openOrderIDs.append(order.orderId)
        settle(order.orderId, low: price, high: price, now: now, isNew: true)
        return orders[order.orderId] ?? order
    }

    /// Changes an open order's quantity or price.
    mutating func amend(
        _ id: OrderRef, qty: Double?, price: Double?, now: Int64, market: Double
    ) throws(PaperReject) -> PaperOrder {
        let orderId = try openOrder(id)
        guard var order = orders[orderId] else { throw Self.notFound }
        if let qty {
            guard qty > order.cumExecQty else { throw PaperReject.params("qty must exceed the filled quantity") }
            order.qty = qty
        }
        if let price {
            guard order.orderType == "Limit" else { throw PaperReject.params("only limit orders have a price") }
            order.price = price
        }
        order.updatedTime = now
        orders[orderId] = order
        settle(orderId, low: market, high: market, now: now, isNew: false)
        return orders[orderId] ?? order
    }

    /// Cancels an open order.
    mutating func cancel(_ id: OrderRef, now: Int64) throws(PaperReject) -> PaperOrder {
        let orderId = try openOrder(id)
        close(orderId, status: "Cancelled", now: now)
        return orders[orderId] ?? PaperOrder.placeholder
    }

    /// Cancels every open order on `symbol` (every symbol when `nil`).
    mutating func cancelAll(symbol: String?, now: Int64) -> [PaperOrder] {
        let ids = openOrderIDs.filter { symbol == nil || orders[$0]?.symbol == symbol }
        for id in ids { close(id, status: "Cancelled", now: now) }
        return ids.compactMap { orders[$0] }
    }

    /// Fills the resting orders on `symbol` that the prices since the last match reached (`low` to `high`).
    mutating func match(symbol: String, low: Double, high: Double, now: Int64) {
        for id in openOrderIDs where orders[id]?.symbol == symbol {
            settle(id, low: low, high: high, now: now, isNew: false)
        }
    }

    /// How a request names an order.
    enum OrderRef {
        case id(String)
        case link(String)
    }

    /// The order `ref` names, open or recently closed.
    func find(_ ref: OrderRef) -> PaperOrder? {
        switch ref {
        case .id(let id): return orders[id]
        case .link(let link):
            return orders.values.filter { $0.orderLinkId == link }.max { $0.createdTime < $1.createdTime }
        }
    }

    // MARK: - Positions

    mutating func setLeverage(symbol: String, _ leverage: Int, now: Int64) throws(PaperReject) {
        guard (1...100).contains(leverage) else { throw PaperReject.params("leverage must be 1 to 100") }
        var position = positions[symbol] ?? PaperPosition(createdTime: now)
        guard position.leverage != leverage else {
            throw PaperReject(retCode: 110043, retMsg: "Set leverage has not been modified.")
        }
        position.leverage = leverage
        position.updatedTime = now
        positions[symbol] = position
    }

    func position(_ symbol: String) -> PaperPosition {
        positions[symbol] ?? PaperPosition()
    }

    /// Initial margin held by positions and open orders, at `prices`.
    func initialMargin(prices: (String) -> Double) -> (positions: Double, orders: Double) {
        let positionIM = positions.reduce(0.0) { sum, entry in
            sum + abs(entry.value.size) * entry.value.avgPrice / Double(entry.value.leverage)
        }
        let orderIM = openOrderIDs.compactMap { orders[$0] }.reduce(0.0) { sum, order in
            let price = order.orderType == "Limit" ? order.price : prices(order.symbol)
            return sum + order.leavesQty * price / Double(position(order.symbol).leverage)
        }
        return (positionIM, orderIM)
    }

    func unrealisedPnl(prices: (String) -> Double) -> Double {
        positions.reduce(0.0) { $0 + $1.value.size * (prices($1.key) - $1.value.avgPrice) }
    }

    // MARK: - Private

    private static let notFound = PaperReject(retCode: 110001, retMsg: "order not exists or too late to cancel")

    private func openOrder(_ ref: OrderRef) throws(PaperReject) -> String {
        guard let order = find(ref), order.isOpen else { throw Self.notFound }
        return order.orderId
    }

    private func trimReduceOnly(_ order: inout PaperOrder) throws(PaperReject) {
        let size = position(order.symbol).size
        guard size * order.sign < 0 else {
            throw PaperReject(retCode: 110017, retMsg: "current position is zero, cannot fix reduce-only order qty")
        }
        order.qty = min(order.qty, abs(size))
    }

    private func checkMargin(_ order: PaperOrder, price: Double) throws(PaperReject) {
        guard !order.reduceOnly else { return }
        let value = order.qty * (order.orderType == "Limit" ? order.price : price)
        let need = value / Double(position(order.symbol).leverage) + value * Self.takerFee
        let held = initialMargin { _ in price }
        let available = walletBalance - held.positions - held.orders + min(0, unrealisedPnl { _ in price })
        guard need <= available else {
            throw PaperReject(retCode: 110007, retMsg: "ab not enough for new order")
        }
    }

    /// Fills or expires order `id` against prices from `low` to `high` (the last being the current price for a
    /// new order, which fills as a taker at that price).
    private mutating func settle(_ id: String, low: Double, high: Double, now: Int64, isNew: Bool) {
        guard let order = orders[id], order.isOpen else { return }
        let crosses = order.orderType == "Market" || (order.sign > 0 ? low <= order.price : high >= order.price)
        if crosses {
            if order.timeInForce == "PostOnly" && isNew { return close(id, status: "Cancelled", now: now) }
            let taker = isNew || order.orderType == "Market"
            fill(id, qty: order.leavesQty, price: taker ? high : order.price, maker: !taker, now: now)
        } else if ["IOC", "FOK"].contains(order.timeInForce) {
            close(id, status: "Cancelled", now: now)
        }
    }

    private mutating func fill(_ id: String, qty: Double, price: Double, maker: Bool, now: Int64) {
        guard var order = orders[id] else { return }
        let feeRate = maker ? Self.makerFee : Self.takerFee
        let fee = qty * price * feeRate
        let closed = applyToPosition(order.symbol, qty: qty * order.sign, price: price, fee: fee, now: now)
        order.cumExecQty += qty
        order.cumExecValue += qty * price
        order.cumExecFee += fee
        order.updatedTime = now
        orders[id] = order
        nextNumber += 1
        executions.append(
            PaperExecution(
                execId: Self.uuid(nextNumber), orderId: id, orderLinkId: order.orderLinkId, symbol: order.symbol,
                side: order.side, orderType: order.orderType, orderPrice: order.price, orderQty: order.qty,
                leavesQty: order.qty - order.cumExecQty, price: price, qty: qty, fee: fee, feeRate: feeRate,
                isMaker: maker, closedSize: closed, time: now))
        if executions.count > 2 * Self.closedKept { executions.removeFirst(Self.closedKept) }
        close(id, status: "Filled", now: now)
    }

    /// Adds a signed fill to the position; returns the size it closed.
    private mutating func applyToPosition(_ symbol: String, qty: Double, price: Double, fee: Double, now: Int64)
        -> Double
    {
        var position = positions[symbol] ?? PaperPosition(createdTime: now)
        var closed = 0.0
        var realised = -fee
        if position.size == 0 || position.size.sign == qty.sign {
            let size = abs(position.size) + abs(qty)
            position.avgPrice = (abs(position.size) * position.avgPrice + abs(qty) * price) / size
        } else {
            closed = min(abs(qty), abs(position.size))
            realised += closed * (price - position.avgPrice) * (position.size > 0 ? 1 : -1)
            if abs(qty) > abs(position.size) { position.avgPrice = price }
        }
        position.size = Self.rounded(position.size + qty)
        if position.size == 0 { position.avgPrice = 0 }
        walletBalance += realised
        position.curRealisedPnl += realised
        position.cumRealisedPnl += realised
        position.updatedTime = now
        positions[symbol] = position
        return closed
    }

    private mutating func close(_ id: String, status: String, now: Int64) {
        guard var order = orders[id] else { return }
        order.status = status
        order.updatedTime = now
        orders[id] = order
        openOrderIDs.removeAll { $0 == id }
        closedOrderIDs.append(id)
        if closedOrderIDs.count > Self.closedKept {
            let dropped = closedOrderIDs.removeFirst()
            orders[dropped] = nil  // its orderLinkId stays taken
        }
    }

    /// Quantities live on a 1e-9 grid, so that buying and selling the same amount ends flat.
    static func rounded(_ value: Double) -> Double {
        (value * 1e9).rounded() / 1e9
    }

    /// A UUID-shaped order id, as Bybit's linear order ids are, unique within this exchange.
    static func uuid(_ number: UInt64) -> String {
        var rng = SplitMix64(seed: number)
        let high = rng.next()
        let low = rng.next()
        let hex = String(format: "%016llx%016llx", high, low)
        let chars = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }
}

extension PaperOrder {
    static let placeholder = PaperOrder(
        orderId: "", orderLinkId: "", symbol: "", side: "Buy", orderType: "Market", price: 0, qty: 0,
        timeInForce: "GTC", reduceOnly: false, createdTime: 0, updatedTime: 0)
}
