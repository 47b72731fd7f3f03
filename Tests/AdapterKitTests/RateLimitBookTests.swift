import AdapterKit
import Testing

/// The limiter's bookkeeping, on a hand-moved clock: no test sleeps.
struct RateLimitBookTests {
    let t0 = Duration.zero
    let far = Duration.seconds(3600)

    func at(_ milliseconds: Int) -> Duration { .milliseconds(milliseconds) }

    @Test func requestsWithinTheLimitStartAtOnce() throws {
        var book = RateLimitBook(limits: [
            RateLimit(id: "order", limit: 3, window: .seconds(1))
        ])
        for _ in 0..<3 { #expect(try book.reserve([RateLimitCost("order")], now: t0, deadline: far) == t0) }
        #expect(try book.reserve([RateLimitCost("order")], now: t0, deadline: far) == at(1000))
        #expect(try book.reserve([RateLimitCost("order")], now: at(10), deadline: far) == at(1000))
    }

    @Test func aRequestDrawsFromEveryLimitItNames() throws {
        var book = RateLimitBook(limits: [
            RateLimit(id: "ip", limit: 4, window: .seconds(5)), RateLimit(id: "order", limit: 10, window: .seconds(1)),
        ])
        for _ in 0..<4 { _ = try book.reserve([RateLimitCost("order"), RateLimitCost("ip")], now: t0, deadline: far) }
        // The order limit has room; the shared IP pool does not.
        #expect(try book.reserve([RateLimitCost("order"), RateLimitCost("ip")], now: at(1), deadline: far) == at(5000))
    }

    @Test func weightsCount() throws {
        var book = RateLimitBook(limits: [RateLimit(id: "w", limit: 10, window: .seconds(1))])
        #expect(try book.reserve([RateLimitCost("w", weight: 6)], now: t0, deadline: far) == t0)
        #expect(try book.reserve([RateLimitCost("w", weight: 5)], now: t0, deadline: far) == at(1000))
        #expect(throws: RateLimitError.self) {
            try book.reserve([RateLimitCost("w", weight: 11)], now: t0, deadline: far)
        }
    }

    @Test func aWaitPastTheDeadlineFailsFastAndReservesNothing() throws {
        var book = RateLimitBook(limits: [RateLimit(id: "o", limit: 1, window: .seconds(1))])
        _ = try book.reserve([RateLimitCost("o")], now: t0, deadline: far)
        do {
            _ = try book.reserve([RateLimitCost("o")], now: t0, deadline: at(500))
            Issue.record("expected a refusal")
        } catch {
            #expect(error.code == .pastDeadline)
            #expect(error.message.contains("'o'"))
        }
        #expect(book.used("o", windowEndingAt: at(999)) == 1)
        #expect(try book.reserve([RateLimitCost("o")], now: t0, deadline: far) == at(1000))
    }

    @Test func theServerCanBlockALimitUntilItsReset() throws {
        var book = RateLimitBook(limits: [RateLimit(id: "o", limit: 10, window: .seconds(1))])
        book.block("o", until: at(2500))
        #expect(try book.reserve([RateLimitCost("o")], now: at(100), deadline: far) == at(2500))
    }

    @Test func requestsAreServedInArrivalOrder() throws {
        var book = RateLimitBook(limits: [
            RateLimit(id: "a", limit: 1, window: .seconds(1)), RateLimit(id: "b", limit: 5, window: .seconds(1)),
        ])
        let first = try book.reserve([RateLimitCost("a"), RateLimitCost("b")], now: t0, deadline: far)
        let second = try book.reserve([RateLimitCost("a"), RateLimitCost("b")], now: t0, deadline: far)
        let third = try book.reserve([RateLimitCost("b")], now: t0, deadline: far)
        #expect(first < second)
        #expect(third >= second, "a later arrival on the same limit never overtakes")
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func noWindowEverHoldsMoreThanTheLimit(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limits = [
            RateLimit(id: "ip", limit: 20, window: .seconds(5)), RateLimit(id: "order", limit: 5, window: .seconds(1)),
        ]
        var book = RateLimitBook(limits: limits)
        var starts: [String: [(Duration, Int)]] = [:]
        var now = t0
        for _ in 0..<400 {
            now = now + .milliseconds(Int(random.next() % 200))
            var costs = [RateLimitCost("ip", weight: Int(random.next() % 3) + 1)]
            if random.next() % 2 == 0 { costs.append(RateLimitCost("order")) }
            let start = try book.reserve(costs, now: now, deadline: far)
            #expect(start >= now)
            for cost in costs { starts[cost.limitID, default: []].append((start, cost.weight)) }
        }
        for limit in limits {
            let entries = starts[limit.id] ?? []
            for (end, _) in entries {
                let total = entries.filter { $0.0 > end - limit.window && $0.0 <= end }.reduce(0) { $0 + $1.1 }
                #expect(total <= limit.limit, "\(limit.id): \(total) in one window")
            }
        }
    }
}
