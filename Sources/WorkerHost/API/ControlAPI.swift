import AdapterKit
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Monitor

extension WorkerStatus: ResponseEncodable {}

/// The control API: health, and `/api/workers…` behind the admin token.
public struct ControlAPI: Sendable {
    let supervisor: Supervisor
    let store: any StateStore
    let data: DataDirectory
    let python: PythonRuntime
    /// The monitor blocks, whose feeds are under `/api/monitor`.
    var monitor = MonitorHub(boards: [])
    /// The runtime API (events, sessions, calls, tickets), and the workers' tokens.
    var runtime: RuntimeRoutes?
    /// The event streams (`/api/events/ws`, `/api/events/stream`).
    var streams: EventStreamRoutes?

    /// The routes: `/health`, the dashboard pages, and `/api/…` behind the tokens (the viewer token reads).
    public func router(token: String, viewerToken: String? = nil) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ErrorLoggingMiddleware())
        router.get("/health") { _, _ in Health(status: "ok", workers: supervisor.names.count) }
        DashboardAssets.add(to: router)
        let api = router.group("api")
            .add(middleware: TokenMiddleware(credentials: credentials(token, viewerToken), hint: hint))
        MonitorRoutes(hub: monitor).add(to: api)
        runtime?.add(to: api)
        streams?.add(to: api)
        api.get("workers") { _, _ in supervisor.statuses }
        api.post("reload") { _, _ in try reload() }
        api.get("workers/:name") { _, context in try runner(context).status }
        api.post("workers/:name/start") { _, context in try command(context, .start(reason: "started by operator")) }
        api.post("workers/:name/stop") { _, context in try command(context, .stop(reason: "stopped by operator")) }
        api.post("workers/:name/restart") { request, context in try restart(request, context) }
        api.post("workers/:name/interval") { request, context in try await interval(request, context) }
        api.get("workers/:name/logs") { request, context in try logs(request, context) }
        api.get("workers/:name/state") { _, context in try await state(context) }
        api.post("workers/:name/deploy") { request, context in try await deploy(request, context) }
        return router
    }

    /// The WebSocket routes (`/api/monitor/:block/ws`, `/api/events/ws`), behind the same tokens or a ticket.
    func webSocketRouter(token: String, viewerToken: String? = nil) -> Router<RuntimeWebSocketContext> {
        let router = Router(context: RuntimeWebSocketContext.self)
        router.add(middleware: TokenMiddleware(credentials: credentials(token, viewerToken), hint: hint))
        MonitorRoutes(hub: monitor).addWebSocket(to: router)
        streams?.addWebSocket(to: router)
        return router
    }

    private func credentials(_ token: String, _ viewerToken: String?) -> Credentials {
        runtime?.credentials ?? Credentials(admin: token, viewer: viewerToken)
    }

    private var hint: String { "the admin token is in \(data.tokenFile), the viewer token in \(data.viewerTokenFile)" }

    struct Health: ResponseEncodable {
        var status: String
        var workers: Int
    }

    struct Accepted: ResponseEncodable {
        var accepted: String
        var worker: WorkerStatus
    }

    struct Reloaded: ResponseEncodable {
        var reloading: [String]
    }

    /// `POST /api/reload`: 200 with the new set's names, 400 when the manifest cannot be used (nothing changed).
    private func reload() throws -> Reloaded {
        switch supervisor.reload() {
        case .success(let names): return Reloaded(reloading: names)
        case .failure(let error): throw HTTPError(.badRequest, message: error.message)
        }
    }

    private func runner(_ context: APIRequestContext) throws -> WorkerRunner {
        let name = context.parameters.get("name") ?? ""
        guard let runner = supervisor.runner(named: name) else {
            let known = supervisor.names.joined(separator: ", ")
            throw HTTPError(.notFound, message: "no worker named '\(name)'; the workers are: \(known)")
        }
        return runner
    }

    private func command(_ context: APIRequestContext, _ command: WorkerRunner.Command) throws -> Accepted {
        let runner = try runner(context)
        do {
            try runner.send(command)
        } catch {
            context.logger.info(
                "command refused",
                metadata: [LogKey.workerID: "\(runner.name)", LogKey.reason: "\(error)", "command": "\(command)"])
            throw HTTPError(.conflict, message: "cannot do that to '\(runner.name)': \(error)")
        }
        return Accepted(accepted: "\(command)".components(separatedBy: "(").first ?? "", worker: runner.status)
    }

    /// An operator's restart, or a worker's through its token: then as its `client.restart_worker` (its
    /// `may_restart:`, at most once per 5 s per target).
    private func restart(_ request: Request, _ context: APIRequestContext) throws -> Accepted {
        guard case .worker(let worker) = context.caller else {
            return try command(context, .restart(reason: "restart requested"))
        }
        let target = try runner(context)
        switch supervisor.restart(target.name, by: worker) {
        case .success: return Accepted(accepted: "restart", worker: target.status)
        case .failure(let error):
            let status: HTTPResponse.Status =
                switch error.details["refusal"]?.stringValue {
                case "forbidden": .forbidden
                case "too_soon": .tooManyRequests
                default: .conflict
                }
            throw HTTPError(status, message: error.message)
        }
    }

    struct IntervalBody: Decodable {
        var every: String
    }

    private func interval(_ request: Request, _ context: APIRequestContext) async throws -> Accepted {
        let body = try await request.decode(as: IntervalBody.self, context: context)
        switch TickInterval.parse(body.every) {
        case .success(let interval): return try command(context, .setInterval(interval))
        case .failure(let error): throw HTTPError(.badRequest, message: error.message)
        }
    }

    struct LogsReply: ResponseEncodable {
        var lines: [String]?
        var text: String?
        var offset: UInt64?
    }

    private func logs(_ request: Request, _ context: APIRequestContext) throws -> LogsReply {
        let runner = try runner(context)
        if let offset = request.uri.queryParameters.get("offset", as: UInt64.self) {
            let chunk = runner.log.read(from: offset)
            return LogsReply(text: chunk.text, offset: chunk.next)
        }
        let count = max(0, min(request.uri.queryParameters.get("lines", as: Int.self) ?? 200, 10_000))
        return LogsReply(lines: runner.log.tail(count), offset: runner.log.read(from: .max).next)
    }

    struct StateReply: ResponseEncodable {
        struct Entry: Encodable {
            var key: String
            var json: String
        }
        var worker: String
        var entries: [Entry]
    }

    private func state(_ context: APIRequestContext) async throws -> StateReply {
        let runner = try runner(context)
        let entries = try await store.entries(worker: runner.name)
        return StateReply(worker: runner.name, entries: entries.map { StateReply.Entry(key: $0.key, json: $0.json) })
    }

    struct DeployBody: Decodable {
        var code: String
    }

    private func deploy(_ request: Request, _ context: APIRequestContext) async throws -> Accepted {
        let runner = try runner(context)
        guard !runner.status.code.hasPrefix("swift:") else {
            throw HTTPError(
                .badRequest, message: "'\(runner.name)' is a compiled Swift worker; deploy takes Python code")
        }
        let body = try await request.decode(as: DeployBody.self, context: context)
        let revision = try data.storeRevision(worker: runner.name, code: body.code)
        if let problem = await python.check(script: revision.path) {
            try? FileManager.default.removeItem(atPath: revision.path)  // refused revisions are not kept
            throw HTTPError(.badRequest, message: "code not deployed: \(problem)")
        }
        return try command(context, .deploy(script: revision.path, revision: revision.number))
    }
}
