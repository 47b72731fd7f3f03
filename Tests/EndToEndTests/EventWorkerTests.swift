import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Event workers on the real host: decorators, events between workers, schedules, supervised tasks, stop.
@Suite(.timeLimit(.minutes(3)))
struct EventWorkerTests {
    /// A host running `botyard.yaml` with these workers (name → Python source) and any extra manifest text.
    func host(_ workers: [String: String], manifest extra: String = "") async throws -> HostProcess {
        let host = try HostProcess()
        var manifest = "workers:\n"
        for (name, source) in workers.sorted(by: { $0.key < $1.key }) {
            try host.write("\(name).py", source)
            manifest += "  \(name):\n    code: \(name).py\n"
        }
        try await host.start(try host.write("botyard.yaml", manifest + extra))
        return host
    }

    func state(_ host: HostProcess, _ worker: String) async throws -> String {
        try await host.worker(worker)["state"]?.stringValue ?? "?"
    }

    static let lifecycle = """
        from botyard import Worker

        worker = Worker(name="life")

        @worker.on_startup
        async def open_first(client):
            print("startup 1")
            worker.state["opened"] = True

        @worker.on_startup
        async def open_second(client):
            print("startup 2")

        @worker.on_shutdown
        async def close_first(client):
            print("shutdown 1")

        @worker.on_shutdown
        async def close_second(client):
            print("shutdown 2")
            raise OSError("flush failed")

        if __name__ == "__main__":
            worker.run()
        """

    @Test func startupRunsInOrderShutdownInReverseAndAFailingShutdownStillStops() async throws {
        let host = try await host(["life": Self.lifecycle])
        try await host.waitUntil("running") { try await state(host, "life") == "running" }
        #expect(try await host.api(.post, "/api/workers/life/stop").status == 200)
        try await host.waitUntil("stopped") { try await state(host, "life") == "stopped" }
        let lines = host.log("life").split(separator: "\n").compactMap { line in
            ["startup 1", "startup 2", "shutdown 1", "shutdown 2"].first { line.hasSuffix("| \($0)") }
        }
        #expect(lines == ["startup 1", "startup 2", "shutdown 2", "shutdown 1"])
        let health = try await host.worker("life")["events"]
        #expect(health?["shutdownError"]?["type"]?.stringValue == "OSError")
        #expect(health?["shutdownError"]?["message"]?.stringValue?.contains("flush failed") == true)
        #expect(try await host.interrupt() == 0)
    }

    static let publisher = """
        from botyard import Worker

        worker = Worker(name="pub")

        @worker.every(seconds=1)
        async def ping(client):
            if await client.state.get("sent", 0) < 3:
                await client.publish("desk.ping", {"n": await client.state.incr("sent")})
        """

    static let listener = """
        from botyard import Worker

        worker = Worker(name="sub")

        @worker.on_event("desk.ping")
        async def first(event, client):
            await client.state.incr("first")

        @worker.on_event("desk.ping")
        async def second(event, client):
            await client.state.incr("second")
            await client.state.set("last", event.payload["n"])
            raise KeyError("second always fails")
        """

