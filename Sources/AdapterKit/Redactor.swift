/// Removes secrets from text before it reaches a log line, an error or a worker.
public struct Redactor: Sendable, Equatable {
    /// What a secret becomes.
    public static let mask = "[REDACTED]"
    private let secrets: [String]

    /// A redactor for `secrets` (empty and very short values are ignored: they would mask ordinary text).
    public init(secrets: [String]) {
        self.secrets = secrets.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
    }

    /// `text` with every secret replaced by `Redactor.mask`.
    public func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: Self.mask) }
    }

    /// Header values safe to log: authentication headers masked whatever their value.
    public func redact(headers: [(String, String)]) -> [(String, String)] {
        headers.map { name, value in
            Self.sensitiveHeaders.contains(name.lowercased()) ? (name, Self.mask) : (name, redact(value))
        }
    }

    static let sensitiveHeaders: Set<String> = [
        "authorization", "x-bapi-api-key", "x-bapi-sign", "x-api-key", "x-ig-api-key", "cst", "x-security-token",
    ]
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
