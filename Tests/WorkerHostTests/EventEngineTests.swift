import AdapterKit
import Foundation
import Testing

@testable import WorkerHost

/// The event engine and task backoff are pure: every test moves both clocks by hand, none sleeps.
struct EventEngineTests {
    typealias Handler = HandlerSet.Handler
    let t0 = ContinuousClock.now
    let d0 = Date(timeIntervalSince1970: 1_774_569_600)  // 2026-03-27T00:00:00Z

    func at(_ seconds: Double) -> (ContinuousClock.Instant, Date) {
        (t0 + .milliseconds(Int64(seconds * 1000)), d0.addingTimeInterval(seconds))
    }

    func engine(_ handlers: [Handler], concurrency: Int = 16, queue: Int = 1000, grace: Double = 5) -> EventEngine {
        var limits = EventEngine.Limits()
        limits.queue = queue
        limits.tasks = .init(first: .seconds(1), maximum: .seconds(8), stableAfter: .seconds(60))
        let set = HandlerSet(handlers: handlers, maxConcurrency: concurrency, shutdownGrace: .seconds(grace))
        return EventEngine(set: set, worker: "w", limits: limits, now: t0, date: d0)
    }

    func event(_ kind: String, seq: Int = 1) -> EventEnvelope {
        EventEnvelope(eventID: "e\(seq)", seq: seq, timestamp: d0, kind: kind, payload: [:], source: "test")
    }

    func invocations(_ actions: [EventEngine.Action]) -> [EventEngine.Invocation] {
        actions.compactMap { if case .invoke(let invocation) = $0 { invocation } else { nil } }
    }

    @Test func backoffDoublesToItsCapResetsAfterAStableRunAndExhaustsAfterACapWait() {
        var backoff = TaskBackoff(policy: .init(first: .seconds(1), maximum: .seconds(300), stableAfter: .seconds(60)))
        let delays = (0..<11).map { _ in backoff.crashed(after: .seconds(1)) }
        #expect(delays.map(\.seconds) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300])
        #expect(backoff.exhausted, "it crashed again after waiting 300 s")
        #expect(backoff.crashed(after: .seconds(61)) == .seconds(1), "a stable minute resets the sequence")
        #expect(!backoff.exhausted)
        #expect(backoff.crashes == 12)
    }

    @Test func everyHandlerOfAKindFiresAndOtherKindsDoNot() {
        var engine = engine([
            Handler(id: 0, name: "a", trigger: .event("fill")), Handler(id: 1, name: "b", trigger: .event("fill")),
            Handler(id: 2, name: "c", trigger: .event("other")),
        ])
        #expect(invocations(engine.deliver(event("fill"))).map(\.handler.name) == ["a", "b"])
        #expect(engine.deliver(event("fil")).isEmpty, "kinds match exactly")
    }

    @Test func concurrencyIsBoundedTheQueueDrainsAndAnOverflowIsCounted() {
        var engine = engine([Handler(id: 0, name: "h", trigger: .event("k"))], concurrency: 2, queue: 2)
        let first = invocations(engine.deliver(event("k", seq: 1)) + engine.deliver(event("k", seq: 2)))
        #expect(first.count == 2)
        #expect(engine.deliver(event("k", seq: 3)).isEmpty)
        #expect(engine.deliver(event("k", seq: 4)).isEmpty)
        #expect(engine.report.queued == 2)
        let overflow = engine.deliver(event("k", seq: 5))
        #expect(engine.report.overflowed == 1)
        #expect(overflow.contains { if case .log(.warn, let line) = $0 { line.contains("queue full") } else { false } })
        let (now, date) = at(1)
        let next = invocations(engine.finished(first[0].id, .success, now: now, date: date))
        #expect(next.map { $0.event?.seq } == [3], "the oldest waiting event runs next")
        #expect(engine.report.queued == 1)
    }

    @Test func largeEventsAreBoundedByBytesNotOnlyByCount() {
        var engine = engine([Handler(id: 0, name: "h", trigger: .event("big"))], concurrency: 1024, queue: 1000)
        var big = event("big")
        big.size = 250_000
        var accepted = 0
        for _ in 0..<200 { accepted += invocations(engine.deliver(big)).count }
        #expect(accepted == 67, "16 MiB of 250 kB payloads, then dropped")
        #expect(engine.report.overflowed == 133 && engine.report.queued == 0)
        var small = event("big")
        small.size = 100
        #expect(invocations(engine.deliver(small)).count == 1, "what fits still runs")
    }

