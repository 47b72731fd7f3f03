import AdapterKit
import Testing

struct RateLimiterTests {
    @Test(.timeLimit(.minutes(1))) func concurrentWorkersOnOneBlockShareItsLimit() async throws {
        let limiter = RateLimiter(limits: [RateLimit(id: "order", limit: 5, window: .milliseconds(200))])
        let began = ContinuousClock.now
        let times = try await withThrowingTaskGroup(of: ContinuousClock.Instant.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await limiter.acquire([RateLimitCost("order")], deadline: .now + .seconds(30))
                    return .now
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(times.count == 20)
        // 20 requests at 5 per 200 ms need at least three full windows after the first burst.
        #expect(began.duration(to: times.max() ?? began) >= .milliseconds(600))
    }

    @Test func anAcquireThatCannotMakeItsDeadlineFailsAtOnce() async throws {
        let limiter = RateLimiter(limits: [RateLimit(id: "o", limit: 1, window: .seconds(60))])
        try await limiter.acquire([RateLimitCost("o")], deadline: .now + .seconds(1))
        let started = ContinuousClock.now
        await #expect(throws: RateLimitError.self) {
            try await limiter.acquire([RateLimitCost("o")], deadline: .now + .seconds(1))
        }
        #expect(started.duration(to: .now) < .seconds(5), "refused at once, not after the 60 s wait")
    }

    @Test func uncontendedAcquireDoesNotWait() async throws {
        let limiter = RateLimiter(limits: [RateLimit(id: "o", limit: 1000, window: .seconds(1))])
        let started = ContinuousClock.now
        for _ in 0..<500 { try await limiter.acquire([RateLimitCost("o")], deadline: .now + .seconds(1)) }
        #expect(started.duration(to: .now) < .seconds(1))
    }
}

struct RetryAndRedactionTests {
    @Test func backoffGrowsIsCappedAndHonoursRetryAfter() {
        var policy = RetryPolicy()
        policy.baseDelay = .milliseconds(100)
        policy.maxDelay = .seconds(1)
        #expect(policy.delay(afterAttempt: 1, jitter: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 2, jitter: 0) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3, jitter: 1) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(30), jitter: 0.5) == .seconds(1))
        #expect(policy.delay(afterAttempt: 4, jitter: 0) == nil)
        #expect(!RetryPolicy.mayRetry(isIdempotent: false, hasIdempotencyKey: false))
        #expect(RetryPolicy.mayRetry(isIdempotent: false, hasIdempotencyKey: true))
    }

    @Test func secretsAreMaskedInTextAndHeaders() {
        let redactor = Redactor(secrets: ["sk-live-123456", "abc"])
        #expect(redactor.redact("key sk-live-123456 failed") == "key [REDACTED] failed")
        #expect(redactor.redact("abc stays: too short to be a secret") == "abc stays: too short to be a secret")
        let headers = redactor.redact(headers: [("X-BAPI-SIGN", "deadbeef"), ("Accept", "json")])
        #expect(headers.map(\.1) == ["[REDACTED]", "json"])
    }
}
