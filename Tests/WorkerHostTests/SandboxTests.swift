import Foundation
import Testing

@testable import WorkerHost

/// The bubblewrap command line, read as data: what a worker's sandbox shows, hides and limits.
struct SandboxTests {
    func command(policy: SandboxPolicy = SandboxPolicy(), code: [String] = ["/srv/bots"], uid: UInt32? = 200_003)
        -> [String]
    {
        wrapped(policy: policy, code: code, uid: uid).arguments
    }

    func wrapped(policy: SandboxPolicy = SandboxPolicy(), code: [String] = ["/srv/bots"], uid: UInt32? = 200_003)
        -> PythonBackend.Launch
    {
        var configuration = Sandbox.Configuration()
        configuration.readable = ["/opt/python", "/srv/sdk"]
        configuration.hidden = ["/srv/bots/.botyard"]
        let launch = PythonBackend.Launch(
            executable: "/opt/python/bin/python3", arguments: ["-m", "botyard.runner"],
            environment: ["PATH": "/usr/bin", "BOTYARD_WORKER": "w"], workingDirectory: "/srv/bots")
        let worker = Sandbox.Worker(
            code: code, workingDirectory: "/srv/bots", scratch: "/srv/bots/.botyard/scratch/w", uid: uid,
            policy: policy)
        let wrapped = Sandbox(configuration: configuration).wrap(launch, for: worker)
        #expect(wrapped.executable == "/usr/bin/bwrap")
        return wrapped
    }

    func index(_ arguments: [String], _ items: String...) -> Int? {
        arguments.indices.first { start in
            start + items.count <= arguments.count && Array(arguments[start..<start + items.count]) == items
        }
    }

    @Test func namespacesAndDeathWithTheHost() {
        let arguments = command()
        for flag in ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"] {
            #expect(arguments.contains(flag), "\(flag)")
        }
        #expect(!arguments.contains("--unshare-net"))
        #expect(command(policy: { var p = SandboxPolicy(); p.network = false; return p }()).contains("--unshare-net"))
    }

    @Test func theDataDirectoryIsHiddenInsideTheCodeFolderAndScratchIsMountedOverIt() throws {
        let arguments = command()
        let code = try #require(index(arguments, "--ro-bind", "/srv/bots", "/srv/bots"))
        let hidden = try #require(index(arguments, "--tmpfs", "/srv/bots/.botyard"))
        let scratch = try #require(
            index(arguments, "--bind", "/srv/bots/.botyard/scratch/w", "/srv/bots/.botyard/scratch/w"))
        #expect(code < hidden && hidden < scratch)
        #expect(index(arguments, "--perms", "0755", "--dir", "/srv/bots/.botyard/scratch") != nil)
    }

    @Test func onlyTheSystemThePythonTheSDKAndTheCodeAreShown() {
        let arguments = command()
        let sources = arguments.indices.filter { ["--ro-bind", "--bind"].contains(arguments[$0]) }.map { arguments[$0 + 1] }
        let allowed = ["/usr", "/etc", "/opt/python", "/srv/sdk", "/srv/bots", "/srv/bots/.botyard/scratch/w", "/dev/null"]
        let etc = Sandbox.Configuration().etc.map { "/etc/" + $0 }
        for source in sources { #expect(allowed.contains(source) || etc.contains(source), "\(source) is shown") }
        #expect(!sources.contains("/etc"), "not the whole of /etc")
        #expect(index(arguments, "--tmpfs", "/") == 0 + arguments.firstIndex(of: "--tmpfs")!)
        #expect(index(arguments, "--proc", "/proc") != nil)
    }

    @Test func limitsAndTheUnprivilegedUIDComeBeforeTheInterpreter() throws {
        var policy = SandboxPolicy()
        policy.memoryBytes = 256 * 1024 * 1024
        policy.pids = 32
        let arguments = command(policy: policy)
        let limits = try #require(arguments.firstIndex(of: "/usr/bin/prlimit"))
        #expect(arguments[limits + 1..<limits + 4] == ["--as=268435456", "--nproc=32", "--nofile=256"])
        let drop = try #require(arguments.firstIndex(of: "/usr/bin/setpriv"))
        #expect(arguments.contains("--reuid=200003") && arguments.contains("--clear-groups"))
        let python = try #require(arguments.firstIndex(of: "/opt/python/bin/python3"))
        #expect(limits < drop && drop < python)
        #expect(!command(uid: nil).contains("/usr/bin/setpriv"), "a host that is not root drops nothing")
        #expect(!command(uid: nil).contains { $0.hasPrefix("--nproc") }, "the host user's processes would count")
    }

    @Test func theWorkerGetsOnlyItsEnvironmentWithAPrivateHomeAndNoneOfItOnTheCommandLine() throws {
        let launch = wrapped()
        #expect(launch.environment["HOME"] == "/srv/bots/.botyard/scratch/w")
        #expect(launch.environment["BOTYARD_WORKER"] == "w" && launch.environment["TMPDIR"] == "/tmp")
        #expect(Set(launch.environment.keys) == ["PATH", "BOTYARD_WORKER", "HOME", "TMPDIR", "BOTYARD_SCRATCH", "USER", "LOGNAME"])
        #expect(!launch.arguments.contains("--setenv"), "ps shows arguments to every local user")
    }

    @Test func aDeployedRevisionInTheDataDirectoryIsShownAfterItIsHidden() throws {
        let arguments = command(code: ["/srv/bots", "/srv/bots/.botyard/code/w"])
        let hidden = try #require(index(arguments, "--tmpfs", "/srv/bots/.botyard"))
        let revision = try #require(
            index(arguments, "--ro-bind", "/srv/bots/.botyard/code/w", "/srv/bots/.botyard/code/w"))
        #expect(hidden < revision)
        let parent = try #require(index(arguments, "--perms", "0755", "--dir", "/srv/bots/.botyard/code"))
        #expect(hidden < parent && parent < revision)
    }

    @Test func sandboxOffKeepsOnlyAPIDNamespaceThatEndsWithTheHost() {
        let launch = PythonBackend.Launch(
            executable: "python3", arguments: ["-m", "botyard.runner"], environment: ["PATH": "/usr/bin"],
            workingDirectory: "/srv/bots")
        let off = Sandbox(configuration: Sandbox.Configuration()).unconfined(launch)
        #expect(off.executable == "/usr/bin/bwrap")
        #expect(Array(off.arguments.prefix(3)) == ["--dev-bind", "/", "/"])
        #expect(off.arguments.contains("--unshare-pid") && off.arguments.contains("--die-with-parent"))
        #expect(Array(off.arguments.suffix(3)) == ["python3", "-m", "botyard.runner"])
        #expect(off.environment == ["PATH": "/usr/bin"])
    }

    @Test func pythonFoldersSkipTheSystemTheMachineTheCurrentFolderAndNestedOnes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("folders-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/a")
        let folders = PythonRuntime.folders([
            "/usr/lib/python3", "/tmp", "", ".", "relative", "/", "/root", "/home", root + "/a/b", root + "/link",
            root + "/not-there",
        ])
        #expect(folders == [Sandbox.realPath(root + "/a")], "real paths, nothing nested, nothing of the machine's")
    }

    @Test func foldersThatHoldTheMachineAreRecognised() {
        for folder in ["/", "/tmp", "/home", "/root", "/run"] { #expect(Sandbox.holdsTheMachine(folder), "\(folder)") }
        for folder in ["/tmp/bots", "/root/.pyenv/versions/3.11.7", "/srv/bots"] {
            #expect(!Sandbox.holdsTheMachine(folder), "\(folder)")
        }
    }

    @Test func uidsAreStablePerNameAndUniqueInAManifest() {
        let first = Sandbox.uids(for: ["a", "b", "c"], salt: "/srv/data")
        let reordered = Sandbox.uids(for: ["c", "a", "b"], salt: "/srv/data")
        #expect(first == reordered)
        #expect(Set(first.values).count == 3)
        #expect(first.values.allSatisfy { $0 >= Sandbox.baseUID && $0 < Sandbox.baseUID + Sandbox.uidRange })
        #expect(Sandbox.uids(for: ["a"], salt: "/other/data")["a"] != first["a"], "another host, other uids")
        let many = Sandbox.uids(for: (0..<2000).map { "w\($0)" }, salt: "x")
        #expect(Set(many.values).count == 2000)
    }
}

