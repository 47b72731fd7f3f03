import Foundation
import Yams

/// The settings of event workers: `tasks:` (how `@task` handlers restart).
extension ManifestLoader.Context {
    static let taskFields = ["first_delay", "max_delay", "stable_after"]

    /// `tasks: {first_delay: 1s, max_delay: 5m, stable_after: 60s}`.
    func taskBackoff(_ node: Node) throws(ManifestError) -> TaskBackoff.Policy {
        guard let mapping = node.mapping else {
            throw error(node, field: "tasks", "expected first_delay, max_delay and stable_after, like {max_delay: 5m}")
        }
        var policy = TaskBackoff.Policy()
        for (key, value) in mapping {
            let name = key.string ?? ""
            guard Self.taskFields.contains(name) else {
                throw error(
                    key, field: "tasks.\(name)", "unknown field; tasks has \(Self.taskFields.joined(separator: ", "))")
            }
            guard let duration = DurationText.parse(value.string ?? ""), duration >= .milliseconds(10),
                duration <= .seconds(86_400)
            else {
                throw error(value, field: "tasks.\(name)", "expected a duration from 10ms to 1 day, like 5m")
            }
            switch name {
            case "first_delay": policy.first = duration
            case "max_delay": policy.maximum = duration
            default: policy.stableAfter = duration
            }
        }
        guard policy.first <= policy.maximum else {
            throw error(node, field: "tasks.first_delay", "first_delay must not exceed max_delay")
        }
        return policy
    }
}

/// `flags:` and `when:` gates, `command:` and `args:`, and `${BOTYARD_ROOT}`.
extension ManifestLoader.Context {
    /// `flags: {name: true|false}`, with `--flag` overrides applied.
    func flags(_ node: Node?, overrides: [String: Bool]) throws(ManifestError) -> [String: Bool] {
        var flags: [String: Bool] = [:]
        if let node {
            guard let mapping = node.mapping else {
                throw error(node, field: "flags", "expected a mapping of flag names to true or false")
            }
            for (key, value) in mapping {
                let name = key.string ?? ""
                guard FlagName.isValid(name) else {
                    throw error(
                        key, field: "flags", "flag '\(name)': a flag name is lower-case letters, digits, '-' and '_'")
                }
                guard let on = value.bool else { throw error(value, field: "flags.\(name)", "expected true or false") }
                flags[name] = on
            }
        }
        for (name, on) in overrides {
            guard flags[name] != nil else {
                let declared = flags.keys.sorted().joined(separator: ", ")
                throw error(
                    node, field: "flags",
                    "--flag \(name): no such flag; declared: \(declared.isEmpty ? "none" : declared)")
            }
            flags[name] = on
        }
        return flags
    }

    /// `may_restart: [worker, ...]`: workers this manifest declares.
    func mayRestart(_ node: Node) throws(ManifestError) -> [String] {
        let names = node.sequence.map { $0.map { $0.string ?? "" } } ?? node.string.map { [$0] }
        guard let names else { throw error(node, field: "may_restart", "expected a list of worker names") }
        for name in names where !declaredWorkers.contains(name) {
            let declared = declaredWorkers.sorted().joined(separator: ", ")
            throw error(node, field: "may_restart", "no worker named '\(name)'; the workers are: \(declared)")
        }
        return names
    }

    /// `events: {replay, replay_age, subscriber_queue}`.
    func eventStreams(_ node: Node) throws(ManifestError) -> EventStreamSettings {
        guard let mapping = node.mapping else {
            throw error(node, field: "events", "expected settings such as 'replay: 10000' and 'replay_age: 10m'")
        }
        var settings = EventStreamSettings()
        for (key, value) in mapping {
            switch key.string ?? "" {
            case "replay": settings.replay = try count(value, field: "events.replay", in: 0...1_000_000)
            case "subscriber_queue":
                settings.subscriberQueue = try count(value, field: "events.subscriber_queue", in: 1...100_000)
            case "replay_age":
                guard let age = value.string.flatMap(DurationText.parse), age >= .seconds(1), age <= .seconds(86_400)
                else { throw error(value, field: "events.replay_age", "expected a duration from 1s to 24h, like 10m") }
                settings.replayAge = age
            case "write_timeout":
                guard let timeout = value.string.flatMap(DurationText.parse), timeout >= .seconds(1),
                    timeout <= .seconds(300)
                else {
                    throw error(value, field: "events.write_timeout", "expected a duration from 1s to 5m, like 30s")
                }
                settings.writeTimeout = timeout
            default:
                throw error(
                    key, field: "events.\(key.string ?? "")",
                    "unknown; use replay, replay_age, subscriber_queue, write_timeout")
            }
        }
        return settings
    }

    /// `when: [flag, ...]`: declared flags only.
    func gates(_ node: Node) throws(ManifestError) -> [String] {
        let names = node.sequence.map { $0.map { $0.string ?? "" } } ?? node.string.map { [$0] }
        guard let names, !names.isEmpty else { throw error(node, field: "when", "expected a list of flag names") }
        for name in names where flags[name] == nil {
            let declared = flags.keys.sorted().joined(separator: ", ")
            throw error(
                node, field: "when",
                "no flag named '\(name)'; declared under 'flags:': \(declared.isEmpty ? "none" : declared)")
        }
        return names
    }

    /// `command:` (a path, or a program found on `PATH`) and `args:`.
    func command(_ node: Node, args: Node?) throws(ManifestError) -> WorkerCode {
        guard let text = node.string, !text.isEmpty else {
            throw error(node, field: "command", "expected a program: a path, or a name found on PATH")
        }
        let program = try substituteRoot(node, field: "command")
        var arguments: [String] = []
        if let args {
            guard let list = args.sequence else {
                throw error(args, field: "args", "expected a list, like ['--port', '9090']")
            }
            for item in list {
                guard item.scalar != nil else { throw error(item, field: "args", "each argument is a string") }
                arguments.append(try substituteRoot(item, field: "args"))
            }
        }
        if program == "python" || program == "python3" {
            return .command(executable: WorkerCode.hostPython, arguments: arguments)
        }
        let path =
            program.contains("/") ? (program.hasPrefix("/") ? program : folder + "/" + program) : Self.search(program)
        guard let path, FileManager.default.isExecutableFile(atPath: path) else {
            throw error(
                node, field: "command",
                "no executable '\(program)' (a path is relative to botyard.yaml; a name is looked up on PATH)")
        }
        return .command(executable: URL(fileURLWithPath: path).standardized.path, arguments: arguments)
    }

    /// A value with `${BOTYARD_ROOT}` (the manifest's folder) substituted; any other `${...}` is refused, so no
    /// host variable (a secret) can reach a worker through its manifest entry.
    func substituteRoot(_ node: Node, field: String) throws(ManifestError) -> String {
        let text = node.string ?? ""
        let replaced = text.replacingOccurrences(of: "${BOTYARD_ROOT}", with: folder)
        if let start = replaced.range(of: "${") {
            let name = replaced[start.upperBound...].prefix { $0 != "}" }
            throw error(
                node, field: field,
                "only ${BOTYARD_ROOT} can be substituted here, not ${\(name)}; secrets belong in a block's settings")
        }
        return replaced
    }

    private static func search(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}

/// Flag names and the variables that carry them.
public enum FlagName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
            }
    }

    /// `BOTYARD_FLAG__<FLAG>`: upper case, `-` as `_`.
    public static func variable(_ name: String) -> String {
        "BOTYARD_FLAG__" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}
