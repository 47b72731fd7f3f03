import Foundation
import Yams

extension ManifestLoader.Context {
    /// `sandbox:` — `off`, or a mapping of `memory`, `pids`, `files` and `network` over `base`.
    func sandbox(_ node: Node, over base: SandboxPolicy) throws(ManifestError) -> SandboxPolicy {
        if let text = node.scalar?.string, ["off", "false", "no"].contains(text.lowercased()) {
            var policy = base
            policy.enabled = false
            return policy
        }
        guard let mapping = node.mapping else {
            throw error(
                node, field: "sandbox", "expected 'off' or settings such as 'memory: 512MiB' and 'network: false'")
        }
        var policy = base
        policy.enabled = true
        for (key, value) in mapping {
            let field = key.string ?? ""
            switch field {
            case "memory": policy.memoryBytes = try bytes(value, field: "sandbox.memory")
            case "pids":
                policy.pids = try count(value, field: "sandbox.pids", in: SandboxPolicy.pidsRange)
            case "files":
                policy.files = try count(value, field: "sandbox.files", in: SandboxPolicy.filesRange)
            case "network": policy.network = try flag(value, field: "sandbox.network")
            default:
                throw error(
                    key, field: "sandbox.\(field)", "unknown setting; a sandbox has memory, pids, files, network")
            }
        }
        return policy
    }

    func count(_ node: Node, field: String, in range: ClosedRange<Int>) throws(ManifestError) -> Int {
        guard let text = node.string, let value = Int(text), range.contains(value) else {
            throw error(node, field: field, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private func flag(_ node: Node, field: String) throws(ManifestError) -> Bool {
        switch node.string?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, field: field, "expected true or false")
        }
    }

    /// A size such as `512MiB`, `1GiB`, `256M` or a number of bytes, from 64 MiB to 64 GiB.
    private func bytes(_ node: Node, field: String) throws(ManifestError) -> Int {
        let range = SandboxPolicy.memoryRange
        let message = "expected a size from 64MiB to 64GiB, like 512MiB or 2GiB"
        guard let text = node.string?.trimmingCharacters(in: .whitespaces) else {
            throw error(node, field: field, message)
        }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let scale: Int? =
            switch unit {
            case "", "b": 1
            case "k", "kb", "kib": 1024
            case "m", "mb", "mib": 1024 * 1024
            case "g", "gb", "gib": 1024 * 1024 * 1024
            default: nil
            }
        guard digits.count <= 12, let amount = Int(digits), let scale else { throw error(node, field: field, message) }
        let (value, overflow) = amount.multipliedReportingOverflow(by: scale)
        guard !overflow, range.contains(value) else { throw error(node, field: field, message) }
        return value
    }
}
