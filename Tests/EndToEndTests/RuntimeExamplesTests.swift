import AdapterKit
import Foundation
import Testing
import WorkerHost

/// The two examples in `strategies/runtime/` as `command:` workers: a POSIX shell script that publishes with curl,
/// and a JavaScript program that reads the WebSocket stream. They prove the contract for any language.
@Suite(.timeLimit(.minutes(2)))
struct RuntimeExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("strategies/runtime")

    static let listener = """
        from botyard import Worker

        worker = Worker(name="listener")

        @worker.on_event("desk.heartbeat")
        async def beat(event, client):
            await client.state.set("beat", event.payload["n"])
            await client.state.set("beat_source", event.source)

        @worker.on_event("notify")
        async def notified(event, client):
            await client.state.set("notify", event.payload["title"])
        """

    static let node = ["/usr/bin/node", "/usr/local/bin/node"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(.enabled(if: node != nil, "node is not installed"))
    func theShellWorkerPublishesAndTheJavaScriptWorkerStreams() async throws {
        let host = try HostProcess()
        for file in ["heartbeat.sh", "tail_events.js"] {
            try host.write(file, try String(contentsOf: Self.examples.appendingPathComponent(file), encoding: .utf8))
        }
        try host.write("listener.py", Self.listener)
        let manifest = """
            workers:
              listener:
                code: listener.py
              heartbeat:
                command: /bin/sh
                args: ['${BOTYARD_ROOT}/heartbeat.sh']
                env: {HEARTBEAT_SECONDS: "1"}
              tail:
                command: \(Self.node ?? "node")
                args: ['${BOTYARD_ROOT}/tail_events.js']
                env: {TAIL_KINDS: "desk.*,notify"}
                sandbox: {memory: 2GiB}
            """
        try await host.start(try host.write("botyard.yaml", manifest))
        try await host.waitUntil("the listener got heartbeats", timeout: .seconds(30)) {
            Int(try await host.state("listener", "beat") ?? "0") ?? 0 >= 2
        }
        #expect(try await host.state("listener", "beat_source") == #""heartbeat""#)
        try await host.waitUntil("a notification arrived") { try await host.state("listener", "notify") != nil }
        try await host.waitUntil("the JavaScript worker printed events", timeout: .seconds(30)) {
            let log = host.log("tail")
            return log.contains(" desk.heartbeat {\"") && log.contains(" notify {\"")
        }
        #expect(host.log("tail").contains("tail: subscribed"))
        // Restarted, it starts a new log and subscribes again.
        #expect(try await host.api(.post, "/api/workers/tail/restart").status == 200)
        try await host.waitUntil("it subscribed again", timeout: .seconds(30)) {
            host.log("tail").contains("tail: subscribed")
        }
        #expect(try await host.interrupt() == 0)
        #expect(
            host.log("heartbeat").contains("heartbeat: stopping after"), "SIGTERM is handled: \(host.log("heartbeat"))")
        #expect(!host.log("heartbeat").contains("not published"))
    }
}
