/// Bybit client order ids (`orderLinkId`): at most 36 characters of `A-Z a-z 0-9 - _`, unique forever.
public enum OrderLinkID {
    /// The longest id Bybit accepts.
    public static let maxLength = 36

    /// Whether `id` is acceptable to Bybit.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= maxLength
            && id.unicodeScalars.allSatisfy(isAllowed)
    }

    /// Whether Bybit allows `scalar` in an id: an ASCII letter or digit, `-` or `_`.
    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII
            && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
    }

    /// An id derived from the worker, the host's start time, the tick and a per-tick sequence number.
    ///
    /// The start time keeps ids unique across host restarts (tick numbers start again from 1), so that a
    /// duplicate answer can only mean a retry of this very order.
    /// - Parameters:
    ///   - worker: the worker's name (its letters, digits, `-` and `_` are kept, at most 12).
    ///   - hostStart: the host's start, in milliseconds since the epoch.
    public static func derive(worker: String, hostStart: Int64, tick: Int, sequence: Int) -> String {
        let kept = worker.unicodeScalars.filter(isAllowed)
        let prefix = String(String.UnicodeScalarView(kept.prefix(12)))
        let parts = [
            prefix.isEmpty ? "w" : prefix, String(hostStart, radix: 36), String(tick, radix: 36),
            String(sequence, radix: 36),
        ]
        return String(parts.joined(separator: "-").prefix(maxLength))
    }
}
