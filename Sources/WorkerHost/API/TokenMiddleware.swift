import Hummingbird
import Logging

/// Lets a request through with the admin token, for reading (GET) with the viewer token too, and within its
/// scope with a worker's own token (`BOTYARD_RUNTIME_TOKEN`).
///
/// The token comes as `Authorization: Bearer <token>`; for a GET an operator's or viewer's token may also come as
/// `?token=` (a browser's EventSource cannot set headers), and a WebSocket upgrade may carry `?ticket=` from
/// `POST /api/ws-ticket`. A worker's token is accepted only in the header. A viewer token on anything but a read
/// (or a ticket request), and a worker's token outside `WorkerScope`, are refused with 403.
struct TokenMiddleware<Context: CallerContext>: RouterMiddleware {
    let credentials: Credentials
    let hint: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let caller = try caller(of: request)
        try authorize(caller, request)
        var context = context
        context.caller = caller
        return try await next(request, context)
    }

    private func caller(of request: Request) throws -> Caller {
        let isRead = request.method == .get || request.method == .head
        if let header = Credentials.bearer(request) {
            guard let caller = credentials.caller(token: header) else {
                throw HTTPError(.unauthorized, message: "wrong bearer token; \(hint)")
            }
            return caller
        }
        if isRead, let ticket = request.uri.queryParameters.get("ticket"), let tickets = credentials.tickets {
            guard let caller = tickets.redeem(Substring(ticket)) else {
                throw HTTPError(.unauthorized, message: "unknown, used or expired ticket; get a new one")
            }
            return caller
        }
        guard isRead, let token = request.uri.queryParameters.get("token") else {
            throw HTTPError(.unauthorized, message: "missing bearer token; \(hint)")
        }
        switch credentials.caller(token: Substring(token)) {
        case .admin: return .admin
        case .viewer: return .viewer
        case .worker:
            throw HTTPError(.unauthorized, message: "a worker's token goes in the Authorization header, not the URL")
        case nil: throw HTTPError(.unauthorized, message: "wrong token; \(hint)")
        }
    }

    private func authorize(_ caller: Caller, _ request: Request) throws {
        switch caller {
        case .admin: return
        case .viewer:
            let isRead = request.method == .get || request.method == .head
            guard isRead || (request.method == .post && request.uri.path == "/api/ws-ticket") else {
                throw HTTPError(.forbidden, message: "the viewer token only reads; use the admin token")
            }
        case .worker(let worker):
            let mayRestart = credentials.workers?.mayRestart(worker) ?? []
            guard WorkerScope.allows(request.method, request.uri.path, worker: worker, mayRestart: mayRestart) else {
                throw HTTPError(.forbidden, message: WorkerScope.refusal(worker: worker, mayRestart: mayRestart))
            }
        }
    }
}

/// Logs errors that are not HTTP errors (they become a bare 500) at `.error`.
struct ErrorLoggingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw HTTPError(.internalServerError, message: "internal error: \(error)")
        }
    }
}
