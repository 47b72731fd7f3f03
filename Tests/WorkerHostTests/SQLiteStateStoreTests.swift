import Foundation
import Testing

@testable import WorkerHost

struct SQLiteStateStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString).sqlite").path

    @Test func valuesComeBackAsStoredAndSurviveReopening() async throws {
        do {
            let store = try SQLiteStateStore(path: path)
            try await store.set(worker: "a", key: "price", json: "100.0")
            try await store.set(worker: "a", key: "orders", json: #"[{"id":1}]"#)
            try await store.set(worker: "b", key: "price", json: "7")
        }
        let reopened = try SQLiteStateStore(path: path)
        #expect(try await reopened.get(worker: "a", key: "price") == "100.0")
        #expect(try await reopened.get(worker: "a", key: "orders") == #"[{"id":1}]"#)
        #expect(try await reopened.get(worker: "b", key: "price") == "7", "namespaces are per worker")
        #expect(try await reopened.get(worker: "a", key: "missing") == nil)
    }

    @Test func keysDeleteAndEntries() async throws {
        let store = try SQLiteStateStore(path: path)
        for key in ["pos:BTC", "pos:ETH", "cash", "pos_x"] { try await store.set(worker: "w", key: key, json: "1") }
        #expect(try await store.keys(worker: "w", prefix: "pos:") == ["pos:BTC", "pos:ETH"])
        #expect(try await store.keys(worker: "w", prefix: "").count == 4)
        #expect(try await store.delete(worker: "w", key: "cash"))
        #expect(try await !store.delete(worker: "w", key: "cash"))
        #expect(try await store.entries(worker: "w").map(\.key) == ["pos:BTC", "pos:ETH", "pos_x"])
    }

    @Test func incrementKeepsIntegersIntegral() async throws {
        let store = try SQLiteStateStore(path: path)
        #expect(try await store.increment(worker: "w", key: "n", by: .integer(1)) == "1")
        #expect(try await store.increment(worker: "w", key: "n", by: .integer(5)) == "6")
        #expect(try await store.increment(worker: "w", key: "n", by: .real(0.5)) == "6.5")
        try await store.set(worker: "w", key: "s", json: "\"text\"")
        await #expect(throws: StateError.self) { try await store.increment(worker: "w", key: "s", by: .integer(1)) }
    }

    @Test func concurrentIncrementsLoseNothing() async throws {
        let store = try SQLiteStateStore(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 { group.addTask { _ = try await store.increment(worker: "w", key: "n", by: .integer(1)) } }
            try await group.waitForAll()
        }
        #expect(try await store.get(worker: "w", key: "n") == "50")
    }
}
