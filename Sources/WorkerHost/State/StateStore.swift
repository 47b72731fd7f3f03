import Foundation

/// Where `ctx.state` lives: a JSON key-value namespace per worker that survives restarts.
///
/// Values are JSON text, stored and returned byte for byte, so a worker gets back exactly what it stored
/// (`1.0` stays a float, `1` an int). Implementations must make every acknowledged write durable before
/// returning: a `set` that returned survives a crash of the host process.
public protocol StateStore: Sendable {
    /// The value of `key` in `worker`'s namespace, or `nil`.
    func get(worker: String, key: String) async throws -> String?
    /// Stores the JSON text `json` under `key`.
    func set(worker: String, key: String, json: String) async throws
    /// Removes `key`.
    /// - Returns: whether it existed.
    func delete(worker: String, key: String) async throws -> Bool
    /// The keys that start with `prefix`, sorted.
    func keys(worker: String, prefix: String) async throws -> [String]
    /// Adds `amount` to the number under `key` (missing counts as 0), atomically.
    /// - Returns: the new value as JSON text (an integer when both numbers are integers).
    /// - Throws: `StateError.notANumber` when the stored value is not a number.
    func increment(worker: String, key: String, by amount: StateNumber) async throws -> String
    /// Every key and value of `worker`, sorted by key.
    func entries(worker: String) async throws -> [(key: String, json: String)]
    /// The value of `key` if the store can answer at once without I/O: `.some(nil)` for a key known to be
    /// missing, `nil` when it does not know.
    func cachedValue(worker: String, key: String) -> String??
}

extension StateStore {
    public func cachedValue(worker: String, key: String) -> String?? { nil }
}

/// The limits of `ctx.state`, checked by the host whatever the worker's language.
public enum StateLimits {
    /// The longest key, in UTF-8 bytes.
    public static let maxKeyBytes = 256
    /// The largest value, in bytes of compact JSON.
    public static let maxValueBytes = 1024 * 1024

    /// Checks a key.
    /// - Throws: `CallError` of kind `valueError` with a message a trader can act on.
    public static func check(key: String) throws(CallError) {
        guard !key.isEmpty else { throw CallError(.valueError, "state key must not be empty") }
        let length = key.utf8.count
        guard length <= maxKeyBytes else {
            throw CallError(.valueError, "state key is \(length) bytes; the limit is \(maxKeyBytes)")
        }
    }

    /// Checks a value's encoded size.
    /// - Throws: `CallError` of kind `valueError`.
    public static func check(encodedValueBytes length: Int, key: String) throws(CallError) {
        guard length <= maxValueBytes else {
            throw CallError(.valueError, "state value for '\(key)' is \(length) bytes; the limit is 1 MiB")
        }
    }
}

/// A state operation that could not be done.
public struct StateError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    static func overflow(_ key: String) -> StateError {
        StateError(message: "incrementing '\(key)' would overflow: the sum is not a finite number")
    }

    static func notANumber(_ key: String) -> StateError {
        StateError(message: "state value for '\(key)' is not a number, so it cannot be incremented")
    }
}

/// A number in state: integers stay integers, so `incr` on a counter gives `6`, not `6.0`.
public enum StateNumber: Sendable, Equatable {
    case integer(Int64)
    case real(Double)

    /// Reads JSON number text; `nil` when it is not a number.
    public init?(json: String) {
        let text = json.trimmingCharacters(in: .whitespaces)
        if let integer = Int64(text) {
            self = .integer(integer)
        } else if let real = Double(text), text.first != "+", !text.lowercased().contains("n"), real.isFinite {
            self = .real(real)
        } else {
            return nil
        }
    }

    /// The sum, as an integer when both are integers and it does not overflow.
    public static func + (lhs: StateNumber, rhs: StateNumber) -> StateNumber {
        if case .integer(let a) = lhs, case .integer(let b) = rhs {
            let (sum, overflow) = a.addingReportingOverflow(b)
            if !overflow { return .integer(sum) }
        }
        return .real(lhs.doubleValue + rhs.doubleValue)
    }

    /// The number as a `Double`.
    public var doubleValue: Double {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        }
    }

    /// JSON text for the number.
    public var json: String {
        switch self {
        case .integer(let value): String(value)
        case .real(let value):
            value.rounded() == value && abs(value) < 1e15 ? String(format: "%.1f", value) : "\(value)"
        }
    }
}
