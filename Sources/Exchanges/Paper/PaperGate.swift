import AdapterKit
import Synchronization

/// Faults the paper exchange injects on request, for tests of the adapter's error handling.
public final class PaperFaults: Sendable {
    private struct Pending {
        var latency: Duration = .zero
        var serverErrors = 0
        var rateLimited = 0
        var forbidden = 0
        var droppedCreates = 0
    }

    private let pending = Mutex(Pending())

    public init() {}

    /// Delays every response by `latency`.
    public func setLatency(_ latency: Duration) { pending.withLock { $0.latency = latency } }
    /// The next `count` requests answer HTTP 503.
    public func failNext(_ count: Int) { pending.withLock { $0.serverErrors += count } }
    /// The next `count` private requests answer retCode 10006 with a reset one second away.
    public func rateLimitNext(_ count: Int) { pending.withLock { $0.rateLimited += count } }
    /// The next `count` requests answer HTTP 403, as an IP ban does.
    public func forbidNext(_ count: Int) { pending.withLock { $0.forbidden += count } }
    /// The next `count` order creates place the order and then never answer in time (the response is held
    /// past any client's timeout), as a connection lost after the exchange acted does.
    public func dropNextCreateResponses(_ count: Int) { pending.withLock { $0.droppedCreates += count } }

    enum Fault { case serverError, rateLimited, forbidden }

    var latency: Duration { pending.withLock { $0.latency } }

    /// Takes the fault, if any, that the next request suffers.
    func take(isPrivate: Bool) -> Fault? {
        pending.withLock { faults in
            if faults.forbidden > 0 {
                faults.forbidden -= 1
                return .forbidden
            }
            if faults.serverErrors > 0 {
                faults.serverErrors -= 1
                return .serverError
            }
            if isPrivate, faults.rateLimited > 0 {
                faults.rateLimited -= 1
                return .rateLimited
            }
            return nil
        }
    }

    /// Whether this create's response is to be dropped.
    func takeDroppedCreate() -> Bool {
        pending.withLock { faults in
            guard faults.droppedCreates > 0 else { return false }
            faults.droppedCreates -= 1
            return true
        }
    }
}

/// The exchange's doorman, as Bybit's: the IP limit with its ban, signature and timestamp checks, and per-account
/// per-endpoint limits with the `X-Bapi-Limit*` headers. Pure: times are Unix milliseconds passed in.
struct PaperGate: Sendable {
    enum Verdict: Equatable {
        case reject(retCode: Int, retMsg: String)
        case pass(account: String?, limit: LimitHeaders?)
    }

    struct LimitHeaders: Equatable {
        var limit: Int
        var remaining: Int
        var resetAt: Int64
    }

    let accounts: [String: BybitSigner]
    let ipLimit: Int
    let ipWindow: Int64
    let ipBan: Int64
    private var ipWindowStart: Int64 = 0
    private var ipCount = 0
    private var bannedUntil: Int64 = 0
    private var counters: [String: (second: Int64, count: Int)] = [:]

    init(accounts: [String: String], ipLimit: Int, ipWindow: Int64, ipBan: Int64) {
        self.accounts = Dictionary(
            uniqueKeysWithValues: accounts.map { key, secret in (key, BybitSigner(apiKey: key, apiSecret: secret)) })
        self.ipLimit = ipLimit
        self.ipWindow = ipWindow
        self.ipBan = ipBan
    }

    /// Counts one request against the IP limit; a breach bans every request for `ipBan` milliseconds.
    mutating func admitIP(now: Int64) -> Bool {
        guard now >= bannedUntil else { return false }
        if now - ipWindowStart >= ipWindow {
            ipWindowStart = now
            ipCount = 0
        }
        ipCount += 1
        guard ipCount <= ipLimit else {
            bannedUntil = now + ipBan
            return false
        }
        return true
    }

    /// Checks a private request's headers and signature, then the account's limit for the endpoint.
    /// - Parameter payload: the raw query string (GET) or body (POST), exactly as received.
    mutating func check(
        _ endpoint: BybitEndpoint, headers: (String) -> String?, payload: String, now: Int64
    ) -> Verdict {
        guard endpoint.isPrivate else { return .pass(account: nil, limit: nil) }
        guard let key = headers("x-bapi-api-key"), let signer = accounts[key] else {
            return .reject(retCode: 10003, retMsg: "API key is invalid.")
        }
        guard let timestampText = headers("x-bapi-timestamp"), let timestamp = Int64(timestampText),
            let signature = headers("x-bapi-sign")
        else {
            return .reject(retCode: 10004, retMsg: "error sign! missing X-BAPI-TIMESTAMP or X-BAPI-SIGN")
        }
        let window = headers("x-bapi-recv-window").flatMap { Int($0) } ?? 5000
        guard (1...3_600_000).contains(window) else {
            return .reject(retCode: 10001, retMsg: "params error: recv_window must be from 1 to 3600000")
        }
        guard timestamp >= now - Int64(window), timestamp - 1000 < now else {
            return .reject(
                retCode: 10002,
                retMsg:
                    "invalid request, please check your server timestamp or recv_window param. "
                    + "req_timestamp[\(timestamp)],server_timestamp[\(now)],recv_window[\(window)]")
        }
        guard signer.sign(timestamp: timestamp, recvWindow: window, payload: payload) == signature.lowercased() else {
            return .reject(retCode: 10004, retMsg: "error sign! origin_string[\(timestamp)\(key)\(window)\(payload)]")
        }
        return .pass(account: key, limit: count(key, endpoint, now: now))
    }

    /// Counts a request against the account's per-second limit for the endpoint.
    private mutating func count(_ key: String, _ endpoint: BybitEndpoint, now: Int64) -> LimitHeaders? {
        guard let limitID = endpoint.accountLimit, let limit = BybitRateLimits.perSecond[limitID] else { return nil }
        let second = now / 1000
        var counter = counters[key + " " + limitID] ?? (second, 0)
        if counter.second != second { counter = (second, 0) }
        counter.count += 1
        counters[key + " " + limitID] = counter
        return LimitHeaders(limit: limit, remaining: limit - counter.count, resetAt: (second + 1) * 1000)
    }
}
