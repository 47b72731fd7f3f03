import Foundation
import Logging
import NIOPosix

/// Makes each worker's runner, with its backend's command line wrapped in the sandbox its policy asks for.
struct WorkerLauncher: Sendable {
    let configuration: HostConfiguration
    /// `nil` when no worker runs sandboxed.
    let sandbox: Sandbox?
    let installation: PythonRuntime.Installation?
    /// Each sandboxed worker's uid, when the host runs as root.
    var uids: [String: UInt32] = [:]
    let console: Console?
    let logger: Logger
    /// The runtime variables every worker gets.
    var runtime = RuntimeVariables()

    /// Checks that the sandbox works here and finds the interpreter, before anything starts.
    /// - Throws: `HostError` when a worker needs a sandbox that cannot run, saying how to fix it.
    static func prepare(_ configuration: HostConfiguration, console: Console?, logger: Logger) throws(HostError)
        -> WorkerLauncher
    {
        let python = configuration.manifest.workers.filter(\.isSubprocess)
        for worker in python where !worker.sandbox.enabled {
            let warning =
                "WARNING: worker '\(worker.name)' runs WITHOUT a sandbox (sandbox: off): it can read "
                + "every file the host can, including its tokens and secrets. Use this for debugging only."
            console?.print(host: "botyard: \(warning)")
            logger.warning("\(warning)", metadata: [LogKey.workerID: "\(worker.name)"])
        }
        guard !python.isEmpty else {
            return WorkerLauncher(
                configuration: configuration, sandbox: nil, installation: nil, console: console, logger: logger)
        }
        var sandboxConfiguration = Sandbox.Configuration()
        if let problem = SandboxProbe.check(sandboxConfiguration) {
            guard !python.contains(where: \.sandbox.enabled) else { throw HostError(problem) }
            logger.warning("\(problem)")  // only unsandboxed workers: they run without a PID namespace
            return WorkerLauncher(
                configuration: configuration, sandbox: nil, installation: nil, console: console, logger: logger)
        }
        let installation: PythonRuntime.Installation
        switch configuration.python.installation() {
        case .success(let found): installation = found
        case .failure(let failure): throw failure
        }
        let data = Sandbox.realPath(configuration.data.path)
        try checkCodeFolders(python.filter(\.sandbox.enabled), data: data)
        sandboxConfiguration.readable =
            (installation.folders + [Sandbox.realPath(configuration.python.sdkPath)]).filter {
                !Sandbox.contains($0, data) && !Sandbox.contains(data, $0)
            }
        sandboxConfiguration.hidden = [data]
        var launcher = WorkerLauncher(
            configuration: configuration, sandbox: Sandbox(configuration: sandboxConfiguration),
            installation: installation, console: console, logger: logger)
        if Hardening.isRoot { launcher.uids = Sandbox.uids(for: python.map(\.name), salt: data) }
        return launcher
    }

    /// Refuses code folders that would show a worker too much: the whole machine, a home folder, or the data
    /// directory (whose tokens the sandbox must hide).
    private static func checkCodeFolders(_ workers: [WorkerSpec], data: String) throws(HostError) {
        for worker in workers {
            let own: String
            switch worker.code {
            case .python(let script): own = folder(of: script)
            case .command(let executable, _): own = folder(of: executable)
            case .swift: continue
            }
            for folder in [worker.workingDirectory, own].map(Sandbox.realPath) where !isSystem(folder) {
                if Sandbox.holdsTheMachine(folder) {
                    throw HostError(
                        "worker '\(worker.name)': its code folder \(folder) would show the whole machine or a home "
                            + "folder to the worker; put botyard.yaml and the strategies in a folder of their own")
                }
                if Sandbox.contains(data, folder) {
                    throw HostError(
                        "worker '\(worker.name)': its code folder \(folder) lies in the data directory \(data), "
                            + "which workers must not see; use a data directory of its own (the default is .botyard)")
                }
            }
        }
    }

