import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Ways around the sandbox and the host's bounds that a review found, each closed: the host's own folder, a
/// symlinked path to the data directory, a data directory that is the code folder, a stdout nobody reads, and a
/// worker that never reads the answers to its calls.
@Suite(.timeLimit(.minutes(3)))
struct SandboxEscapeTests {
    /// Reads paths from inside the worker and stores what it could read under `seen`.
    static func reader(_ paths: [String]) -> String {
        let list = paths.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            import json, os

            def setup(ctx):
                seen = {}
                for path in [\(list)]:
                    try:
                        seen[path] = sorted(os.listdir(path)) if os.path.isdir(path) else open(path).read()[:200]
                    except Exception as error:
                        seen[path] = "refused: " + type(error).__name__
                with open(os.path.join(os.environ["BOTYARD_SCRATCH"], "seen.json"), "w") as out:
                    json.dump(seen, out)

            def tick(ctx):
                pass
            """
    }

    @Test func theHostsOwnFolderIsNotShown() async throws {
        let host = try HostProcess()
        let secret = host.directory.appendingPathComponent("where-the-host-runs")
        try FileManager.default.createDirectory(at: secret, withIntermediateDirectories: true)
        try "TOPSECRET".write(to: secret.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(
            at: host.directory.appendingPathComponent("bots"), withIntermediateDirectories: true)
        try host.write("bots/r.py", Self.reader([secret.path + "/notes.txt", secret.path]))
        let manifest = try host.write("bots/botyard.yaml", "workers:\n  r: {code: r.py, every: 1s}\n")
        try await host.start(manifest, in: secret)
        let seen = try await seenBy(host, "r")
        #expect(try await host.interrupt() == 0)
        #expect(!seen.contains("TOPSECRET"), "\(seen)")
    }

    @Test func aSymlinkedPathToTheDataDirectoryStillHidesIt() async throws {
        let host = try HostProcess()
        let real = host.directory.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        let link = host.directory.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: real)
        try Self.reader([real.path + "/.botyard/admin.token", real.path + "/.botyard"]).write(
            to: real.appendingPathComponent("r.py"), atomically: true, encoding: .utf8)
        try "workers:\n  r: {code: r.py, every: 1s}\n".write(
            to: real.appendingPathComponent("botyard.yaml"), atomically: true, encoding: .utf8)
        let run = try await host.runToEnd([
            // The manifest by one name of the folder, the data directory by the other.
            "run", link.path + "/botyard.yaml", "--data-dir", real.path + "/.botyard", "--port", "0", "--for", "4s",
        ])
        #expect(run.status == 0, "\(run.output)")
        let token = try String(contentsOfFile: real.path + "/.botyard/admin.token", encoding: .utf8)
        let text = try String(contentsOfFile: real.path + "/.botyard/scratch/r/seen.json", encoding: .utf8)
        let seen = try JSONParser.parse(Array(text.utf8))
        #expect(!text.contains(token.trimmingCharacters(in: .whitespacesAndNewlines)), "\(text)")
        #expect(seen[real.path + "/.botyard/admin.token"]?.stringValue?.hasPrefix("refused") == true, "\(text)")
        let listing = seen[real.path + "/.botyard"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(listing.allSatisfy { $0 == "scratch" }, "the data directory shows only the way to scratch: \(listing)")
    }

    @Test func aDataDirectoryThatIsTheCodeFolderIsRefused() async throws {
        let host = try HostProcess()
        try host.write("r.py", "def tick(ctx):\n    pass\n")
        let manifest = try host.write("botyard.yaml", "workers:\n  r: {code: r.py, every: 1s}\n")
        let run = try await host.runToEnd(["run", manifest, "--data-dir", host.directory.path, "--port", "0"])
        #expect(run.status != 0)
        #expect(run.output.contains("lies in the data directory"), "\(run.output)")
    }

    @Test func aStdoutNobodyReadsNeverHoldsTheHost() async throws {
        let host = try HostProcess()
        try host.write("chatty.py", "def tick(ctx):\n    for _ in range(20000):\n        ctx.log.info('x' * 200)\n")
        let manifest = try host.write(
            "botyard.yaml", "workers:\n  chatty: {code: chatty.py, every: 1s, tick_timeout: 2s}\n")
        let fifo = host.directory.appendingPathComponent("stdout.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)  // held open, never read: a paused terminal
        defer { close(reader) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: HostProcess.binary)
        process.arguments = ["run", manifest, "--data-dir", host.data.path, "--port", "0", "--for", "4s"]
        process.standardOutput = FileHandle(forWritingAtPath: fifo)
        process.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        while process.isRunning, started.duration(to: .now) < .seconds(60) { try await Task.sleep(for: .milliseconds(100)) }
        let took = started.duration(to: .now)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        #expect(took < .seconds(40), "the host took \(took) with its stdout stalled")
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let log = host.log("chatty")
        #expect(log.contains("xxxx"), "the worker's own log still gets its lines")
    }

    @Test func aWorkerThatNeverReadsItsAnswersCannotGrowTheHost() async throws {
        let host = try HostProcess()
        try host.write(
            "flood.py",
            """
            import os, time

            def setup(ctx):
                ctx.state.set("big", "x" * 900_000)
                frame = b'{"type":"call","id":7,"method":"state.get","params":{"key":"big"}}\\n'
                os.set_blocking(3, True)
                for _ in range(600):
                    os.write(3, frame)  # never reads the answers
                time.sleep(30)

            def tick(ctx):
                pass
            """)
        try host.write("good.py", "def tick(ctx):\n    ctx.state.incr('ticks')\n")
        let manifest = try host.write(
            "botyard.yaml",
            "workers:\n  flood: {code: flood.py, every: 5s, tick_timeout: 5s}\n  good: {code: good.py, every: 1s}\n")
        try await host.start(manifest)
        var peak = 0
        for _ in 0..<40 {
            peak = max(peak, host.residentKiB ?? 0)
            try await Task.sleep(for: .milliseconds(250))
        }
        let ticks = Int(try await host.state("good", "ticks") ?? "0") ?? 0
        #expect(try await host.interrupt() == 0)
        #expect(peak < 200 * 1024, "host resident memory reached \(peak / 1024) MiB")
        #expect(ticks >= 5, "the good worker kept ticking: \(ticks)")
    }

    /// What ordinary strategies do still works in the sandbox: a process pool (semaphores in /dev/shm), the
    /// user's name, TLS defaults, time zones; and a `.env` that is a dangling link or a folder does not stop the
    /// worker from starting (bubblewrap could not cover it with a file).
    @Test func ordinaryLibrariesWorkInTheSandbox() async throws {
        let host = try HostProcess()
        try FileManager.default.createSymbolicLink(
            atPath: host.directory.path + "/.env", withDestinationPath: "/nowhere/secrets.env")
        try FileManager.default.createDirectory(
            atPath: host.directory.path + "/.env.d", withIntermediateDirectories: true)
        try host.write(".env.local", "BYBIT_API_SECRET=do-not-read\n")
        try host.write(
            "libs.py",
            """
            import getpass, multiprocessing, ssl, zoneinfo

            def square(x):
                return x * x

            def setup(ctx):
                with multiprocessing.Pool(2) as pool:
                    ctx.state.set("pool", pool.map(square, [1, 2, 3]))
                ctx.state.set("user", getpass.getuser())
                ctx.state.set("tls", ssl.create_default_context().cert_store_stats()["x509_ca"] > 0)
                ctx.state.set("zone", str(zoneinfo.ZoneInfo("Europe/London")))
                try:
                    ctx.state.set("env_local", open(".env.local").read())
                except OSError as error:
                    ctx.state.set("env_local", type(error).__name__)

            def tick(ctx):
                pass
            """)
        let manifest = try host.write("botyard.yaml", "workers:\n  libs: {code: libs.py, every: 1s}\n")
        try await host.start(manifest)
        try await host.waitUntil("setup ran", timeout: .seconds(30)) { try await host.state("libs", "env_local") != nil }
        let pool = try await host.state("libs", "pool") ?? ""
        #expect(try JSONParser.parse(Array(pool.utf8)).arrayValue?.compactMap(\.intValue) == [1, 4, 9], "\(pool)")
        #expect(try await host.state("libs", "user") == "\"botyard-libs\"")
        #expect(try await host.state("libs", "tls") == "true")
        #expect(try await host.state("libs", "zone") == "\"Europe/London\"")
        #expect(try await host.state("libs", "env_local")?.contains("do-not-read") == false)
        #expect(try await host.interrupt() == 0)
    }

    /// The worker's record of what it could read, once its setup has run.
    func seenBy(_ host: HostProcess, _ worker: String) async throws -> String {
        let file = host.data.scratch + "/\(worker)/seen.json"
        try await host.waitUntil("the worker looked around") { FileManager.default.fileExists(atPath: file) }
        try await Task.sleep(for: .milliseconds(200))  // the file is written in one go; let it close
        return try String(contentsOfFile: file, encoding: .utf8)
    }
}