    @Test func everyHandlerOfAKindFiresAcrossWorkersAndAFailureIsCounted() async throws {
        let host = try await host(["pub": Self.publisher, "sub": Self.listener])
        // Events are not replayed: on a slow start the listener may miss the first ping, so count what it got.
        try await host.waitUntil("three pings handled") {
            let first = try await host.state("sub", "first")
            let second = try await host.state("sub", "second")
            return try await host.state("sub", "last") == "3" && first != nil && first == second
        }
        let received = Int(try await host.state("sub", "second") ?? "0") ?? 0
        #expect(received >= 1)
        let health = try await host.worker("sub")["events"]
        #expect(health?["failures"]?.intValue == received, "every failure of the second handler is counted")
        #expect(health?["lastFailure"]?["type"]?.stringValue == "KeyError")
        #expect(host.log("sub").contains("raise KeyError(\"second always fails\")"), "the traceback is in the log")
        #expect(try await state(host, "sub") == "running", "a failing handler does not stop the worker")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aSwiftEventWorkerGetsPythonEventsAndAnswersThem() async throws {
        let host = try HostProcess()
        try host.write("pub.py", Self.publisher)
        try host.write(
            "pong.py",
            """
            from botyard import Worker

            worker = Worker(name="pong")

            @worker.on_event("desk.pong")
            async def pong(event, client):
                await client.state.set("pongs", event.payload["pings"])
            """)
        let manifest =
            "workers:\n  pub:\n    code: pub.py\n  counter:\n    swift: PingCounter\n  pong:\n    code: pong.py\n"
        try await host.start(try host.write("botyard.yaml", manifest))
        try await host.waitUntil("three pongs") { try await host.state("pong", "pongs") == "3" }
        #expect(try await host.state("counter", "pings") == "3")
        #expect(Int(try await host.state("counter", "beats") ?? "0") ?? 0 >= 1)
        #expect(try await host.interrupt() == 0)
        #expect(host.log("counter").contains("PingCounter stopping"), "on_shutdown ran at the host's stop")
    }

    @Test func anOverflowBeyondTheBoundedQueueIsCountedNotSilent() async throws {
        let flood = """
            from botyard import Worker

            worker = Worker(name="flood")

            @worker.every(seconds=1)
            async def burst(client):
                if not await client.state.get("done", False):
                    await client.state.set("done", True)
                    for n in range(1100):
                        await client.publish("desk.flood", {"n": n})
            """
        let slow = """
            import asyncio
            from botyard import Worker

            worker = Worker(name="slow", max_concurrency=1)

            @worker.on_event("desk.flood")
            async def handle(event, client):
                await asyncio.sleep(30)
            """
        let host = try await host(["flood": flood, "slow": slow])
        try await host.waitUntil("the flood is counted", timeout: .seconds(60)) {
            (try await host.worker("slow")["events"]?["overflowed"]?.intValue ?? 0) >= 99
        }
        let health = try await host.worker("slow")["events"]
        #expect(health?["queued"]?.intValue == 1000)
        #expect(host.log("slow").contains("event queue full"))
        #expect(try await host.interrupt() == 0)
    }

    @Test func tasksBackOffDoublingResetAfterAStableRunAndFailTheWorkerWhenExhausted() async throws {
        let flaky = """
            import asyncio
            from botyard import Worker

            worker = Worker(name="flaky")

            @worker.task
            async def reader(client):
                runs = await client.state.incr("runs")
                if runs >= 4:
                    await asyncio.sleep(1.5)   # stable runs: the backoff starts over
                raise ConnectionError(f"run {runs} lost its socket")
            """
        let doomed = """
            from botyard import Worker

            worker = Worker(name="doomed")

            @worker.task
            async def reader(client):
                raise ConnectionError("never connects")
            """
        let tasks = "    tasks: {first_delay: 100ms, max_delay: 400ms, stable_after: 1s}\n"
        let host = try HostProcess()
        try host.write("flaky.py", flaky)
        try host.write("doomed.py", doomed)
        let manifest = "workers:\n  flaky:\n    code: flaky.py\n\(tasks)  doomed:\n    code: doomed.py\n\(tasks)"
        try await host.start(try host.write("botyard.yaml", manifest))
        try await host.waitUntil("doomed fails") { try await state(host, "doomed") == "error" }
        let failed = try await host.worker("doomed")
        #expect(failed["reason"]?.stringValue?.contains("every task crashed again after a 400ms wait") == true)
        try await host.waitUntil("flaky's sixth run", timeout: .seconds(60)) {
            (Int(try await host.state("flaky", "runs") ?? "0") ?? 0) >= 6
        }
        let delays = host.log("flaky").split(separator: "\n").compactMap { line in
            line.range(of: "restarting in ").map { String(line[$0.upperBound...]) }
        }
        #expect(Array(delays.prefix(5)) == ["100ms", "200ms", "400ms", "100ms", "100ms"], "\(delays)")
        let task = try await host.worker("flaky")["events"]?["tasks"]?[0]
        #expect(task?["name"]?.stringValue == "reader")
        #expect((task?["crashes"]?.intValue ?? 0) >= 5)
        #expect(try await state(host, "flaky") == "running")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aBadCronFailsTheWorkerAtLoadNamingTheHandlerAndTheOthersRun() async throws {
        let badCron = """
            from botyard import Worker

            worker = Worker(name="bad")

            @worker.every(cron="61 9 * * 1-5", tz="Europe/London")
            async def morning_summary(client):
                pass
            """
        let host = try await host(["bad": badCron, "pub": Self.publisher])
        try await host.waitUntil("bad fails") { try await state(host, "bad") == "error" }
        let reason = try await host.worker("bad")["reason"]?.stringValue ?? ""
        #expect(reason.contains("handler 'morning_summary'") && reason.contains("every(cron=)"), "\(reason)")
        #expect(reason.contains("minute field \"61\""), "\(reason)")
        try await host.waitUntil("the other worker runs") { try await host.state("pub", "sent") != nil }
        #expect(try await host.interrupt() == 0)
    }

