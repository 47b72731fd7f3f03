import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// The request context of the API's routes: the basic one, plus the connection, which an event stream closes when
/// its client stops taking what is written.
public struct APIRequestContext: CallerContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The request context of the WebSocket routes: the basic one, plus the connection, which a stream closes
/// itself when a stuck client cannot even take the close frame.
struct RuntimeWebSocketContext: CallerContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel
    var caller: Caller?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// `GET /api/events/ws` (WebSocket) and `GET /api/events/stream` (Server-Sent Events): the host's events as they
/// are published, after a replay of everything since `since=` (or `Last-Event-ID`) that is still kept.
///
/// A client that falls behind past its queue is disconnected, never left open and silent: the WebSocket closes with
/// code 4008 (`closeLagged`), the SSE stream ends with a `transport.lagged` event. Either can resume with `since=`.
struct EventStreamRoutes: Sendable {
    let hub: EventStreamHub

    /// The WebSocket close code for a client that fell behind.
    static let closeLagged: UInt16 = 4008
    /// How long a lagged or closing stream waits for its last frame to be taken before it drops the connection.
    static let closeDeadline = Duration.seconds(10)
    /// At most this many `kinds=`.
    static let maxKinds = 64

    /// What a stream request asks for.
    struct Query: Equatable {
        var filter: KindFilter
        var since: Int?
    }

    /// The query of `request`, checked; `lastEventID` is the SSE reconnection header.
    static func query(_ request: Request, lastEventID: String? = nil) throws -> Query {
        let kinds = request.uri.queryParameters.getAll("kinds").flatMap { $0.split(separator: ",").map(String.init) }
        guard kinds.count <= maxKinds, kinds.allSatisfy({ $0.utf8.count <= EventKind.maxBytes }) else {
            throw HTTPError(.badRequest, message: "at most \(maxKinds) kinds, each at most \(EventKind.maxBytes) bytes")
        }
        var since: Int?
        // An EventSource reconnecting sends the last id it saw: later than the `since=` its URL was opened with.
        if let text = lastEventID ?? request.uri.queryParameters.get("since") {
            guard text.utf8.count <= 18, let value = Int(text), value >= 0 else {
                throw HTTPError(.badRequest, message: "since is an event's seq: a whole number from 0")
            }
            since = value
        }
        return Query(filter: KindFilter(kinds), since: since)
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        api.get("events/stream") { request, context in
            try stream(request, channel: context.channel, owner: context.caller?.owner ?? "operator")
        }
    }

    func addWebSocket(to router: Router<RuntimeWebSocketContext>) {
        router.ws("/api/events/ws") { request, context in
            _ = try Self.query(request)  // a bad query is a 400, before the upgrade
            try checkRoom(context.caller?.owner ?? "operator")
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let query = try Self.query(context.request)
            let owner = context.requestContext.caller?.owner ?? "operator"
            let subscription = hub.subscribe(query.filter, since: query.since, owner: owner)
            defer { hub.unsubscribe(subscription) }
            let channel = context.requestContext.channel
            let progress = WriteProgress()
            let end = await pump(subscription, progress: progress, channel: channel, reading: inbound) { events in
                for event in events { try await outbound.write(.text(event.json)) }
            }
            // The close frame is written here, within a deadline: a client that takes nothing more never gets it,
            // and its connection is closed instead (the host's shutdown does not wait for it).
            // A lagged client is still told why (its close frame queues behind the stuck write, for 10 s).
            if end != .lagged, progress.stalledFor != nil { return channel.close(promise: nil) }
            let lagged = "too slow: more than \(hub.settings.queue.count) events waited; resume with since="
            let (code, reason) =
                end == .lagged ? (WebSocketErrorCode.unknown(Self.closeLagged), lagged) : (.normalClosure, nil)
            await Self.withDeadline(end == .lagged ? Self.closeDeadline : .seconds(2)) {
                try await outbound.close(code, reason: reason)
            } onTimeout: {
                channel.close(promise: nil)
            }
        }
    }

