import AdapterKit
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The CLI's client for a running host's control API.
public struct ControlClient: Sendable {
    public let baseURL: String
    let token: String
    let client: HTTPClient

    /// A client for the host whose data directory is `data`.
    /// - Parameter port: the port to use; `nil` reads the running host's `host.json`, else 8700.
    /// - Throws: `ClientError` when there is no admin token (no host has run with this data directory).
    public init(data: DataDirectory, port: Int?, client: HTTPClient = .shared) throws(ClientError) {
        guard let token = data.readToken() else {
            throw ClientError(
                message: "no admin token in \(data.tokenFile); is a host running with --data-dir \(data.path)?")
        }
        let resolved = port ?? data.readHostInfo()?.port ?? 8700
        self.baseURL = "http://127.0.0.1:\(resolved)"
        self.token = token
        self.client = client
    }

    /// The API's methods.
    public enum Method: Sendable {
        case get, post
    }

    /// Sends a request and returns the JSON reply.
    /// - Throws: `ClientError` with the API's message, or one saying no host answered.
    public func request(_ method: Method, _ path: String, body: JSONValue? = nil) async throws(ClientError) -> JSONValue
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method == .get ? .GET : .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText()))
        }
        let status: Int
        let data: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            data = try await response.body.collect(upTo: 16 * 1024 * 1024)
        } catch {
            throw ClientError(
                message: "no host answered at \(baseURL) (\(error)); start one with `botyard run botyard.yaml`")
        }
        let reply = (try? JSONValue(parsing: Data(data.readableBytesView))) ?? .string(String(buffer: data))
        guard (200..<300).contains(status) else {
            let message = reply["error"]?["message"]?.stringValue ?? reply.stringValue ?? "HTTP \(status)"
            throw ClientError(message: message)
        }
        return reply
    }
}

/// A CLI request that failed, with a message for the operator.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
