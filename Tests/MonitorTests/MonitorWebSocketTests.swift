import AdapterKit
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import Monitor
import Synchronization
import Testing

/// The WebSocket stream carries the same messages as SSE.
@Suite(.timeLimit(.minutes(1)))
struct MonitorWebSocketTests {
    @Test func aWebSocketReaderGetsTheSnapshotThenUpdates() async throws {
        let board = MonitorBoard(name: "main")
        try board.apply(.status(name: "feed", level: .ok, text: "fine"), worker: "w")
        let hub = MonitorHub(boards: [board])
        let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
        MonitorRoutes(hub: hub).addWebSocket(to: webSocketRouter)
        let app = Application(router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: webSocketRouter))
        try await app.test(.live) { client in
            let received = Mutex<[JSONValue]>([])
            let url = "ws://127.0.0.1:\(client.port ?? 0)/api/monitor/main/ws"
            try await WebSocketClient.connect(url: url, logger: Logger(label: "ws-test")) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    let count = received.withLock { list in
                        list.append((try? JSONValue(parsing: Array(text.utf8))) ?? .null)
                        return list.count
                    }
                    if count == 1 { try board.apply(.status(name: "feed", level: .error, text: "down"), worker: "w") }
                    if count == 2 { break }
                }
            }
            let messages = received.withLock { $0 }
            #expect(messages.first?["type"] == "snapshot")
            #expect(messages.first?["widgets"]?[0]?["level"] == "ok")
            #expect(messages.last?["type"] == "update" && messages.last?["widget"]?["level"] == "error")
            hub.finishAll()
        }
    }
}