    @Test func aPeerRestartsAWorkerKeepingCtxStateAndDroppingWorkerState() async throws {
        let target = """
            from botyard import Worker

            worker = Worker(name="target")

            @worker.on_startup
            async def boot(client):
                worker.state["boots"] = worker.state.get("boots", 0) + 1
                await client.state.set("memory", worker.state["boots"])
                await client.state.incr("starts")
            """
        let boss = """
            from botyard import Worker

            worker = Worker(name="boss")

            @worker.every(seconds=1)
            async def kick(client):
                if not await client.state.get("kicked", False):
                    await client.state.set("kicked", True)
                    await client.restart_worker("target")
            """
        let host = try HostProcess()
        try host.write("target.py", target)
        try host.write("boss.py", boss)
        try await host.start(
            try host.write(
                "botyard.yaml",
                "workers:\n  boss:\n    code: boss.py\n    may_restart: [target]\n  target:\n    code: target.py\n"))
        try await host.waitUntil("target restarted") { try await host.state("target", "starts") == "2" }
        #expect(try await host.state("target", "memory") == "1", "worker.state starts empty after a restart")
        let transitions = try await host.worker("target")["transitions"]?.arrayValue ?? []
        #expect(transitions.contains { $0["reason"]?.stringValue == "restart requested by worker boss" })
        #expect(try await host.interrupt() == 0)
    }
}

/// The runtime events the host publishes, as an event worker receives them.
@Suite(.timeLimit(.minutes(2)))
struct RuntimeEventTests {
    @Test func aWatcherSeesStateChangesTickFailuresAndTheHostsNotify() async throws {
        let host = try HostProcess()
        try host.write("broken.py", "def tick(ctx):\n    raise ValueError('bad data')\n")
        try host.write(
            "watcher.py",
            """
            import json
            from botyard import Worker

            worker = Worker(name="watcher")

            @worker.on_event("worker.state")
            async def state(event, client):
                if event.payload["worker"] == "broken":
                    await client.state.set("to." + event.payload["to"], event.payload["reason"])

            @worker.on_event("worker.tick_failed")
            async def failed(event, client):
                await client.state.set("tick_failed", event.payload)

            @worker.on_event("notify")
            async def notified(event, client):
                await client.state.set("notify", event.payload)
            """)
        let manifest = """
            workers:
              watcher:
                code: watcher.py
              broken:
                code: broken.py
                every: 1s
                max_errors: 2
            """
        try await host.start(try host.write("botyard.yaml", manifest))
        try await host.waitUntil("broken stopped") { try await host.state("watcher", "to.error") != nil }
        #expect(try await host.state("watcher", "to.error") == #""stopped after 2 consecutive errors""#)
        let failed = try await host.state("watcher", "tick_failed") ?? ""
        #expect(failed.contains(#""worker":"broken""#) && failed.contains("ValueError: bad data"), "\(failed)")
        let notify = try await host.state("watcher", "notify") ?? ""
        #expect(notify.contains(#""severity":"error""#) && notify.contains("worker broken stopped with an error"))
        #expect(try await host.interrupt() == 0)
    }
}

