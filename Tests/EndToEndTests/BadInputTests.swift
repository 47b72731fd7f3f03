import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Bad scripts, bad manifests and bad frames: each is that worker's clear error, and the host runs on.
@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    static let steady = "def tick(ctx):\n    ctx.state.incr('ticks')\n"

    /// Starts a host with `bad` beside a steady worker and waits for `bad` to end up in `error`.
    func runBeside(_ bad: String, maxErrors: Int = 1) async throws -> (HostProcess, JSONValue) {
        let host = try HostProcess()
        try host.write("bad.py", bad)
        try host.write("steady.py", Self.steady)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              bad:
                code: bad.py
                every: 1s
                max_errors: \(maxErrors)
              steady:
                code: steady.py
                every: 1s
            """)
        try await host.start(manifest)
        try await host.waitUntil("bad is in error", timeout: .seconds(20)) {
            try await host.worker("bad")["state"] == "error"
        }
        try await host.waitUntil("steady ticks") { Int(try await host.state("steady", "ticks") ?? "0") ?? 0 >= 2 }
        #expect(try await host.api(.get, "/health").status == 200)
        return (host, try await host.worker("bad"))
    }

    @Test func aSyntaxErrorNamesTheFileAndLine() async throws {
        let (host, status) = try await runBeside("def tick(ctx):\n    x = = 1\n")
        let reason = status["reason"]?.stringValue ?? ""
        #expect(reason.contains("could not load"))
        #expect(reason.contains("SyntaxError"))
        #expect(reason.contains("bad.py, line 2"))
        #expect(try await host.interrupt() == 0)
    }

    @Test func aScriptWithoutTickIsRefused() async throws {
        let (host, status) = try await runBeside("def setup(ctx):\n    pass\n")
        #expect(status["reason"]?.stringValue?.contains("defines no tick(ctx) function") == true)
        #expect(try await host.interrupt() == 0)
    }

    @Test func aGarbageFrameIsAProtocolErrorOfThatWorker() async throws {
        let (host, status) = try await runBeside(
            "import os\n\ndef tick(ctx):\n    os.write(3, b'this is not json\\n')\n    ctx.state.get('x')\n")
        #expect(status["lastError"]?["type"] == "ProtocolError")
        #expect(status["lastError"]?["message"]?.stringValue?.contains("malformed frame") == true)
        #expect(try await host.interrupt() == 0)
    }

    @Test func anOversizedFrameIsRefused() async throws {
        let script = "import os\n\ndef tick(ctx):\n    os.write(3, b'x' * (5 * 1024 * 1024))\n    ctx.state.get('x')\n"
        let (host, status) = try await runBeside(script)
        #expect(status["lastError"]?["message"]?.stringValue?.contains("frame larger than 4 MiB") == true)
        #expect(try await host.interrupt() == 0)
    }

    @Test func aWorkerThatClosesTheSocketIsAnError() async throws {
        let (host, status) = try await runBeside(
            "import os, time\n\ndef tick(ctx):\n    os.close(3)\n    time.sleep(0.5)\n")
        #expect(status["lastError"]?["type"] == "WorkerExited")
        #expect(try await host.interrupt() == 0)
    }

    @Test func anUnknownCallIsTheWorkersError() async throws {
        let script = """
            def tick(ctx):
                ctx.state._conn.call("orders.teleport", {})

            def on_error(ctx, error):
                ctx.state.set("seen", f"{type(error).__name__}: {error}")
            """
        let (host, _) = try await runBeside(script)
        #expect(try await host.state("bad", "seen") == "\"ProtocolError: unknown ctx call 'orders.teleport'\"")
        #expect(try await host.interrupt() == 0)
    }

    @Test func stateLimitsAreValueErrors() async throws {
        let script = """
            def tick(ctx):
                for attempt in (lambda: ctx.state.set("k" * 300, 1), lambda: ctx.state.set("big", "x" * (1 << 20))):
                    try:
                        attempt()
                    except ValueError as error:
                        ctx.state.set(f"error{ctx.state.incr('n')}", str(error))
                ctx.bybit
            """
        let (host, status) = try await runBeside(script)
        #expect(try await host.state("bad", "error1") == "\"state key is 300 bytes; the limit is 256\"")
        #expect(try await host.state("bad", "error2")?.contains("the limit is 1 MiB") == true)
        #expect(status["lastError"]?["type"] == "BlockNotConnectedError")
        #expect(status["lastError"]?["message"]?.stringValue?.contains("bybit block") == true)
        #expect(try await host.interrupt() == 0)
    }

    @Test func aBadManifestNamesTheFileWorkerAndField() async throws {
        let host = try HostProcess()
        try host.write("steady.py", Self.steady)
        let manifest = try host.write("botyard.yaml", "workers:\n  fast:\n    code: steady.py\n    every: 500ms\n")
        let check = try await host.runToEnd(["check", manifest])
        #expect(check.status != 0)
        #expect(check.output.contains("botyard.yaml:4: worker 'fast', field 'every': interval 500ms is out of range"))
        let run = try await host.runToEnd(["run", manifest, "--data-dir", host.data.path, "--port", "0"])
        #expect(run.status != 0)
        #expect(run.output.contains("field 'every'"))
        let unknown = try host.write("typo.yaml", "workers:\n  w:\n    code: steady.py\n    evry: 5s\n")
        #expect(
            try await host.runToEnd(["check", unknown]).output.contains(
                "typo.yaml:4: worker 'w', field 'evry': unknown field"))
    }

    @Test func checkReportsPythonSyntaxErrorsWithFileAndLine() async throws {
        let host = try HostProcess()
        try host.write("broken.py", "def tick(ctx):\n    pass\n\ndef other(:\n")
        let manifest = try host.write("botyard.yaml", "workers:\n  broken:\n    code: broken.py\n")
        let check = try await host.runToEnd(["check", manifest])
        #expect(check.status != 0)
        #expect(check.output.contains("worker 'broken'"))
        #expect(check.output.contains("broken.py, line 4"))
        try host.write("broken.py", "def tick(ctx):\n    pass\n")
        let fixed = try await host.runToEnd(["check", manifest])
        #expect(fixed.status == 0, "\(fixed.output)")
    }
}
