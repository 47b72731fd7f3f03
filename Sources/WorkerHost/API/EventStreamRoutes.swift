import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// The request context of the WebSocket routes: the basic one, plus the connection, which a stream closes
/// itself when a stuck client cannot even take the close frame.
struct RuntimeWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

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

    func add(to api: RouterGroup<BasicRequestContext>) {
        api.get("events/stream") { request, _ in try stream(request) }
    }

    func addWebSocket(to router: Router<RuntimeWebSocketContext>) {
        router.ws("/api/events/ws") { request, _ in
            _ = try Self.query(request)  // a bad query is a 400, before the upgrade
            try checkRoom()
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let query = try Self.query(context.request)
            let subscription = hub.subscribe(query.filter, since: query.since)
            defer { hub.unsubscribe(subscription) }
            let end = await Self.pump(subscription, reading: inbound) { events in
                for event in events { try await outbound.write(.text(event.json)) }
            }
            guard end == .lagged else { return }
            let reason = "too slow: more than \(hub.settings.queue.count) events waited; resume with since="
            let channel = context.requestContext.channel
            await Self.withDeadline(Self.closeDeadline) {
                try await outbound.close(.unknown(Self.closeLagged), reason: reason)
            } onTimeout: {
                channel.close(promise: nil)
            }
        }
    }

    private func stream(_ request: Request) throws -> Response {
        let lastEventID = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }
        let query = try Self.query(request, lastEventID: lastEventID)
        try checkRoom()
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        if let noBuffering = HTTPField.Name("X-Accel-Buffering") { headers[noBuffering] = "no" }  // nginx
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let subscription = hub.subscribe(query.filter, since: query.since)
                defer { hub.unsubscribe(subscription) }
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                // One task writes (the body's writer is not shared): a client that stops reading stalls the write,
                // its queue overflows and is freed, and it is told `transport.lagged` once it reads again.
                while case .success(let events) = await subscription.next() {
                    let text = events.isEmpty ? ": ping\n\n" : events.map(\.sse).joined()
                    try await writer.write(ByteBuffer(string: text))
                }
                if case .failure(.lagged) = await subscription.next() {
                    let queue = hub.settings.queue.count
                    try await writer.write(
                        ByteBuffer(
                            string: "event: transport.lagged\ndata: {\"reason\":\"too slow\",\"queue\":\(queue)}\n\n"))
                }
                try await writer.finish(nil)
            })
    }

    private func checkRoom() throws {
        guard !hub.isFull else {
            throw HTTPError(
                .serviceUnavailable, message: "\(hub.settings.maxStreams) event streams are open; try again later")
        }
    }

    /// Sends the subscription's events with `send` until it ends, the client goes away (`inbound` ends) or a write
    /// fails; the subscription's end is watched apart from the writes, so a write stuck on a full socket does not
    /// hide an overflow.
    static func pump(
        _ subscription: EventSubscription, reading inbound: WebSocketInboundStream? = nil,
        send: @escaping @Sendable ([StreamedEvent]) async throws -> Void
    ) async -> EventSubscription.End {
        await withTaskGroup(of: EventSubscription.End.self) { group in
            group.addTask { await subscription.ended() }
            group.addTask {
                while true {
                    switch await subscription.next() {
                    case .success(let events):
                        do { try await send(events) } catch { return .closed }
                    case .failure(let end): return end
                    }
                }
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
