import AdapterKit
import Foundation
import Testing
import WorkerHost

/// The host running real Python workers: state, errors, timeouts, stuck processes.
@Suite(.timeLimit(.minutes(2)))
struct TickWorkerTests {
    static let counter = """
        def setup(ctx):
            ctx.log.info("Worker started")

        def tick(ctx):
            count = ctx.state.get("counter", 0) + 1
            ctx.state.set("counter", count)
            ctx.log.info(f"Tick #{count}")
        """

    @Test func stateSurvivesARestartOfTheHost() async throws {
        let host = try HostProcess()
        let script = try host.write("counter.py", Self.counter)
        try await host.start(script, ["--every", "1s"])
        try await host.waitUntil("two ticks") { Self.ticks(in: host.output).count >= 2 }
        #expect(try await host.interrupt() == 0)
        let firstTicks = Self.ticks(in: host.output)
        #expect(firstTicks == Array(1...(firstTicks.last ?? 1)))
        #expect(host.output.contains("counter  | Worker started"))

        let again = try HostProcess(reusing: host)
        try await again.start(script, ["--every", "1s"])
        try await again.waitUntil("a tick after the restart") { Self.ticks(in: again.output).count >= 1 }
        #expect(try await again.interrupt() == 0)
        let secondTicks = Self.ticks(in: again.output)
        #expect(secondTicks.first == (firstTicks.last ?? 0) + 1, "the second run went on from the first")
        let log = host.log("counter")
        let previous = (try? String(contentsOfFile: "\(host.data.logs)/worker-counter.log.prev", encoding: .utf8)) ?? ""
        #expect(previous.contains("| Tick #1\n") && !log.contains("| Tick #1\n"), "the first run's log was rotated")
        #expect(log.contains("INFO  counter | Tick #\(secondTicks.first ?? 0)"))
    }

    @Test func runForStopsGracefullyByItself() async throws {
        let host = try HostProcess()
        let script = try host.write("counter.py", Self.counter)
        let run = try await host.runToEnd(["run", script, "--data-dir", host.data.path, "--port", "0", "--for", "1s"])
        #expect(run.status == 0)
        #expect(run.output.contains("every worker stopped"), "\(run.output)")
    }

