import AdapterKit
import Exchanges
import Foundation
import Synchronization
import Testing

/// What the client does when the venue misbehaves: skewed clocks, lost responses, rate limits, bans, 5xx.
@Suite(.timeLimit(.minutes(2)))
struct BybitFaultTests {
    static let market: [String: JSONValue] = [
        "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01",
    ]

    @Test func aClockAnHourFastStillSignsValidRequests() async throws {
        let clock = PaperHarness.SkewableClock()
        clock.skew.store(3_600_000, ordering: .relaxed)
        try await PaperHarness.run(clock: clock) { _, client in
            let wallet = try await client.result(.walletBalance, ["accountType": "UNIFIED"])
            #expect(wallet["list"]?.arrayValue?.count == 1)
            #expect(abs(client.clockOffset + 3_600_000) < 2_000, "measured offset \(client.clockOffset) ms")
        }
    }

    @Test func aClockThatJumpsAfterTheSyncIsResyncedOn10002() async throws {
        let clock = PaperHarness.SkewableClock()
        try await PaperHarness.run(clock: clock) { _, client in
            _ = try await client.result(.walletBalance, ["accountType": "UNIFIED"])
            clock.skew.store(-30_000, ordering: .relaxed)  // 30 s slow: outside the 5 s recv_window
            let order = try await client.result(.placeOrder, Self.market)
            #expect(order["orderId"]?.stringValue != nil)
            #expect(abs(client.clockOffset - 30_000) < 2_000)
        }
    }

    @Test func aLostCreateResponseStillMeansExactlyOneOrder() async throws {
        try await PaperHarness.run(
            exchange: { $0.droppedResponseHold = .seconds(5) },
            client: { $0.requestTimeout = .seconds(1) }
        ) { exchange, client in
            exchange.faults.dropNextCreateResponses(1)
            var args = Self.market
            args["orderLinkId"] = "lost-response-1"
            let order = try await client.result(.placeOrder, args)
            let orders = exchange.orders(apiKey: PaperHarness.apiKey)
            #expect(orders.count == 1)
            #expect(orders.first?["orderLinkId"]?.stringValue == "lost-response-1")
            #expect(order["orderId"] == orders.first?["orderId"])
        }
    }

    @Test func aLostCreateResponseWithADerivedIDStillMeansExactlyOneOrder() async throws {
        try await PaperHarness.run(
            exchange: { $0.droppedResponseHold = .seconds(5) },
            client: { $0.requestTimeout = .seconds(1) }
        ) { exchange, client in
            exchange.faults.dropNextCreateResponses(1)
            let order = try await client.result(.placeOrder, Self.market)
            let orders = exchange.orders(apiKey: PaperHarness.apiKey)
            #expect(orders.count == 1)
            #expect(order["orderLinkId"] == orders.first?["orderLinkId"])
        }
    }

    @Test func aDuplicateOrderLinkIDReturnsTheExistingOrder() async throws {
        try await PaperHarness.run { exchange, client in
            var args = Self.market
            args["orderLinkId"] = "same-id"
            let first = try await client.result(.placeOrder, args)
            let second = try await client.result(.placeOrder, args)
            #expect(first["orderId"] == second["orderId"])
            #expect(exchange.orders(apiKey: PaperHarness.apiKey).count == 1)
        }
    }

    @Test func tooManyVisitsWaitsForTheResetAndRetries() async throws {
        try await PaperHarness.run { exchange, client in
            exchange.faults.rateLimitNext(2)
            let order = try await client.result(.placeOrder, Self.market)
            #expect(order["orderId"]?.stringValue != nil)
            #expect(exchange.orders(apiKey: PaperHarness.apiKey).count == 1)
        }
    }

    @Test func a403StopsTheBlockWithoutFurtherRequests() async throws {
        try await PaperHarness.run { exchange, client in
            exchange.faults.forbidNext(1)
            let banned = await #expect(throws: BybitError.self) {
                _ = try await client.result(.tickers, ["category": "linear", "symbol": "BTCUSDT"])
            }
            #expect(banned?.code == .ipBanned)
            // The next request would succeed at the venue; the client holds it back instead of hammering.
            let held = await #expect(throws: BybitError.self) {
                _ = try await client.call(.serverTime, deadline: .now + .seconds(1))
            }
            #expect(held?.code == .rateLimited)
            #expect(held?.retMsg.contains("deadline") == true, "\(String(describing: held))")
        }
    }

    @Test func a5xxIsRetriedForReadsButNotForAmends() async throws {
        try await PaperHarness.run { exchange, client in
            exchange.faults.failNext(1)
            let tickers = try await client.result(.tickers, ["category": "linear", "symbol": "BTCUSDT"])
            #expect(tickers["list"]?.arrayValue?.count == 1)

            let base: [String: JSONValue] = ["category": "linear", "symbol": "BTCUSDT"]
            let placed = try await client.result(
                .placeOrder, base.merging(["side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "1000"]) { $1 })
            exchange.faults.failNext(1)
            let error = await #expect(throws: BybitError.self) {
                _ = try await client.result(
                    .amendOrder, base.merging(["orderId": placed["orderId"] ?? "", "price": "1100"]) { $1 })
            }
            #expect(error?.httpStatus == 503)
        }
    }

    @Test func aBadSignatureIsRejectedAndNoSecretReachesTheError() async throws {
        try await PaperHarness.run(client: { $0.credentials = (PaperHarness.apiKey, "WRONGSECRET-0123456789") }) {
            _, client in
            let error = await #expect(throws: BybitError.self) {
                _ = try await client.result(.walletBalance, ["accountType": "UNIFIED"])
            }
            #expect(error?.retCode == 10004)
            let text = "\(String(describing: error)) \(error?.retMsg ?? "")"
            #expect(text.contains("error sign!"))
            #expect(!text.contains(PaperHarness.apiKey))
            #expect(!text.contains("WRONGSECRET"))
        }
    }

    @Test func concurrentOrdersFromManyWorkersStayWithinTheAccountLimit() async throws {
        try await PaperHarness.run { exchange, client in
            // 25 creates at once against a 10/s limit: the shared limiter spaces them, and whatever the venue
            // still refuses (a request delayed into the next second by a loaded machine) waits for the reset.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<25 {
                    group.addTask {
                        var args = Self.market
                        args["orderLinkId"] = .string("burst-\(n)")
                        _ = try await client.result(.placeOrder, args)
                    }
                }
                try await group.waitForAll()
            }
            let links = exchange.orders(apiKey: PaperHarness.apiKey).compactMap { $0["orderLinkId"]?.stringValue }
            #expect(Set(links) == Set((0..<25).map { "burst-\($0)" }))
            #expect(links.count == 25, "each exactly once")
            #expect(exchange.limitRefusals < 15, "without the limiter 15 of the first 25 would be refused")
        }
    }
}
