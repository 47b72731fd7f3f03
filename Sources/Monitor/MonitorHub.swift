import ServiceLifecycle

/// Every monitor block of the host. As a `Service` it sends the subscribers' heartbeats, and at shutdown it ends
/// every stream, so that open dashboards never hold the HTTP server's graceful shutdown.
public final class MonitorHub: Service {
    public let boards: [String: MonitorBoard]
    /// How often idle streams get a heartbeat.
    public let heartbeat: Duration

    public init(boards: [MonitorBoard], heartbeat: Duration = .seconds(15)) {
        self.boards = Dictionary(boards.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.heartbeat = heartbeat
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.heartbeat)
                for board in self.boards.values { board.heartbeat() }
            }
        }
        finishAll()
    }

    /// Ends every open stream of every board.
    public func finishAll() {
        for board in boards.values { board.finishAll() }
    }
}

/// Runs one reader of a board: the catch-up events, then live ones; a reader that falls behind starts again
/// from a fresh snapshot. Shared by the SSE and WebSocket routes.
enum MonitorFeed {
    /// - Parameters:
    ///   - lastEventID: the version the reader already has, if any.
    ///   - send: writes one event; a throw (the reader went away) ends the feed.
    static func run(
        _ board: MonitorBoard, after lastEventID: Int?, send: (MonitorBoard.Encoded) async throws -> Void
    ) async throws {
        var after = lastEventID
        while !Task.isCancelled {
            let subscription = board.subscribe(after: after)
            defer { subscription.cancel() }
            for event in subscription.initial { try await send(event) }
            for await event in subscription.events { try await send(event) }
            guard subscription.lagged else { return }
            after = nil
        }
    }
}
