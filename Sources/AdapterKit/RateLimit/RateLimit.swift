/// One limit of a venue: at most `limit` units of weight in any window of `window`.
///
/// Bybit's IP pool is `RateLimit(id: "ip", limit: 600, window: .seconds(5))`; its order endpoint for linear
/// contracts is `RateLimit(id: "order/create", limit: 10, window: .seconds(1))`.
public struct RateLimit: Sendable, Hashable {
    public var id: String
    public var limit: Int
    public var window: Duration

    public init(id: String, limit: Int, window: Duration) {
        self.id = id
        self.limit = limit
        self.window = window
    }
}

/// What one request draws from one limit.
public struct RateLimitCost: Sendable, Hashable {
    public var limitID: String
    public var weight: Int

    public init(_ limitID: String, weight: Int = 1) {
        self.limitID = limitID
        self.weight = weight
    }
}

/// A request the rate limiter will not let through.
public struct RateLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        private enum Base: Hashable { case pastDeadline, unknownLimit, tooHeavy, cancelled }
        private let base: Base
        /// Waiting for room would pass the caller's deadline.
        public static let pastDeadline = Code(base: .pastDeadline)
        /// The request names a limit the limiter does not know.
        public static let unknownLimit = Code(base: .unknownLimit)
        /// The request weighs more than the whole limit.
        public static let tooHeavy = Code(base: .tooHeavy)
        /// The waiting task was cancelled.
        public static let cancelled = Code(base: .cancelled)
    }

    public var code: Code
    /// What happened, for a person.
    public var message: String

    public var description: String { message }
}
