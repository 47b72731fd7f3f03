import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `ctx.http`: GET and POST requests that the host makes on a worker's behalf.
public struct HTTPService: Sendable {
    /// The largest response body a worker receives.
    public static let maxResponseBytes = 10 * 1024 * 1024

    private let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    /// A request as a worker describes it.
    public struct Request: Sendable {
        public var method: String
        public var url: String
        public var query: [(String, String)] = []
        public var headers: [(String, String)] = []
        public var body: String?
        public var timeout: Duration = .seconds(10)

        public init(method: String, url: String) {
            self.method = method
            self.url = url
        }
    }

    /// A response as a worker receives it.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var text: String
    }

    /// Performs `request`, giving up at the earlier of its timeout and `deadline`.
    /// - Throws: `CallError` (`valueError` for a bad URL, `timeout`, `connection`).
    public func perform(_ request: Request, deadline: ContinuousClock.Instant) async throws(CallError) -> Response {
        let outgoing = try makeRequest(request)
        let remaining = ContinuousClock.now.duration(to: deadline)
        let timeout = min(request.timeout, remaining)
        guard timeout > .zero else { throw CallError(.timeout, "no time left in this tick for \(request.url)") }
        do {
            let response = try await client.execute(outgoing, timeout: .nanoseconds(timeout.nanoseconds))
            let body = try await response.body.collect(upTo: Self.maxResponseBytes)
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name.lowercased()] = header.value }
            return Response(status: Int(response.status.code), headers: headers, text: String(buffer: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw CallError(.timeout, "\(request.method) \(Self.hostOnly(request.url)) timed out after \(timeout)")
        } catch let error as NIOTooManyBytesError {
            throw CallError(.runtime, "response larger than \(error.maxBytes ?? Self.maxResponseBytes) bytes")
        } catch {
            throw CallError(.connection, "\(request.method) \(Self.hostOnly(request.url)) failed: \(error)")
        }
    }

    private func makeRequest(_ request: Request) throws(CallError) -> HTTPClientRequest {
        guard var components = URLComponents(string: request.url), let scheme = components.scheme,
            ["http", "https"].contains(scheme.lowercased()), components.host?.isEmpty == false
        else {
            throw CallError(.valueError, "'\(request.url)' is not an http(s) URL")
        }
        if !request.query.isEmpty {
            components.queryItems =
                (components.queryItems ?? []) + request.query.map { URLQueryItem(name: $0, value: $1) }
        }
        guard let url = components.url else { throw CallError(.valueError, "'\(request.url)' is not a valid URL") }
        var outgoing = HTTPClientRequest(url: url.absoluteString)
        outgoing.method = HTTPMethod(rawValue: request.method.uppercased())
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(string: body)) }
        return outgoing
    }

    /// The URL without its query, which may carry tokens.
    static func hostOnly(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "the URL" }
        components.query = nil
        components.user = nil
        components.password = nil
        return components.string ?? "the URL"
    }
}
