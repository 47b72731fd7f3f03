import AdapterKit
import Foundation
import Testing
import WorkerHost

/// `command:` workers, the layered environment, flags and `when:` gates, on the real host.
@Suite(.timeLimit(.minutes(3)))
struct ManifestTopologyTests {
    func state(_ host: HostProcess, _ worker: String) async throws -> String {
        try await host.worker(worker)["state"]?.stringValue ?? "?"
    }

    @Test func aCommandWorkerGetsTheLayeredEnvironmentAndAStatusZeroExitIsAStop() async throws {
        let host = try HostProcess()
        let manifest = try host.write(
            "botyard.yaml",
            """
            flags: {relay-enabled: true, verbose: false}
            workers:
              relay:
                command: sh
                args: ['-c', 'env | sort; echo "cwd=$(pwd)"']
                env: {LOG_LEVEL: info, PATH: '/usr/bin:/bin', CONFIG: '${BOTYARD_ROOT}/relay.toml'}
                when: [relay-enabled]
            """)
        try await host.start(manifest, environment: ["BYBIT_API_SECRET": "never-in-a-worker"])
        try await host.waitUntil("relay exits") { try await state(host, "relay") == "stopped" }
        let log = host.log("relay")
        let root = host.directory.resolvingSymlinksInPath().path
        let port = host.data.readHostInfo()?.port ?? 0
        for line in [
            "LOG_LEVEL=info", "PATH=/usr/bin:/bin", "CONFIG=\(root)/relay.toml", "BOTYARD_ROOT=\(root)",
            "BOTYARD_FLAG__RELAY_ENABLED=1", "BOTYARD_FLAG__VERBOSE=0", "BOTYARD_WORKER=relay",
            "BOTYARD_RUNTIME_URL=http://127.0.0.1:\(port)", "cwd=\(root)",
        ] {
            #expect(log.contains("| \(line)\n"), "\(line) in:\n\(log)")
        }
        #expect(log.contains("BOTYARD_RUNTIME_TOKEN=") && log.contains("BOTYARD_RUNTIME_ID="))
        #expect(!log.contains("never-in-a-worker"), "a host secret never reaches a worker")
        #expect(!log.contains(try #require(host.data.readToken())), "nor the admin token")
        let worker = try await host.worker("relay")
        #expect(worker["reason"]?.stringValue == "the process exited with status 0")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aNonZeroExitIsAnErrorWithTheLastTwentyLinesAndNoRestartUntilAsked() async throws {
        let host = try HostProcess()
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              failing:
                command: sh
                args: ['-c', 'for i in $(seq 1 30); do echo "line $i"; done; exit 3']
            """)
        try await host.start(manifest)
        try await host.waitUntil("it fails") { try await state(host, "failing") == "error" }
        var worker = try await host.worker("failing")
        #expect(worker["reason"]?.stringValue == "the process exited with status 3")
        let lines = worker["lastError"]?["traceback"]?.stringValue?.split(separator: "\n").map(String.init) ?? []
        #expect(lines.count == 20, "\(lines)")
        #expect(lines.first?.hasSuffix("line 11") == true && lines.last?.hasSuffix("line 30") == true, "\(lines)")
        try await Task.sleep(for: .seconds(2))
        worker = try await host.worker("failing")
        #expect(worker["state"]?.stringValue == "error", "no automatic restart")
        #expect(host.log("failing").components(separatedBy: "line 30").count == 2, "it ran once")
        #expect(try await host.api(.post, "/api/workers/failing/restart").status == 200)
        try await host.waitUntil("it ran again") { host.log("failing").components(separatedBy: "line 30").count >= 2 }
        #expect(try await host.interrupt() == 0)
    }

    @Test func aCommandThatIgnoresSigtermIsKilledFiveSecondsLater() async throws {
        let host = try HostProcess()
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              stubborn:
                command: sh
                args: ['-c', 'trap "echo got TERM" TERM; while true; do sleep 0.1; done']
            """)
        try await host.start(manifest)
        try await host.waitUntil("running") { try await state(host, "stubborn") == "running" }
        let asked = ContinuousClock.now
        #expect(try await host.api(.post, "/api/workers/stubborn/stop").status == 200)
        try await host.waitUntil("stopped") { try await state(host, "stubborn") == "stopped" }
        let took = asked.duration(to: .now)
        #expect(took >= .seconds(4.5), "SIGKILL only after the 5 s grace (took \(took))")
        try await host.waitUntil("SIGTERM came first (its trap's line is in the log)", timeout: .seconds(5)) {
            host.log("stubborn").contains("got TERM")
        }
        #expect(try await host.interrupt() == 0)
    }

    @Test func aGatedOffWorkerNeverStartsCannotBeRestartedAndAFlagTurnsItOn() async throws {
        let host = try HostProcess()
        try host.write("beat.py", "def tick(ctx):\n    ctx.state.incr('beats')\n")
        let manifest = try host.write(
            "botyard.yaml",
            """
            flags: {bridge-enabled: false}
            workers:
              bridge:
                code: beat.py
                when: [bridge-enabled]
            """)
        try await host.start(manifest)
        try await host.waitUntil("gated off") { try await state(host, "bridge") == "gated_off" }
        let worker = try await host.worker("bridge")
        #expect(worker["reason"]?.stringValue == "flag 'bridge-enabled' is off")
        let restart = try await host.api(.post, "/api/workers/bridge/restart")
        #expect(restart.status == 409)
        #expect(restart.json.jsonText().contains("gated off"))
        #expect(try await host.api(.post, "/api/workers/bridge/start").status == 409)
        #expect(try await state(host, "bridge") == "gated_off")
        #expect(try await host.interrupt() == 0)

        let on = try HostProcess(reusing: host)
        try await on.start(manifest, ["--flag", "bridge-enabled=on"])
        try await on.waitUntil("it ticks") { try await on.state("bridge", "beats") != nil }
        #expect(try await on.interrupt() == 0)
    }

    @Test func settingARuntimeVariableInEnvIsAnErrorNamingFileLineAndWorker() async throws {
        let host = try HostProcess()
        let manifest = try host.write(
            "botyard.yaml", "workers:\n  relay:\n    command: sh\n    env:\n      BOTYARD_RUNTIME_URL: http://evil\n")
        let run = try await host.runToEnd(["run", manifest, "--data-dir", host.data.path, "--port", "0"])
        #expect(run.status != 0)
        #expect(run.output.contains("botyard.yaml:5: worker 'relay', field 'env.BOTYARD_RUNTIME_URL'"), "\(run.output)")
        let flag = try await host.runToEnd(["run", manifest, "--flag", "nope=maybe"])
        #expect(flag.status != 0 && flag.output.contains("--flag nope=maybe"))
    }
}

