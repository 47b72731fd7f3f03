import Foundation
import Hummingbird
import Synchronization

/// Who a request comes from, by the token it carries: an operator (admin), a dashboard (viewer), or a worker.
enum Caller: Sendable, Equatable {
    case admin
    case viewer
    case worker(String)

    /// The name events published by this caller carry as their `source`.
    var source: String {
        if case .worker(let name) = self { return name }
        return "operator"
    }

    /// Whose share of the event streams a stream of this caller counts against.
    var owner: String {
        switch self {
        case .admin: "operator"
        case .viewer: "viewer"
        case .worker(let name): "worker \(name)"
        }
    }
}

/// A request context that carries who the request comes from, as `TokenMiddleware` found it.
protocol CallerContext: RequestContext {
    var caller: Caller? { get set }
}

/// The API's tokens: the admin and viewer tokens, the workers' own tokens and the one-time WebSocket tickets.
/// Every comparison is constant-time; no token is ever logged or echoed.
struct Credentials: Sendable {
    let admin: String
    let viewer: String?
    var workers: RuntimeVariables?
    var tickets: WebSocketTickets?

    /// The caller a token belongs to, or `nil`.
    func caller(token: Substring) -> Caller? {
        let given = Array(token.utf8)
        if Self.constantTimeEqual(given, Array(admin.utf8)) { return .admin }
        if let viewer, Self.constantTimeEqual(given, Array(viewer.utf8)) { return .viewer }
        return workers?.worker(forToken: String(token)).map(Caller.worker)
    }

    /// The bearer token of the `Authorization` header.
    static func bearer(_ request: Request) -> Substring? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return header.dropFirst(7)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// One-time tickets for WebSocket upgrades (`POST /api/ws-ticket`), for clients that cannot set a header on the
/// handshake: a ticket stands for its issuer's token once, within `lifetime`, and is never the token itself.
final class WebSocketTickets: Sendable {
    static let lifetime = Duration.seconds(30)
    /// At most this many unused tickets; more are refused until some expire.
    static let limit = 1000
    /// At most this many for one caller other than the operator, so that one cannot take them all.
    static let limitPerCaller = 100

    private struct Ticket {
        var caller: Caller
        var expires: ContinuousClock.Instant
    }

    private let tickets = Mutex<[String: Ticket]>([:])

    init() {}

    /// A new ticket for `caller`, or `nil` when too many are outstanding.
    func issue(for caller: Caller, now: ContinuousClock.Instant = .now) -> String? {
        var generator = SystemRandomNumberGenerator()
        let ticket = (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
        return tickets.withLock { tickets in
            tickets = tickets.filter { $0.value.expires > now }
            guard tickets.count < Self.limit else { return nil }
            if caller != .admin, tickets.values.count(where: { $0.caller == caller }) >= Self.limitPerCaller {
                return nil
            }
            tickets[ticket] = Ticket(caller: caller, expires: now + Self.lifetime)
            return ticket
        }
    }

    /// The caller a ticket stands for, once: a redeemed or expired ticket is `nil`.
    func redeem(_ ticket: Substring, now: ContinuousClock.Instant = .now) -> Caller? {
        guard ticket.utf8.count == 64 else { return nil }
        return tickets.withLock { tickets in
            guard let found = tickets.removeValue(forKey: String(ticket)), found.expires > now else { return nil }
            return found.caller
        }
    }
}
