import AdapterKit
import Foundation

/// Parses and prints the durations a trader writes: `1s`, `90s`, `5m`, `1h`, `1m30s`, `500ms`.
public enum DurationText {
    /// Parses `text` into a duration.
    /// - Returns: `nil` when the text is not a duration, or longer than a year.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        guard !rest.isEmpty else { return nil }
        var total = Duration.zero
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let amount = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unitText.count)
            guard let unit = unitSeconds[String(unitText)],
                let part = Duration.seconds(checked: amount * unit, upTo: limit)
            else { return nil }
            total += part
            guard total <= .seconds(limit) else { return nil }
        }
        return total
    }

    /// The shortest text for a duration, as `parse` reads it back: `1s`, `90s`, `5m`, `1h`, `250ms`.
    public static func format(_ duration: Duration) -> String {
        let millis = duration.milliseconds
        if millis % 3_600_000 == 0, millis > 0 { return "\(millis / 3_600_000)h" }
        if millis % 60_000 == 0, millis > 0 { return "\(millis / 60_000)m" }
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        return "\(millis)ms"
    }

    /// The longest duration a trader can write: a year, far past every setting's own range.
    private static let limit: Double = 366 * 86_400

    private static let unitSeconds: [String: Double] = [
        "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600,
    ]
}

/// The rules for a worker's tick interval: 1 second to 1 hour, in whole seconds.
public enum TickInterval {
    /// The interval of a worker that names none.
    public static let `default` = Duration.seconds(10)
    /// The shortest interval.
    public static let minimum = Duration.seconds(1)
    /// The longest interval.
    public static let maximum = Duration.seconds(3600)

    /// Parses and checks an interval.
    /// - Returns: the interval, or a message a person can act on.
    public static func parse(_ text: String) -> Result<Duration, IntervalError> {
        guard let duration = DurationText.parse(text) else {
            return .failure(IntervalError(message: "'\(text)' is not a duration; write it like 1s, 90s, 5m or 1h"))
        }
        return validate(duration, as: text)
    }

    /// Checks that a duration is a usable interval.
    public static func validate(_ duration: Duration, as text: String? = nil) -> Result<Duration, IntervalError> {
        let shown = text ?? DurationText.format(duration)
        guard duration >= minimum, duration <= maximum else {
            return .failure(IntervalError(message: "interval \(shown) is out of range; it must be from 1s to 1h"))
        }
        guard duration.milliseconds % 1000 == 0 else {
            return .failure(IntervalError(message: "interval \(shown) must be a whole number of seconds"))
        }
        return .success(duration)
    }
}

/// Why an interval was refused.
public struct IntervalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for a person.
    public var message: String
    public var description: String { message }
}
