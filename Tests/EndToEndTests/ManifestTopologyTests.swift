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
        #expect(host.log("stubborn").contains("got TERM"), "SIGTERM came first")
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
