import Hummingbird
import Logging

/// Lets a request through only with `Authorization: Bearer <token>`.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    let hint: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(token.utf8))
        else {
            throw HTTPError(.unauthorized, message: "missing or wrong bearer token; \(hint)")
        }
        return try await next(request, context)
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
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
