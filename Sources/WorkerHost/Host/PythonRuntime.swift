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

    /// The command line and environment for a worker.
    func launch(for spec: WorkerSpec, hostEnvironment: [String: String] = ProcessInfo.processInfo.environment)
        -> PythonBackend.Launch
    {
        var environment: [String: String] = [:]
        for name in Self.inheritedVariables { environment[name] = hostEnvironment[name] }
        environment.merge(spec.environment) { _, declared in declared }
        environment["PYTHONPATH"] = [sdkPath, spec.environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
        environment["PYTHONUNBUFFERED"] = "1"
        environment["BOTYARD_WORKER"] = spec.name
        return PythonBackend.Launch(
            executable: executable, arguments: ["-u", "-m", "botyard.runner"], environment: environment)
    }

    /// Checks a script without running it: Python syntax, and a top-level `tick` function.
    /// - Returns: the problem, or `nil` when the script is fine.
    public func check(script: String) async -> WorkerFailure? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable, "-m", "botyard.check", script]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONPATH": sdkPath]) { _, new in new }
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
