import AdapterKit
import Foundation
import Testing

@testable import Exchanges

/// Values from outside (a worker's arguments, a client's headers, a venue's answers) that once trapped the
/// host: each is now a clear refusal.
struct HostileInputTests {
    @Test(arguments: ["=", "==", "=x&category=linear", "&&", "a=1&=&b=2"])
    func aQueryWithoutANameIsSkipped(query: String) {
        let params = PaperExchange.query(query)
        #expect(params[""] == nil)
    }

    @Test(arguments: ["1e19", "-1e19", "1.5", "1e300"])
    func anAbsurdLeverageIsRefusedNotTrapped(leverage: String) async throws {
        try await PaperHarness.run { _, client in
            await #expect(throws: BybitError.self) {
                _ = try await client.result(
                    .setLeverage,
                    [
                        "category": "linear", "symbol": "BTCUSDT", "buyLeverage": .string(leverage),
                        "sellLeverage": .string(leverage),
                    ])
            }
            let ok = try await client.result(
                .setLeverage, ["category": "linear", "symbol": "BTCUSDT", "buyLeverage": "5", "sellLeverage": "5"])
            #expect(ok.objectValue != nil, "the venue still answers")
        }
    }

    @Test(arguments: ["-9223372036854775808", "9223372036854775807", "0", "-5"])
    func aHostileRecvWindowIsRefusedWith10001(window: String) {
        var gate = PaperGateTests.gate()
        let payload = "a=1"
        let signed = PaperGateTests.headers(payload: payload)
        let headers: (String) -> String? = { $0 == "x-bapi-recv-window" ? window : signed($0) }
        let verdict = gate.check(.openOrders, headers: headers, payload: payload, now: PaperGateTests.now)
        guard case .reject(let code, _) = verdict else { return #expect(Bool(false), "accepted \(window)") }
        #expect(code == 10001)
    }

    @Test(arguments: [
        #"["nan","1","1","1","1","1"]"#, #"["1e30","1","1","1","1","1"]"#, #"["1700000000000","inf","1","1","1","1"]"#,
        #"["1700000000000","1","x","1","1","1"]"#,
    ])
    func aHostileCandleIsDroppedNotTrapped(row: String) throws {
        #expect(BybitCandle(json: try JSONParser.parse(Array(row.utf8))) == nil)
    }

    @Test func aGoodCandleStillReads() throws {
        let row = try JSONParser.parse(Array(#"["1700000000000","1","2","0.5","1.5","10"]"#.utf8))
        #expect(BybitCandle(json: row)?.start == 1_700_000_000_000)
        #expect(BybitCandle(json: row)?.close == 1.5)
    }
}
