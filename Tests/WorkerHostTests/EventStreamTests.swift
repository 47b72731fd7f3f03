import AdapterKit
import Foundation
import Hummingbird
import Testing

@testable import WorkerHost

/// The event streams' pure parts: the replay buffer and its gaps, the kind filter, a subscriber's bounded queue,
/// the hub's replay-then-live hand-over, `transport.gap`, and the `seq` kept across restarts.
struct EventStreamTests {
    typealias Buffer = ReplayBuffer<Int>
    let t0 = ContinuousClock.now

    func buffer(count: Int = 5, age: Duration = .seconds(60), bytes: Int = 1_000_000, after seq: Int = 0) -> Buffer {
        Buffer(limits: .init(count: count, age: age, bytes: bytes), startingAfter: seq)
    }

    func fill(_ buffer: inout Buffer, _ seqs: ClosedRange<Int>, kind: String = "a", size: Int = 1, at: Duration = .zero)
    {
        for seq in seqs { buffer.append(seq: seq, kind: kind, size: size, at: t0 + at, seq) }
    }

    @Test func replaysEverythingAfterSinceWhileItIsKept() {
        var buffer = buffer()
        fill(&buffer, 1...4)
        let replay = buffer.replay(after: 2) { _ in true }
        #expect(replay.elements == [3, 4])
        #expect(!replay.hasGap)
        #expect(buffer.replay(after: 4) { _ in true }.elements.isEmpty)
        #expect(buffer.replay(after: 0) { _ in true }.elements == [1, 2, 3, 4])
    }

    @Test func countsWhatIsGoneWhenSinceIsOlderThanTheBuffer() {
        var buffer = buffer(count: 3)
        fill(&buffer, 1...10)  // keeps 8, 9, 10
        let replay = buffer.replay(after: 2) { _ in true }
        #expect(replay.missed == 5, "3 to 7 are gone")
        #expect(replay.gapEnd == 7)
        #expect(replay.elements == [8, 9, 10])
        #expect(!buffer.replay(after: 7) { _ in true }.hasGap, "resuming right after the gap loses nothing")
    }

    @Test func dropsEventsOlderThanTheAgeLimitAndPastTheByteLimit() {
        var aged = buffer(count: 100, age: .seconds(10))
        fill(&aged, 1...3, at: .zero)
        fill(&aged, 4...5, at: .seconds(11))
        #expect(aged.replay(after: 0) { _ in true }.missed == 3)
        var heavy = buffer(count: 100, bytes: 250)
        fill(&heavy, 1...5, size: 100)
        #expect(heavy.replay(after: 0) { _ in true }.elements == [4, 5])
        #expect(heavy.bytes == 200)
    }