/// `sandbox:` in the manifest: a host-wide default refined per worker, every value checked.
struct ManifestSandboxTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbx-\(UUID().uuidString)").path

    func load(_ text: String) throws(ManifestError) -> Manifest {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/a.py", contents: Data("def tick(ctx): pass\n".utf8))
        return try ManifestLoader().parse(text, path: folder + "/botyard.yaml")
    }

    @Test func defaultsRefinementsAndOff() throws {
        let manifest = try load(
            """
            sandbox: {memory: 1GiB, network: false}
            workers:
              a: {code: a.py}
              b: {code: a.py, sandbox: {pids: 16}}
              c: {code: a.py, sandbox: off}
            """)
        #expect(manifest.workers[0].sandbox.memoryBytes == 1 << 30)
        #expect(manifest.workers[0].sandbox.network == false)
        #expect(manifest.workers[1].sandbox.pids == 16 && manifest.workers[1].sandbox.memoryBytes == 1 << 30)
        #expect(manifest.workers[2].sandbox.enabled == false)
        #expect(manifest.workers[0].sandbox.enabled)
    }

    @Test(arguments: [
        ("{memory: 10MiB}", "sandbox.memory"), ("{memory: 99999999999999999999GiB}", "sandbox.memory"),
        ("{pids: -1}", "sandbox.pids"), ("{pids: 9223372036854775808}", "sandbox.pids"),
        ("{files: 1}", "sandbox.files"), ("{network: maybe}", "sandbox.network"), ("{cpu: 1}", "sandbox.cpu"),
        ("[1]", "sandbox"),
    ])
    func badSettingsNameTheWorkerAndField(setting: String, field: String) throws {
        do throws(ManifestError) {
            _ = try load("workers:\n  a: {code: a.py, sandbox: \(setting)}\n")
            Issue.record("accepted \(setting)")
        } catch {
            #expect(error.worker == "a")
            #expect(error.field == field)
        }
    }
}
