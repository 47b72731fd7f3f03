import AdapterKit

extension Widget {
    /// The widget as feeds send it: `name`, `type`, `worker`, `updated_at`, `version`, and per type `value`
    /// (+`unit`, `previous`), `points` ({series: [[t, v], …]}), `columns`+`rows`, `text`, `level`, `lines`.
    public var json: JSONValue { Self.json(header: self, content: content) }

    /// The widget's header with other content: a chart's or a log's appended part, for update events.
    static func json(header widget: Widget, content: Content) -> JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(widget.name), "type": .string(widget.type), "worker": .string(widget.worker),
            "updated_at": .number(widget.updatedAt), "version": .number(Double(widget.version)),
        ]
        if let capacity = widget.capacity { object["capacity"] = .number(Double(capacity)) }
        switch content {
        case .metric(let value, let unit, let previous):
            object["value"] = .number(value)
            object["unit"] = unit.map(JSONValue.string) ?? .null
            object["previous"] = previous.map(JSONValue.number) ?? .null
        case .chart(let series):
            object["points"] = .object(
                series.mapValues { points in .array(points.map { [.number($0.time), .number($0.value)] }) })
        case .table(let columns, let rows):
            object["columns"] = .array(columns.map(JSONValue.string))
            object["rows"] = .array(rows.map(JSONValue.array))
        case .text(let text):
            object["text"] = .string(text)
        case .status(let level, let text):
            object["level"] = .string(level.rawValue)
            object["text"] = .string(text)
        case .log(let lines):
            object["lines"] = .array(lines.map { [.number($0.time), .string($0.line)] })
        }
        return .object(object)
    }
}

/// What feeds send: a snapshot, then one event per change. SSE and WebSocket carry the same JSON.
public enum MonitorEvent: Sendable {
    case snapshot(version: Int, widgets: [Widget])
    case change(WidgetStore.Change)

    public var version: Int {
        switch self {
        case .snapshot(let version, _): version
        case .change(.updated(let widget, _)): widget.version
        case .change(.removed(_, let version)): version
        }
    }

    public var json: JSONValue {
        switch self {
        case .snapshot(let version, let widgets):
            return ["type": "snapshot", "version": .number(Double(version)), "widgets": .array(widgets.map(\.json))]
        case .change(.updated(let widget, let appended?)):
            return [
                "type": "append", "version": .number(Double(widget.version)),
                "widget": Widget.json(header: widget, content: appended),
            ]
        case .change(.updated(let widget, nil)):
            return ["type": "update", "version": .number(Double(widget.version)), "widget": widget.json]
        case .change(.removed(let name, let version)):
            return ["type": "remove", "version": .number(Double(version)), "name": .string(name)]
        }
    }

}