    @Test func aHandlerListIsBounded() {
        let many = (0...HandlerSet.maxHandlers).map { id -> JSONValue in
            ["id": .number(Double(id)), "name": "h", "kind": "every", "seconds": 1]
        }
        #expect(throws: HandlerSet.Refusal.self) { try HandlerSet.decode(worker: nil, handlers: .array(many)) }
        #expect(throws: HandlerSet.Refusal.self) {
            try HandlerSet.decode(worker: ["shutdown_grace": 61], handlers: [])
        }
    }

    @Test func aFailedHandlerIsLoggedWithItsTracebackAndCounted() {
        var engine = engine([Handler(id: 0, name: "h", trigger: .event("k"))])
        let run = invocations(engine.deliver(event("k")))[0]
        let failure = WorkerFailure(type: "KeyError", message: "'x'", traceback: "Traceback …\nKeyError: 'x'")
        let (now, date) = at(0.1)
        let actions = engine.finished(run.id, .failed(failure), now: now, date: date)
        #expect(actions == [.log(.error, "event handler failed: KeyError: 'x'\nTraceback …\nKeyError: 'x'")])
        #expect(engine.report.failures == 1 && engine.report.lastFailure == failure)
    }

    @Test func anEverySchedulefiresFixedRateWithoutOverlapAndCountsSkippedSlots() {
        var engine = engine([Handler(id: 0, name: "beat", trigger: .every(.seconds(10)))])
        #expect(engine.wakeUp(now: t0, date: d0) == at(10).0, "the first run is one interval after start")
        var (now, date) = at(9.9)
        #expect(engine.timerFired(now: now, date: date).isEmpty)
        (now, date) = at(10.2)
        let run = invocations(engine.timerFired(now: now, date: date))
        #expect(run.count == 1 && run[0].timeout == .seconds(60))
        (now, date) = at(35)
        #expect(engine.timerFired(now: now, date: date).isEmpty, "never two runs of one schedule at once")
        _ = engine.finished(run[0].id, .success, now: now, date: date)
        #expect(engine.report.skippedRuns == 2, "the slots at 20 s and 30 s passed while it ran")
        #expect(engine.wakeUp(now: now, date: date) == at(40).0, "no drift: the grid stays at start + k·10 s")
    }

    @Test func aCronScheduleFiresOnItsWallClockTimes() throws {
        let cron = try CronSchedule("*/5 * * * *")
        var engine = engine([Handler(id: 0, name: "five", trigger: .cron(cron))])
        #expect(engine.wakeUp(now: t0, date: d0) == at(300).0)
        let (now, date) = at(300)
        let run = invocations(engine.timerFired(now: now, date: date))
        #expect(run.map(\.handler.name) == ["five"])
        _ = engine.finished(run[0].id, .success, now: now, date: date)
        #expect(engine.wakeUp(now: now, date: date) == at(600).0)
    }

    @Test func tasksRestartWithBackoffAndTheWorkerFailsWhenEveryTaskIsExhausted() {
        var engine = engine([
            Handler(id: 0, name: "reader", trigger: .task), Handler(id: 1, name: "w2", trigger: .task),
        ])
        var runs = invocations(engine.begin(now: t0))
        #expect(runs.map(\.handler.name) == ["reader", "w2"] && runs.allSatisfy { $0.timeout == nil })
        var clock = 0.0
        var reader = runs[0]
        let w2First = runs[1]
        // reader crashes at once, again and again: 1, 2, 4, 8 (the cap), then exhausted.
        for expected in [1.0, 2, 4, 8] {
            let (now, date) = at(clock)
            let actions = engine.finished(
                reader.id, .failed(.init(type: "OSError", message: "gone")), now: now, date: date)
            #expect(actions.contains { if case .publish("worker.task_crashed", _) = $0 { true } else { false } })
            #expect(!actions.contains { if case .fail = $0 { true } else { false } })
            #expect(engine.report.tasks[0].nextRestartAt == date.addingTimeInterval(expected))
            clock += expected
            let (later, laterDate) = at(clock)
            runs = invocations(engine.timerFired(now: later, date: laterDate))
            reader = runs[0]
        }
        let (now, date) = at(clock)
        _ = engine.finished(reader.id, .success, now: now, date: date)  // returning counts as a crash too
        #expect(engine.report.tasks[0].exhausted && engine.report.tasks[0].crashes == 5)
        // w2 is still fine, so the worker lives on; when w2 exhausts too, the engine asks to fail.
        var w2 = engine.report.tasks[1]
        #expect(w2.running && !w2.exhausted)
        var taskRun: EventEngine.Invocation? = w2First
        var failed = false
        for _ in 0..<6 {
            guard let run = taskRun else { break }
            let (n, d) = at(clock)
            let actions = engine.finished(run.id, .success, now: n, date: d)
            failed = actions.contains { if case .fail = $0 { true } else { false } }
            if failed { break }
            clock += 9
            let (later, laterDate) = at(clock)
            taskRun = invocations(engine.timerFired(now: later, date: laterDate)).first { $0.handler.name == "w2" }
        }
        w2 = engine.report.tasks[1]
        #expect(failed && w2.exhausted)
    }

    @Test func stopCancelsTasksAtOnceAndHandlersAfterTheGrace() {
        var engine = engine(
            [Handler(id: 0, name: "t", trigger: .task), Handler(id: 1, name: "h", trigger: .event("k"))], grace: 5)
        let task = invocations(engine.begin(now: t0))[0]
        let handler = invocations(engine.deliver(event("k")))[0]
        #expect(engine.beginStop(now: t0) == [.cancel([task.id])])
        #expect(engine.deliver(event("k", seq: 2)).isEmpty, "no new events while stopping")
        let (now, date) = at(1)
        _ = engine.finished(task.id, .cancelled, now: now, date: date)
        #expect(!engine.drained)
        #expect(engine.wakeUp(now: now, date: date) == at(5).0)
        let (late, lateDate) = at(5)
        #expect(engine.timerFired(now: late, date: lateDate).contains(.cancel([handler.id])))
        _ = engine.finished(handler.id, .cancelled, now: late, date: lateDate)
        #expect(engine.drained)
    }
}
