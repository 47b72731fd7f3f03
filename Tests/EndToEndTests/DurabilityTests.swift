import Foundation
import Testing
import WorkerHost

/// What survives a crash, and what never reaches a worker.
@Suite(.timeLimit(.minutes(2)))
struct DurabilityTests {
    @Test func anAcknowledgedSetSurvivesAHostCrash() async throws {
        let host = try HostProcess()
        try host.write(
            "writer.py",
            """
            def tick(ctx):
                ctx.state.set("n", ctx.state.get("n", 0) + 1)  # only grows, across hosts too
            """)
        let manifest = try host.write("botyard.yaml", "workers:\n  writer:\n    code: writer.py\n    every: 1s\n")
        try await host.start(manifest)
        try await host.waitUntil("three writes") { Int(try await host.state("writer", "n") ?? "0") ?? 0 >= 3 }
        let acknowledged = Int(try await host.state("writer", "n") ?? "0") ?? 0
        let workerProcesses = ProcessTable.descendants(of: host.process.processIdentifier)
        #expect(!workerProcesses.isEmpty)
        try await host.crash()
        try await host.waitUntil("every worker process ends with its host", timeout: .seconds(10)) {
            ProcessTable.alive(workerProcesses).isEmpty
        }

        let restarted = try HostProcess(reusing: host)
        try await restarted.start(manifest)
        let recovered = Int(try await restarted.state("writer", "n") ?? "0") ?? 0
        #expect(recovered >= acknowledged)
        #expect(try await restarted.interrupt() == 0)
    }

    @Test func workersSeeTheirEnvButNotTheHostsSecrets() async throws {
        let host = try HostProcess()
        try host.write(
            "env.py",
            """
            import os

            def tick(ctx):
                ctx.state.set("secret", os.environ.get("BYBIT_API_SECRET"))
                ctx.state.set("symbol", os.environ.get("SYMBOL"))
                ctx.state.set("name", os.environ.get("BOTYARD_WORKER"))
            """)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              env:
                code: env.py
                every: 1s
                env: {SYMBOL: BTCUSDT}
            """)
        try await host.start(manifest, environment: ["BYBIT_API_SECRET": "do-not-leak-1234"])
        try await host.waitUntil("a tick") { try await host.state("env", "name") != nil }
        #expect(try await host.state("env", "secret") == "null")
        #expect(try await host.state("env", "symbol") == "\"BTCUSDT\"")
        #expect(try await host.state("env", "name") == "\"env\"")
        #expect(try await host.interrupt() == 0)
        #expect(!host.output.contains("do-not-leak-1234"))
        #expect(!host.log("env").contains("do-not-leak-1234"))
    }
}
