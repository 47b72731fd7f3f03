import Foundation

/// How the host starts Python workers: which interpreter, and where the bundled SDK is.
public struct PythonRuntime: Sendable {
    /// The interpreter (`BOTYARD_PYTHON`, default `python3` from `PATH`).
    public var executable: String
    /// The folder holding the `botyard` package (`sdk/python` of this repository).
    public var sdkPath: String

    public init(executable: String, sdkPath: String) {
        self.executable = executable
        self.sdkPath = sdkPath
    }

    /// The runtime found from the environment, or from where this source file was built.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> PythonRuntime {
        let builtFrom = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Sources/WorkerHost/Host
            .appendingPathComponent("../../../sdk/python").standardized.path
        return PythonRuntime(
            executable: environment["BOTYARD_PYTHON"] ?? "python3", sdkPath: environment["BOTYARD_SDK"] ?? builtFrom)
    }

    /// The variables of the host's environment a worker inherits; nothing else (no API keys) reaches it.
    static let inheritedVariables = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV"]

    /// The variables that locate the interpreter itself (pyenv's shims read these).
    static let interpreterVariables = inheritedVariables + ["PYENV_ROOT", "PYENV_VERSION"]

    /// The environment for a child of the host that is not a worker: only what finds the interpreter.
    static func childEnvironment(_ host: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        host.filter { interpreterVariables.contains($0.key) }
    }

    /// Where the interpreter really is, and the folders it imports from: what a sandbox must show.
    public struct Installation: Sendable, Equatable {
        /// The interpreter's absolute path (not a shim).
        public var executable: String
        /// Its prefixes and every existing `sys.path` entry outside the system folders.
        public var folders: [String]
    }

    /// Asks the interpreter where it lives.
    /// - Returns: the installation, or why it could not be found.
    public func installation() -> Result<Installation, HostError> {
        let program =
            "import sys, json; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix] + sys.path))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable, "-c", program]
        process.environment = Self.childEnvironment()
        process.currentDirectoryURL = URL(fileURLWithPath: "/")  // the host's folder is not the interpreter's
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            return .failure(HostError("cannot run \(executable): \(error)"))
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let paths = try? JSONDecoder().decode([String].self, from: output),
            let interpreter = paths.first, interpreter.hasPrefix("/")
        else {
            let text = String(decoding: output, as: UTF8.self)
            return .failure(HostError("cannot ask \(executable) where it lives: \(text)"))
        }
        return .success(Installation(executable: interpreter, folders: Self.folders(paths.dropFirst())))
    }

    /// The absolute, existing paths outside the system folders, without ones inside another, as real paths.
    /// A relative entry (`''` is the current folder) and a folder that holds the machine's own (`/`, `/tmp`,
    /// `/home`, `/root`, …) are never shown to a worker.
    static func folders(_ paths: some Sequence<String>) -> [String] {
        let system = ["/usr/", "/etc/"]
        let candidates = Set(
            paths.filter { $0.hasPrefix("/") }.map(Sandbox.realPath).filter { path in
                !system.contains(where: path.hasPrefix) && !Sandbox.holdsTheMachine(path)
                    && FileManager.default.fileExists(atPath: path)
            })
        return candidates.filter { path in !candidates.contains { $0 != path && Sandbox.contains($0, path) } }.sorted()
    }

    /// The command line and environment for a worker.
    func launch(
        for spec: WorkerSpec, hostEnvironment: [String: String] = ProcessInfo.processInfo.environment,
        runtime: RuntimeVariables = RuntimeVariables()
    ) -> PythonBackend.Launch {
        var environment = WorkerEnvironment.layered(spec, host: hostEnvironment, runtime: runtime)
        environment["PYTHONPATH"] = [sdkPath, spec.environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
        environment["PYTHONUNBUFFERED"] = "1"
        if case .command(let command, let arguments) = spec.code {
            return PythonBackend.Launch(
                executable: command == WorkerCode.hostPython ? executable : command, arguments: arguments,
                environment: environment,
                workingDirectory: spec.workingDirectory)
        }
        return PythonBackend.Launch(
            executable: executable, arguments: ["-u", "-m", "botyard.runner"], environment: environment,
            workingDirectory: spec.workingDirectory)
    }

    /// Checks a script without running it: Python syntax, and a top-level `tick` function.
    /// - Returns: the problem, or `nil` when the script is fine.
    public func check(script: String) async -> WorkerFailure? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable, "-m", "botyard.check", script]
        process.environment = Self.childEnvironment().merging(["PYTHONPATH": sdkPath]) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            return WorkerFailure(type: "SpawnError", message: "cannot run \(executable): \(error)")
        }
        let output = await Task.detachedRead(pipe)
        process.waitUntilExit()
        if process.terminationStatus == 0 { return nil }
        return (try? JSONDecoder().decode(WorkerFailure.self, from: output))
            ?? WorkerFailure(type: "CheckError", message: String(decoding: output, as: UTF8.self))
    }
}

extension Task where Success == Data, Failure == Never {
    /// Reads a pipe to its end off the cooperative pool.
    fileprivate static func detachedRead(_ pipe: Pipe) async -> Data {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: pipe.fileHandleForReading.readDataToEndOfFile())
            }
            thread.start()
        }
    }
}
