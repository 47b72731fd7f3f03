import Crypto

/// Signs Bybit V5 requests: HMAC-SHA256 over `timestamp + apiKey + recvWindow + payload`, lower-case hex.
///
/// `payload` is the exact query string sent (no leading `?`) for GET, or the exact body bytes for POST:
/// build it once, sign it, and send those same bytes.
public struct BybitSigner: Sendable {
    /// The key's public half, sent as `X-BAPI-API-KEY`.
    public let apiKey: String
    private let key: SymmetricKey

    public init(apiKey: String, apiSecret: String) {
        self.apiKey = apiKey
        self.key = SymmetricKey(data: Array(apiSecret.utf8))
    }

    /// The signature of one request.
    /// - Parameters:
    ///   - timestamp: milliseconds since the epoch, as sent in `X-BAPI-TIMESTAMP`.
    ///   - recvWindow: milliseconds, as sent in `X-BAPI-RECV-WINDOW`.
    ///   - payload: the query string or the body, exactly as sent.
    public func sign(timestamp: Int64, recvWindow: Int, payload: String) -> String {
        hex("\(timestamp)\(apiKey)\(recvWindow)\(payload)")
    }

    /// The signature for WebSocket authentication: `GET/realtime<expires>`.
    public func signWebSocket(expires: Int64) -> String {
        hex("GET/realtime\(expires)")
    }

    /// The headers of a signed request.
    public func headers(timestamp: Int64, recvWindow: Int, payload: String) -> [(String, String)] {
        [
            ("X-BAPI-API-KEY", apiKey), ("X-BAPI-TIMESTAMP", String(timestamp)),
            ("X-BAPI-RECV-WINDOW", String(recvWindow)),
            ("X-BAPI-SIGN", sign(timestamp: timestamp, recvWindow: recvWindow, payload: payload)),
            ("X-BAPI-SIGN-TYPE", "2"), ("Content-Type", "application/json"),
        ]
    }

    private func hex(_ message: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key)
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 64) { output in
            var index = 0
            for byte in code {
                output[index] = digits.utf8Start[Int(byte >> 4)]
                output[index + 1] = digits.utf8Start[Int(byte & 0x0f)]
                index += 2
            }
            return index
        }
    }
}

extension BybitSigner: CustomStringConvertible {
    /// Never shows the secret.
    public var description: String { "BybitSigner(apiKey: \(apiKey.prefix(4))…)" }
}