/// Reload: the running set stops through its full sequence; the re-read manifest (gates re-evaluated) starts.
@Suite(.timeLimit(.minutes(3)))
struct ReloadTests {
    static let memory = """
        from botyard import Worker

        worker = Worker(name="memory")

        @worker.on_startup
        async def boot(client):
            worker.state["boots"] = worker.state.get("boots", 0) + 1
            await client.state.set("in_memory", worker.state["boots"])
            await client.state.incr("starts")

        @worker.on_shutdown
        async def bye(client):
            print("on_shutdown ran")
        """

    func manifest(gateOn: Bool) -> String {
        """
        flags: {extra: \(gateOn)}
        workers:
          memory:
            code: memory.py
          relay:
            command: sh
            args: ['-c', 'trap "echo relay got TERM; exit 0" TERM; while true; do sleep 0.1; done']
          extra:
            code: memory.py
            when: [extra]
        """
    }

    @Test func reloadKeepsCtxStateDropsWorkerStateAndReevaluatesGates() async throws {
        let host = try HostProcess()
        try host.write("memory.py", Self.memory)
        let path = try host.write("botyard.yaml", manifest(gateOn: false))
        try await host.start(path)
        try await host.waitUntil("started") { try await host.state("memory", "starts") == "1" }
        #expect(try await host.worker("extra")["state"]?.stringValue == "gated_off")

        try host.write("botyard.yaml", manifest(gateOn: true))
        let reload = try await host.runToEnd(["reload", "--data-dir", host.data.path])
        #expect(reload.status == 0 && reload.output.contains("reloading: memory, relay, extra"), "\(reload.output)")
        try await host.waitUntil("restarted") { try await host.state("memory", "starts") == "2" }
        #expect(try await host.state("memory", "in_memory") == "1", "worker.state did not survive the reload")
        try await host.waitUntil("the gate opened") { try await host.state("extra", "starts") == "1" }
        func previous(_ worker: String) -> String {
            (try? String(contentsOfFile: "\(host.data.logs)/worker-\(worker).log.prev", encoding: .utf8)) ?? ""
        }
        #expect(previous("memory").contains("on_shutdown ran"), "the full stopping sequence ran")
        #expect(previous("relay").contains("relay got TERM"), "the command worker got SIGTERM first")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aManifestThatNoLongerLoadsLeavesTheRunningSetAlone() async throws {
        let host = try HostProcess()
        try host.write("memory.py", Self.memory)
        let path = try host.write("botyard.yaml", manifest(gateOn: false))
        try await host.start(path)
        try await host.waitUntil("started") { try await host.state("memory", "starts") == "1" }
        try host.write("botyard.yaml", "workers:\n  memory:\n    code: memory.py\n    every: forever\n")
        let reply = try await host.api(.post, "/api/reload")
        #expect(reply.status == 400)
        #expect(reply.json.jsonText().contains("field 'every'"), "\(reply.json)")
        try await Task.sleep(for: .seconds(1))
        #expect(try await host.worker("memory")["state"]?.stringValue == "running")
        #expect(try await host.state("memory", "starts") == "1", "nothing was restarted")

        try host.write("botyard.yaml", manifest(gateOn: true))
        kill(host.process.processIdentifier, SIGHUP)
        try await host.waitUntil("SIGHUP reloaded it") { try await host.state("extra", "starts") == "1" }
        #expect(try await host.interrupt() == 0)
    }
}
