import AdapterKit
import Monitor
import Testing

/// The widget store: versions, ring bounds, since-deltas, validation — pure, no clock.
struct WidgetStoreTests {
    func update(_ json: JSONValue) throws -> WidgetUpdate { try WidgetUpdate(json: json) }

    @Test func everyChangeBumpsTheVersionAndStampsTheWidget() throws {
        var store = WidgetStore()
        _ = try store.apply(update(["type": "metric", "name": "pnl", "value": 1]), worker: "a", at: 10)
        _ = try store.apply(update(["type": "text", "name": "note", "text": "hi"]), worker: "b", at: 11)
        let change = try store.apply(
            update(["type": "metric", "name": "pnl", "value": 3, "unit": "USDT"]), worker: "a", at: 12)
        #expect(store.version == 3)
        guard case .updated(let widget, nil)? = change else {
            return #expect(Bool(false), "\(String(describing: change))")
        }
        #expect(widget.version == 3 && widget.worker == "a" && widget.updatedAt == 12)
        #expect(widget.content == .metric(value: 3, unit: "USDT", previous: 1))
        #expect(store.all.map(\.name) == ["pnl", "note"], "creation order is kept")
    }

    @Test func chartsAndLogsKeepBoundedRings() throws {
        var store = WidgetStore(maxPoints: 3, maxLogLines: 2)
        for n in 1...5 {
            _ = try store.apply(
                update(["type": "chart", "name": "px", "points": ["a": .number(Double(n))]]), worker: "w", at: Double(n)
            )
            _ = try store.apply(
                update(["type": "log", "name": "log", "line": .string("line \(n)")]), worker: "w", at: Double(n))
        }
        guard case .chart(let series) = store.all[0].content, case .log(let lines) = store.all[1].content else {
            return #expect(Bool(false))
        }
        #expect(series["a"]?.map(\.value) == [3, 4, 5])
        #expect(lines.map(\.line) == ["line 4", "line 5"])
        #expect(store.all[0].capacity == 3)
    }

    @Test func anAppendCarriesOnlyTheNewPoint() throws {
        var store = WidgetStore()
        _ = try store.apply(update(["type": "chart", "name": "px", "points": ["a": 1]]), worker: "w", at: 1)
        let change = try store.apply(update(["type": "chart", "name": "px", "points": ["a": 2]]), worker: "w", at: 2)
        guard case .updated(_, .chart(let appended)?)? = change else { return #expect(Bool(false)) }
        #expect(appended["a"]?.map(\.value) == [2])
    }

    @Test func sinceReturnsOnlyWhatChangedAfterIt() throws {
        var store = WidgetStore()
        _ = try store.apply(update(["type": "metric", "name": "a", "value": 1]), worker: "w", at: 1)
        _ = try store.apply(update(["type": "metric", "name": "b", "value": 1]), worker: "w", at: 2)
        _ = try store.apply(update(["type": "metric", "name": "c", "value": 1]), worker: "w", at: 3)
        _ = try store.apply(update(["type": "remove", "name": "a"]), worker: "w", at: 4)
        _ = try store.apply(update(["type": "metric", "name": "b", "value": 2]), worker: "w", at: 5)
        let changes = try #require(store.changes(since: 3))
        #expect(changes.widgets.map(\.name) == ["b"])
        #expect(changes.removed == ["a"])
        #expect(store.changes(since: 5)?.widgets.isEmpty == true)
    }

    @Test func aReaderFromBeforeForgottenRemovalsIsToldToTakeASnapshot() throws {
        var store = WidgetStore()
        for n in 0...WidgetStore.maxRemembered {
            _ = try store.apply(update(["type": "text", "name": .string("w\(n)"), "text": "x"]), worker: "w", at: 1)
            _ = try store.apply(update(["type": "remove", "name": .string("w\(n)")]), worker: "w", at: 1)
        }
        #expect(store.changes(since: 0) == nil, "the first removal is forgotten")
        #expect(store.changes(since: store.version - 2)?.removed.count == 1)
    }

    @Test func aRefusedUpdateChangesNothing() throws {
        var store = WidgetStore(maxWidgets: 1)
        _ = try store.apply(update(["type": "metric", "name": "a", "value": 1]), worker: "w", at: 1)
        #expect(throws: MonitorError.self) {
            try store.apply(update(["type": "text", "name": "a", "text": "x"]), worker: "w", at: 2)
        }
        #expect(throws: MonitorError.self) {
            try store.apply(update(["type": "metric", "name": "b", "value": 1]), worker: "w", at: 2)
        }
        #expect(store.version == 1)
        #expect(store.all.map(\.name) == ["a"])
        #expect(try store.apply(update(["type": "remove", "name": "nothing"]), worker: "w", at: 3) == nil)
    }

    static let rows1001 = "[" + Array(repeating: #"{"a":1}"#, count: 1001).joined(separator: ",") + "]"

    @Test(arguments: [
        (#"{"type":"metric","name":"x","value":"1"}"#, "must be a number"),
        (#"{"type":"metric","name":"x","value":true}"#, "must be a number"),
        (#"{"type":"metric","name":""# + String(repeating: "n", count: 129) + #"","value":1}"#, "the limit is 128"),
        (#"{"type":"chart","name":"x","points":{}}"#, "needs a number"),
        (#"{"type":"table","name":"x","rows":"# + rows1001 + "}", "the limit is 1000"),
        (#"{"type":"table","name":"x","rows":[{"a":[1]}]}"#, "cells are strings"),
        (#"{"type":"status","name":"x","level":"red"}"#, "ok, warn or error"),
        (#"{"type":"gauge","name":"x"}"#, "unknown widget type"),
        (#"{"name":"x"}"#, "needs a 'type'"),
    ])
    func badUpdatesAreRefusedWithAReason(text: String, expected: String) throws {
        let json = try JSONValue(parsing: Array(text.utf8))
        do {
            _ = try WidgetUpdate(json: json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func tablesTakeDictRowsOrListRows() throws {
        let dicts = try update(["type": "table", "name": "t", "rows": [["b": 1, "a": "x"], ["a": "y"]]])
        #expect(dicts == .table(name: "t", columns: ["a", "b"], rows: [["x", 1], ["y", .null]]))
        let lists = try update(["type": "table", "name": "t", "columns": ["s", "q"], "rows": [["BTC", 1]]])
        #expect(lists == .table(name: "t", columns: ["s", "q"], rows: [["BTC", 1]]))
    }
}
