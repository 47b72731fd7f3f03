import AdapterKit
import Exchanges
import Foundation
import Testing

/// The Bybit client against the paper exchange over real HTTP on loopback: every endpoint.
@Suite(.timeLimit(.minutes(2)))
struct BybitPaperTests {
    @Test func marketDataEndpointsAnswerAsBybitDoes() async throws {
        try await PaperHarness.run { _, client in
            let time = try await client.result(.serverTime)
            #expect(Int64(time["timeSecond"]?.stringValue ?? "") != nil)

            let tickers = try await client.result(.tickers, ["category": "linear", "symbol": "BTCUSDT"])
            let last = Double(tickers["list"]?[0]?["lastPrice"]?.stringValue ?? "") ?? 0
            #expect(last > 1000)

            let kline = try await client.result(
                .kline, ["category": "linear", "symbol": "BTCUSDT", "interval": "1", "limit": 5])
            let candles = try #require(kline["list"]?.arrayValue)
            #expect(candles.count == 5)
            let starts = candles.compactMap { $0[0]?.stringValue.flatMap { Int64($0) } }
            #expect(starts == starts.sorted(by: >), "newest first, as Bybit sends them")
            #expect(starts.first.map { $0 - starts[1] } == 60_000)

            let book = try await client.result(.orderbook, ["category": "linear", "symbol": "BTCUSDT", "limit": 3])
            let bid = Double(book["b"]?[0]?[0]?.stringValue ?? "") ?? 0
            let ask = Double(book["a"]?[0]?[0]?.stringValue ?? "") ?? 0
            #expect(bid > 0 && bid < ask)

            let instruments = try await client.result(.instrumentsInfo, ["category": "linear", "symbol": "ETHUSDT"])
            #expect(instruments["list"]?[0]?["symbol"]?.stringValue == "ETHUSDT")
            #expect(instruments["list"]?[0]?["lotSizeFilter"]?["qtyStep"]?.stringValue != nil)
        }
    }

    @Test func aMarketOrderFillsIntoAPositionWithAFee() async throws {
        try await PaperHarness.run { _, client in
            let order = try await client.result(
                .placeOrder,
                ["category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.02"])
            let orderID = try #require(order["orderId"]?.stringValue)
            #expect(order["orderLinkId"]?.stringValue?.isEmpty == false, "an orderLinkId is always sent")

            let positions = try await client.result(.positions, ["category": "linear", "symbol": "BTCUSDT"])
            let position = try #require(positions["list"]?[0])
            #expect(position["side"]?.stringValue == "Buy")
            #expect(position["size"]?.stringValue.flatMap(Double.init) == 0.02)
            #expect((Double(position["avgPrice"]?.stringValue ?? "") ?? 0) > 1000)

            let executions = try await client.result(.executions, ["category": "linear", "symbol": "BTCUSDT"])
            let fill = try #require(executions["list"]?[0])
            #expect(fill["orderId"]?.stringValue == orderID)
            #expect((Double(fill["execFee"]?.stringValue ?? "") ?? 0) > 0)
            #expect(fill["isMaker"]?.boolValue == false)

            let wallet = try await client.result(.walletBalance, ["accountType": "UNIFIED"])
            let balance = Double(wallet["list"]?[0]?["totalWalletBalance"]?.stringValue ?? "") ?? 0
            let fee = Double(fill["execFee"]?.stringValue ?? "") ?? 0
            #expect(abs(balance - (100_000 - fee)) < 1e-6, "the fee is paid from the wallet balance")
        }
    }

