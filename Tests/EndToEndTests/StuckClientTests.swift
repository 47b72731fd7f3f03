import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Stream clients that stop reading, found by attacking the streams: they are disconnected after
/// `write_timeout` instead of holding a slot (and the host's memory) for as long as they like, and they do not
/// hold up a shutdown.
@Suite(.timeLimit(.minutes(3)))
struct StuckClientTests {
    /// Opens a stream on a socket with a tiny receive buffer, reads nothing for `seconds`, then reads what is
    /// there: prints `closed BYTES` when the host had closed the connection, `open BYTES` when it had not.
    static let client = """
        import socket, sys, time
        port, token, mode, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        if mode == "sse":
            head = "GET /api/events/stream?since=0 HTTP/1.1\\r\\nHost: x\\r\\n"
        else:
            head = ("GET /api/events/ws?since=0 HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n")
        s.sendall((head + "Authorization: Bearer " + token + "\\r\\n\\r\\n").encode())
        print("connected", flush=True)
        time.sleep(seconds)
        s.settimeout(3)
        total = 0
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    print("closed", total)
                    break
                total += len(chunk)
        except socket.timeout:
            print("open", total)
        except ConnectionResetError:
            print("closed", total)
        """

    static func host(_ events: String) async throws -> HostProcess {
        let host = try HostProcess()
        try await host.start(
            try host.write("botyard.yaml", "workers:\n  beat:\n    swift: Heartbeat\nevents:\n" + events))
        let pad = String(repeating: "x", count: 200_000)
        for n in 1...60 {  // 12 MB kept for replay: far more than any socket buffer holds
            let body = #"{"kind": "desk.big", "payload": {"n": \#(n), "pad": "\#(pad)"}}"#
            #expect(try await host.api(.post, "/api/events", body: body).status == 200)
        }
        return host
    }

    static func stuck(_ host: HostProcess, _ mode: String, seconds: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = try host.write("stuck.py", client)
        let port = host.data.readHostInfo()?.port ?? 0
        process.arguments = ["python3", script, "\(port)", host.data.readToken() ?? "", mode, "\(seconds)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func aClientThatStopsReadingIsDisconnectedAfterTheWriteTimeout() async throws {
        let host = try await Self.host("  replay: 100\n  write_timeout: 2s\n")
        for mode in ["sse", "ws"] {
            let output = try await Self.run(host, mode, seconds: 8)
            #expect(output.hasPrefix("connected\nclosed"), "\(mode): \(output)")
            let bytes = Int(output.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            #expect((bytes ?? 0) < 12_000_000, "\(mode): it did not get everything before the cut")
        }
        #expect(try await host.api(.get, "/api/runtime").status == 200)
        #expect(try await host.interrupt() == 0)
    }

    @Test func clientsThatStopReadingDoNotHoldUpAShutdown() async throws {
        let host = try await Self.host("  replay: 100\n")  // the default 30 s write timeout
        let clients = try ["sse", "ws", "sse", "ws"].map { try Self.stuck(host, $0, seconds: 60) }
        defer { for client in clients where client.isRunning { client.terminate() } }
        try await Task.sleep(for: .seconds(2))  // the replay is written until the sockets are full
        let stop = try await host.terminate(timeout: .seconds(40))
        #expect(stop.status == 0)
        #expect(stop.took < .seconds(15), "the host took \(stop.took) to stop")
    }

    static func run(_ host: HostProcess, _ mode: String, seconds: Int) async throws -> String {
        let file = host.directory.appendingPathComponent("stuck-\(mode).txt")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let port = host.data.readHostInfo()?.port ?? 0
        process.arguments = [
            "python3", try host.write("stuck.py", client), "\(port)", host.data.readToken() ?? "", mode, "\(seconds)",
        ]
        process.standardOutput = try FileHandle(forWritingTo: file)
        try process.run()
        try await host.waitUntil("the client finished", timeout: .seconds(seconds + 20)) {
            !process.isRunning
        }
        return (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    }
}