    func runner(
        _ manifestSpec: WorkerSpec, index: Int, store: any StateStore, http: HTTPService,
        blocks: [ConnectedBlock], children: ChildRegistry, bus: EventBus, directory: WorkerDirectory
    ) -> WorkerRunner {
        var spec = manifestSpec
        var revision = 0
        if case .python(let script) = spec.code, let deployed = configuration.data.latestRevision(worker: spec.name),
            deployed.modified > DataDirectory.modified(script)
        {
            spec.code = .python(script: deployed.path)
            revision = deployed.number
        }
        runtime.allow(spec.name, toRestart: spec.mayRestart)
        let log = WorkerLog(worker: spec.name, directory: configuration.data.logs, console: console)
        let services = WorkerServices(
            worker: spec.name, store: store, log: log, http: http, blocks: blocks, bus: bus, directory: directory)
        let gate = SwiftTickGate()
        return WorkerRunner(
            spec: spec, revision: revision, log: log, logger: logger, bus: bus, services: services,
            limits: spec.engineLimits
        ) { current in
            switch current.code {
            case .python(let script):
                var real = current  // the sandbox shows real paths only: the worker gets its script by one
                if sandbox != nil, current.sandbox.enabled {
                    real.code = .python(script: Sandbox.realPath(script))
                    real.workingDirectory = Sandbox.realPath(current.workingDirectory)
                }
                return PythonBackend(
                    spec: real, launch: launch(real, index: index, manifestSpec: manifestSpec),
                    services: services, group: MultiThreadedEventLoopGroup.singleton, children: children)
            case .command:
                var real = current
                if sandbox != nil, current.sandbox.enabled {
                    real.workingDirectory = Sandbox.realPath(current.workingDirectory)
                }
                return ProcessBackend(
                    spec: real, launch: launch(real, index: index, manifestSpec: manifestSpec), log: log,
                    group: MultiThreadedEventLoopGroup.singleton, children: children)
            case .swift(let name) where configuration.swiftWorkers.isEventWorker(name):
                return SwiftEventBackend(spec: current, services: services) {
                    configuration.swiftWorkers.makeEvent(name)
                }
            case .swift(let name):
                return SwiftBackend(spec: current, services: services, gate: gate) {
                    configuration.swiftWorkers.make(name)
                }
            }
        }
    }

    /// The command line of a Python worker: sandboxed unless its policy says `off`.
    private func launch(_ spec: WorkerSpec, index: Int, manifestSpec: WorkerSpec) -> PythonBackend.Launch {
        var launch = configuration.python.launch(for: spec, runtime: runtime)
        guard let sandbox, let installation else { return Self.unconfined(launch) }
        guard spec.sandbox.enabled else { return sandbox.unconfined(launch) }
        var code = [spec.workingDirectory]
        switch spec.code {
        case .python(let script):
            launch.executable = installation.executable
            code.append(Self.folder(of: script))
            if case .python(let original) = manifestSpec.code {
                code.append(Self.folder(of: Sandbox.realPath(original)))
            }
        case .command(let executable, _) where executable == WorkerCode.hostPython:
            launch.executable = installation.executable
        case .command(let executable, _):
            launch.executable = Sandbox.realPath(executable)
            let folder = Self.folder(of: launch.executable)
            if !Self.isSystem(folder) { code.append(folder) }
        case .swift:
            return launch
        }
        let uid = uids[spec.name]
        let worker = Sandbox.Worker(
            code: Array(Set(code)).sorted(), workingDirectory: spec.workingDirectory,
            scratch: scratch(for: spec.name, uid: uid), uid: uid, policy: spec.sandbox)
        return sandbox.wrap(launch, for: worker)
    }

    /// A worker's private writable folder, owned by its uid; it survives restarts.
    private func scratch(for worker: String, uid: UInt32?) -> String {
        let folder = Sandbox.realPath(configuration.data.path) + "/scratch/\(worker)"  // the data dir exists
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)  // spawn reports
        if let uid { _ = lchown(folder, uid, uid) }
        _ = chmod(folder, 0o700)
        return folder
    }

    /// Without bubblewrap an unsandboxed worker still dies with the host (`setpriv --pdeathsig`), though what it
    /// starts in a session of its own may not.
    private static func unconfined(_ launch: PythonBackend.Launch) -> PythonBackend.Launch {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return launch }
        var wrapped = launch
        wrapped.executable = "/usr/bin/setpriv"
        wrapped.arguments = ["--pdeathsig", "KILL", "--", launch.executable] + launch.arguments
        return wrapped
    }

    /// Whether the sandbox shows this folder anyway (the system's own programs).
    private static func isSystem(_ folder: String) -> Bool {
        ["/usr", "/bin", "/sbin", "/lib"].contains { Sandbox.contains($0, folder) }
    }

    private static func folder(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().standardized.path
    }
}

extension WorkerSpec {
    /// Whether it runs as a process of its own (and so in a sandbox).
    var isSubprocess: Bool {
        if case .swift = code { false } else { true }
    }
}
