import AdapterKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The monitor's HTTP surface: the JSON snapshot (with ETag and `?since=` deltas), the SSE stream and the
/// WebSocket stream of each block. The caller puts them behind its token check.
public struct MonitorRoutes: Sendable {
    let hub: MonitorHub

    public init(hub: MonitorHub) {
        self.hub = hub
    }

    /// `GET monitor/:block` and `GET monitor/:block/stream` under `group` (the host mounts it at `/api`).
    public func add<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.get("monitor") { _, _ in list() }
        group.get("monitor/:block") { request, context in try snapshot(request, context) }
        group.get("monitor/:block/stream") { request, context in try stream(request, context) }
    }

    /// The WebSocket route, `/api/monitor/:block/ws`, on the server's upgrade router.
    public func addWebSocket<Context: WebSocketRequestContext>(to router: Router<Context>) {
        router.ws("/api/monitor/:block/ws") { _, context in
            hub.boards[context.parameters.get("block") ?? ""] == nil ? .dontUpgrade : .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let board = hub.boards[context.requestContext.parameters.get("block") ?? ""] else { return }
            let last = context.request.uri.queryParameters.get("last_event_id").flatMap {
                board.version(fromEventID: String($0))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {  // the reader closing (or going away) ends the feed
                    for try await _ in inbound {}
                }
                group.addTask {
                    try await MonitorFeed.run(board, after: last) { batch in
                        for event in batch where event.version != nil { try await outbound.write(.text(event.json)) }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func list() -> Response {
        let blocks = hub.boards.values.sorted { $0.name < $1.name }.map { board -> JSONValue in
            ["name": .string(board.name), "widgets": .number(Double(board.snapshot().widgets.count))]
        }
        let body: JSONValue = ["blocks": .array(blocks)]
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body.jsonText())))
    }

    private func board(_ context: some RequestContext) throws -> MonitorBoard {
        let name = context.parameters.get("block") ?? ""
        guard let board = hub.boards[name] else {
            let known = hub.boards.keys.sorted().joined(separator: ", ")
            throw HTTPError(.notFound, message: "no monitor block named '\(name)'; the monitor blocks are: \(known)")
        }
        return board
    }

    private func snapshot(_ request: Request, _ context: some RequestContext) throws -> Response {
        let board = try board(context)
        let since = request.uri.queryParameters.get("since").flatMap { Int($0) }
        var body: [String: JSONValue]
        if let since, let changes = board.changes(since: since) {
            body = [
                "version": .number(Double(changes.version)), "widgets": .array(changes.widgets.map(\.json)),
                "removed": .array(changes.removed.map(JSONValue.string)), "since": .number(Double(since)),
            ]
        } else {
            let snapshot = board.snapshot()
            body = ["version": .number(Double(snapshot.version)), "widgets": .array(snapshot.widgets.map(\.json))]
        }
        body["epoch"] = .string(board.epoch)
        let etag = "\"\(body["version"]?.intValue ?? 0)-\(board.epoch)\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "no-cache"]
        if request.headers[.ifNoneMatch] == etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json"
        return Response(
            status: .ok, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(body).jsonText())))
    }

    private func stream(_ request: Request, _ context: some RequestContext) throws -> Response {
        let board = try board(context)
        let lastEventID =
            (HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }
            ?? request.uri.queryParameters.get("last_event_id").map { String($0) }).flatMap {
                board.version(fromEventID: $0)
            }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        if let noBuffering = HTTPField.Name("X-Accel-Buffering") { headers[noBuffering] = "no" }  // nginx
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                try await MonitorFeed.run(board, after: lastEventID) { batch in
                    if batch.count == 1 {
                        try await writer.write(batch[0].sse)  // the shared bytes, no copy
                    } else {
                        var joined = ByteBuffer()
                        for event in batch { joined.writeImmutableBuffer(event.sse) }
                        try await writer.write(joined)
                    }
                }
                try await writer.finish(nil)
            })
    }
}