    @Test func aRestingLimitOrderCanBeAmendedAndCancelled() async throws {
        try await PaperHarness.run { _, client in
            let base: [String: JSONValue] = ["category": "linear", "symbol": "BTCUSDT"]
            let placed = try await client.result(
                .placeOrder, base.merging(["side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "1000"]) { $1 })
            let orderID = try #require(placed["orderId"]?.stringValue)

            var open = try await client.result(.openOrders, base)
            #expect(open["list"]?.arrayValue?.map { $0["orderId"]?.stringValue } == [orderID])
            #expect(open["list"]?[0]?["orderStatus"]?.stringValue == "New")

            _ = try await client.result(
                .amendOrder, base.merging(["orderId": .string(orderID), "price": "1100"]) { $1 })
            open = try await client.result(.openOrders, base)
            #expect(open["list"]?[0]?["price"]?.stringValue.flatMap(Double.init) == 1100)

            _ = try await client.result(.cancelOrder, base.merging(["orderId": .string(orderID)]) { $1 })
            open = try await client.result(.openOrders, base)
            #expect(open["list"]?.arrayValue?.isEmpty == true)

            await #expect(throws: BybitError.self) {
                _ = try await client.result(.cancelOrder, base.merging(["orderId": .string(orderID)]) { $1 })
            }
        }
    }

    @Test func cancelAllAndSetLeverage() async throws {
        try await PaperHarness.run { _, client in
            let base: [String: JSONValue] = ["category": "linear", "symbol": "BTCUSDT"]
            for price in ["1000", "1001"] {
                _ = try await client.result(
                    .placeOrder,
                    base.merging(["side": "Buy", "orderType": "Limit", "qty": "0.01", "price": .string(price)]) { $1 })
            }
            let cancelled = try await client.result(.cancelAllOrders, base)
            #expect(cancelled["list"]?.arrayValue?.count == 2)
            #expect(try await client.result(.openOrders, base)["list"]?.arrayValue?.isEmpty == true)

            _ = try await client.result(.setLeverage, base.merging(["buyLeverage": "5", "sellLeverage": "5"]) { $1 })
            let positions = try await client.result(.positions, base)
            #expect(positions["list"]?[0]?["leverage"]?.stringValue == "5")
            let error = await #expect(throws: BybitError.self) {
                _ = try await client.result(
                    .setLeverage, base.merging(["buyLeverage": "5", "sellLeverage": "5"]) { $1 })
            }
            #expect(error?.retCode == 110043, "leverage not modified")
        }
    }

    @Test func typedResultsReadTheSameResponses() async throws {
        try await PaperHarness.run { _, client in
            let deadline = PaperHarness.deadline
            let linear: [String: JSONValue] = ["category": "linear", "symbol": "ETHUSDT"]
            let ticker = try #require(
                BybitTicker.list(try await client.call(.tickers, linear, deadline: deadline)).first)
            #expect(ticker.symbol == "ETHUSDT" && ticker.lastPrice > 0)
            #expect((ticker.bid ?? 0) < (ticker.ask ?? 0))
            let candles = BybitCandle.list(
                try await client.call(.kline, linear.merging(["interval": "5", "limit": 3]) { $1 }, deadline: deadline))
            #expect(candles.count == 3)
            #expect(candles.allSatisfy { $0.low <= $0.open && $0.open <= $0.high && $0.low <= $0.close })

            let sell = try await client.call(
                .placeOrder, linear.merging(["side": "Sell", "orderType": "Market", "qty": "0.5"]) { $1 },
                deadline: deadline)
            let ack = try #require(BybitOrderAck(envelope: sell))
            let position = try #require(
                BybitPosition.list(try await client.call(.positions, linear, deadline: deadline)).first)
            #expect(position.size == -0.5, "short, signed")
            let fill = try #require(
                BybitExecution.list(try await client.call(.executions, linear, deadline: deadline)).first)
            #expect(fill.orderId == ack.orderId && fill.qty == 0.5 && !fill.isMaker)
            #expect(abs(fill.fee - 0.5 * fill.price * 0.00055) < 0.01)
            let wallet = try #require(
                BybitWallet.list(try await client.call(.walletBalance, ["accountType": "UNIFIED"], deadline: deadline))
                    .first)
            #expect(wallet.availableBalance < wallet.totalEquity, "margin is held for the position")
        }
    }

    @Test func aBusinessErrorCarriesBybitsCodeAndMessage() async throws {
        try await PaperHarness.run { _, client in
            let error = await #expect(throws: BybitError.self) {
                _ = try await client.result(
                    .placeOrder,
                    ["category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "1000"])
            }
            #expect(error?.retCode == 110007)
            #expect(error?.code == .rejected)
        }
    }
}
