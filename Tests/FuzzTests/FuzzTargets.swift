import AdapterKit
import AsyncHTTPClient
import Exchanges
import Foundation
import Monitor
import Testing

@testable import WorkerHost

/// Fuzz targets: each runs for `FUZZ_SECONDS` (2 s in the test suite; `scripts/fuzz TARGET SECONDS` for long
/// runs). A target passes when nothing traps: every input is either accepted or refused with an error.
@Suite(.serialized)
struct FuzzTests {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)").path

    /// Worker frames, decoded and, when they are calls, dispatched to the ctx services (no network: `http.`
    /// calls are skipped, since a mutated URL could point anywhere).
    @Test(.enabled(if: Fuzz.selected("frames"))) func frames() async throws {
        try FileManager.default.createDirectory(atPath: Self.folder, withIntermediateDirectories: true)
        let store = CachingStateStore(backing: try SQLiteStateStore(path: Self.folder + "/state.sqlite"))
        let log = WorkerLog(worker: "w", directory: Self.folder, console: nil)
        let board = MonitorBoard(name: "board")
        let services = WorkerServices(
            worker: "w", store: store, log: log, http: HTTPService(client: .shared), blocks: [.monitor(board)])
        let corpus = [
            #"{"type":"call","id":1,"method":"state.set","params":{"key":"k","value":{"a":[1,2.5,"x"]}}}"#,
            #"{"type":"call","id":2,"method":"state.get","params":{"key":"k"}}"#,
            #"{"type":"call","id":3,"method":"state.incr","params":{"key":"n","by":1}}"#,
            #"{"type":"call","id":4,"method":"state.keys","params":{"prefix":""}}"#,
            #"{"type":"call","id":5,"method":"state.delete","params":{"key":"k"}}"#,
            #"{"type":"call","id":6,"method":"monitor.update","params":{"block":"board","update":{"type":"metric","name":"m","value":1.5}}}"#,
            #"{"type":"call","id":7,"method":"monitor.update","params":{"block":"board","update":{"type":"chart","name":"c","series":{"a":[1,2]}}}}"#,
            #"{"type":"call","id":8,"method":"bybit.get_tickers","params":{"block":"main","args":{"category":"linear"}}}"#,
            #"{"type":"log","level":"info","message":"hello"}"#,
            #"{"type":"tick_done","n":3,"failure":null}"#,
            #"{"type":"ready","version":1,"runtime":"python"}"#,
            #"{"type":"setup_done","failure":{"type":"KeyError","message":"x","traceback":"t"}}"#,
        ]
        await Fuzz.run("frames", corpus: corpus) { bytes in
            guard case .call(_, let method, let params)? = try? WorkerFrame.decode(bytes), !method.hasPrefix("http.")
            else { return }
            _ = services.answerImmediately(method: method, params: params)
            _ = await services.handle(method: method, params: params, deadline: .now + .seconds(1))
        }
    }

    /// `botyard.yaml` text, with blocks, sandbox settings and variables.
    @Test(.enabled(if: Fuzz.selected("manifest"))) func manifest() async throws {
        try FileManager.default.createDirectory(atPath: Self.folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: Self.folder + "/a.py", contents: Data("def tick(ctx): pass\n".utf8))
        let loader = ManifestLoader(swiftWorkers: ["Heartbeat"], environment: ["KEY": "k", "SECRET": "s"])
        let corpus = [
            "workers:\n  a:\n    code: a.py\n    every: 5s\n    max_errors: 3\n    tick_timeout: 30s\n    env: {X: 1}\n",
            "sandbox: {memory: 512MiB, pids: 64, files: 256, network: false}\nworkers:\n  a: {code: a.py, sandbox: off}\n",
            "blocks:\n  main: {type: bybit, network: paper, seed: 7, recv_window: 5000}\n  board: {type: monitor, points: 100, log_lines: 50, coalesce: 25ms}\nworkers:\n  a: {code: a.py, connect: [main, board]}\n",
            "blocks:\n  live: {type: bybit, network: testnet, api_key: ${KEY}, api_secret: ${SECRET}}\nworkers:\n  s: {swift: Heartbeat, every: 1h, connect: [live]}\n",
        ]
        await Fuzz.run("manifest", corpus: corpus) { bytes in
            _ = try? loader.parse(String(decoding: bytes, as: UTF8.self), path: Self.folder + "/botyard.yaml")
        }
    }

    /// Monitor widget updates, parsed and applied to a store.
    @Test(.enabled(if: Fuzz.selected("widgets"))) func widgets() async throws {
        var store = WidgetStore(maxPoints: 50, maxLogLines: 20, maxWidgets: 50)
        let corpus = [
            #"{"type":"metric","name":"equity","value":1234.5,"unit":"USDT","label":"Equity"}"#,
            #"{"type":"chart","name":"price","series":{"BTC":[1,2,3]},"points":100}"#,
            #"{"type":"table","name":"pos","columns":["a","b"],"rows":[[1,"x"],[2.5,null]]}"#,
            #"{"type":"text","name":"t","text":"hello"}"#,
            #"{"type":"status","name":"s","level":"ok","text":"fine"}"#,
            #"{"type":"log","name":"l","line":"filled","level":"info"}"#,
            #"{"type":"remove","name":"equity"}"#,
        ]
        var time = 0.0
        await Fuzz.run("widgets", corpus: corpus) { bytes in
            guard let json = try? JSONParser.parse(bytes), let update = try? WidgetUpdate(json: json) else { return }
            time += 1
            _ = try? store.apply(update, worker: "w", at: time)
        }
    }

    /// Bybit V5 answers as a venue (or a man in the middle) could send them: envelopes and typed results.
    @Test(.enabled(if: Fuzz.selected("bybit"))) func bybit() async throws {
        let corpus = [
            #"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT","lastPrice":"65000.5","bid1Price":"65000","ask1Price":"65001","volume24h":"12.5"}]},"time":1700000000000}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"list":[["1700000000000","1","2","0.5","1.5","10","15"]]}}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"orderId":"abc","orderLinkId":"by-1"}}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"list":[{"orderId":"a","orderLinkId":"b","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","price":"1","qty":"0.001","orderStatus":"New","cumExecQty":"0","avgPrice":"0"}]}}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"list":[{"symbol":"BTCUSDT","side":"Buy","size":"0.01","avgPrice":"65000","unrealisedPnl":"1.5","leverage":"10"}]}}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"list":[{"totalEquity":"1000","totalAvailableBalance":"900","coin":[{"coin":"USDT","walletBalance":"1000"}]}]}}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"list":[{"execId":"e","orderId":"o","symbol":"BTCUSDT","side":"Sell","execPrice":"1","execQty":"1","execFee":"0.1","execTime":"1700000000000"}]}}"#,
            #"{"retCode":10006,"retMsg":"Too many visits!","result":{}}"#,
            #"{"ret_code":10002,"ret_msg":"invalid request","result":null}"#,
            #"{"retCode":0,"retMsg":"OK","result":{"timeSecond":"1700000000","timeNano":"1700000000000000000"}}"#,
        ]
        await Fuzz.run("bybit", corpus: corpus) { bytes in
            guard let envelope = try? JSONParser.parse(bytes) else { return }
            let retCode = envelope["retCode"]?.intValue ?? envelope["ret_code"]?.intValue
            _ = BybitError.classify(httpStatus: 200, retCode: retCode, retMsg: envelope["retMsg"]?.stringValue)
            let result = envelope["result"] ?? .null
            for item in [result] + (result["list"]?.arrayValue ?? []) {
                _ = BybitTicker(json: item)
                _ = BybitCandle(json: item)
                _ = BybitOrderAck(json: item)
                _ = BybitOrder(json: item)
                _ = BybitPosition(json: item)
                _ = BybitWallet(json: item)
                _ = BybitExecution(json: item)
            }
        }
    }
}
