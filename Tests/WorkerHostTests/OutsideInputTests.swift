import AdapterKit
import AsyncHTTPClient
import Foundation
import Synchronization
import Testing

@testable import WorkerHost

/// Values from outside the host (worker arguments, API queries, manifest and CLI text, stored state, files)
/// that once trapped it: each is now a clear error for whoever sent it.
struct OutsideInputTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)").path

    func services() throws -> (WorkerServices, SQLiteStateStore) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: folder + "/state.sqlite")
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        return (WorkerServices(worker: "w", store: store, log: log, http: HTTPService(client: .shared)), store)
    }

    @Test(arguments: ["99999999999h", "99999999999s", "1e400s", "9999999999999999999999ms", "400d", "367d"])
    func anAbsurdDurationIsNotADuration(text: String) {
        #expect(DurationText.parse(text) == nil)
        guard case .failure(let error) = TickInterval.parse(text) else { return #expect(Bool(false)) }
        #expect(error.message.contains("not a duration"))
    }

    @Test func aYearOfSecondsStillParses() {
        #expect(DurationText.parse("31536000s") == .seconds(31_536_000))
    }

    @Test(arguments: [1e16, -1, 0, 1e308] as [Double])
    func anAbsurdHTTPTimeoutIsAValueError(timeout: Double) async throws {
        let (services, _) = try services()
        let result = await services.handle(
            method: "http.request", params: ["url": "http://127.0.0.1:9/", "timeout": .number(timeout)],
            deadline: .now + .seconds(5))
        guard case .failure(let error) = result else { return #expect(Bool(false), "accepted \(timeout)") }
        #expect(error.kind == .valueError)
        #expect(error.message.contains("timeout"))
    }

    @Test func aStringHTTPTimeoutIsAValueError() async throws {
        let (services, _) = try services()
        let result = await services.handle(
            method: "http.request", params: ["url": "http://127.0.0.1:9/", "timeout": "soon"],
            deadline: .now + .seconds(5))
        guard case .failure(let error) = result else { return #expect(Bool(false)) }
        #expect(error.kind == .valueError)
    }

    @Test func aSwiftWorkersIncrPastInt64IsAnErrorNotATrap() async throws {
        let (services, store) = try services()
        try await store.set(worker: "w", key: "n", json: "9223372036854775807")
        let ctx = WorkerContext(
            worker: .init(name: "w", tick: 1, interval: .seconds(1)), services: services, deadline: .now + .seconds(5))
        await #expect(throws: CallError.self) { _ = try await ctx.state.incr("n") }
        try await store.set(worker: "w", key: "big", json: "1e300")
        await #expect(throws: CallError.self) { _ = try await ctx.state.incr("big") }
    }

    @Test func anIncrementToInfinityIsRefusedAndStoresNothing() async throws {
        let (_, store) = try services()
        try await store.set(worker: "w", key: "x", json: "1e308")
        await #expect(throws: StateError.self) {
            _ = try await store.increment(worker: "w", key: "x", by: .real(1e308))
        }
        #expect(try await store.get(worker: "w", key: "x") == "1e308")
    }

    @Test func aNegativeTailIsEmpty() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        #expect(log.tail(-1).isEmpty)
        #expect(log.tail(Int.min).isEmpty)
    }

    @Test func aHugeRevisionFileNameIsIgnored() throws {
        let data = DataDirectory(path: folder + "/data")
        try data.prepare()
        try FileManager.default.createDirectory(atPath: data.path + "/code/w", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: data.path + "/code/w/rev-9223372036854775807.py", contents: Data())
        let stored = try data.storeRevision(worker: "w", code: "def tick(ctx): pass\n")
        #expect(stored.number == 1)
    }
}

/// The read cache: a slow miss never overwrites a newer write, and absent keys never grow it.
struct CachingStateStoreTests {
    /// A store whose `get` waits until released, to hold a read across a write.
    final class SlowReads: StateStore {
        let inner: any StateStore
        let held = Mutex<[CheckedContinuation<Void, Never>]>([])
        init(_ inner: any StateStore) { self.inner = inner }

        func get(worker: String, key: String) async throws -> String? {
            let value = try await inner.get(worker: worker, key: key)
            await withCheckedContinuation { continuation in held.withLock { $0.append(continuation) } }
            return value
        }
        func release() { held.withLock { all in defer { all = [] }; return all }.forEach { $0.resume() } }
        var waiting: Int { held.withLock { $0.count } }
        func set(worker: String, key: String, json: String) async throws {
            try await inner.set(worker: worker, key: key, json: json)
        }
        func delete(worker: String, key: String) async throws -> Bool { try await inner.delete(worker: worker, key: key) }
        func keys(worker: String, prefix: String) async throws -> [String] { try await inner.keys(worker: worker, prefix: prefix) }
        func increment(worker: String, key: String, by amount: StateNumber) async throws -> String {
            try await inner.increment(worker: worker, key: key, by: amount)
        }
        func entries(worker: String) async throws -> [(key: String, json: String)] { try await inner.entries(worker: worker) }
    }

    func store() throws -> SQLiteStateStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try SQLiteStateStore(path: folder + "/state.sqlite")
    }

    @Test(.timeLimit(.minutes(1))) func aSlowMissNeverOverwritesANewerSet() async throws {
        let slow = SlowReads(try store())
        let cache = CachingStateStore(backing: slow)
        try await slow.inner.set(worker: "w", key: "k", json: "1")
        async let staleRead = cache.get(worker: "w", key: "k")
        while slow.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }  // the read has its old value
        try await cache.set(worker: "w", key: "k", json: "2")
        slow.release()
        #expect(try await staleRead == "1")
        #expect(cache.cachedValue(worker: "w", key: "k") == .some("2"))
    }

    @Test func absentKeysNeverGrowTheCache() async throws {
        let cache = CachingStateStore(backing: try store())
        for index in 0..<2000 { _ = try await cache.get(worker: "w", key: "absent-\(index)") }
        #expect(cache.cachedBytes == 0)
        try await cache.set(worker: "w", key: "k", json: "12")
        #expect(cache.cachedBytes == 3)
        _ = try await cache.delete(worker: "w", key: "k")
        #expect(cache.cachedBytes == 0)
    }

    @Test func theBudgetBoundsKeysAndValues() async throws {
        let cache = CachingStateStore(backing: try store(), budgetBytes: 1000)
        for index in 0..<500 { try await cache.set(worker: "w", key: "key-\(index)", json: "\(index)") }
        #expect(cache.cachedBytes <= 1000)
    }
}
