import Foundation
import Yams

/// Reads `botyard.yaml` into a `Manifest`, refusing unknown keys and bad values with errors that name
/// the file, the line, the worker and the field.
public struct ManifestLoader: Sendable {
    /// Swift workers that may be named with `swift:`.
    public var swiftWorkers: Set<String>
    /// The variables `${NAME}` in block settings read: the host's environment.
    public var environment: [String: String]
    /// `botyard run --flag name=on|off`: overrides of the manifest's flag defaults.
    public var flagOverrides: [String: Bool] = [:]

    public init(
        swiftWorkers: Set<String> = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.swiftWorkers = swiftWorkers
        self.environment = environment
    }

    /// Loads the manifest at `path`.
    /// - Throws: `ManifestError`.
    public func load(path: String) throws(ManifestError) -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(file: path, message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses manifest text; relative `code:` paths are resolved against `path`'s folder.
    /// - Throws: `ManifestError`.
    public func parse(_ text: String, path: String) throws(ManifestError) -> Manifest {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ManifestError(file: path, line: Self.line(of: error), message: "not valid YAML: \(error)")
        }
        guard let mapping = root?.mapping else {
            throw ManifestError(file: path, line: 1, message: "expected a mapping with a 'workers:' key")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var context = Context(file: path, folder: folder, swiftWorkers: swiftWorkers, environment: environment)
        for (keyNode, _) in mapping
        where !["workers", "blocks", "sandbox", "flags", "events"].contains(keyNode.string ?? "") {
            throw context.error(
                keyNode, field: keyNode.string,
                "unknown key; a manifest has 'workers:', 'blocks:', 'flags:', 'sandbox:' and 'events:'")
        }
        let sections = Dictionary(
            mapping.map { ($0.key.string ?? "", $0.value) }, uniquingKeysWith: { _, last in last })
        if let sandbox = sections["sandbox"] { context.sandbox = try context.sandbox(sandbox, over: SandboxPolicy()) }
        context.flags = try context.flags(sections["flags"], overrides: flagOverrides)
        if let blocks = sections["blocks"] { context.blocks = try context.blocks(blocks) }
        let workers = try sections["workers"].map { node throws(ManifestError) in try context.workers(node) } ?? []
        guard !workers.isEmpty else {
            throw ManifestError(file: path, line: 1, message: "no workers: declare at least one under 'workers:'")
        }
        var manifest = Manifest(path: path, workers: workers, blocks: context.blocks)
        manifest.flags = context.flags
        if let events = sections["events"] { manifest.events = try context.eventStreams(events) }
        return manifest
    }

    private static func line(of error: any Error) -> Int? {
        if let yaml = error as? YamlError, case .parser(_, _, let mark, _) = yaml { return mark.line }
        if let yaml = error as? YamlError, case .scanner(_, _, let mark, _) = yaml { return mark.line }
        return nil
    }
}

extension ManifestLoader {
    struct Context {
        let file: String
        let folder: String
        let swiftWorkers: Set<String>
        let environment: [String: String]
        var blocks: [BlockSpec] = []
        /// The host-wide `sandbox:`, which a worker's own `sandbox:` refines.
        var sandbox = SandboxPolicy()
        /// The declared flags and whether each is on.
        var flags: [String: Bool] = [:]
        /// Every worker the manifest names, for `may_restart:`.
        var declaredWorkers: Set<String> = []
        var worker: String?
        var block: String?

        func error(_ node: Node?, field: String?, _ message: String) -> ManifestError {
            ManifestError(
                file: file, line: node?.mark?.line, worker: worker, block: block, field: field, message: message)
        }

        mutating func workers(_ node: Node) throws(ManifestError) -> [WorkerSpec] {
            guard let mapping = node.mapping else {
                throw error(node, field: "workers", "expected a mapping of worker names to settings")
            }
            var specs: [WorkerSpec] = []
            declaredWorkers = Set(mapping.map { $0.key.string ?? "" })
            for (nameNode, settings) in mapping {
                let name = nameNode.string ?? ""
                worker = name
                guard WorkerSpec.isValidName(name) else {
                    throw error(nameNode, field: nil, "a worker name uses letters, digits, '-' and '_' (at most 64)")
                }
                specs.append(try workerSpec(name: name, settings))
            }
            worker = nil
            return specs
        }

