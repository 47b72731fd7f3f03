import AdapterKit
import Foundation
import Testing
import WorkerHost

/// Hostile workers, continued: processes, memory and secrets.
extension HostileWorkerTests {
    // MARK: - Processes and memory

    /// Spawns three children that ignore SIGTERM: a subprocess, a fork, and a daemon (setsid, then a second fork
    /// whose parent exits, so that it is neither in the worker's process group nor the host's descendant); then
    /// ignores SIGTERM itself. Stores the children's pids (as the worker sees them) under `spawned`.
    static let stubborn = #"""
        import os, signal, subprocess, sys, time

        IGNORE = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1000)"

        def linger():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            time.sleep(1000)
            os._exit(0)

        def tick(ctx):
            if ctx.state.get("spawned"):
                return
            pids = [subprocess.Popen([sys.executable, "-c", IGNORE]).pid]
            pid = os.fork()
            if pid == 0:
                linger()
            pids.append(pid)
            read, write = os.pipe()
            if os.fork() == 0:  # a daemon: new session, then fork again and let the middle one exit
                os.setsid()
                grandchild = os.fork()
                if grandchild == 0:
                    linger()
                os.write(write, str(grandchild).encode())
                os._exit(0)
            pids.append(int(os.read(read, 32)))
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the runner itself ignores SIGTERM too
            ctx.state.set("spawned", pids)
        """#

    /// A fork bomb stops at its `pids` limit, a memory hog at its `memory` limit (MemoryError, then error), and
    /// children that ignore SIGTERM (a subprocess, a fork, a setsid double-fork daemon) all end with the host.
    @Test func forkBombsMemoryHogsAndStubbornChildrenAreContained() async throws {
        let host = try HostProcess()
        let bomb = #"""
            import os, time

            def bomb():
                try:
                    while True:
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(0.5)
                finally:
                    os._exit(0)

            def tick(ctx):
                if ctx.state.get("forked"):
                    return
                made, errors, last = 0, 0, ""
                for _ in range(1000):
                    try:
                        pid = os.fork()
                    except OSError as error:
                        errors, last = errors + 1, repr(error)
                        if errors >= 20:
                            break
                        continue
                    if pid == 0:
                        bomb()
                    made += 1
                ctx.state.set("forked", {"made": made, "errors": errors, "last": last})
            """#
        let hog = #"""
            def tick(ctx):
                ctx.state.incr("attempts")
                chunks = []
                while True:
                    chunks.append(bytearray(16 << 20))
            """#
        let stubborn = Self.stubborn
        try await launch(
            host,
            [
                Hostile(name: "bomb", script: bomb, settings: ["sandbox: {pids: 32}", "tick_timeout: 30s"]),
                Hostile(name: "hog", script: hog, settings: ["sandbox: {memory: 256MiB}", "max_errors: 2"]),
                Hostile(name: "stubborn", script: stubborn),
            ])
        try await host.waitUntil("the bomb went off", timeout: .seconds(40)) {
            try await host.state("bomb", "forked") != nil
        }
        try await host.waitUntil("the children were spawned", timeout: .seconds(20)) {
            try await host.state("stubborn", "spawned") != nil
        }
        try await expectGoodKeepsTicking(host, "beside the fork bomb")
        let forked = try JSONValue(parsing: Data((try await host.state("bomb", "forked") ?? "{}").utf8))
        #expect((forked["made"]?.intValue ?? 99) < 32, "the bomb made \(forked)")
        #expect(forked["last"]?.stringValue?.contains("BlockingIOError") == true, "\(forked)")

        try await host.waitUntil("hog is in error", timeout: .seconds(40)) {
            try await host.worker("hog")["state"] == "error"
        }
        let hogged = try await host.worker("hog")
        #expect(hogged["lastError"]?["type"] == "MemoryError", "\(hogged)")
        #expect(hogged["reason"]?.stringValue?.contains("stopped after 2 consecutive errors") == true, "\(hogged)")
        try await expectGoodKeepsTicking(host, "after the memory hog")

        // Every descendant now: the bomb's processes, the stubborn children, and their sandboxes' processes.
        let processes = ProcessTable.descendants(of: host.process.processIdentifier)
        #expect(processes.count > 30)
        let stopped = ContinuousClock.now
        #expect(try await host.interrupt(timeout: .seconds(50)) == 0)
        let took = stopped.duration(to: .now)
        print("HostileWorkerTests: the host stopped in \(took) beside the fork bomb and stubborn children")
        #expect(took < .seconds(45), "the host took \(took) to stop")
        try await host.waitUntil("no process outlives the host", timeout: .seconds(10)) {
            ProcessTable.alive(processes).isEmpty
        }
    }

    /// The same stubborn children from a worker with `sandbox: off`: the subprocess, the fork and the setsid
    /// daemon (which leaves the worker's process group and the host's tree) all end with the host, since an
    /// unsandboxed worker still has a PID namespace of its own.
    @Test func stubbornChildrenOfAnUnsandboxedWorkerEndWithTheHost() async throws {
        let host = try HostProcess()
        try await launch(host, [Hostile(name: "unboxed", script: Self.stubborn, settings: ["sandbox: off"])])
        try await host.waitUntil("the children were spawned", timeout: .seconds(20)) {
            try await host.state("unboxed", "spawned") != nil
        }
        // The worker reports pids of its own namespace; the machine's pids are found by the worker's environment.
        let marked = ProcessTable.withEnvironment("BOTYARD_WORKER=unboxed")
        #expect(marked.count >= 4, "the worker and its three children: \(marked)")
        let stopped = ContinuousClock.now
        #expect(try await host.interrupt(timeout: .seconds(50)) == 0)
        let took = stopped.duration(to: .now)
        #expect(took < .seconds(45), "the host took \(took) to stop")
        // Found by this test: the setsid daemon once outlived the host, having left the worker's process group.
        try await host.waitUntil("every process of the worker ends with the host", timeout: .seconds(10)) {
            ProcessTable.alive(marked).isEmpty
        }
        for pid in ProcessTable.alive(marked) { kill(pid, SIGKILL) }  // this test's own leftovers, if it failed
    }

    // MARK: - Secrets

    /// A worker reads everything it can see — its environment, /proc, the data directory and its files by path,
    /// and every file outside the system folders — and finds neither the admin token nor a secret from the host's
    /// environment; the data directory's files cannot be opened.
    @Test func aWorkerCannotReadTheHostsSecretsOrDataDirectory() async throws {
        let host = try HostProcess()
        let secret = "host-secret-\(UUID().uuidString)"
        let data = host.data
        let script = #"""
            import json, os, sys

            TARGETS = {
                "admin_token": "\#(data.tokenFile)",
                "viewer_token": "\#(data.viewerTokenFile)",
                "state_db": "\#(data.stateDatabase)",
                "host_json": "\#(data.hostFile)",
                "lock": "\#(data.lockFile)",
                "good_log": "\#(data.logs)/worker-good.log",
                "data_dir": "\#(data.path)",
                "good_scratch": "\#(data.scratch)/good",
            }
            # System folders and the Python installation: read-only copies of the machine's, and large.
            SKIP = ("/proc", "/sys", "/dev", "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", sys.base_prefix)

            def read(path):
                try:
                    if os.path.isdir(path):
                        return "ok: dir " + ",".join(sorted(os.listdir(path)))
                    with open(path, "rb") as f:
                        return "ok: " + f.read(65536).decode("latin-1")
                except Exception as error:
                    return f"{type(error).__name__}: {error}"

            def tick(ctx):
                if ctx.state.get("done"):
                    return
                try:
                    host_pid = int(open("hostpid.txt").read())
                except OSError:
                    return  # not written yet
                loot = {"env": dict(os.environ)}
                for name, path in TARGETS.items():
                    loot["target." + name] = read(path)
                loot["target.host_environ"] = read(f"/proc/{host_pid}/environ")
                loot["target.host_cmdline"] = read(f"/proc/{host_pid}/cmdline")
                for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                    for what in ("environ", "cmdline"):
                        loot[f"proc.{pid}.{what}"] = read(f"/proc/{pid}/{what}")
                for root, dirs, files in os.walk("/"):
                    if root.startswith(SKIP) and root != "/":
                        dirs[:] = []
                        continue
                    if root == "/":
                        dirs[:] = [d for d in dirs if "/" + d not in SKIP]
                    for name in files:
                        loot["file." + os.path.join(root, name)] = read(os.path.join(root, name))
                with open(os.path.join(os.environ["BOTYARD_SCRATCH"], "loot.json"), "w") as f:
                    json.dump(loot, f)
                for key, value in loot.items():
                    if key.startswith("target."):
                        ctx.state.set(key, value[:500])
                ctx.state.set("files", len([k for k in loot if k.startswith("file.")]))
                ctx.state.set("done", True)
            """#
        try await launch(
            host, [Hostile(name: "thief", script: script)],
            environment: ["BYBIT_API_SECRET": secret, "BOTYARD_TEST_SECRET": secret])
        try host.write("hostpid.txt", "\(host.process.processIdentifier)")
        try await host.waitUntil("the thief is done", timeout: .seconds(30)) {
            try await host.state("thief", "done") == "true"
        }
        let token = try #require(host.data.readToken())
        let viewer = try #require(host.data.readViewerToken())
        for name in [
            "admin_token", "viewer_token", "state_db", "host_json", "lock", "good_log", "good_scratch", "host_environ",
            "host_cmdline",
        ] {
            let outcome = try await text(host, "thief", "target.\(name)") ?? "<nothing>"
            #expect(!outcome.hasPrefix("ok"), "\(name): \(outcome)")
        }
        let dataDir = try await text(host, "thief", "target.data_dir") ?? ""
        // The data directory is an empty folder in the sandbox holding only the mount point of its own scratch.
        #expect(dataDir == "ok: dir scratch" || !dataDir.hasPrefix("ok"), "data dir: \(dataDir)")
        #expect(Int(try await host.state("thief", "files") ?? "0") ?? 0 > 0)

        let loot = try String(contentsOfFile: "\(data.scratch)/thief/loot.json", encoding: .utf8)
        #expect(loot.count > 1000)
        #expect(!loot.contains(token), "the admin token leaked to the worker")
        #expect(!loot.contains(viewer), "the viewer token leaked to the worker")
        #expect(!loot.contains(secret), "the host's secret leaked to the worker")
        try await expectGoodKeepsTicking(host, "beside the thief")
        #expect(try await host.interrupt() == 0)
    }
}
