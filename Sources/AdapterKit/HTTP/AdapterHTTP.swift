import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP transport every adapter shares: one injected `HTTPClient` per process, and a deadline on every request.
public struct AdapterHTTP: Sendable {
    /// The largest response body an adapter reads, by default.
    public static let maxResponseBytes = 16 * 1024 * 1024

    private let client: HTTPClient
    /// The largest response body this transport reads.
    public let maxResponseBytes: Int

    public init(client: HTTPClient, maxResponseBytes: Int = Self.maxResponseBytes) {
        self.client = client
        self.maxResponseBytes = maxResponseBytes
    }

    /// One request, with its URL already built (the adapter signs exactly these bytes).
    public struct Request: Sendable {
        public var method: HTTPMethod
        public var url: String
        public var headers: [(String, String)]
        public var body: [UInt8]?

        public init(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    /// A response: status, headers (names lower-cased) and the whole body.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]

        public init(status: Int, headers: [String: String], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// Why a request got no response. The request may or may not have reached the server.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Reason: Sendable { case timedOut, tooLarge, connection }
        public var reason: Reason
        public var description: String
        /// Whether the deadline passed (rather than the connection failing).
        public var timedOut: Bool { reason == .timedOut }
    }

    /// Sends `request`, giving up at `deadline`.
    /// - Throws: `Failure` when no complete response arrived in time; its description names the host, never the
    ///   query or headers, which may carry credentials.
    public func send(_ request: Request, deadline: ContinuousClock.Instant) async throws(Failure) -> Response {
        let timeout = ContinuousClock.now.duration(to: deadline)
        let target = "\(request.method.rawValue) \(Self.withoutQuery(request.url))"
        guard timeout > .zero else { throw Failure(reason: .timedOut, description: "\(target): no time left") }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(outgoing, timeout: .nanoseconds(timeout.nanoseconds))
            let body = try await response.body.collect(upTo: maxResponseBytes)
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name.lowercased()] = header.value }
            return Response(status: Int(response.status.code), headers: headers, body: Array(buffer: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw Failure(reason: .timedOut, description: "\(target) timed out after \(timeout)")
        } catch let error as NIOTooManyBytesError {
            throw Failure(
                reason: .tooLarge, description: "response larger than \(error.maxBytes ?? maxResponseBytes) bytes")
        } catch {
            throw Failure(reason: .connection, description: "\(target) failed: \(Self.shortReason(error))")
        }
    }

    /// The URL without its query string or user and password, which may carry credentials.
    public static func withoutQuery(_ url: String) -> String {
        let bare = String(url.prefix { $0 != "?" })
        guard var components = URLComponents(string: bare), components.user != nil || components.password != nil
        else { return bare }
        components.user = nil
        components.password = nil
        return components.string ?? bare
    }

    private static func shortReason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: type(of: error)) + ": " + "\(error)".prefix(200)
    }
}
