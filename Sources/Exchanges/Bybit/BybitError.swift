/// A failed Bybit request: a business error (HTTP 200 with a non-zero `retCode`), an HTTP-level refusal, or a
/// transport failure. Carries the venue's code and message, never a key or a signature.
public struct BybitError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        private enum Base: Hashable { case rejected, rateLimited, ipBanned, clockSkew, duplicateOrder, http, transport }
        private let base: Base
        /// The venue refused the request (`retCode` says why).
        public static let rejected = Code(base: .rejected)
        /// Per-account limit hit (`retCode` 10006, or HTTP 429): wait for the reset.
        public static let rateLimited = Code(base: .rateLimited)
        /// HTTP 403: the IP limit was breached (or the IP is not allowed); back off for minutes.
        public static let ipBanned = Code(base: .ipBanned)
        /// `retCode` 10002: the timestamp was outside the receive window; resync the clock.
        public static let clockSkew = Code(base: .clockSkew)
        /// `retCode` 110072: an order with this orderLinkId exists already.
        public static let duplicateOrder = Code(base: .duplicateOrder)
        /// Another HTTP status.
        public static let http = Code(base: .http)
        /// No answer: a timeout or a broken connection.
        public static let transport = Code(base: .transport)
    }

    public var code: Code
    /// Bybit's `retCode` (0 when the failure is not a business error).
    public var retCode: Int
    /// Bybit's `retMsg`, or what went wrong.
    public var retMsg: String
    /// The HTTP status, when there was one.
    public var httpStatus: Int?
    /// How long the server asked the client to wait (`Retry-After`), when it did.
    public var retryAfter: Duration?

    public init(code: Code, retCode: Int = 0, retMsg: String, httpStatus: Int? = nil) {
        self.code = code
        self.retCode = retCode
        self.retMsg = retMsg
        self.httpStatus = httpStatus
    }

    /// The error for a response: `nil` when it succeeded (HTTP 200 and `retCode` 0).
    public static func classify(httpStatus: Int, retCode: Int?, retMsg: String?) -> BybitError? {
        switch httpStatus {
        case 200:
            guard let retCode, retCode != 0 else { return nil }
            let code: Code =
                switch retCode {
                case 10006: .rateLimited
                case 10002: .clockSkew
                case 110072: .duplicateOrder
                default: .rejected
                }
            return BybitError(code: code, retCode: retCode, retMsg: retMsg ?? "", httpStatus: 200)
        case 403:
            return BybitError(
                code: .ipBanned, retMsg: "HTTP 403: IP rate limit breached or IP not allowed", httpStatus: 403)
        case 429:
            return BybitError(code: .rateLimited, retMsg: "HTTP 429: too many requests", httpStatus: 429)
        default:
            return BybitError(
                code: .http, retCode: retCode ?? 0, retMsg: retMsg ?? "HTTP \(httpStatus)", httpStatus: httpStatus)
        }
    }

    /// Whether the same request may simply be sent again (after the limiter's wait or a clock resync).
    public var isRetryable: Bool {
        code == .rateLimited || code == .clockSkew || code == .transport || [10000, 10016].contains(retCode)
    }

    public var description: String {
        retCode != 0 ? "Bybit error \(retCode): \(retMsg)" : "Bybit error: \(retMsg)"
    }
}
