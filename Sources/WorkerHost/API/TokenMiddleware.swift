import Hummingbird
import Logging

/// Lets a request through with the admin token, for reading (GET) with the viewer token too, and within its
/// scope with a worker's own token (`BOTYARD_RUNTIME_TOKEN`).
///
/// The token comes as `Authorization: Bearer <token>`, or for a GET as `?token=` (a browser's EventSource and
/// WebSocket cannot set headers); a worker's token only in the header. A viewer token on anything but a read,
/// and a worker's token outside `WorkerScope`, are refused with 403.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let admin: String
    let viewer: String?
    let hint: String
    /// The workers' tokens.
    var workers: RuntimeVariables?

    /// The bearer token of the `Authorization` header.
    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let isRead = request.method == .get || request.method == .head
        var given: Substring?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            given = header.dropFirst(7)
        } else if isRead {
            given = request.uri.queryParameters.get("token").map { Substring($0) }
        }
        guard let given else { throw HTTPError(.unauthorized, message: "missing bearer token; \(hint)") }
        if Self.constantTimeEqual(Array(given.utf8), Array(admin.utf8)) { return try await next(request, context) }
        if let viewer, Self.constantTimeEqual(Array(given.utf8), Array(viewer.utf8)) {
            guard isRead else {
                throw HTTPError(.forbidden, message: "the viewer token only reads; use the admin token")
            }
            return try await next(request, context)
        }
        if let worker = workers?.worker(forToken: String(given)) {
            guard Self.bearer(request) != nil else {
                throw HTTPError(
                    .unauthorized, message: "a worker's token goes in the Authorization header, not the URL")
            }
            guard WorkerScope.allows(request.method, request.uri.path, worker: worker) else {
                throw HTTPError(.forbidden, message: WorkerScope.refusal(worker: worker))
            }
            return try await next(request, context)
        }
        throw HTTPError(.unauthorized, message: "wrong bearer token; \(hint)")
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
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
