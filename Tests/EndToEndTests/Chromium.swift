import AdapterKit
import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1

/// Headless Chromium driven over the DevTools protocol, for the dashboard's browser test.
final class Chromium: @unchecked Sendable {  // the process handle is only touched by the owning test
    static var binary: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    let profile: URL
    private let process = Process()

    /// Starts a headless browser with a fresh profile under `folder`.
    init(folder: URL) throws {
        guard let binary = Self.binary else { throw BrowserError("chromium is not installed (scripts/setup --tests)") }
        profile = folder.appendingPathComponent("chromium-profile")
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-zygote",
            "--hide-scrollbars", "--no-first-run", "--window-size=1400,1000", "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            "--user-data-dir=\(profile.path)", "about:blank",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// The page's DevTools WebSocket URL, once the browser is up.
    func pageEndpoint(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(
                contentsOf: profile.appendingPathComponent("DevToolsActivePort"), encoding: .utf8),
                let port = text.split(separator: "\n").first,
                let list = try? await Self.get("http://127.0.0.1:\(port)/json/list"),
                let page = list.arrayValue?.first(where: { $0["type"] == "page" }),
                let url = page["webSocketDebuggerUrl"]?.stringValue
            {
                return url
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BrowserError("chromium's DevTools endpoint did not come up")
    }

    /// Runs `body` with a DevTools session on the page.
    func withPage<T: Sendable>(_ body: @escaping @Sendable (DevToolsSession) async throws -> T) async throws -> T {
        let endpoint = try await pageEndpoint()
        let result = ResultBox<T>()
        try await WebSocketClient.connect(
            url: endpoint, configuration: .init(maxFrameSize: 1 << 24), logger: Logger(label: "chromium")
        ) { inbound, outbound, _ in
            let session = DevToolsSession(
                inbound: inbound.messages(maxSize: 1 << 26).makeAsyncIterator(), outbound: outbound)
            result.value = .success(try await body(session))
        }
        guard let value = result.value else { throw BrowserError("the DevTools connection closed early") }
        return try value.get()
    }

    static func get(_ url: String) async throws -> JSONValue {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONValue(parsing: Array(body.readableBytesView))
    }

    final class ResultBox<T>: @unchecked Sendable {  // written once inside the connection, read after it
        var value: Result<T, any Error>?
    }
}

struct BrowserError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A DevTools protocol session on one page: commands in order, their results by id.
final class DevToolsSession: @unchecked Sendable {  // used by one task at a time
    private var inbound: WebSocketInboundMessageStream.AsyncIterator
    private let outbound: WebSocketOutboundWriter
    private var nextID = 0

    init(inbound: WebSocketInboundMessageStream.AsyncIterator, outbound: WebSocketOutboundWriter) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Sends a command and returns its `result`.
    func send(_ method: String, _ params: JSONValue = [:]) async throws -> JSONValue {
        nextID += 1
        let id = nextID
        let command: JSONValue = ["id": .number(Double(id)), "method": .string(method), "params": params]
        try await outbound.write(.text(command.jsonText()))
        while let message = try await inbound.next() {
            guard case .text(let text) = message, let reply = try? JSONValue(parsing: Array(text.utf8)),
                reply["id"]?.intValue == id
            else { continue }  // events, and replies to nothing we wait for
            if let error = reply["error"] { throw BrowserError("\(method): \(error.jsonText())") }
            return reply["result"] ?? .null
        }
        throw BrowserError("the DevTools connection closed during \(method)")
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    func evaluate(_ expression: String) async throws -> JSONValue {
        let result = try await send(
            "Runtime.evaluate", ["expression": .string(expression), "returnByValue": true, "awaitPromise": true])
        return result["result"]?["value"] ?? .null
    }

    /// Saves a PNG screenshot of the page.
    func screenshot(to path: String) async throws {
        let result = try await send("Page.captureScreenshot", ["format": "png"])
        guard let data = result["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) }) else { return }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