        func workerSpec(name: String, _ node: Node) throws(ManifestError) -> WorkerSpec {
            guard let mapping = node.mapping else {
                throw error(node, field: nil, "expected settings such as 'code:' and 'every:'")
            }
            var fields: [String: (key: Node, value: Node)] = [:]
            for (key, value) in mapping {
                let field = key.string ?? ""
                guard Self.knownFields.contains(field) else {
                    let known = Self.knownFields.sorted().joined(separator: ", ")
                    throw error(key, field: field, "unknown field; a worker has \(known)")
                }
                fields[field] = (key, value)
            }
            var spec = WorkerSpec(name: name, code: try code(fields), workingDirectory: folder)
            if let every = fields["every"] { spec.every = try interval(every.value) }
            if let timeout = fields["tick_timeout"] { spec.tickTimeout = try tickTimeout(timeout.value) }
            if let maxErrors = fields["max_errors"] { spec.maxErrors = try maxErrorsValue(maxErrors.value) }
            if let env = fields["env"] { spec.environment = try environmentValue(env.value) }
            if let when = fields["when"] { spec.when = try gates(when.value) }
            spec.flags = flags
            spec.gatedOff = spec.when.first { flags[$0] != true }.map { "flag '\($0)' is off" }
            if let connect = fields["connect"] { spec.connect = try connections(connect.value) }
            if let tasks = fields["tasks"] { spec.taskBackoff = try taskBackoff(tasks.value) }
            if let peers = fields["may_restart"] { spec.mayRestart = try mayRestart(peers.value) }
            spec.sandbox =
                try fields["sandbox"].map { field throws(ManifestError) in
                    try self.sandbox(field.value, over: sandbox)
                } ?? sandbox
            return spec
        }

        static let knownFields: Set<String> = [
            "code", "swift", "command", "args", "every", "max_errors", "tick_timeout", "env", "connect", "sandbox",
            "tasks", "when", "may_restart",
        ]

        /// `connect:`, a list of declared block names.
        func connections(_ node: Node) throws(ManifestError) -> [String] {
            let names = node.sequence.map { $0.map { $0.string ?? "" } } ?? node.string.map { [$0] }
            guard let names else { throw error(node, field: "connect", "expected a list of block names, like [main]") }
            let declared = blocks.map(\.name)
            for name in names where !declared.contains(name) {
                let known = declared.isEmpty ? "none are declared under 'blocks:'" : declared.joined(separator: ", ")
                throw error(node, field: "connect", "no block named '\(name)'; blocks: \(known)")
            }
            return names
        }

        func code(_ fields: [String: (key: Node, value: Node)]) throws(ManifestError) -> WorkerCode {
            let given = ["code", "swift", "command"].filter { fields[$0] != nil }
            if given.count > 1, let second = fields[given[1]] {
                throw error(second.key, field: given[1], "a worker has exactly one of 'code:', 'swift:' and 'command:'")
            }
            if let args = fields["args"], fields["command"] == nil {
                throw error(args.key, field: "args", "'args:' goes with 'command:'")
            }
            if let command = fields["command"] { return try self.command(command.value, args: fields["args"]?.value) }
            switch (fields["code"], fields["swift"]) {
            case (.some(let code), .none):
                guard let relative = code.value.string, !relative.isEmpty else {
                    throw error(code.value, field: "code", "expected the path of a Python file")
                }
                let path = relative.hasPrefix("/") ? relative : folder + "/" + relative
                guard FileManager.default.fileExists(atPath: path) else {
                    throw error(code.value, field: "code", "no such file: \(relative)")
                }
                return .python(script: URL(fileURLWithPath: path).standardized.path)
            case (.none, .some(let swift)):
                guard let name = swift.value.string, swiftWorkers.contains(name) else {
                    let known = swiftWorkers.sorted().joined(separator: ", ")
                    throw error(swift.value, field: "swift", "no Swift worker of that name; compiled in: \(known)")
                }
                return .swift(name: name)
            case (.some, .some(let swift)):
                throw error(swift.key, field: "swift", "a worker has exactly one of 'code:', 'swift:' and 'command:'")
            case (.none, .none):
                throw error(
                    nil, field: "code",
                    "missing; give 'code:' (a Python file), 'swift:' (a compiled worker) or 'command:' (any program)")
            }
        }

        func interval(_ node: Node) throws(ManifestError) -> Duration {
            switch TickInterval.parse(node.string ?? "") {
            case .success(let duration): return duration
            case .failure(let failure): throw error(node, field: "every", failure.message)
            }
        }

        func tickTimeout(_ node: Node) throws(ManifestError) -> Duration {
            guard let duration = DurationText.parse(node.string ?? ""),
                duration >= .seconds(1), duration <= .seconds(3600)
            else {
                throw error(node, field: "tick_timeout", "expected a duration from 1s to 1h, like 30s")
            }
            return duration
        }

        func maxErrorsValue(_ node: Node) throws(ManifestError) -> Int {
            guard let text = node.string, let count = Int(text), count >= 1, count <= 1000 else {
                throw error(node, field: "max_errors", "expected a whole number from 1 to 1000")
            }
            return count
        }

        func environmentValue(_ node: Node) throws(ManifestError) -> [String: String] {
            guard let mapping = node.mapping else {
                throw error(node, field: "env", "expected a mapping of variable names to values")
            }
            var environment: [String: String] = [:]
            for (key, value) in mapping {
                guard let name = key.string, !name.isEmpty, !name.contains("="), let text = value.string else {
                    throw error(key, field: "env", "each entry is NAME: value")
                }
                if name.hasPrefix("BOTYARD_RUNTIME_") || name == "BOTYARD_ROOT" || name.hasPrefix("BOTYARD_FLAG__") {
                    throw error(key, field: "env.\(name)", "is set by the host and cannot be set in 'env:'")
                }
                environment[name] = try substituteRoot(value, field: "env.\(name)")
            }
            return environment
        }
    }
}
