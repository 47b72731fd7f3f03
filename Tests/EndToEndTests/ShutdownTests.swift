import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Starting next to another host, and stopping with SIGTERM whatever the workers are doing.
@Suite(.timeLimit(.minutes(3)))
struct ShutdownTests {
    static let steady = "def tick(ctx):\n    ctx.state.incr('ticks')\n"

    /// A listening TCP socket on `0.0.0.0` and a free port, closed when released.
    final class Listener {
        let fd: CInt
        let port: Int

        init() throws {
            let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = INADDR_ANY
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                    bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
                }
            }
            guard bound else {
                close(fd)
                throw POSIXError(.EADDRINUSE)
            }
            self.fd = fd
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(fd) }
    }

    @Test func aTakenPortStopsTheHostAtOnce() async throws {
        let host = try HostProcess()
        try host.write("steady.py", Self.steady)
        let manifest = try host.write("botyard.yaml", "workers:\n  steady:\n    code: steady.py\n    every: 1s\n")
        let listener = try Listener()
        let started = ContinuousClock.now
        let run = try await host.runToEnd(
            ["run", manifest, "--data-dir", host.data.path, "--port", "\(listener.port)"], timeout: .seconds(20))
        let took = started.duration(to: .now)
        #expect(run.status != 0)
        #expect(run.output.contains("port \(listener.port) is in use (another botyard? use --port)"), "\(run.output)")
        #expect(took < .seconds(5), "took \(took)")
        #expect(!FileManager.default.fileExists(atPath: host.data.hostFile))

        // The port of a running host is taken the same way.
        try await host.start(manifest)
        let port = try #require(host.data.readHostInfo()?.port)
        let other = try HostProcess()
        try other.write("steady.py", Self.steady)
        let second = try await other.runToEnd(
            ["run", try other.write("botyard.yaml", "workers:\n  steady:\n    code: steady.py\n"), "--data-dir",
             other.data.path, "--port", "\(port)"], timeout: .seconds(20))
        #expect(second.status != 0)
        #expect(second.output.contains("port \(port) is in use"), "\(second.output)")
        #expect(try await host.api(.get, "/health").status == 200)
        #expect(try await host.interrupt() == 0)
    }

    @Test func aSecondHostOnOneDataDirectoryNamesTheFirstAndLeavesItAlone() async throws {
        let host = try HostProcess()
        try host.write("steady.py", Self.steady)
        let manifest = try host.write("botyard.yaml", "workers:\n  steady:\n    code: steady.py\n    every: 1s\n")
        try await host.start(manifest)
        let info = try #require(host.data.readHostInfo())
        let token = try #require(host.data.readToken())
        try await host.waitUntil("a tick") { try await host.state("steady", "ticks") != nil }

        let started = ContinuousClock.now
        let second = try await host.runToEnd(
            ["run", manifest, "--data-dir", host.data.path, "--port", "0"], timeout: .seconds(20))
        let took = started.duration(to: .now)
        #expect(second.status != 0)
        #expect(
            second.output.contains(
                "another botyard (pid \(host.process.processIdentifier)) is already running on this data directory"),
            "\(second.output)")
        #expect(took < .seconds(5), "took \(took)")

        // The first host is untouched: same host file, same token, still ticking and answering.
        #expect(host.data.readHostInfo()?.port == info.port)
        #expect(host.data.readHostInfo()?.pid == info.pid)
        #expect(host.data.readToken() == token)
        let ticks = Int(try await host.state("steady", "ticks") ?? "0") ?? 0
        try await host.waitUntil("more ticks") { Int(try await host.state("steady", "ticks") ?? "0") ?? 0 > ticks + 1 }
        #expect(try await host.interrupt() == 0)
    }

    /// Starts a host whose workers `sandboxed` and `unboxed` (sandbox off) both run `script`, waits until both
    /// have written `marker` to state, sends SIGTERM, and checks the exit and that no descendant is left.
    /// - Returns: the exit status and how long the host took to exit.
    func terminate(during script: String, marker: String) async throws -> (status: Int32, took: Duration) {
        let host = try HostProcess()
        try host.write("worker.py", script)
        try host.write("steady.py", Self.steady)
        let manifest = try host.write(
            "botyard.yaml",
            """
            workers:
              sandboxed:
                code: worker.py
                every: 1s
              unboxed:
                code: worker.py
                every: 1s
                sandbox: off
              steady:
                code: steady.py
                every: 1s
            """)
        try await host.start(manifest)
        try await host.waitUntil("both workers reached \(marker)", timeout: .seconds(20)) {
            let sandboxed = try await host.state("sandboxed", marker)
            let unboxed = try await host.state("unboxed", marker)
            return sandboxed != nil && unboxed != nil
        }
        let processes = ProcessTable.descendants(of: host.process.processIdentifier)
        #expect(processes.count >= 3)
        let result = try await host.terminate(timeout: .seconds(60))
        #expect(result.took < .seconds(45), "the host took \(result.took) to exit; output:\n\(host.output.suffix(2000))")
        try await host.waitUntil("no descendant outlives the host", timeout: .seconds(5)) {
            ProcessTable.alive(processes).isEmpty
        }
        #expect(ProcessTable.alive(processes).isEmpty)
        print("ShutdownTests: SIGTERM with workers at '\(marker)': exit status \(result.status) after \(result.took)")
        return result
    }

    /// Measured: exit 0 after 2.1 s (the shutdown frame waits 2 s, then SIGTERM ends setup's sleep).
    @Test func sigtermDuringSetupStopsTheHost() async throws {
        let result = try await terminate(
            during: """
                import time

                def setup(ctx):
                    ctx.state.set("in_setup", True)
                    time.sleep(30)

                def tick(ctx):
                    pass
                """, marker: "in_setup")
        #expect(result.status == 0)
    }

    /// Measured: exit 0 after 2.1 s.
    @Test func sigtermDuringATickStopsTheHost() async throws {
        let result = try await terminate(
            during: """
                import time

                def tick(ctx):
                    ctx.state.set("in_tick", True)
                    time.sleep(30)
                """, marker: "in_tick")
        #expect(result.status == 0)
    }

    /// The tick blocks every signal it can (SIGTERM, SIGALRM: neither the runner's timeout nor the host's SIGTERM
    /// reach it) and sleeps: only SIGKILL ends it. Measured: exit 0 after 7.1 s (2 s for the shutdown frame, 5 s of
    /// SIGTERM grace, then SIGKILL).
    @Test func sigtermWithAStuckWorkerStopsTheHost() async throws {
        let result = try await terminate(
            during: """
                import signal, time

                def tick(ctx):
                    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals))
                    ctx.state.set("stuck", True)
                    time.sleep(1000)
                """, marker: "stuck")
        #expect(result.status == 0)
    }
}
