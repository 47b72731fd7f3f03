import AdapterKit
import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// `ctx.http`: GET and POST requests that the host makes on a worker's behalf, over the adapters' transport.
public struct HTTPService: Sendable {
    /// The largest response body a worker receives.
    public static let maxResponseBytes = 10 * 1024 * 1024

    private let transport: AdapterHTTP

    public init(client: HTTPClient) {
        self.transport = AdapterHTTP(client: client, maxResponseBytes: Self.maxResponseBytes)
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
        let timeout = min(request.timeout, ContinuousClock.now.duration(to: deadline))
        guard timeout > .zero else { throw CallError(.timeout, "no time left in this tick for \(request.url)") }
        do {
            let response = try await transport.send(outgoing, deadline: .now + timeout)
            return Response(
                status: response.status, headers: response.headers, text: String(decoding: response.body, as: UTF8.self)
            )
        } catch {
            switch error.reason {
            case .timedOut: throw CallError(.timeout, error.description)
            case .tooLarge: throw CallError(.runtime, error.description)
            case .connection: throw CallError(.connection, error.description)
            }
        }
    }

    private func makeRequest(_ request: Request) throws(CallError) -> AdapterHTTP.Request {
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
        return AdapterHTTP.Request(
            method: HTTPMethod(rawValue: request.method.uppercased()), url: url.absoluteString,
            headers: request.headers, body: request.body.map { Array($0.utf8) })
    }
}
