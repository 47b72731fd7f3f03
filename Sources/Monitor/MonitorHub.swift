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
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.beat() }
                for board in self.boards.values where board.coalescing > .zero {
                    group.addTask { await Self.flush(board) }
                }
            }
        }
        finishAll()
    }

    private func beat() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: heartbeat)
            for board in boards.values { board.heartbeat() }
        }
    }

    /// Delivers a coalescing board's queued events every `coalescing`: with many readers, one write of several
    /// events costs far less than several writes of one, and one timer far less than one per reader.
    private static func flush(_ board: MonitorBoard) async {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            next = max(next + board.coalescing, clock.now)
            try? await Task.sleep(until: next, tolerance: .zero, clock: clock)
            board.flush()
        }
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
    ///   - send: writes the events of one batch, oldest first; a throw (the reader went away) ends the feed.
    static func run(
        _ board: MonitorBoard, after lastEventID: Int?, send: ([MonitorMessage]) async throws -> Void
    ) async throws {
        var after = lastEventID
        while !Task.isCancelled {
            let subscription = board.subscribe(after: after)
            defer { subscription.cancel() }
            if !subscription.initial.isEmpty { try await send(subscription.initial) }
            while let batch = await subscription.next() { try await send(batch) }
            guard subscription.lagged else { return }
            after = nil
        }
    }
}
