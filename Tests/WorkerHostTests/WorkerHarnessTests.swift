import AdapterKit
import Foundation
import Testing
import WorkerHost

struct EmptyFill: Error {}

/// The Swift harness, used as a trader would test a compiled-in event worker.
struct WorkerHarnessTests {
    static func desk() -> Worker {
        var worker = Worker(name: "desk")
        worker.onStartup(name: "open") { client in try await client.state.set("opened", true) }
        worker.onEvent("desk.fill", name: "count") { event, client in
            let fills = try await client.state.incr("fills")
            try client.publish("desk.filled", ["fills": .number(Double(fills)), "seq": .number(Double(event.seq))])
        }
        worker.onEvent("desk.fill", name: "reject") { event, _ in
            if event.payload["qty"]?.numberValue == 0 { throw EmptyFill() }
        }
        worker.every(.seconds(5), name: "beat") { client in
            let late = Date().timeIntervalSince(client.scheduledAt ?? .distantFuture)
            try await client.state.set("late_known", .bool(late.isFinite))
            _ = try await client.state.incr("beats")
        }
        worker.onShutdown(name: "first") { client in try await client.state.set("order", "first") }
        worker.onShutdown(name: "second") { client in try await client.state.set("order", "second") }
        return worker
    }

    @Test func startupEventsSchedulesAndShutdownRunWithoutAHost() async throws {
        let harness = try WorkerHarness(Self.desk())
        #expect(await harness.startup().isEmpty)
        #expect(try await harness.client.state.get("opened") == .bool(true))
        #expect(await harness.emit("desk.fill", ["qty": 1]).isEmpty)
        let errors = await harness.emit("desk.fill", ["qty": 0])
        #expect(errors.count == 1 && errors[0] is EmptyFill, "both handlers of the kind ran")
        #expect(harness.published.map(\.kind) == ["desk.filled", "desk.filled"])
        #expect(harness.published.last?.payload["fills"] == 2)
        #expect(await harness.advance(by: .seconds(4)) == 0, "the first run is one interval after start")
        #expect(await harness.advance(by: .seconds(11)) == 3)
        #expect(try await harness.client.state.get("beats") == 3)
        #expect(try await harness.client.state.get("late_known") == .bool(true))
        #expect(await harness.shutdown().isEmpty)
        #expect(try await harness.client.state.get("order") == "first", "shutdown runs in reverse order")
        await #expect(throws: HarnessError.self) { try await harness.fire("nope") }
    }
}