    private func stream(_ request: Request, channel: any Channel, owner: String) throws -> Response {
        let lastEventID = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }
        let query = try Self.query(request, lastEventID: lastEventID)
        try checkRoom(owner)
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        if let noBuffering = HTTPField.Name("X-Accel-Buffering") { headers[noBuffering] = "no" }  // nginx
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let subscription = hub.subscribe(query.filter, since: query.since, owner: owner)
                let progress = WriteProgress()
                // One task writes (the body's writer is not shared); the watchdog closes the connection when a write
                // stalls, which is what ends a write to a client that stopped reading.
                let watchdog = Task { await watch(progress, subscription, channel: channel) }
                defer {
                    watchdog.cancel()
                    hub.unsubscribe(subscription)
                }
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                while case .success(let events) = await subscription.next() {
                    try await progress.during { try await writer.write(ByteBuffer(string: Self.sse(events))) }
                }
                if case .failure(.lagged) = await subscription.next() {
                    let queue = hub.settings.queue.count
                    try await progress.during {
                        try await writer.write(
                            ByteBuffer(
                                string:
                                    "event: transport.lagged\ndata: {\"reason\":\"too slow\",\"queue\":\(queue)}\n\n"))
                    }
                }
                try await progress.during { try await writer.finish(nil) }
            })
    }

    private func checkRoom(_ owner: String) throws {
        if let refusal = hub.refusal(for: owner) { throw HTTPError(.serviceUnavailable, message: refusal) }
    }

    /// A batch as Server-Sent Events, or a `: ping` comment for an empty one (a heartbeat).
    static func sse(_ events: [StreamedEvent]) -> String {
        events.isEmpty ? ": ping\n\n" : events.map(\.sse).joined()
    }

    /// Sends the subscription's events with `send` until it ends, the client goes away (`inbound` ends), a write
    /// fails, or a write stalls past `writeTimeout`. The writer runs apart, so that a write stuck on a full
    /// socket hides neither an overflow nor a stall; such a write is ended by closing the connection.
    func pump(
        _ subscription: EventSubscription, progress: WriteProgress, channel: any Channel,
        reading inbound: WebSocketInboundStream? = nil,
        send: @escaping @Sendable ([StreamedEvent]) async throws -> Void
    ) async -> EventSubscription.End {
        let writer = Task {
            while case .success(let events) = await subscription.next() {
                do { try await progress.during { try await send(events) } } catch { break }
            }
            subscription.end(.closed)  // wakes `ended()` below
        }
        defer { writer.cancel() }
        return await withTaskGroup(of: EventSubscription.End.self) { group in
            group.addTask { await subscription.ended() }
            group.addTask {
                await watch(progress, subscription, channel: channel)
                return .lagged
            }
            if let inbound {
                group.addTask {
                    do { for try await _ in inbound {} } catch {}
                    return .closed
                }
            }
            let end = await group.next() ?? .closed
            group.cancelAll()
            return end
        }
    }

    /// Returns (after closing the connection) when a write has taken longer than `writeTimeout`, or once the
    /// subscription has ended while a write is still stuck 2 s later; or when cancelled.
    func watch(_ progress: WriteProgress, _ subscription: EventSubscription, channel: any Channel) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard let stalled = progress.stalledFor else { continue }
            if stalled > hub.settings.writeTimeout || (subscription.hasEnded && stalled > .seconds(2)) {
                channel.close(promise: nil)
                return
            }
        }
    }

    /// Runs `operation`, giving up on it after `deadline` (then `onTimeout` runs).
    static func withDeadline(
        _ deadline: Duration, _ operation: @escaping @Sendable () async throws -> Void,
        onTimeout: @escaping @Sendable () -> Void
    ) async {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await operation()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return false
            }
            if await group.next() == false { onTimeout() }
            group.cancelAll()
        }
    }
}

/// When the write in progress, if any, started.
final class WriteProgress: Sendable {
    private let started = Mutex<ContinuousClock.Instant?>(nil)

    /// Runs `write`, marking it in progress.
    func during(_ write: () async throws -> Void) async throws {
        started.withLock { $0 = .now }
        defer { started.withLock { $0 = nil } }
        try await write()
    }

    /// How long the write in progress has taken, or `nil` when none is.
    var stalledFor: Duration? {
        started.withLock { $0 }.map { $0.duration(to: .now) }
    }
}
