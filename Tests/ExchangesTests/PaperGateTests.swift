import Testing

@testable import Exchanges

/// The paper exchange's checks, as Bybit makes them: signature, receive window, account and IP limits.
struct PaperGateTests {
    static let key = "GATEKEY"
    static let secret = "GATESECRET"
    static let now: Int64 = 1_700_000_000_000

    static func gate(ipLimit: Int = 600) -> PaperGate {
        PaperGate(accounts: [key: secret], ipLimit: ipLimit, ipWindow: 5_000, ipBan: 600_000)
    }

    static func headers(timestamp: Int64 = now, payload: String, secret: String = secret) -> (String) -> String? {
        let signer = BybitSigner(apiKey: key, apiSecret: secret)
        let signed = Dictionary(
            uniqueKeysWithValues: signer.headers(timestamp: timestamp, recvWindow: 5000, payload: payload).map {
                ($0.0.lowercased(), $0.1)
            })
        return { signed[$0] }
    }

    @Test func aCorrectlySignedRequestPassesAndCountsAgainstItsLimit() {
        var gate = Self.gate()
        let payload = "category=linear&symbol=BTCUSDT"
        let verdict = gate.check(.openOrders, headers: Self.headers(payload: payload), payload: payload, now: Self.now)
        #expect(verdict == .pass(account: Self.key, limit: .init(limit: 50, remaining: 49, resetAt: Self.now + 1000)))
    }

    @Test func aWrongSecretIsRejectedWith10004() {
        var gate = Self.gate()
        let verdict = gate.check(
            .openOrders, headers: Self.headers(payload: "a=1", secret: "other"), payload: "a=1", now: Self.now)
        guard case .reject(let code, let message) = verdict else { return #expect(Bool(false)) }
        #expect(code == 10004)
        #expect(message.hasPrefix("error sign!"))
    }

    @Test func aSignatureOverOtherBytesIsRejected() {
        var gate = Self.gate()
        let verdict = gate.check(
            .placeOrder, headers: Self.headers(payload: #"{"qty":"1"}"#), payload: #"{"qty": "1"}"#, now: Self.now)
        #expect(verdict != .pass(account: Self.key, limit: nil))
        guard case .reject(10004, _) = verdict else { return #expect(Bool(false), "\(verdict)") }
    }

    @Test(arguments: [Int64(-5_001), 1_000, 60_000])
    func aTimestampOutsideTheWindowIsRejectedWith10002(offset: Int64) {
        var gate = Self.gate()
        let verdict = gate.check(
            .positions, headers: Self.headers(timestamp: Self.now + offset, payload: ""), payload: "", now: Self.now)
        guard case .reject(10002, _) = verdict else { return #expect(Bool(false), "\(verdict)") }
    }

    @Test func anUnknownKeyIsRejectedWith10003() {
        var gate = PaperGate(accounts: ["someone-else": "x"], ipLimit: 600, ipWindow: 5_000, ipBan: 600_000)
        let verdict = gate.check(.positions, headers: Self.headers(payload: ""), payload: "", now: Self.now)
        guard case .reject(10003, _) = verdict else { return #expect(Bool(false), "\(verdict)") }
    }

    @Test func theEleventhCreateInOneSecondHasNoAllowanceLeft() {
        var gate = Self.gate()
        var remaining: [Int] = []
        for _ in 0..<11 {
            if case .pass(_, let limit?) = gate.check(
                .placeOrder, headers: Self.headers(payload: "{}"), payload: "{}", now: Self.now + 10)
            {
                remaining.append(limit.remaining)
            }
        }
        #expect(remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1])
        if case .pass(_, let limit?) = gate.check(
            .placeOrder, headers: Self.headers(timestamp: Self.now + 1000, payload: "{}"), payload: "{}",
            now: Self.now + 1000)
        {
            #expect(limit.remaining == 9, "a new second, a new allowance")
        }
    }

    @Test func breachingTheIPLimitBansEveryRequestForTheBanPeriod() {
        var gate = Self.gate(ipLimit: 3)
        let admitted = [0, 0, 0, 1, 10_000, 1 + 600_000].map { gate.admitIP(now: Self.now + $0) }
        #expect(admitted == [true, true, true, false, false, true], "banned past the window, until the ban ends")
    }

    @Test func publicEndpointsNeedNoSignature() {
        var gate = Self.gate()
        #expect(
            gate.check(.tickers, headers: { _ in nil }, payload: "", now: Self.now) == .pass(account: nil, limit: nil))
    }
}
