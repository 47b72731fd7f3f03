import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Operating a running host: the CLI, the API's token, live interval changes, deploys, Ctrl-C.
@Suite(.timeLimit(.minutes(2)))
struct ControlTests {
    static let stamping = """
        import time

        def tick(ctx):
            stamps = ctx.state.get("stamps", [])
            stamps.append(time.monotonic())
            ctx.state.set("stamps", stamps[-10:])
            ctx.state.set("version", 1)
        """

    func startStamping() async throws -> HostProcess {
        let host = try HostProcess()
        try host.write("stamping.py", Self.stamping)
        try host.write("other.py", "def tick(ctx):\n    ctx.log.info('other ticked')\n")
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              stamping:
                code: stamping.py
                every: 1s
              other:
                code: other.py
                every: 1s
            """)
        try await host.start(manifest)
        return host
    }

    func cli(_ host: HostProcess, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await host.runToEnd(arguments + ["--data-dir", host.data.path])
    }

    @Test func anIntervalChangeAppliesLive() async throws {
        let host = try await startStamping()
        try await host.waitUntil("two ticks") { (try await stamps(host)).count >= 2 }
        let change = try await cli(host, ["interval", "stamping", "3s"])
        #expect(change.status == 0, "\(change.output)")
        let before = try await stamps(host).count
        try await host.waitUntil("three ticks at the new interval", timeout: .seconds(20)) {
            (try await stamps(host)).count >= before + 3
        }
        let gaps = zip(try await stamps(host).dropFirst(), try await stamps(host)).map { $0 - $1 }.suffix(2)
        #expect(gaps.allSatisfy { $0 > 2.5 && $0 < 3.5 }, "gaps after the change: \(gaps)")
        #expect(try await host.worker("stamping")["intervalSeconds"]?.numberValue == 3)
        let refused = try await cli(host, ["interval", "stamping", "500ms"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("out of range"))
        #expect(try await host.interrupt() == 0)
    }

    @Test func theCLIStopsStartsShowsAndDeploys() async throws {
        let host = try await startStamping()
        try await host.waitUntil("a tick") { (try await stamps(host)).count >= 1 }
        let status = try await cli(host, ["status"])
        #expect(status.output.contains("stamping") && status.output.contains("running"), "\(status.output)")

        #expect(try await cli(host, ["stop", "stamping"]).status == 0)
        try await host.waitUntil("stopped") { try await host.worker("stamping")["state"] == "stopped" }
        let again = try await cli(host, ["stop", "stamping"])
        #expect(again.status != 0 && again.output.contains("already stopped"), "\(again.output)")
        #expect(try await cli(host, ["start", "stamping"]).status == 0)
        try await host.waitUntil("running") { try await host.worker("stamping")["state"] == "running" }

        let state = try await cli(host, ["state", "stamping"])
        #expect(state.output.contains("version = 1"), "\(state.output)")

        let newCode = try host.write(
            "v2.py", Self.stamping.replacingOccurrences(of: "\"version\", 1", with: "\"version\", 2"))
        let deploy = try await cli(host, ["deploy", "stamping", newCode])
        #expect(deploy.status == 0, "\(deploy.output)")
        try await host.waitUntil("revision 2 runs") { try await host.state("stamping", "version") == "2" }
        #expect(try await host.worker("stamping")["revision"]?.intValue == 1)
        #expect(try await stamps(host).count >= 2, "state survived the deploy")

        let broken = try host.write("broken.py", "def tick(ctx)\n")
        let refused = try await cli(host, ["deploy", "stamping", broken])
        #expect(refused.status != 0 && refused.output.contains("line 1"), "\(refused.output)")
        #expect(try await host.worker("stamping")["state"] == "running", "a refused deploy changes nothing")

        let logs = try await cli(host, ["logs", "other"])
        #expect(logs.output.contains("other ticked"))
        let detail = try await cli(host, ["status", "stamping"])
        #expect(
            detail.output.contains("transitions:") && detail.output.contains("deployed revision 1"), "\(detail.output)")
        #expect(try await host.interrupt() == 0)
    }

    @Test func theAPINeedsTheAdminTokenButHealthDoesNot() async throws {
        let host = try await startStamping()
        #expect(try await host.api(.get, "/health", token: "").status == 200)
        let refused = try await host.api(.get, "/api/workers", token: "wrong")
        #expect(refused.status == 401)
        #expect(refused.json["error"]?["message"]?.stringValue?.contains("admin.token") == true)
        #expect(try await host.api(.get, "/api/workers").status == 200)
        let missing = try await host.api(.get, "/api/workers/nobody")
        #expect(missing.status == 404)
        #expect(missing.json["error"]?["message"]?.stringValue?.contains("stamping") == true)
        let attributes = try FileManager.default.attributesOfItem(atPath: host.data.tokenFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try await host.interrupt() == 0)
    }

    @Test func ctrlCStopsEveryWorkerAndExitsZero() async throws {
        let host = try await startStamping()
        try await host.waitUntil("both tick") {
            let stamped = try await stamps(host).count >= 1
            return stamped && host.log("other").contains("other ticked")
        }
        #expect(try await host.interrupt() == 0)
        for worker in ["stamping", "other"] {
            #expect(host.log(worker).contains("stopped: host shutting down"), "\(worker)'s log records its shutdown")
        }
        #expect(host.output.contains("every worker stopped"))
    }

    @Test func stopAndCtrlCDoNotWaitForASlowSetup() async throws {
        let host = try HostProcess()
        try host.write(
            "slow_setup.py", "import time\n\ndef setup(ctx):\n    time.sleep(120)\n\ndef tick(ctx):\n    pass\n")
        let manifest = try host.write(
            "botyard.yaml", "workers:\n  slow:\n    code: slow_setup.py\n    tick_timeout: 5m\n")
        try await host.start(manifest)
        // Workers start once the API listens (so that they get its URL): "loading" follows within moments.
        try await host.waitUntil("loading", timeout: .seconds(10)) { try await host.worker("slow")["state"] == "loading" }
        let stopping = ContinuousClock.now
        #expect(try await cli(host, ["stop", "slow"]).status == 0)
        try await host.waitUntil("stopped", timeout: .seconds(15)) {
            try await host.worker("slow")["state"] == "stopped"
        }
        #expect(stopping.duration(to: .now) < .seconds(15))
        #expect(try await cli(host, ["start", "slow"]).status == 0)
        try await Task.sleep(for: .milliseconds(500))
        let interrupted = ContinuousClock.now
        #expect(try await host.interrupt(timeout: .seconds(15)) == 0)
        #expect(interrupted.duration(to: .now) < .seconds(15))
    }

    func stamps(_ host: HostProcess) async throws -> [Double] {
        guard let json = try await host.state("stamping", "stamps") else { return [] }
        return try JSONValue(parsing: Data(json.utf8)).arrayValue?.compactMap(\.numberValue) ?? []
    }
}