/// What the attack on event workers found, each a test that failed before its fix.
@Suite(.timeLimit(.minutes(3)))
struct HostileEventWorkerTests {
    /// Takes over fd 3: an event worker with a one-minute stop grace that never answers and ignores SIGTERM.
    static let stuck = """
        import json, os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Imported by the runner, which has already read the host's init frame.
        ready = {"type": "ready", "v": 1, "mode": "event", "worker": {"name": "stuck", "shutdown_grace": 60},
                 "handlers": [{"id": 0, "name": "tick", "kind": "every", "seconds": 1},
                              {"id": 1, "name": "bye", "kind": "shutdown"}]}
        os.write(3, (json.dumps(ready) + "\\n").encode())
        while True:
            os.read(3, 65536)
        """

    static let counter = """
        from botyard import Worker

        worker = Worker(name="honest")

        @worker.on_startup
        async def boot(client):
            await client.state.incr("starts")
        """

    @Test func aStuckWorkerDoesNotHoldUpTheOthersAtAReload() async throws {
        let host = try HostProcess()
        try host.write("stuck.py", Self.stuck)
        try host.write("honest.py", Self.counter)
        let manifest = "workers:\n  honest:\n    code: honest.py\n  stuck:\n    code: stuck.py\n"
        try await host.start(try host.write("botyard.yaml", manifest))
        try await host.waitUntil("both run") {
            let stuck = try await host.worker("stuck")["state"]?.stringValue
            return try await host.state("honest", "starts") == "1" && stuck == "running"
        }
        #expect(try await host.api(.post, "/api/reload").status == 200)
        try await host.waitUntil("honest is back while stuck still stops", timeout: .seconds(15)) {
            try await host.state("honest", "starts") == "2"
        }
        let early = try await host.api(.post, "/api/workers/stuck/restart")
        #expect(early.status == 409, "the new stuck must wait for the old one: never two processes of one worker")
        let terminated = try await host.terminate(timeout: .seconds(90))
        #expect(terminated.status == 0)
    }

    @Test func aWorkerRestartingItselfInALoopIsSlowedDown() async throws {
        let host = try HostProcess()
        try host.write(
            "looper.py",
            """
            from botyard import Worker

            worker = Worker(name="looper")

            @worker.on_startup
            async def again(client):
                await client.state.incr("starts")
                try:
                    await client.restart_worker("looper")
                except RuntimeError as error:
                    await client.state.set("refused", str(error))
            """)
        try await host.start(
            try host.write("botyard.yaml", "workers:\n  looper:\n    code: looper.py\n    may_restart: [looper]\n"))
        try await host.waitUntil("a restart is refused") { try await host.state("looper", "refused") != nil }
        try await Task.sleep(for: .seconds(3))
        let starts = Int(try await host.state("looper", "starts") ?? "0") ?? 0
        #expect(starts <= 3, "at most one restart by a worker per 5 s (started \(starts) times)")
        #expect(try await host.state("looper", "refused")?.contains("less than 5s ago") == true)
        #expect(try await host.interrupt() == 0)
    }
}

/// A short run of `bench/event_workers.py` (the full benchmark lives in bench/), so the benchmark keeps working.
@Suite(.timeLimit(.minutes(3)))
struct EventBenchSmokeTests {
    @Test func theEventWorkerBenchmarkRunsAndMeasuresEveryGroup() async throws {
        let (status, output) = try HostProcess.smokeBenchmark("event_workers.py")
        #expect(status == 0, "\(output.suffix(2000))")
        for group in ["A  Swift LatencyProbe x20", "A  Python every(1s) x5", "C  fan-out to 5 subscribers"] {
            let line = output.split(separator: "\n").first { $0.hasPrefix(group) }
            let runs = line.flatMap { $0.dropFirst(56).split(separator: " ").first }.flatMap { Int($0) } ?? 0
            #expect(runs > 0, "\(group) measured nothing:\n\(output.suffix(2000))")
        }
    }
}
