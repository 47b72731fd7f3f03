import Foundation

/// Wraps a worker's command line in bubblewrap: new PID, IPC and UTS namespaces; a read-only view of the
/// system, the Python installation, the SDK and the worker's code; the data directory hidden; a private
/// scratch folder and `/tmp`; resource limits; and, when the host runs as root, an unprivileged uid.
///
/// The command is built here as pure data (tests read it); the host checks once at start that bubblewrap
/// works on this machine (`SandboxProbe`).
public struct Sandbox: Sendable {
    /// Where the tools live and what the host shows every worker.
    public struct Configuration: Sendable {
        public var bwrap = "/usr/bin/bwrap"
        public var prlimit = "/usr/bin/prlimit"
        public var setpriv = "/usr/bin/setpriv"
        /// System folders shown read-only (those that are symlinks, as on merged-/usr Debian, stay symlinks).
        public var system = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"]
        /// The few files of `/etc` that programs need (the dynamic linker, TLS certificates, name resolution,
        /// time zone, users): not all of it, where a service's secrets may sit in a world-readable file.
        public var etc = [
            "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "ca-certificates.conf", "pki",
            "resolv.conf", "hosts", "host.conf", "nsswitch.conf", "gai.conf", "localtime", "timezone", "passwd",
            "group", "protocols", "services", "mime.types", "alternatives", "locale.alias", "python3", "python3.11",
        ]
        /// Folders every worker may read: the Python installation and the SDK.
        public var readable: [String] = []
        /// Folders no worker may see, even inside a readable one: the data directory.
        public var hidden: [String] = []

        public init() {}
    }

    /// What one worker's sandbox holds.
    struct Worker: Sendable {
        /// Its code folders, shown read-only (the manifest's folder and the script's).
        var code: [String]
        /// The folder it starts in.
        var workingDirectory: String
        /// Its private writable folder.
        var scratch: String
        /// The uid and gid it runs as, when the host is root.
        var uid: UInt32?
        var policy: SandboxPolicy
    }

    public var configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The first uid given to workers when the host runs as root.
    public static let baseUID: UInt32 = 200_000
    /// How many uids workers are spread over.
    static let uidRange: UInt32 = 800_000

    /// A uid per worker, stable for a name and data directory (so that reordering the manifest keeps each
    /// worker's files its own, and two hosts on one machine use different uids), unique within the manifest:
    /// process limits count per worker, and workers cannot signal each other.
    static func uids(for names: [String], salt: String) -> [String: UInt32] {
        var taken: Set<UInt32> = []
        var uids: [String: UInt32] = [:]
        for name in names {
            var uid = baseUID + UInt32(fnv1a(salt + "\u{0}" + name) % UInt64(uidRange))
            while taken.contains(uid) { uid = baseUID + (uid - baseUID + 1) % uidRange }
            taken.insert(uid)
            uids[name] = uid
        }
        return uids
    }

    private static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// The command line that runs `launch` inside the sandbox. The environment is bubblewrap's own, which it
    /// passes on: never `--setenv` arguments, which any local user could read with `ps` (the worker's token).
    func wrap(_ launch: PythonBackend.Launch, for worker: Worker) -> PythonBackend.Launch {
        var arguments = namespaces(worker.policy) + filesystem(for: worker)
        arguments += ["--chdir", worker.workingDirectory]
        var environment = launch.environment
        environment["HOME"] = worker.scratch
        environment["TMPDIR"] = "/tmp"
        environment["BOTYARD_SCRATCH"] = worker.scratch
        let user = "botyard-" + (environment["BOTYARD_WORKER"] ?? "worker")
        environment["USER"] = environment["USER"] ?? user  // the worker's uid has no passwd entry
        environment["LOGNAME"] = environment["LOGNAME"] ?? user
        arguments += ["--", configuration.prlimit] + limits(worker.policy, ownUID: worker.uid != nil) + ["--"]
        if let uid = worker.uid {
            arguments += [
                configuration.setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--no-new-privs",
            ]
            arguments += ["--"]
        }
        arguments += [launch.executable] + launch.arguments
        return PythonBackend.Launch(
            executable: configuration.bwrap, arguments: arguments, environment: environment,
            workingDirectory: launch.workingDirectory, underBubblewrap: true)
    }

    /// The command line for `sandbox: off`: the host's whole filesystem, uid and network, but still a PID
    /// namespace of its own that ends with the host, so that no process it starts (not even one that left its
    /// session) outlives the host.
    func unconfined(_ launch: PythonBackend.Launch) -> PythonBackend.Launch {
        let arguments = [
            "--dev-bind", "/", "/", "--proc", "/proc", "--unshare-pid", "--die-with-parent",
            "--chdir", launch.workingDirectory, "--", launch.executable,
        ]
        return PythonBackend.Launch(
            executable: configuration.bwrap, arguments: arguments + launch.arguments, environment: launch.environment,
            workingDirectory: launch.workingDirectory, underBubblewrap: true)
    }

