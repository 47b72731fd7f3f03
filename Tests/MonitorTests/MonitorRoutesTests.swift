import AdapterKit
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Monitor
import NIOCore
import NIOHTTP1
import Testing

/// The snapshot route (ETag, `?since=`), and the SSE stream over a live server.
@Suite(.timeLimit(.minutes(1)))
struct MonitorRoutesTests {
    static func app(_ hub: MonitorHub) -> some ApplicationProtocol {
        let router = Router()
        MonitorRoutes(hub: hub).add(to: router.group("api"))
        DashboardAssets.add(to: router)
        return Application(router: router)
    }

    static func board() throws -> (MonitorHub, MonitorBoard) {
        let board = MonitorBoard(name: "main")
        try board.apply(.metric(name: "pnl", value: 5, unit: "USDT"), worker: "trader")
        try board.apply(.chart(name: "price", points: ["BTC": 60_000]), worker: "trader")
        return (MonitorHub(boards: [board]), board)
    }

    @Test func theSnapshotCarriesVersionWidgetsAndAnETag() async throws {
        let (hub, board) = try Self.board()
        try await Self.app(hub).test(.router) { client in
            let etag = try await client.execute(uri: "/api/monitor/main", method: .get) { response in
                #expect(response.status == .ok)
                let json = try JSONValue(parsing: Array(response.body.readableBytesView))
                #expect(json["version"] == 2)
                #expect(json["widgets"]?[0]?["name"] == "pnl" && json["widgets"]?[0]?["worker"] == "trader")
                #expect(json["widgets"]?[1]?["points"]?["BTC"]?[0]?[1] == 60_000)
                return response.headers[.eTag]
            }
            #expect(etag == "\"2-\(board.epoch)\"")
            try await client.execute(uri: "/api/monitor/main", method: .get, headers: [.ifNoneMatch: etag ?? ""]) {
                #expect($0.status == .notModified)
            }
            try await client.execute(uri: "/api/monitor/main", method: .get, headers: [.ifNoneMatch: "\"2-older\""]) {
                #expect($0.status == .ok, "an ETag from an earlier run of the host is not this board's")
            }
            try board.apply(.text(name: "note", text: "hi"), worker: "other")
            try await client.execute(
                uri: "/api/monitor/main?since=2", method: .get, headers: [.ifNoneMatch: etag ?? ""]
            ) {
                response in
                #expect(response.status == .ok)
                let json = try JSONValue(parsing: Array(response.body.readableBytesView))
                #expect(json["widgets"]?.arrayValue?.map { $0["name"] } == ["note"])
            }
            try await client.execute(uri: "/api/monitor/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("the monitor blocks are: main"))
            }
        }
    }

    @Test func thePagesAndAssetsAreServed() async throws {
        let (hub, _) = try Self.board()
        try await Self.app(hub).test(.router) { client in
            try await client.execute(uri: "/monitor/main", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(String(buffer: response.body).contains("/assets/monitor.js"))
            }
            try await client.execute(uri: "/assets/monitor.js", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/monitor", method: .get) { response in
                #expect(String(buffer: response.body) == #"{"blocks":[{"name":"main","widgets":2}]}"#)
            }
        }
    }

    @Test func theStreamSendsASnapshotThenUpdatesAndResumesFromLastEventID() async throws {
        let (hub, board) = try Self.board()
        try await Self.app(hub).test(.live) { client in
            let url = "http://127.0.0.1:\(client.port ?? 0)/api/monitor/main/stream"
            var stream = try await SSEReader(url: url)
            let first = try await stream.next()
            #expect(first.json["type"] == "snapshot" && first.id == 2)
            try board.apply(.metric(name: "pnl", value: 6, unit: "USDT"), worker: "trader")
            let update = try await stream.next()
            #expect(update.id == 3 && update.json["type"] == "update" && update.json["widget"]?["previous"] == 5)
            try board.apply(.chart(name: "price", points: ["BTC": 60_100]), worker: "trader")
            let append = try await stream.next()
            #expect(append.json["type"] == "append" && append.json["widget"]?["points"]?["BTC"]?.arrayValue?.count == 1)

            try board.apply(.text(name: "missed", text: "while away"), worker: "trader")
            var resumed = try await SSEReader(url: url, lastEventID: "4-\(board.epoch)")
            let missed = try await resumed.next()
            #expect(missed.id == 5 && missed.json["widget"]?["name"] == "missed")
            var restarted = try await SSEReader(url: url, lastEventID: "4-earlierrun")
            #expect(try await restarted.next().json["type"] == "snapshot", "an id from an earlier run: start over")
            hub.finishAll()  // ends the open streams, so the server can stop
        }
    }
}

extension MonitorRoutesTests {
    @Test func aReaderThatStopsReadingNeverHoldsBackTheOthers() async throws {
        let board = MonitorBoard(name: "main", bufferSize: 64)
        let hub = MonitorHub(boards: [board])
        try await Self.app(hub).test(.live) { client in
            let url = "http://127.0.0.1:\(client.port ?? 0)/api/monitor/main/stream"
            let stalled = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
            var fast = try await SSEReader(url: url)
            _ = try await fast.next()  // its snapshot
            let text = String(repeating: "x", count: 16 * 1024)
            var lastSeen = 0
            for n in 1...1000 {  // 16 MB: far more than the stalled reader's socket can hold
                try board.apply(.text(name: "t\(n % 10)", text: text), worker: "w")
                lastSeen = try await fast.next().id ?? -1
            }
            #expect(lastSeen == 1000, "the reading client got every update, in step")
            #expect(board.cutOffCount >= 1, "the stalled one was cut off instead of buffering without bound")
            _ = stalled
            hub.finishAll()
        }
    }
}

/// A minimal Server-Sent Events reader over AsyncHTTPClient.
struct SSEReader {
    struct Message {
        var id: Int?
        var json: JSONValue
    }

    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var buffer = ""

    init(url: String, lastEventID: String? = nil, headers: [(String, String)] = []) async throws {
        var request = HTTPClientRequest(url: url)
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        guard response.status == .ok else { throw SSEError(status: Int(response.status.code)) }
        iterator = response.body.makeAsyncIterator()
    }

    struct SSEError: Error { var status: Int }

    /// The next data message (comments and `retry:` lines are skipped).
    mutating func next() async throws -> Message {
        while true {
            if let end = buffer.range(of: "\n\n") {
                let block = String(buffer[..<end.lowerBound])
                buffer.removeSubrange(..<end.upperBound)
                var id: Int?
                var data = ""
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("id: ") { id = Int(line.dropFirst(4).prefix { $0 != "-" }) }
                    if line.hasPrefix("data: ") { data += line.dropFirst(6) }
                }
                if !data.isEmpty { return Message(id: id, json: try JSONValue(parsing: Array(data.utf8))) }
                continue
            }
            guard let chunk = try await iterator.next() else { throw SSEError(status: 0) }
            buffer += String(buffer: chunk)
        }
    }
}
