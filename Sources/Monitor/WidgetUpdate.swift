import AdapterKit

/// One change a worker asks of a dashboard, validated: nothing of a bad update is ever applied.
public enum WidgetUpdate: Sendable, Equatable {
    case metric(name: String, value: Double, unit: String?)
    /// Points to append, by series.
    case chart(name: String, points: [String: Double])
    case table(name: String, columns: [String], rows: [[JSONValue]])
    case text(name: String, text: String)
    case status(name: String, level: StatusLevel, text: String)
    case log(name: String, line: String)
    case remove(name: String)

    public enum StatusLevel: String, Sendable, CaseIterable {
        case ok, warn, error
    }

    public static let maxNameLength = 128
    public static let maxTableRows = 1000
    public static let maxTableColumns = 50
    public static let maxTextBytes = 64 * 1024
    public static let maxSeries = 20

    /// The widget's name.
    public var name: String {
        switch self {
        case .metric(let name, _, _), .chart(let name, _), .table(let name, _, _), .text(let name, _),
            .status(let name, _, _), .log(let name, _), .remove(let name):
            name
        }
    }

    /// Parses the `widget` object of a `monitor.update` call:
    /// `{"type": "metric", "name": "pnl", "value": 12.5, "unit": "USDT"}` and so on.
    /// - Throws: `MonitorError` naming the field and what is wrong.
    public init(json: JSONValue) throws(MonitorError) {
        guard let type = json["type"]?.stringValue else { throw MonitorError("a widget update needs a 'type'") }
        let name = try Self.name(json["name"])
        switch type {
        case "metric":
            let unit = try json["unit"].flatMap { value throws(MonitorError) in try Self.optionalText(value, "unit") }
            self = .metric(name: name, value: try Self.number(json["value"], "metric '\(name)' value"), unit: unit)
        case "chart":
            self = .chart(name: name, points: try Self.points(json["points"], name: name))
        case "table":
            let (columns, rows) = try Self.table(json["rows"], columns: json["columns"], name: name)
            self = .table(name: name, columns: columns, rows: rows)
        case "text":
            self = .text(name: name, text: try Self.text(json["text"], "text '\(name)'"))
        case "status":
            guard let level = json["level"]?.stringValue.flatMap(StatusLevel.init(rawValue:)) else {
                throw MonitorError("status '\(name)' level must be ok, warn or error")
            }
            self = .status(name: name, level: level, text: try Self.text(json["text"] ?? "", "status '\(name)' text"))
        case "log":
            self = .log(name: name, line: try Self.text(json["line"], "log '\(name)' line"))
        case "remove":
            self = .remove(name: name)
        default:
            throw MonitorError("unknown widget type '\(type)'; the types are metric, chart, table, text, status, log")
        }
    }

    private static func name(_ value: JSONValue?) throws(MonitorError) -> String {
        guard let name = value?.stringValue, !name.isEmpty else {
            throw MonitorError("a widget needs a name (a non-empty string)")
        }
        guard name.count <= maxNameLength else {
            throw MonitorError("widget name is \(name.count) characters; the limit is \(maxNameLength)")
        }
        return name
    }

    private static func number(_ value: JSONValue?, _ what: String) throws(MonitorError) -> Double {
        guard case .number(let number)? = value else { throw MonitorError("\(what) must be a number") }
        guard number.isFinite else { throw MonitorError("\(what) must be finite, not NaN or infinity") }
        return number
    }

    private static func text(_ value: JSONValue?, _ what: String) throws(MonitorError) -> String {
        guard let text = value?.stringValue else { throw MonitorError("\(what) must be a string") }
        guard text.utf8.count <= maxTextBytes else { throw MonitorError("\(what) is over 64 KiB") }
        return text
    }

    private static func optionalText(_ value: JSONValue, _ what: String) throws(MonitorError) -> String? {
        if value == .null { return nil }
        return try text(value, what)
    }

    private static func points(_ value: JSONValue?, name: String) throws(MonitorError) -> [String: Double] {
        guard let object = value?.objectValue, !object.isEmpty else {
            throw MonitorError("chart '\(name)' needs a number or a mapping of series names to numbers")
        }
        guard object.count <= maxSeries else { throw MonitorError("chart '\(name)' has over \(maxSeries) series") }
        var points: [String: Double] = [:]
        for (series, point) in object {
            guard !series.isEmpty, series.count <= maxNameLength else {
                throw MonitorError("chart '\(name)' series names are 1 to \(maxNameLength) characters")
            }
            points[series] = try number(point, "chart '\(name)' series '\(series)'")
        }
        return points
    }

    private static func table(_ value: JSONValue?, columns: JSONValue?, name: String) throws(MonitorError) -> (
        [String], [[JSONValue]]
    ) {
        guard let rows = value?.arrayValue else { throw MonitorError("table '\(name)' rows must be a list") }
        guard rows.count <= maxTableRows else {
            throw MonitorError("table '\(name)' has \(rows.count) rows; the limit is \(maxTableRows)")
        }
        var names = try columns.map { value throws(MonitorError) in try columnNames(value, name) } ?? []
        if columns == nil || columns == .null {
            names = []
            for row in rows {
                for key in row.objectValue?.keys.sorted() ?? [] where !names.contains(key) { names.append(key) }
            }
        }
        guard names.count <= maxTableColumns else { throw MonitorError("table '\(name)' has over 50 columns") }
        var cells: [[JSONValue]] = []
        for (index, row) in rows.enumerated() {
            if let object = row.objectValue {
                cells.append(names.map { object[$0] ?? .null })
            } else if let list = row.arrayValue {
                cells.append(list)
            } else {
                throw MonitorError("table '\(name)' row \(index) must be a dict or a list")
            }
            guard cells[index].allSatisfy(isScalar) else {
                throw MonitorError("table '\(name)' row \(index): cells are strings, numbers, booleans or None")
            }
        }
        return (names, cells)
    }

    private static func columnNames(_ value: JSONValue, _ name: String) throws(MonitorError) -> [String] {
        if value == .null { return [] }
        guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
            throw MonitorError("table '\(name)' columns must be a list of strings")
        }
        return list.compactMap(\.stringValue)
    }

    private static func isScalar(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): number.isFinite
        case .string, .bool, .null: true
        case .array, .object: false
        }
    }
}

/// A widget update the monitor refuses; a worker sees it as `ValueError`.
public struct MonitorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