    @Test func aSinceFromAnotherHistoryGetsEverythingKeptAndAnUnknownGap() {
        var buffer = buffer(after: 100)  // a host that restarted after seq 100
        fill(&buffer, 101...103)
        let future = buffer.replay(after: 5000) { _ in true }
        #expect(future.missed == nil && future.reason == "unknown_seq")
        #expect(future.elements == [101, 102, 103])
        #expect(
            !buffer.replay(after: 100) { _ in true }.hasGap, "a client that saw 100 before the restart misses nothing")
        #expect(buffer.replay(after: 90) { _ in true }.missed == 10)
        #expect(buffer.replay(after: 90) { _ in true }.reason == "restarted", "gone before this run, not evicted")
    }

    @Test func filtersReplayByKind() {
        var buffer = buffer(count: 10)
        fill(&buffer, 1...2, kind: "desk.fill")
        fill(&buffer, 3...3, kind: "notify")
        #expect(buffer.replay(after: 0) { $0 == "notify" }.elements == [3])
    }

    @Test func kindFilterMatchesExactKindsPrefixesAndEverything() {
        let filter = KindFilter(["notify", "desk.*"])
        #expect(filter.matches("notify"))
        #expect(filter.matches("desk.fill"))
        #expect(!filter.matches("deskfill"))
        #expect(!filter.matches("worker.state"))
        #expect(KindFilter([]).matches("anything"))
        #expect(KindFilter(["*"]).matches("anything"))
    }

    static func event(_ seq: Int, _ kind: String = "a", size: Int = 10) -> StreamedEvent {
        StreamedEvent(seq: seq, kind: kind, json: "{\"seq\":\(seq)}", size: size)
    }

    @Test func aSubscriberThatFallsBehindEndsLaggedAndItsQueueIsFreed() async {
        let subscription = EventSubscription(filter: KindFilter([]), limits: .init(count: 3, bytes: 1000))
        for seq in 1...3 { subscription.offer(Self.event(seq)) }
        #expect(await subscription.next().map { $0.map(\.seq) } == .success([1, 2, 3]))
        for seq in 4...7 { subscription.offer(Self.event(seq)) }
        #expect(await subscription.next().map { $0.map(\.seq) } == .failure(.lagged))
        #expect(await subscription.ended() == .lagged)
        let heavy = EventSubscription(filter: KindFilter([]), limits: .init(count: 100, bytes: 25))
        for seq in 1...3 { heavy.offer(Self.event(seq)) }
        #expect(await heavy.ended() == .lagged, "30 bytes waiting is past a 25-byte budget")
    }

    @Test func aClosedSubscriptionHandsOverWhatIsQueuedThenEnds() async {
        let subscription = EventSubscription(filter: KindFilter(["b"]), limits: .init())
        subscription.offer(Self.event(1, "a"))
        subscription.offer(Self.event(2, "b"))
        subscription.end(.closed)
        subscription.offer(Self.event(3, "b"))
        #expect(await subscription.next().map { $0.map(\.seq) } == .success([2]))
        #expect(await subscription.next().map { $0.map(\.seq) } == .failure(.closed))
    }

    @Test func aPokeWakesAnIdleWriterWithNoEvents() async {
        let subscription = EventSubscription(filter: KindFilter([]), limits: .init())
        subscription.poke()
        #expect(await subscription.next().map(\.count) == .success(0))
    }

    @Test func theHubReplaysThenStreamsLiveWithoutGapOrRepeat() async {
        let bus = EventBus()
        var settings = EventStreamHub.Settings()
        settings.replay.count = 3
        let hub = EventStreamHub(bus: bus, settings: settings)
        for n in 1...5 { bus.publish(kind: "desk.fill", payload: ["n": .number(Double(n))], source: "test") }
        let subscription = hub.subscribe(KindFilter(["desk.*"]), since: 1)
        bus.publish(kind: "desk.fill", payload: [:], source: "test")
        bus.publish(kind: "other", payload: [:], source: "test")
        guard case .success(let events) = await subscription.next() else { Issue.record("ended"); return }
        #expect(events.map(\.kind) == ["transport.gap", "desk.fill", "desk.fill", "desk.fill", "desk.fill"])
        #expect(events.map(\.seq) == [2, 3, 4, 5, 6], "the gap sits at the last seq gone")
        let gap = try? JSONValue(parsing: Array(events[0].json.utf8))
        #expect(gap?["payload"]?["missed"]?.intValue == 1)
        #expect(gap?["payload"]?["since"]?.intValue == 1)
        #expect(gap?["payload"]?["reason"]?.stringValue == "evicted")
        hub.unsubscribe(subscription)
        #expect(hub.count == 0)
    }

    @Test func theBusNumbersOnAcrossRestartsAndReservesAheadForCrashes() {
        let told = Told()
        let bus = EventBus(startingAfter: 41, block: 10) { told.append($0) }
        #expect(told.values == [51], "a crash now restarts after 51: no seq is ever reused")
        for _ in 1...10 { bus.publish(kind: "a", payload: [:], source: "t") }
        #expect(bus.lastSeq == 51)
        bus.publish(kind: "a", payload: [:], source: "t")
        #expect(told.values == [51, 62])
        #expect(EventBus(startingAfter: -5).lastSeq == 0)
        #expect(EventBus(startingAfter: .max).lastSeq == EventBus.maxStart, "a corrupt file cannot overflow seq")
    }

    final class Told: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [Int] = []
        func append(_ value: Int) { lock.withLock { stored.append(value) } }
        var values: [Int] { lock.withLock { stored } }
    }
}

