import AdapterKit
import Monitor
import Testing

/// Fan-out: catch-up by Last-Event-ID, and a slow reader that never holds back the others.
@Suite(.timeLimit(.minutes(1)))
struct MonitorBoardTests {
    static func metric(_ name: String, _ value: Double) -> WidgetUpdate { .metric(name: name, value: value, unit: nil) }

    static func types(_ events: [MonitorMessage]) throws -> [String] {
        try events.map { try JSONValue(parsing: Array($0.json.utf8))["type"]?.stringValue ?? "?" }
    }

    @Test func aNewReaderGetsASnapshotThenEveryUpdateInOrder() async throws {
        let board = MonitorBoard(name: "main")
        try board.apply(Self.metric("a", 1), worker: "w")
        let subscription = board.subscribe()
        defer { subscription.cancel() }
        #expect(try Self.types(subscription.initial) == ["snapshot"])
        for n in 2...4 { try board.apply(Self.metric("a", Double(n)), worker: "w") }
        var versions: [Int] = []
        while versions.count < 3, let batch = await subscription.next() {
            versions += batch.map { $0.version ?? -1 }
        }
        #expect(versions == [2, 3, 4], "queued while the reader was away, delivered as one batch")
    }

    @Test func aReaderThatReconnectsGetsWhatItMissed() throws {
        let board = MonitorBoard(name: "main")
        for n in 1...10 { try board.apply(Self.metric("a", Double(n)), worker: "w") }
        let resumed = board.subscribe(after: 7)
        defer { resumed.cancel() }
        #expect(resumed.initial.map(\.version) == [8, 9, 10])
        #expect(try Self.types(resumed.initial) == ["update", "update", "update"])
        let current = board.subscribe(after: 10)
        defer { current.cancel() }
        #expect(current.initial.isEmpty)
    }

    @Test func aReaderTooFarBehindGetsAFreshSnapshot() throws {
        let board = MonitorBoard(name: "main", historySize: 4)
        for n in 1...20 { try board.apply(Self.metric("a", Double(n)), worker: "w") }
        let old = board.subscribe(after: 2)
        defer { old.cancel() }
        #expect(try Self.types(old.initial) == ["snapshot"])
        #expect(old.initial.first?.version == 20)
        let future = board.subscribe(after: 99)  // a board that restarted since
        defer { future.cancel() }
        #expect(try Self.types(future.initial) == ["snapshot"])
    }

    @Test func aSlowReaderIsCutOffWhileAFastOneGetsEverything() async throws {
        let board = MonitorBoard(name: "main", bufferSize: 8)
        let slow = board.subscribe()
        let fast = board.subscribe()
        defer {
            slow.cancel()
            fast.cancel()
        }
        var fastVersions: [Int] = []
        for n in 1...100 {
            try board.apply(Self.metric("a", Double(n)), worker: "w")
            fastVersions += await fast.next()?.map { $0.version ?? -1 } ?? []  // the slow one reads nothing
        }
        #expect(fastVersions == Array(1...100))
        var slowCount = 0
        while let batch = await slow.next() { slowCount += batch.count }  // ends: it was cut off
        #expect(slow.lagged)
        #expect(slowCount <= 8, "its buffer, no more: memory stays bounded")
        #expect(!fast.lagged)
        #expect(board.subscriberCount == 1)
    }

    @Test func cancellingAReaderRemovesIt() {
        let board = MonitorBoard(name: "main")
        let subscription = board.subscribe()
        #expect(board.subscriberCount == 1)
        subscription.cancel()
        #expect(board.subscriberCount == 0)
    }
}

extension MonitorBoardTests {
    @Test func aCoalescingBoardDeliversWhatGatheredAtEachFlush() async throws {
        let board = MonitorBoard(name: "main", coalescing: .milliseconds(25))
        let reader = board.subscribe()
        defer { reader.cancel() }
        #expect(try Self.types(reader.initial) == ["snapshot"])
        for n in 1...3 { try board.apply(Self.metric("a", Double(n)), worker: "w") }
        let waiting = Task { await reader.next()?.map { $0.version ?? -1 } }
        try await Task.sleep(for: .milliseconds(20))  // the reader waits: deliveries come with flushes
        board.flush()
        #expect(await waiting.value == [1, 2, 3])
    }
}

extension MonitorBoardTests {
    @Test func aBurstThatFillsADeferredQueueGoesToAWaitingReaderInsteadOfCuttingItOff() async throws {
        let board = MonitorBoard(name: "main", bufferSize: 4, coalescing: .seconds(60))
        let reader = board.subscribe()
        defer { reader.cancel() }
        let waiting = Task { await reader.next()?.count }
        while board.waitingCount == 0 { await Task.yield() }  // the reader waits for the (far) flush
        for n in 1...5 { try board.apply(Self.metric("a", Double(n)), worker: "w") }
        #expect(await waiting.value == 5)
        #expect(!reader.lagged && board.cutOffCount == 0)
    }

    @Test func aChartCannotGrowPastTwentySeries() throws {
        var store = WidgetStore()
        for n in 0..<20 {
            _ = try store.apply(.chart(name: "c", points: ["s\(n)": 1]), worker: "w", at: 1)
        }
        #expect(throws: MonitorError.self) {
            try store.apply(.chart(name: "c", points: ["s20": 1]), worker: "w", at: 2)
        }
        #expect(store.version == 20)
    }
}
