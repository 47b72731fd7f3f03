import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A worker process started with a private socket on fd 3 and its stdout and stderr merged into a pipe.
///
/// The child leads its own process group, so `signalGroup` reaches everything it started. Its signal mask
/// and the dispositions of common signals are reset (the host ignores SIGPIPE and handles SIGINT/SIGTERM).
struct ChildProcess: Sendable {
    /// The child's process id, also its process group id.
    let pid: pid_t
    /// The host's end of the socket pair; the child has the other end as fd 3.
    let controlFD: CInt
    /// The read end of the pipe carrying the child's stdout and stderr.
    let outputFD: CInt

    /// Starts `executable` (searched in `PATH` when it has no slash).
    /// - Throws: `SpawnError` when a descriptor cannot be made or the program cannot be started.
    static func spawn(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String
    ) throws(SpawnError) -> ChildProcess {
        var sockets: [CInt] = [-1, -1]
        guard socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
            throw SpawnError(operation: "socketpair", errno: errno)
        }
        var output: [CInt] = [-1, -1]
        guard pipe(&output) == 0 else {
            let code = errno
            close(sockets[0])
            close(sockets[1])
            throw SpawnError(operation: "pipe", errno: code)
        }
        for fd in output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // children close fds >= 4 anyway
        defer {
            close(sockets[1])
            close(output[1])
        }
        do {
            let pid = try start(
                executable: executable, arguments: arguments, environment: environment,
                workingDirectory: workingDirectory, childSocket: sockets[1], childOutput: output[1])
            return ChildProcess(pid: pid, controlFD: sockets[0], outputFD: output[0])
        } catch {
            close(sockets[0])
            close(output[0])
            throw error
        }
    }

    private static func start(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String,
        childSocket: CInt, childOutput: CInt
    ) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, childOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, childOutput, 2)
        posix_spawn_file_actions_adddup2(&actions, childSocket, 3)
        SpawnExtensions.closeFrom(&actions, 4)
        SpawnExtensions.changeDirectory(&actions, workingDirectory)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGALRM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(operation: "start \(executable)", errno: result) }
        return pid
    }

    /// Sends `signal` to the child's whole process group.
    func signalGroup(_ signal: CInt) {
        kill(-pid, signal)
    }

    /// Sends `signal` to every process below the child, not to the child itself: inside a sandbox the child is
    /// bubblewrap, whose death would end the worker at once, and the worker runs in a session of its own.
    func signalDescendants(_ signal: CInt) {
        for descendant in ProcessTree.descendants(of: pid) { kill(descendant, signal) }
    }

    /// Reaps the child if it has exited.
    /// - Returns: its exit status, or `nil` while it runs.
    func reap() -> ExitStatus? {
        var status: CInt = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        if result < 0 { return .unknown }
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(status & 0x7f)
    }
}

/// How a child process ended.
enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(CInt)
    case signalled(CInt)
    case unknown

    var isSuccess: Bool { self == .exited(0) }

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let signal): "was killed by signal \(signal)"
        case .unknown: "ended"
        }
    }
}

/// A worker process could not be started.
struct SpawnError: Error, CustomStringConvertible {
    var operation: String
    var errno: CInt
    var description: String { "\(operation) failed: \(String(cString: strerror(errno)))" }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` and `_addchdir_np`, which Swift cannot see
/// directly; looked up once with `dlsym`.
private enum SpawnExtensions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, CInt) -> CInt
    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> CInt

    private static let closeFromFunction: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let changeDirectoryFunction: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: T.self)
    }

    static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ fd: CInt) {
        _ = closeFromFunction?(&actions, fd)
    }

    static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, _ path: String) {
        _ = changeDirectoryFunction?(&actions, path)
    }
}

/// The machine's processes as parent links, read from `/proc`.
enum ProcessTree {
    /// Every process below `root` (children, their children, …), at the moment of reading.
    static func descendants(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), let parent = parent(of: pid) else { continue }
            children[parent, default: []].append(pid)
        }
        var found: [pid_t] = []
        var queue = children[root] ?? []
        while let next = queue.popLast(), found.count < 100_000 {
            found.append(next)
            queue += children[next] ?? []
        }
        return found
    }

    /// The parent pid from `/proc/<pid>/stat` (after the command name, which may hold spaces and parentheses).
    static func parent(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }
}