/// Tokens, tickets, sessions and what a worker's token may do.
struct RuntimeAccessTests {
    @Test func aTicketIsRedeemedOnceAndExpires() {
        let tickets = WebSocketTickets()
        let now = ContinuousClock.now
        let ticket = tickets.issue(for: .worker("tail"), now: now)!
        #expect(tickets.redeem(Substring(ticket), now: now) == .worker("tail"))
        #expect(tickets.redeem(Substring(ticket), now: now) == nil, "one use")
        let late = tickets.issue(for: .admin, now: now)!
        #expect(tickets.redeem(Substring(late), now: now + .seconds(31)) == nil, "expired")
        #expect(tickets.redeem("short") == nil)
    }

    @Test func ticketsOutstandingAreBounded() {
        let tickets = WebSocketTickets()
        let now = ContinuousClock.now
        for _ in 0..<WebSocketTickets.limit { _ = tickets.issue(for: .viewer, now: now) }
        #expect(tickets.issue(for: .viewer, now: now) == nil)
        #expect(tickets.issue(for: .viewer, now: now + .seconds(31)) != nil, "expired ones make room")
    }

    @Test func credentialsTellWhoCalls() {
        let runtime = RuntimeVariables()
        let workerToken = runtime.token(for: "relay")
        let credentials = Credentials(admin: "a" + String(repeating: "0", count: 63), viewer: "v", workers: runtime)
        #expect(credentials.caller(token: Substring("a" + String(repeating: "0", count: 63))) == .admin)
        #expect(credentials.caller(token: "v") == .viewer)
        #expect(credentials.caller(token: Substring(workerToken)) == .worker("relay"))
        #expect(credentials.caller(token: "nope") == nil)
    }

    @Test func aWorkerTokenReachesItsOwnThingsAndTheRestartsItsManifestAllows() {
        func allows(_ method: HTTPRequest.Method, _ path: String) -> Bool {
            WorkerScope.allows(method, path, worker: "relay", mayRestart: ["feed"])
        }
        #expect(allows(.post, "/api/events"))
        #expect(allows(.post, "/api/sessions"))
        #expect(allows(.post, "/api/sessions/s-1/events"))
        #expect(allows(.post, "/api/ws-ticket"))
        #expect(allows(.get, "/api/events/ws"))
        #expect(allows(.get, "/api/events/stream"))
        #expect(allows(.get, "/api/workers/relay/state"))
        #expect(allows(.post, "/api/workers/relay/calls"))
        #expect(allows(.post, "/api/workers/feed/restart"))
        #expect(!allows(.post, "/api/workers/other/restart"))
        #expect(!allows(.post, "/api/workers/relay/restart"), "not even itself unless listed")
        #expect(!allows(.get, "/api/workers/other/state"))
        #expect(!allows(.post, "/api/workers/other/calls"))
        #expect(!allows(.post, "/api/workers/relay/stop"))
        #expect(!allows(.post, "/api/workers/relay/deploy"))
        #expect(!allows(.post, "/api/reload"))
        #expect(!allows(.post, "/api/workers/feed/restart/../../other/restart"))
    }

    @Test func sessionsAreCreatedOnceByIdAndBounded() throws {
        let book = SessionBook()
        let (first, created) = try book.open(id: "callback-1", agent: "triage", by: "relay")
        #expect(created)
        let (again, createdAgain) = try book.open(id: "callback-1", agent: "other", by: "operator")
        #expect(!createdAgain)
        #expect(again == first, "the first creation wins")
        #expect(book.recordEvent("callback-1"))
        #expect(!book.recordEvent("nope"))
        #expect(book.session("callback-1")?.events == 1)
        #expect(throws: SessionBook.Refusal.self) { try book.open(id: "bad id", agent: nil, by: "x") }
        #expect(throws: SessionBook.Refusal.self) { try book.open(id: "", agent: nil, by: "x") }
    }
}

/// `events:` and `may_restart:` in the manifest.
struct ManifestRuntimeTests {
    func parse(_ text: String) throws(ManifestError) -> Manifest {
        try ManifestLoader(swiftWorkers: ["Heartbeat"]).parse(text, path: "/tmp/botyard.yaml")
    }

