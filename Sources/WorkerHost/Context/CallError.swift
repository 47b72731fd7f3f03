import AdapterKit

/// Why a ctx call failed. A Python worker sees it raised as the exception its `kind` names.
public struct CallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; its raw value is the Python exception raised in the worker.
    public struct Kind: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A bad argument: a key too long, a value too large, a value of the wrong type.
        public static let valueError = Kind(rawValue: "ValueError")
        /// The call did not finish before its deadline.
        public static let timeout = Kind(rawValue: "TimeoutError")
        /// A remote server could not be reached.
        public static let connection = Kind(rawValue: "ConnectionError")
        /// The worker used a block it is not connected to.
        public static let blockNotConnected = Kind(rawValue: "BlockNotConnectedError")
        /// The host does not know the call.
        public static let unknownCall = Kind(rawValue: "ProtocolError")
        /// The exchange refused the request; `details` carries its `ret_code` and `ret_msg`.
        public static let bybitError = Kind(rawValue: "BybitError")
        /// Anything else; the message says what.
        public static let runtime = Kind(rawValue: "RuntimeError")
    }

    public var kind: Kind
    /// What went wrong, for a person; never carries a secret.
    public var message: String
    /// Extra fields of the error object a worker receives, such as Bybit's `ret_code` and `ret_msg`.
    public var details: [String: JSONValue] = [:]

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
