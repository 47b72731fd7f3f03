import Testing

@testable import WorkerHost

/// The scheduler is pure: every test moves a clock by hand, none sleeps.
struct TickSchedulerTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant {
        t0 + .milliseconds(Int64(seconds * 1000))
    }

    @Test func slotsFireAtStartPlusKTimesInterval() {
        var scheduler = TickScheduler(interval: .seconds(1), start: t0)
        for k in 0..<100 {
            #expect(scheduler.next == at(Double(k)))
            // Fired a little late each time: the lateness never accumulates into drift.
            #expect(scheduler.fire(now: at(Double(k) + 0.2)) == at(Double(k)))
            scheduler.finish(now: at(Double(k) + 0.5))
        }
        #expect(scheduler.next == at(100))
        #expect(scheduler.skipped == 0)
        #expect(scheduler.fired == 100)
    }

    @Test func nothingFiresBeforeItsSlot() {
        var scheduler = TickScheduler(interval: .seconds(5), start: t0)
        #expect(scheduler.fire(now: at(0)) == at(0))
        scheduler.finish(now: at(0.1))
        #expect(scheduler.fire(now: at(4.999)) == nil)
        #expect(scheduler.fire(now: at(5)) == at(5))
    }

    @Test func anOverrunSkipsTheMissedSlotsAndCountsThem() {
        var scheduler = TickScheduler(interval: .seconds(1), start: t0)
        #expect(scheduler.fire(now: at(0)) != nil)
        #expect(scheduler.finish(now: at(3.5)) == 3)  // slots 1, 2 and 3 passed while it ran
        #expect(scheduler.skipped == 3)
        #expect(scheduler.next == at(4))
        #expect(scheduler.fire(now: at(4)) == at(4))
    }

    @Test func aTickEndingExactlyOnASlotDoesNotSkipIt() {
        var scheduler = TickScheduler(interval: .seconds(1), start: t0)
        _ = scheduler.fire(now: at(0))
        #expect(scheduler.finish(now: at(1)) == 0)
        #expect(scheduler.fire(now: at(1)) == at(1))
    }

    @Test func aStalledHostFiresTheLatestSlotOnly() {
        var scheduler = TickScheduler(interval: .seconds(1), start: t0)
        #expect(scheduler.fire(now: at(5.3)) == at(5))
        #expect(scheduler.skipped == 5)
        #expect(scheduler.next == at(6))
    }

    @Test func anIntervalChangeAppliesFromTheNextSlot() {
        var scheduler = TickScheduler(interval: .seconds(10), start: t0)
        _ = scheduler.fire(now: at(0))
        scheduler.finish(now: at(0.1))
        scheduler.setInterval(.seconds(3), now: at(1))
        #expect(scheduler.next == at(3))
        #expect(scheduler.fire(now: at(3)) == at(3))
        scheduler.finish(now: at(3.1))
        #expect(scheduler.next == at(6))
    }

    @Test func shorteningAnIntervalPastItsNextSlotFiresNowWithoutCountingSkips() {
        var scheduler = TickScheduler(interval: .seconds(3600), start: t0)
        _ = scheduler.fire(now: at(0))
        scheduler.finish(now: at(0.1))
        scheduler.setInterval(.seconds(10), now: at(100))
        #expect(scheduler.next == at(100))
        #expect(scheduler.skipped == 0)
        scheduler.setInterval(.seconds(7), now: at(100))
        #expect(scheduler.next == at(105))
    }

    @Test func lengtheningAnIntervalWaitsFromTheLastTick() {
        var scheduler = TickScheduler(interval: .seconds(1), start: t0)
        _ = scheduler.fire(now: at(0))
        scheduler.finish(now: at(0.1))
        scheduler.setInterval(.seconds(60), now: at(0.5))
        #expect(scheduler.next == at(60))
    }
}