    @Test func aCompiledInSwiftWorkerTicksWithTheSameServices() async throws {
        let host = try HostProcess()
        let manifest = try host.write("botyard.yaml", "workers:\n  beat:\n    swift: Heartbeat\n    every: 1s\n")
        try await host.start(manifest)
        try await host.waitUntil("two beats") { Int(try await host.state("beat", "beats") ?? "0") ?? 0 >= 2 }
        #expect(host.log("beat").contains("beat #2"))
        #expect(try await host.worker("beat")["code"] == "swift:Heartbeat")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aTickThatAlwaysRaisesStopsAfterExactlyMaxErrors() async throws {
        let host = try HostProcess()
        try host.write(
            "failing.py",
            """
            def tick(ctx):
                raise ValueError("boom")

            def on_error(ctx, error):
                ctx.state.incr("on_error_calls")
                ctx.state.set("last_error", f"{type(error).__name__}: {error}")
            """)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              failing:
                code: failing.py
                every: 1s
                max_errors: 3
            """)
        try await host.start(manifest)
        try await host.waitUntil("the worker stops in error") { try await host.worker("failing")["state"] == "error" }
        let status = try await host.worker("failing")
        #expect(status["ticks"]?.intValue == 3)
        #expect(status["reason"]?.stringValue == "stopped after 3 consecutive errors")
        #expect(status["lastError"]?["traceback"]?.stringValue?.contains("raise ValueError(\"boom\")") == true)
        #expect(try await host.state("failing", "on_error_calls") == "3")
        #expect(try await host.state("failing", "last_error") == "\"ValueError: boom\"")
        try await Task.sleep(for: .seconds(1.5))
        #expect(try await host.worker("failing")["ticks"]?.intValue == 3, "no tick after the stop")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aSuccessResetsTheErrorCount() async throws {
        let host = try HostProcess()
        try host.write(
            "flaky.py",
            """
            def tick(ctx):
                if ctx.worker.tick % 2 == 1:
                    raise RuntimeError(f"odd tick {ctx.worker.tick}")
            """)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              flaky:
                code: flaky.py
                every: 1s
                max_errors: 2
            """)
        try await host.start(manifest)
        try await host.waitUntil("six ticks ran") { try await host.worker("flaky")["ticks"]?.intValue ?? 0 >= 6 }
        let status = try await host.worker("flaky")
        #expect(status["state"] == "running")
        #expect(status["totalErrors"]?.intValue ?? 0 >= 3)
        #expect(status["consecutiveErrors"]?.intValue ?? 9 <= 1)
        #expect(try await host.interrupt() == 0)
    }

    @Test func aSlowTickGetsTickTimeoutErrorInOnError() async throws {
        let host = try HostProcess()
        try host.write(
            "slow.py",
            """
            import time

            def tick(ctx):
                time.sleep(5)

            def on_error(ctx, error):
                ctx.state.set("seen", type(error).__name__)
                ctx.state.set("message", str(error))
            """)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              slow:
                code: slow.py
                every: 10s
                tick_timeout: 1s
            """)
        try await host.start(manifest)
        try await host.waitUntil("on_error saw the timeout", timeout: .seconds(10)) {
            try await host.state("slow", "seen") != nil
        }
        #expect(try await host.state("slow", "seen") == "\"TickTimeoutError\"")
        #expect(try await host.state("slow", "message")?.contains("exceeded its 1s timeout") == true)
        let status = try await host.worker("slow")
        #expect(status["restarts"]?.intValue == 0, "Python interrupted the sleep itself")
        #expect(status["lastError"]?["type"] == "TickTimeoutError")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aTickBlockedInNativeCodeIsKilledAndRestartedWhileOthersTick() async throws {
        let host = try HostProcess()
        // Blocking SIGALRM stands in for a C extension that never returns to Python.
        try host.write(
            "stuck.py",
            """
            import os, signal

            def setup(ctx):
                ctx.state.incr("setups")

            def tick(ctx):
                if ctx.state.get("blocked_once") is None:
                    ctx.state.set("blocked_once", True)
                    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                    r, w = os.pipe()
                    os.read(r, 1)
                ctx.state.incr("good_ticks")
            """)
        try host.write("steady.py", "def tick(ctx):\n    ctx.state.incr('ticks')\n")
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              stuck:
                code: stuck.py
                every: 1s
                tick_timeout: 1s
              steady:
                code: steady.py
                every: 1s
            """)
        try await host.start(manifest)
        try await host.waitUntil("stuck is blocked") { try await host.state("stuck", "blocked_once") != nil }
        let steadyBefore = Int(try await host.state("steady", "ticks") ?? "0") ?? 0
        try await host.waitUntil("the stuck process was restarted", timeout: .seconds(20)) {
            try await host.worker("stuck")["restarts"]?.intValue == 1
        }
        let steadyAfter = Int(try await host.state("steady", "ticks") ?? "0") ?? 0
        // About 7 s pass; on a loaded machine (the whole suite runs in parallel) a few of steady's slots can be
        // late and skipped, so this asserts that it kept ticking, not how often.
        #expect(steadyAfter - steadyBefore >= 2, "the other worker kept ticking while one was stuck")
        let status = try await host.worker("stuck")
        #expect(status["lastError"]?["type"] == "TickTimeoutError")
        #expect(status["lastError"]?["message"]?.stringValue?.contains("killed") == true)
        try await host.waitUntil("stuck ticks again after its restart") {
            try await host.state("stuck", "good_ticks") != nil
        }
        #expect(try await host.state("stuck", "setups") == "2", "setup ran again in the new process")
        #expect(try await host.worker("stuck")["state"] == "running")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aProcessThatExitsReportsItsLastOutputLines() async throws {
        let host = try HostProcess()
        try host.write(
            "exits.py",
            """
            import os

            def tick(ctx):
                for i in range(30):
                    print(f"line {i}")
                os._exit(3)
            """)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              exits:
                code: exits.py
                every: 1s
                max_errors: 1
            """)
        try await host.start(manifest)
        try await host.waitUntil("the worker stops") { try await host.worker("exits")["state"] == "error" }
        let error = try await host.worker("exits")["lastError"]
        #expect(error?["type"] == "WorkerExited")
        #expect(error?["message"]?.stringValue?.contains("exited with status 3") == true)
        let lines = error?["traceback"]?.stringValue?.split(separator: "\n") ?? []
        #expect(lines.count == 20)
        #expect(lines.contains { $0.hasSuffix("line 29") })
        #expect(try await host.interrupt() == 0)
    }

    @Test func aFloodOfLogLinesIsKeptWholeWithBackpressure() async throws {
        let host = try HostProcess()
        try host.write(
            "chatty.py",
            """
            def tick(ctx):
                if ctx.worker.tick == 1:
                    for i in range(20000):
                        ctx.log.info(f"line {i}")
                ctx.state.set("done", ctx.worker.tick)
            """)
        let manifest = try host.write("botyard.yaml", "workers:\n  chatty:\n    code: chatty.py\n    every: 1s\n")
        try await host.start(manifest)
        try await host.waitUntil("two ticks", timeout: .seconds(60)) {
            Int(try await host.state("chatty", "done") ?? "0") ?? 0 >= 2
        }
        let lines = host.log("chatty").split(separator: "\n").filter { $0.contains("| line ") }
        #expect(lines.count == 20000)
        #expect(lines.last?.hasSuffix("line 19999") == true)
        #expect(try await host.worker("chatty")["consecutiveErrors"]?.intValue == 0)
        #expect(try await host.interrupt() == 0)
    }

    static func ticks(in output: String) -> [Int] {
        output.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "Tick #") else { return nil }
            return Int(line[range.upperBound...])
        }
    }
}
