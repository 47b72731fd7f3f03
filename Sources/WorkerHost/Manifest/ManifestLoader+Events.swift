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
