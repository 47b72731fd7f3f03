import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Python workers that run themselves (`worker.run()`): under `command: python`, and by hand across a restart of
/// the host, where the stream resumes with `since=` and no event is lost or repeated.
@Suite(.timeLimit(.minutes(3)))
struct StandaloneWorkerTests {
    static let sdk = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("sdk/python").path

    static let desk = """
        from botyard import Worker

        worker = Worker(name="desk")

        @worker.on_startup
        async def boot(client):
            await client.state.set("booted", True)

        @worker.on_event("desk.signal")
        async def signal(event, client):
            await client.state.set("signal", {"px": event.payload["px"], "source": event.source})
            await client.publish("desk.ack", {"seq": event.seq})

        @worker.every(seconds=1)
        async def beat(client):
            await client.state.incr("beats")

        @worker.on_shutdown
        async def bye(client):
            await client.state.set("bye", True)

        if __name__ == "__main__":
            worker.run()
        """

    @Test func aCommandPythonWorkerHandlesEventsSchedulesAndStopsCleanly() async throws {
        let host = try HostProcess()
        try host.write("desk.py", Self.desk)
        try await host.start(
            try host.write(
                "botyard.yaml", "workers:\n  desk:\n    command: python\n    args: ['${BOTYARD_ROOT}/desk.py']\n"))
        try await host.waitUntil("it booted") { try await host.state("desk", "booted") == "true" }
        // It subscribes after on_startup: publish until the handler has seen one.
        try await host.waitUntil("the handler ran", timeout: .seconds(20)) {
            _ = try await host.api(.post, "/api/events", body: #"{"kind": "desk.signal", "payload": {"px": 42.5}}"#)
            try await Task.sleep(for: .milliseconds(200))
            return try await host.state("desk", "signal") != nil
        }
        #expect(try await host.state("desk", "signal") == #"{"px":42.5,"source":"operator"}"#)
        try await host.waitUntil("the schedule ran") { Int(try await host.state("desk", "beats") ?? "0") ?? 0 >= 2 }
        #expect(try await host.api(.post, "/api/workers/desk/stop").status == 200)
        try await host.waitUntil("it stopped") { try await host.worker("desk")["state"] == "stopped" }
        #expect(try await host.state("desk", "bye") == "true", "SIGTERM ran on_shutdown, and the exit was 0")
        #expect(try await host.interrupt() == 0)
    }

    static let follower = """
        import os
        from botyard import Worker

        worker = Worker(name="follower", max_concurrency=1)

        def note(line):
            with open(os.environ["FOLLOW_OUT"], "a") as handle:
                handle.write(line + "\\n")

        @worker.on_event("desk.n")
        async def got(event, client):
            note(f"n {event.payload['n']} {event.seq}")

        @worker.on_shutdown
        async def bye(client):
            note("bye")

        if __name__ == "__main__":
            worker.run()
        """

    @Test func aStandaloneWorkerMissesNothingAcrossARestartOfTheHost() async throws {
        let host = try HostProcess()
        let manifest = try host.write("botyard.yaml", "workers:\n  beat:\n    swift: Heartbeat\n")
        try await host.start(manifest)
        let port = try #require(host.data.readHostInfo()?.port)
        let out = host.directory.appendingPathComponent("follower.txt").path
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        worker.arguments = ["python3", try host.write("follower.py", Self.follower)]
        worker.environment = ProcessInfo.processInfo.environment.merging([
            "BOTYARD_RUNTIME_URL": "http://127.0.0.1:\(port)", "BOTYARD_RUNTIME_TOKEN": host.data.readToken() ?? "",
            "BOTYARD_WORKER": "beat", "FOLLOW_OUT": out, "PYTHONPATH": Self.sdk,
        ]) { $1 }
        let log = host.directory.appendingPathComponent("follower.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        worker.standardOutput = try FileHandle(forWritingTo: log)
        worker.standardError = worker.standardOutput
        try worker.run()
        defer { if worker.isRunning { worker.terminate() } }
        func lines() -> [String] {
            ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        func publish(_ target: HostProcess, _ n: Int) async throws {
            let body = #"{"kind": "desk.n", "payload": {"n": \#(n)}}"#
            #expect(try await target.api(.post, "/api/events", body: body).status == 200)
        }
        try await host.waitUntil("the worker is subscribed", timeout: .seconds(20)) {
            try await publish(host, 0)  // probes, until one arrives
            try await Task.sleep(for: .milliseconds(200))
            return !lines().isEmpty
        }
        for n in 1...5 { try await publish(host, n) }
        try await host.waitUntil("1 to 5 arrived") { lines().contains { $0.hasPrefix("n 5 ") } }
        #expect(try await host.terminate().status == 0)
        let restarted = try HostProcess(reusing: host)
        try await restarted.start(manifest, ["--port", "\(port)"])
        for n in 6...10 { try await publish(restarted, n) }  // likely before the worker is back
        try await restarted.waitUntil("6 to 10 arrived after the restart", timeout: .seconds(30)) {
            lines().contains { $0.hasPrefix("n 10 ") }
        }
        let numbers = lines().compactMap { line -> Int? in
            let fields = line.split(separator: " ")
            return fields.count == 3 ? Int(fields[1]) : nil
        }.filter { $0 > 0 }
        #expect(numbers == Array(1...10), "every event once, in order: \(lines())")
        let seqs = lines().compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "seq keeps increasing across the restart")
        worker.terminate()
        try await restarted.waitUntil("the worker exits after SIGTERM", timeout: .seconds(20)) { !worker.isRunning }
        #expect(
            worker.terminationStatus == 0, "\(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))")
        #expect(lines().last == "bye")
        #expect(try await restarted.interrupt() == 0)
    }
}