    func error(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "no error"
        } catch {
            return error.description
        }
    }

    let workers = "workers:\n  a:\n    swift: Heartbeat\n  b:\n    swift: Heartbeat\n"

    @Test func readsTheStreamSettings() throws {
        let manifest = try parse(workers + "events:\n  replay: 500\n  replay_age: 2m\n  subscriber_queue: 50\n")
        #expect(manifest.events.replay == 500)
        #expect(manifest.events.replayAge == .seconds(120))
        #expect(manifest.events.subscriberQueue == 50)
        #expect(try parse(workers).events == EventStreamSettings())
    }

    @Test func refusesBadStreamSettingsNamingTheField() {
        #expect(error(workers + "events:\n  replay: -1\n").contains("events.replay"))
        #expect(error(workers + "events:\n  replay_age: forever\n").contains("events.replay_age"))
        #expect(error(workers + "events:\n  subscriber_queue: 0\n").contains("events.subscriber_queue"))
        #expect(error(workers + "events:\n  size: 3\n").contains("events.size"))
    }

    @Test func mayRestartNamesDeclaredWorkers() throws {
        let manifest = try parse(
            "workers:\n  a:\n    swift: Heartbeat\n    may_restart: [b]\n  b:\n    swift: Heartbeat\n")
        #expect(manifest.workers.first { $0.name == "a" }?.mayRestart == ["b"])
        let refused = error("workers:\n  a:\n    swift: Heartbeat\n    may_restart: [c]\n")
        #expect(refused.contains("worker 'a'") && refused.contains("may_restart") && refused.contains("'c'"))
    }
}

/// What bounds a stream client's share: small batches, the replay outside the queue's limits, quotas per caller.
struct StreamLimitsTests {
    static func event(_ seq: Int, size: Int = 100_000) -> StreamedEvent {
        StreamedEvent(seq: seq, kind: "a", json: "{}", size: size)
    }

    @Test func aBigReplayIsTakenInSmallBatchesAndDoesNotCountAsLagging() async {
        let subscription = EventSubscription(filter: KindFilter([]), limits: .init(count: 2, bytes: 250_000))
        subscription.prepend((1...10).map { Self.event($0) })  // 1 MB of replay: past both limits, but kept
        subscription.offer(Self.event(11))
        subscription.offer(Self.event(12))
        guard case .success(let first) = await subscription.next() else { Issue.record("lagged"); return }
        #expect(first.map(\.seq) == [1, 2], "about 256 KiB at a time")
        subscription.offer(Self.event(13))  // three live events wait: past a queue of 2
        #expect(await subscription.ended() == .lagged)
    }

    @Test func oneCallerCannotTakeEveryTicketOrSession() throws {
        let tickets = WebSocketTickets()
        for _ in 0..<WebSocketTickets.limitPerCaller { #expect(tickets.issue(for: .worker("greedy")) != nil) }
        #expect(tickets.issue(for: .worker("greedy")) == nil)
        #expect(tickets.issue(for: .worker("other")) != nil)
        #expect(tickets.issue(for: .admin) != nil)
        let sessions = SessionBook()
        for n in 0..<SessionBook.limitPerCreator { _ = try sessions.open(id: "s\(n)", agent: nil, by: "greedy") }
        #expect(throws: SessionBook.Refusal.self) { try sessions.open(id: "one-more", agent: nil, by: "greedy") }
        #expect(try sessions.open(id: "mine", agent: nil, by: "operator").created)
    }

    @Test func aCorruptSeqFileIsReportedAndAHugeOneIsClamped() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("seq-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let data = DataDirectory(path: folder)
        #expect(data.readEventSeq() == 0, "no file: a first run")
        try data.writeEventSeq(42)
        #expect(data.readEventSeq() == 42)
        try "garbage".write(toFile: data.eventSeqFile, atomically: true, encoding: .utf8)
        #expect(data.readEventSeq() == nil)
        try "-5".write(toFile: data.eventSeqFile, atomically: true, encoding: .utf8)
        #expect(data.readEventSeq() == nil)
        try "99999999999999999999999".write(toFile: data.eventSeqFile, atomically: true, encoding: .utf8)
        #expect(data.readEventSeq() == EventBus.maxStart)
        #expect(EventBus.maxStart < 1_000_000_000_000_000, "every seq prints as a whole number")
    }
}