    private func namespaces(_ policy: SandboxPolicy) -> [String] {
        var arguments = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session", "--die-with-parent"]
        if !policy.network { arguments.append("--unshare-net") }
        return arguments + ["--hostname", "botyard-worker"]
    }

    /// The resource limits. The process limit counts every process of a uid, so it is set only when the
    /// worker has a uid of its own (a root host); otherwise it would count the host user's other programs.
    private func limits(_ policy: SandboxPolicy, ownUID: Bool) -> [String] {
        let processes = ownUID ? ["--nproc=\(policy.pids)"] : []
        return ["--as=\(policy.memoryBytes)"] + processes + ["--nofile=\(policy.files)", "--core=0"]
    }

    /// The mounts, in order: later ones lie on top of earlier ones.
    private func filesystem(for worker: Worker) -> [String] {
        var mounts = MountPlan()
        mounts.add(["--tmpfs", "/"])
        for folder in configuration.system { mounts.system(folder) }
        for file in configuration.etc { mounts.system("/etc/" + file) }
        mounts.add(["--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--proc", "/proc"])
        mounts.add(["--perms", "1777", "--tmpfs", "/tmp"])
        let inHidden = { (folder: String) in configuration.hidden.contains { Self.contains($0, folder) } }
        let shown = configuration.readable + worker.code.filter { !inHidden($0) }
        for folder in shown { mounts.bind(folder, writable: false) }
        for folder in worker.code { mounts.maskEnvFile(in: folder) }
        for folder in configuration.hidden where shown.contains(where: { Self.contains($0, folder) }) {
            mounts.hide(folder)
        }
        for folder in worker.code where configuration.hidden.contains(where: { Self.contains($0 + "/code", folder) }) {
            mounts.bind(folder, writable: false)  // a deployed revision lives in the data directory's code/
        }
        mounts.bind(worker.scratch, writable: true)
        return mounts.arguments
    }

    /// `path` with every symbolic link resolved, so that two names of one folder compare equal.
    static func realPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardized.resolvingSymlinksInPath().path
    }

    /// Whether showing `folder` would show what holds the machine's own files: `/`, or a folder that is or
    /// contains `/tmp`, `/proc`, `/dev`, `/sys`, `/run`, `/root`, `/home` or the host's home.
    static func holdsTheMachine(_ folder: String) -> Bool {
        let home = ProcessInfo.processInfo.environment["HOME"].map(realPath)
        let kept = ["/tmp", "/proc", "/dev", "/sys", "/run", "/root", "/home"] + (home.map { [$0] } ?? [])
        return folder == "/" || kept.contains { contains(folder, $0) }
    }

    /// Whether `inner` is `outer` or lies inside it.
    static func contains(_ outer: String, _ inner: String) -> Bool {
        inner == outer || inner.hasPrefix(outer.hasSuffix("/") ? outer : outer + "/")
    }
}

/// The mount arguments of one sandbox, creating each parent folder readable (bubblewrap would make it 0700).
private struct MountPlan {
    private(set) var arguments: [String] = []
    private var made: Set<String> = ["/"]
    /// Folders mounted so far, in order, and whether each is a bind (whose contents exist) or an empty tmpfs.
    private var mounted: [(path: String, bind: Bool)] = []

    mutating func add(_ items: [String]) {
        arguments += items
    }

    mutating func system(_ folder: String) {
        let manager = FileManager.default
        parents(of: folder)
        if let target = try? manager.destinationOfSymbolicLink(atPath: folder) {  // not a link: bind it
            arguments += ["--symlink", target, folder]
        } else if manager.fileExists(atPath: folder) {
            arguments += ["--ro-bind", folder, folder]
            mounted.append((folder, true))
        }
        made.insert(folder)
    }

    mutating func bind(_ folder: String, writable: Bool) {
        parents(of: folder)
        arguments += [writable ? "--bind" : "--ro-bind", folder, folder]
        made.insert(folder)
        mounted.append((folder, true))
    }

    mutating func hide(_ folder: String) {
        parents(of: folder)
        arguments += ["--perms", "0755", "--tmpfs", folder]
        made.insert(folder)
        mounted.append((folder, false))
    }

    /// A `.env` file (or `.env.local`, …) beside the code usually holds secrets: it cannot be opened.
    mutating func maskEnvFile(in folder: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []  // unreadable: none
        for name in names.sorted() where name == ".env" || name.hasPrefix(".env.") {
            let file = folder + "/" + name
            // Only a plain file can be covered; a link's target is not shown unless it lies in a shown folder.
            // (`attributesOfItem` does not follow a final link.)
            let type = (try? FileManager.default.attributesOfItem(atPath: file))?[.type] as? FileAttributeType
            guard type == .typeRegular else { continue }
            arguments += ["--ro-bind", "/dev/null", file]
        }
    }

    private mutating func parents(of path: String) {
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            parent += "/" + component
            let within = mounted.last { Sandbox.contains($0.path, parent) }
            if made.contains(parent) || within?.bind == true { continue }
            arguments += ["--perms", "0755", "--dir", parent]
            made.insert(parent)
        }
    }
}
