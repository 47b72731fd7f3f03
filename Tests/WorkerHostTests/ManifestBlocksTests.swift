import Exchanges
import Foundation
import Testing

@testable import WorkerHost

/// `blocks:` and `connect:` in botyard.yaml.
struct ManifestBlocksTests {
    let folder: String
    let environment = ["BYBIT_API_KEY": "env-key-123", "BYBIT_API_SECRET": "env-secret-456"]

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("blocks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "def tick(ctx):\n    pass\n".write(toFile: folder + "/a.py", atomically: true, encoding: .utf8)
        try "time,open,high,low,close\n1,1,1,1,100\n2,1,1,1,101\n".write(
            toFile: folder + "/candles.csv", atomically: true, encoding: .utf8)
    }

    func load(_ blocks: String, connect: String = "[main]") throws(ManifestError) -> Manifest {
        let text = "blocks:\n\(blocks)workers:\n  w:\n    code: a.py\n    connect: \(connect)\n"
        return try ManifestLoader(environment: environment).parse(text, path: folder + "/botyard.yaml")
    }

    func error(_ blocks: String, connect: String = "[main]") -> String {
        do {
            _ = try load(blocks, connect: connect)
            return "no error"
        } catch {
            return error.description.replacingOccurrences(of: folder + "/", with: "")
        }
    }

    @Test func aTestnetBlockReadsItsKeysFromTheEnvironment() throws {
        let manifest = try load(
            """
              main:
                type: bybit
                network: testnet
                api_key: ${BYBIT_API_KEY}
                api_secret: ${BYBIT_API_SECRET}
                recv_window: 10000

            """)
        #expect(manifest.workers[0].connect == ["main"])
        guard case .bybit(let settings) = try #require(manifest.blocks.first).kind else { return }
        #expect(settings.venue == .bybit(.testnet))
        #expect(settings.apiKey == "env-key-123")
        #expect(settings.apiSecret == "env-secret-456")
        #expect(settings.recvWindow == 10000)
        #expect(!"\(manifest)".contains("env-secret-456"), "a manifest's description never shows a secret")
        #expect(!"\(manifest)".contains("env-key-123"))
    }

    @Test func aPaperBlockNeedsNoKeysAndCanReplayCandles() throws {
        let manifest = try load("  main:\n    type: bybit\n    network: paper\n    prices: candles.csv\n")
        guard case .bybit(let settings) = try #require(manifest.blocks.first).kind else { return }
        #expect(settings.venue == .paper(.candles(closes: [100, 101])))
        #expect(settings.apiKey == nil)
    }

    @Test func aMonitorBlockTakesItsBounds() throws {
        let manifest = try load("  main:\n    type: monitor\n    points: 50\n    log_lines: 20\n    coalesce: 0s\n")
        guard case .monitor(let settings) = try #require(manifest.blocks.first).kind else { return }
        #expect(settings.points == 50 && settings.logLines == 20 && settings.coalescing == .zero)
        #expect(
            error("  main:\n    type: monitor\n    points: 5\n").contains("field 'points': expected a whole number"))
        #expect(error("  main:\n    type: monitor\n    colour: red\n").contains("field 'colour': unknown field"))
    }

    @Test func aBaseURLPointsTheBlockAnywhere() throws {
        let manifest = try load("  main:\n    type: bybit\n    base_url: http://127.0.0.1:9000\n")
        guard case .bybit(let settings) = try #require(manifest.blocks.first).kind else { return }
        #expect(settings.venue == .bybit(.custom(url: "http://127.0.0.1:9000")))
    }

    @Test(arguments: [
        (
            "  main:\n    type: bybit\n    network: testnet\n    api_key: ${NOPE}\n    api_secret: x\n",
            "[main]",
            "botyard.yaml:5: block 'main', field 'api_key': environment variable NOPE is not set"
        ),
        (
            "  main:\n    type: bybit\n    network: moon\n", "[main]",
            "block 'main', field 'network': expected mainnet, testnet, demo or paper"
        ),
        ("  main:\n    type: kraken\n", "[main]", "block 'main', field 'type': unknown block type"),
        ("  main:\n    network: testnet\n", "[main]", "block 'main', field 'type': missing"),
        ("  main:\n    type: bybit\n    api_kee: x\n", "[main]", "block 'main', field 'api_kee': unknown field"),
        (
            "  main:\n    type: bybit\n    network: testnet\n    api_key: k\n", "[main]",
            "field 'api_secret': give both api_key and api_secret"
        ),
        (
            "  main:\n    type: bybit\n    network: paper\n    api_key: k\n    api_secret: s\n", "[main]",
            "a paper block makes its own keys"
        ),
        ("  main:\n    type: bybit\n", "[other]", "worker 'w', field 'connect': no block named 'other'; blocks: main"),
        ("  main:\n    type: bybit\n    recv_window: soon\n", "[main]", "field 'recv_window'"),
    ])
    func badBlocksNameTheFileBlockAndField(blocks: String, connect: String, expected: String) {
        let message = error(blocks, connect: connect)
        #expect(message.contains(expected), "\(message)")
        #expect(!message.contains("env-secret-456"))
    }
}
