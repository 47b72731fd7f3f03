import Testing

@testable import Exchanges

/// The paper account's bookkeeping, driven with prices and times directly: no server, no clock.
struct PaperLedgerTests {
    static func order(
        _ side: String, _ qty: Double, limit: Double? = nil, link: String = "", reduceOnly: Bool = false,
        timeInForce: String = "GTC"
    ) -> PaperOrder {
        PaperOrder(
            orderId: "", orderLinkId: link, symbol: "BTCUSDT", side: side, orderType: limit == nil ? "Market" : "Limit",
            price: limit ?? 0, qty: qty, timeInForce: timeInForce, reduceOnly: reduceOnly, createdTime: 0,
            updatedTime: 0)
    }

    @Test func twoBuysAverageTheirEntryAndPayTheTakerFee() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        _ = try ledger.place(Self.order("Buy", 0.1), price: 50_000, now: 1)
        _ = try ledger.place(Self.order("Buy", 0.1), price: 60_000, now: 2)
        let position = ledger.position("BTCUSDT")
        #expect(position.size == 0.2)
        #expect(position.avgPrice == 55_000)
        let fees = (0.1 * 50_000 + 0.1 * 60_000) * PaperLedger.takerFee
        #expect(abs(ledger.walletBalance - (10_000 - fees)) < 1e-9)
        #expect(abs(ledger.unrealisedPnl { _ in 56_000 } - 200) < 1e-9)
    }

    @Test func sellingMoreThanTheLongRealisesPnLAndFlipsShort() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        _ = try ledger.place(Self.order("Buy", 0.1), price: 50_000, now: 1)
        _ = try ledger.place(Self.order("Sell", 0.3), price: 51_000, now: 2)
        let position = ledger.position("BTCUSDT")
        #expect(position.size == -0.2)
        #expect(position.avgPrice == 51_000)
        let fees = (0.1 * 50_000 + 0.3 * 51_000) * PaperLedger.takerFee
        #expect(abs(ledger.walletBalance - (10_000 + 100 - fees)) < 1e-6)
        #expect(ledger.executions.last?.closedSize == 0.1)
    }

    @Test func aRestingLimitFillsAtItsPriceAsAMakerWhenThePriceReachesIt() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        let placed = try ledger.place(Self.order("Buy", 0.1, limit: 49_000), price: 50_000, now: 1)
        #expect(placed.status == "New")
        ledger.match(symbol: "BTCUSDT", low: 49_500, high: 50_200, now: 2)
        #expect(ledger.orders[placed.orderId]?.status == "New")
        ledger.match(symbol: "BTCUSDT", low: 48_900, high: 49_800, now: 3)
        let filled = try #require(ledger.orders[placed.orderId])
        #expect(filled.status == "Filled")
        #expect(ledger.executions.last?.price == 49_000)
        #expect(ledger.executions.last?.isMaker == true)
        #expect(ledger.executions.last?.feeRate == PaperLedger.makerFee)
        #expect(ledger.openOrderIDs.isEmpty)
    }

    @Test func aLimitThatCrossesAtOnceFillsAsATakerAtTheMarket() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        let placed = try ledger.place(Self.order("Buy", 0.1, limit: 51_000), price: 50_000, now: 1)
        #expect(placed.status == "Filled")
        #expect(ledger.executions.last?.price == 50_000)
        #expect(ledger.executions.last?.isMaker == false)
    }

    @Test func postOnlyThatWouldTakeIsCancelledAndIOCThatCannotFillIsCancelled() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        let postOnly = try ledger.place(
            Self.order("Buy", 0.1, limit: 51_000, timeInForce: "PostOnly"), price: 50_000, now: 1)
        #expect(postOnly.status == "Cancelled")
        let ioc = try ledger.place(Self.order("Buy", 0.1, limit: 49_000, timeInForce: "IOC"), price: 50_000, now: 1)
        #expect(ioc.status == "Cancelled")
        #expect(ledger.executions.isEmpty)
    }

    @Test func aDuplicateOrderLinkIDIsRefusedWith110072EvenAfterTheOrderClosed() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        _ = try ledger.place(Self.order("Buy", 0.01, link: "a"), price: 50_000, now: 1)
        #expect(throws: PaperReject.self) {
            try ledger.place(Self.order("Buy", 0.01, link: "a"), price: 50_000, now: 2)
        }
        #expect(ledger.find(.link("a"))?.status == "Filled")
    }

    @Test func marginAndReduceOnlyAreEnforced() throws {
        var ledger = PaperLedger(walletBalance: 1_000, idSeed: 1)
        do {
            _ = try ledger.place(Self.order("Buy", 1), price: 50_000, now: 1)  // 5000 margin at 10x > 1000
            Issue.record("an order beyond the balance was accepted")
        } catch {
            #expect(error.retCode == 110007)
        }
        do {
            _ = try ledger.place(Self.order("Sell", 0.01, reduceOnly: true), price: 50_000, now: 1)
            Issue.record("a reduce-only order with no position was accepted")
        } catch {
            #expect(error.retCode == 110017)
        }
        _ = try ledger.place(Self.order("Buy", 0.01), price: 50_000, now: 1)
        let reduce = try ledger.place(Self.order("Sell", 0.05, reduceOnly: true), price: 50_000, now: 2)
        #expect(reduce.qty == 0.01, "trimmed to the position")
        #expect(ledger.position("BTCUSDT").size == 0)
    }

    @Test func cancellingTwiceSaysTheOrderDoesNotExist() throws {
        var ledger = PaperLedger(walletBalance: 10_000, idSeed: 1)
        let placed = try ledger.place(Self.order("Buy", 0.1, limit: 40_000), price: 50_000, now: 1)
        _ = try ledger.cancel(.id(placed.orderId), now: 2)
        do {
            _ = try ledger.cancel(.id(placed.orderId), now: 3)
            Issue.record("a cancelled order was cancelled again")
        } catch {
            #expect(error.retCode == 110001)
        }
    }
}
