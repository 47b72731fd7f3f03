import AdapterKit

/// How request arguments become the exact bytes that are signed and sent.
enum BybitParameters {
    /// Fields Bybit wants as strings (pybit casts them the same way), so `qty=0.01` works as well as `qty="0.01"`.
    static let stringFields: Set<String> = [
        "qty", "price", "triggerPrice", "takeProfit", "stopLoss", "tpLimitPrice", "slLimitPrice", "buyLeverage",
        "sellLeverage", "basePrice", "tpTriggerPrice", "slTriggerPrice",
    ]
    /// Fields Bybit wants as integers.
    static let integerFields: Set<String> = ["positionIdx", "triggerDirection"]

    /// `args` without nulls, with numbers cast as Bybit expects.
    static func normalized(_ args: [String: JSONValue]) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (key, value) in args where value != .null {
            if stringFields.contains(key), case .number = value {
                result[key] = .string(text(value))
            } else if integerFields.contains(key), let number = value.stringValue.flatMap(Int.init) {
                result[key] = .number(Double(number))
            } else {
                result[key] = value
            }
        }
        return result
    }

    /// The query string for a GET: keys sorted as pybit sorts them, values left as they are (Bybit's cursors
    /// arrive already percent-encoded) except for the few characters that would break the query apart.
    static func query(_ args: [String: JSONValue]) -> String {
        args.keys.sorted().map { key in "\(key)=\(escaped(text(args[key] ?? .null)))" }.joined(separator: "&")
    }

    /// A value as it appears in a query string.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let string): string
        case .bool(let bool): bool ? "true" : "false"
        default: value.jsonText()
        }
    }

    private static func escaped(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "="), UInt8(ascii: "#"), UInt8(ascii: "+"), UInt8(ascii: " "),
                0..<0x20, 0x7f...:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            default:
                result.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return result
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
