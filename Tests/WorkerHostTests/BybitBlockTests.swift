import AdapterKit
import AsyncHTTPClient
import Exchanges
import Foundation
import Logging
import Testing

@testable import WorkerHost

/// `bybit.*` ctx calls through a paper block, as a worker makes them.
@Suite(.timeLimit(.minutes(1)))
struct BybitBlockTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bybit-\(UUID().uuidString)").path

    /// Runs `body` with services of worker `trend-1` connected to a running paper block named `main`.
    func withPaperBlock(_ body: (WorkerServices, PaperExchange) async throws -> Void) async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let block = BybitBlock(
            name: "main", settings: BybitBlockSettings(venue: .paper(.randomWalk(seed: 7))),
            http: AdapterHTTP(client: .shared), logger: Logger(label: "test"))
        let exchange = try #require(block.paper)
        let services = WorkerServices(
            worker: "trend-1", store: try SQLiteStateStore(path: folder + "/state.sqlite"),
            log: WorkerLog(worker: "trend-1", directory: folder, console: nil), http: HTTPService(client: .shared),
            blocks: [.bybit(block)])
        try await exchange.withRunning { _ in try await body(services, exchange) }
    }

    func call(_ services: WorkerServices, _ method: String, _ args: JSONValue, block: String = "main")
        async -> Result<JSONValue, CallError>
    {
        await services.handle(
            method: "bybit." + method, params: ["block": .string(block), "args": args], deadline: .now + .seconds(10))
    }

    @Test func aPlaceOrderGetsAnOrderLinkIDFromTheWorkerAndTick() async throws {
        try await withPaperBlock { services, exchange in
            services.beginTick(42)
            let reply = try await call(
                services, "place_order",
                ["category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"]
            ).get()
            #expect(reply["retCode"]?.intValue == 0)
            let linkID = try #require(reply["result"]?["orderLinkId"]?.stringValue)
            #expect(linkID.hasPrefix("trend-1-"))
            #expect(linkID.hasSuffix("-" + String(42, radix: 36) + "-1"))
            #expect(OrderLinkID.isValid(linkID))
            let second = try await call(
                services, "place_order",
                ["category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market", "qty": "0.01"]
            ).get()
            #expect(second["result"]?["orderLinkId"]?.stringValue?.hasSuffix("-2") == true)
            #expect(exchange.limitRefusals == 0)
        }
    }

    @Test func aRefusalBecomesABybitErrorWithRetCodeAndRetMsg() async throws {
        try await withPaperBlock { services, _ in
            let outcome = await call(
                services, "place_order",
                ["category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "500"])
            guard case .failure(let error) = outcome else { return #expect(Bool(false), "\(outcome)") }
            #expect(error.kind == .bybitError)
            #expect(error.details["ret_code"] == 110007)
            #expect(error.details["ret_msg"]?.stringValue == "ab not enough for new order")
            let frame = HostFrame.result(id: 3, outcome)
            #expect(frame["error"]?["ret_code"] == 110007)
            #expect(frame["error"]?["type"]?.stringValue == "BybitError")
        }
    }

    @Test func anUnconnectedBlockOrUnknownMethodIsTheWorkersError() async throws {
        try await withPaperBlock { services, _ in
            guard case .failure(let error) = await call(services, "get_tickers", [:], block: "other") else {
                return #expect(Bool(false))
            }
            #expect(error.kind == .blockNotConnected)
            guard case .failure(let unknown) = await call(services, "withdraw", [:]) else {
                return #expect(Bool(false))
            }
            #expect(unknown.message.contains("ctx.bybit has no method 'withdraw'"))
        }
    }
}
