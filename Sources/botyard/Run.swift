import ArgumentParser
import ExampleStrategies
import Foundation
import Logging
import WorkerHost

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a manifest (botyard.yaml) or a lone Python script until Ctrl-C.")

    @Argument(help: "botyard.yaml, or a strategy .py file")
    var path: String

    @OptionGroup var host: HostOptions

    @Option(help: "For a lone script: the tick interval (1s to 1h).")
    var every: String?

    @Option(name: .customLong("for"), help: "Stop gracefully after this long, as Ctrl-C would (e.g. 30s).")
    var duration: String?

    @Flag(help: "Log the host's own activity (info level) to stderr.")
    var verbose = false

    @Option(name: .customLong("flag"), help: "Turn a manifest flag on or off: --flag bridge-enabled=on (repeatable).")
    var flags: [String] = []

    func run() async throws {
        var registry = TickWorkerRegistry()
        ExampleStrategies.register(into: &registry)
        var configuration = HostConfiguration(manifest: try manifest(registry), data: host.data)
        configuration.port = host.port ?? 8700
        configuration.swiftWorkers = registry
        if !path.hasSuffix(".py") {
            var loader = ManifestLoader(swiftWorkers: registry.names)
            loader.flagOverrides = try FlagArguments.parse(flags)
            let manifestPath = path
            let reader = loader
            configuration.reloadManifest = { () throws(ManifestError) in try reader.load(path: manifestPath) }
        }
        if let duration {
            guard let parsed = DurationText.parse(duration), parsed > .zero else {
                throw ValidationError("--for \(duration) is not a duration; write it like 30s or 5m")
            }
            configuration.runFor = parsed
        }
        let level: Logger.Level = verbose ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        try await BotyardHost.run(configuration, logger: Logger(label: "botyard"))
    }

    private func manifest(_ registry: TickWorkerRegistry) throws -> Manifest {
        if path.hasSuffix(".py") {
            return try LoneScript.manifest(script: path, every: every)
        }
        guard every == nil else {
            throw ValidationError("--every is for a lone script; a manifest sets 'every:' per worker")
        }
        var loader = ManifestLoader(swiftWorkers: registry.names)
        loader.flagOverrides = try FlagArguments.parse(flags)
        do {
            return try loader.load(path: path)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// A manifest of one worker, made from a script path and `--every`.
enum LoneScript {
    static func manifest(script: String, every: String?) throws -> Manifest {
        guard FileManager.default.fileExists(atPath: script) else { throw ValidationError("no such file: \(script)") }
        let url = URL(fileURLWithPath: script).standardized
        let name = String(url.deletingPathExtension().lastPathComponent.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        var spec = WorkerSpec(
            name: name, code: .python(script: url.path),
            workingDirectory: FileManager.default.currentDirectoryPath)
        if let every {
            switch TickInterval.parse(every) {
            case .success(let interval): spec.every = interval
            case .failure(let error): throw ValidationError("--every: \(error.message)")
            }
        }
        return Manifest(path: nil, workers: [spec])
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a manifest and its scripts (Python syntax, a tick function) without running them.")

    @Argument(help: "botyard.yaml, or a strategy .py file")
    var path: String

    func run() async throws {
        var registry = TickWorkerRegistry()
        ExampleStrategies.register(into: &registry)
        let manifest: Manifest
        if path.hasSuffix(".py") {
            manifest = try LoneScript.manifest(script: path, every: nil)
        } else {
            do { manifest = try ManifestLoader(swiftWorkers: registry.names).load(path: path) } catch {
                print(error.description)
                throw ExitCode.failure
            }
        }
        let python = PythonRuntime.locate()
        var failed = false
        for worker in manifest.workers {
            guard case .python(let script) = worker.code else { continue }
            if let problem = await python.check(script: script) {
                print("\(path): worker '\(worker.name)': \(problem)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
        print("\(path): \(manifest.workers.count) worker(s) OK")
    }
}

/// `--flag name=on|off`.
enum FlagArguments {
    static func parse(_ arguments: [String]) throws -> [String: Bool] {
        var flags: [String: Bool] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let values = ["on": true, "true": true, "1": true, "off": false, "false": false, "0": false]
            guard parts.count == 2, FlagName.isValid(parts[0]), let on = values[parts[1].lowercased()] else {
                throw ValidationError("--flag \(argument): write it as name=on or name=off")
            }
            flags[parts[0]] = on
        }
        return flags
    }
}
