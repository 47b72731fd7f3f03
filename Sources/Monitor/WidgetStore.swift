import AdapterKit

/// One widget on a dashboard, as it stands.
public struct Widget: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case metric(value: Double, unit: String?, previous: Double?)
        /// Points per series, oldest first: `(unix seconds, value)`.
        case chart(series: [String: [ChartPoint]])
        case table(columns: [String], rows: [[JSONValue]])
        case text(String)
        case status(level: WidgetUpdate.StatusLevel, text: String)
        /// Lines, oldest first.
        case log(lines: [LogLine])
    }

    public struct ChartPoint: Sendable, Equatable {
        public var time: Double
        public var value: Double
    }

    public struct LogLine: Sendable, Equatable {
        public var time: Double
        public var line: String
    }

    public var name: String
    /// The worker that wrote it last.
    public var worker: String
    /// Unix seconds of the last update.
    public var updatedAt: Double
    /// The board version of the last update.
    public var version: Int
    public var content: Content
    /// For charts and logs: the points per series (lines) kept; readers trim to it as they append.
    public var capacity: Int?

    public var type: String {
        switch content {
        case .metric: "metric"
        case .chart: "chart"
        case .table: "table"
        case .text: "text"
        case .status: "status"
        case .log: "log"
        }
    }
}

/// The widgets of one monitor block and their versions; pure: times are passed in, nothing waits.
///
/// Every accepted update bumps the board's version and stamps the widget with it, so a reader holding
/// version V asks for what changed after V. Charts and logs keep bounded rings; removals are remembered
/// (as tombstones, for as long as the widget could have been known) so that `changes(since:)` reports them.
public struct WidgetStore: Sendable {
    /// Points kept per chart series.
    public let maxPoints: Int
    /// Lines kept per log widget.
    public let maxLogLines: Int
    /// Widgets on one board.
    public let maxWidgets: Int
    public private(set) var version = 0
    private var widgets: [String: Widget] = [:]
    private var order: [String] = []  // creation order, which the page keeps
    private var removed: [String: Int] = [:]  // name → version of its removal
    /// Removals remembered for `changes(since:)`; older ones are forgotten, and a reader from before them
    /// gets a snapshot.
    public static let maxRemembered = 1000
    private var forgottenUpTo = 0  // removals at or before this version are forgotten

    public init(maxPoints: Int = 500, maxLogLines: Int = 200, maxWidgets: Int = 500) {
        self.maxPoints = maxPoints
        self.maxLogLines = maxLogLines
        self.maxWidgets = maxWidgets
    }

    /// What an applied update changed.
    public enum Change: Sendable, Equatable {
        /// The widget now; for charts and logs, `appended` holds only what this update added.
        case updated(Widget, appended: Widget.Content?)
        case removed(name: String, version: Int)
    }

    /// Applies `update` from `worker` at `time`.
    /// - Returns: the change, or `nil` for a removal of a widget that does not exist.
    /// - Throws: `MonitorError` when the board is full or the update changes a widget's type; nothing changes then.
    public mutating func apply(_ update: WidgetUpdate, worker: String, at time: Double) throws(MonitorError) -> Change?
    {
        let name = update.name
        if case .remove = update {
            guard widgets.removeValue(forKey: name) != nil else { return nil }
            version += 1
            order.removeAll { $0 == name }
            removed[name] = version
            if removed.count > Self.maxRemembered, let oldest = removed.min(by: { $0.value < $1.value }) {
                removed[oldest.key] = nil
                forgottenUpTo = oldest.value
            }
            return .removed(name: name, version: version)
        }
        let existing = widgets[name]
        guard existing != nil || widgets.count < maxWidgets else {
            throw MonitorError("the dashboard has \(maxWidgets) widgets already; remove one first")
        }
        let (content, appended) = try merged(update, into: existing?.content, at: time)
        version += 1
        var widget = Widget(name: name, worker: worker, updatedAt: time, version: version, content: content)
        if case .chart = content { widget.capacity = maxPoints }
        if case .log = content { widget.capacity = maxLogLines }
        if existing == nil { order.append(name) }
        widgets[name] = widget
        removed[name] = nil
        return .updated(widget, appended: appended)
    }

    private func merged(_ update: WidgetUpdate, into old: Widget.Content?, at time: Double) throws(MonitorError) -> (
        Widget.Content, Widget.Content?
    ) {
        switch (update, old) {
        case (.metric(_, let value, let unit), .metric(let previous, _, _)?):
            return (.metric(value: value, unit: unit, previous: previous), nil)
        case (.metric(_, let value, let unit), nil):
            return (.metric(value: value, unit: unit, previous: nil), nil)
        case (.chart(let name, let points), .chart(var series)?):
            let added = points.keys.filter { series[$0] == nil }.count
            guard series.count + added <= WidgetUpdate.maxSeries else {
                throw MonitorError(
                    "chart '\(name)' would have over \(WidgetUpdate.maxSeries) series; reuse series names or remove it")
            }
            for (key, value) in points {
                series[key, default: []].append(Widget.ChartPoint(time: time, value: value))
                if let count = series[key]?.count, count > maxPoints { series[key]?.removeFirst(count - maxPoints) }
            }
            return (.chart(series: series), .chart(series: points.mapValues { [.init(time: time, value: $0)] }))
        case (.chart(_, let points), nil):
            let series = points.mapValues { [Widget.ChartPoint(time: time, value: $0)] }
            return (.chart(series: series), .chart(series: series))
        case (.log(_, let line), .log(var lines)?):
            lines.append(Widget.LogLine(time: time, line: line))
            if lines.count > maxLogLines { lines.removeFirst(lines.count - maxLogLines) }
            return (.log(lines: lines), .log(lines: [.init(time: time, line: line)]))
        case (.log(_, let line), nil):
            let lines = [Widget.LogLine(time: time, line: line)]
            return (.log(lines: lines), .log(lines: lines))
        case (.table(_, let columns, let rows), .table?), (.table(_, let columns, let rows), nil):
            return (.table(columns: columns, rows: rows), nil)
        case (.text(_, let text), .text?), (.text(_, let text), nil):
            return (.text(text), nil)
        case (.status(_, let level, let text), .status?), (.status(_, let level, let text), nil):
            return (.status(level: level, text: text), nil)
        default:
            let was = old.map { Widget(name: "", worker: "", updatedAt: 0, version: 0, content: $0).type } ?? "?"
            throw MonitorError("widget '\(update.name)' is a \(was); remove it before using the name for another type")
        }
    }

    /// Every widget, in creation order.
    public var all: [Widget] { order.compactMap { widgets[$0] } }

    /// The widgets changed after `since`, and the names removed after it; `nil` when removals from after
    /// `since` were forgotten (take a snapshot then).
    public func changes(since: Int) -> (widgets: [Widget], removed: [String])? {
        guard since >= forgottenUpTo else { return nil }
        return (all.filter { $0.version > since }, removed.filter { $0.value > since }.map(\.key).sorted())
    }
}
