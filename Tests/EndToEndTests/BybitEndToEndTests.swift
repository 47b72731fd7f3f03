import AdapterKit
import AsyncHTTPClient
import Exchanges
import Foundation
import Testing
import WorkerHost

/// Workers trading through `ctx.bybit` in a real host process.
@Suite(.timeLimit(.minutes(3)))
struct BybitEndToEndTests {
    static let strategies = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../strategies").standardized.path

    @Test func theDemoStrategyPlacesAndFillsOrdersOnThePaperExchange() async throws {
        let host = try HostProcess()
        let manifest = try host.write(
            "botyard.yaml",
            """
            blocks:
              paper: {type: bybit, network: paper}
            workers:
              trader:
                code: \(Self.strategies)/sma_bybit.py
                every: 1s
                connect: [paper]
            """)
        try await host.start(manifest)
        try await host.waitUntil("an order filled into a position", timeout: .seconds(60)) {
            host.log("trader").contains(", position Buy 0.01") || host.log("trader").contains(", position Sell 0.01")
        }
        let log = host.log("trader")
        #expect(log.contains("through block 'paper'"))
        #expect(!log.contains("tick failed"), "\(log)")
        #expect(try await host.worker("trader")["state"]?.stringValue == "running")
        #expect(try await host.interrupt() == 0)
    }

    @Test func theKeyAndSecretNeverReachTheWorkerItsLogsOrItsState() async throws {
        let key = "E2EKEY7d1c9b"
        let secret = "E2ESECRET5f3a2e8c4b"
        let exchange = PaperExchange(configuration: .init(accounts: [key: secret]))
        try await exchange.withRunning { url in
            let host = try HostProcess()
            try host.write(
                "spy.py",
                """
                import json, os
                from botyard import BybitError

                def setup(ctx):
                    conn = ctx.state._conn
                    received = conn.recv
                    def spy():
                        frame = received()
                        with open(os.path.join(os.environ["BOTYARD_SCRATCH"], "frames.jsonl"), "a") as out:
                            out.write(json.dumps(frame) + "\\n")
                        return frame
                    conn.recv = spy
                    with open(os.path.join(os.environ["BOTYARD_SCRATCH"], "environment.json"), "w") as out:
                        json.dump(dict(os.environ), out)

                def tick(ctx):
                    order = ctx.bybit.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01")
                    ctx.log.info(f"placed {order['result']['orderId']}")
                    ctx.state.set("wallet", ctx.bybit.get_wallet_balance(accountType="UNIFIED"))
                    try:
                        ctx.bybit.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="900")
                    except BybitError as error:
                        ctx.state.set("refused", [error.ret_code, error.ret_msg, str(error)])
                """)
            let manifest = try host.write(
                "botyard.yaml",
                """
                blocks:
                  live:
                    type: bybit
                    base_url: \(url)
                    api_key: ${E2E_BYBIT_KEY}
                    api_secret: ${E2E_BYBIT_SECRET}
                workers:
                  spy:
                    code: spy.py
                    every: 1s
                    connect: [live]
                """)
            try await host.start(manifest, environment: ["E2E_BYBIT_KEY": key, "E2E_BYBIT_SECRET": secret])
            try await host.waitUntil("two ticks traded", timeout: .seconds(60)) {
                let refused = try await host.state("spy", "refused")
                return host.log("spy").components(separatedBy: "placed ").count > 2 && refused != nil
            }
            #expect(try await host.state("spy", "refused")?.contains("110007") == true)
            #expect(exchange.orders(apiKey: key).count >= 2)
            #expect(try await host.interrupt() == 0)

            let scratch = URL(fileURLWithPath: host.data.scratch + "/spy")
            let frames = try String(contentsOf: scratch.appendingPathComponent("frames.jsonl"), encoding: .utf8)
            #expect(frames.contains("\"orderId\""), "the spy saw the results")
            let everything = [
                frames,
                try String(contentsOf: scratch.appendingPathComponent("environment.json"), encoding: .utf8),
                host.output, host.log("spy"), Self.readAll(host.data.path),
            ]
            for text in everything {
                #expect(!text.contains(key) && !text.contains(secret))
            }
        }
    }

    /// Every file under `folder` (logs, the state database), as text.
    static func readAll(_ folder: String) -> String {
        let files = FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []
        return files.compactMap { file in
            FileManager.default.contents(atPath: folder + "/" + file).map { String(decoding: $0, as: UTF8.self) }
        }.joined(separator: "\n")
    }
}
