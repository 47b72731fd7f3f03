import AdapterKit
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import WorkerHost

/// ctx calls as the host answers them, with `ctx.http` going over real HTTP on loopback.
struct WorkerServicesTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("services-\(UUID().uuidString)").path

    func services() throws -> WorkerServices {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: folder + "/state.sqlite")
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        return WorkerServices(worker: "w", store: store, log: log, http: HTTPService(client: .shared))
    }

    func call(_ services: WorkerServices, _ method: String, _ params: JSONValue, within: Duration = .seconds(10))
        async -> Result<JSONValue, CallError>
    {
        await services.handle(method: method, params: params, deadline: .now + within)
    }

    static func echoServer() -> some ApplicationProtocol {
        let router = Router()
        router.get("/echo") { request, _ in
            "GET \(request.uri.queryParameters.get("symbol") ?? "-") \(request.headers[.init("X-Trace")!] ?? "-")"
        }
        router.post("/echo") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return "POST \(request.headers[.contentType] ?? "-") \(String(buffer: body))"
        }
        router.get("/slow") { _, _ in
            try await Task.sleep(for: .seconds(10))
            return "late"
        }
        return Application(router: router)
    }

    @Test func httpGetAndPostGoOverTheWire() async throws {
        let services = try services()
        try await Self.echoServer().test(.live) { client in
            let base = "http://127.0.0.1:\(client.port ?? 0)"
            let get = await call(
                services, "http.request",
                [
                    "method": "GET", "url": .string(base + "/echo"), "params": ["symbol": "BTCUSDT"],
                    "headers": ["X-Trace": "abc"],
                ])
            let got = try get.get()
            #expect(got["status"] == 200)
            #expect(got["text"] == "GET BTCUSDT abc")
            let post = await call(
                services, "http.request",
                [
                    "method": "POST", "url": .string(base + "/echo"), "headers": ["Content-Type": "application/json"],
                    "body": #"{"qty":1}"#,
                ])
            let posted = try post.get()
            #expect(posted["text"] == #"POST application/json {"qty":1}"#)
            #expect(posted["headers"]?["content-length"] != nil)
        }
    }

    @Test(.timeLimit(.minutes(1))) func httpNeverOutlivesItsDeadline() async throws {
        let services = try services()
        try await Self.echoServer().test(.live) { client in
            let started = ContinuousClock.now
            let result = await call(
                services, "http.request", ["url": .string("http://127.0.0.1:\(client.port ?? 0)/slow")],
                within: .milliseconds(300))
            #expect(started.duration(to: .now) < .seconds(7), "it waited for the answer, 10 s away")
            guard case .failure(let error) = result else { Issue.record("expected a timeout"); return }
            #expect(error.kind == .timeout)
        }
    }

    @Test func badURLsAndRefusedConnectionsAreClearErrors() async throws {
        let services = try services()
        guard case .failure(let bad) = await call(services, "http.request", ["url": "ftp://example.com/x"]) else {
            Issue.record("expected a failure"); return
        }
        #expect(bad == CallError(.valueError, "'ftp://example.com/x' is not an http(s) URL"))
        guard
            case .failure(let refused) = await call(
                services, "http.request", ["url": "http://127.0.0.1:1/x?token=secret"])
        else { Issue.record("expected a failure"); return }
        #expect(refused.kind == .connection)
        #expect(!refused.message.contains("secret"), "query strings (which may hold tokens) stay out of errors")
    }

    @Test func stateCallsCheckTheirLimits() async throws {
        let services = try services()
        let longKey = String(repeating: "k", count: 257)
        #expect(
            await call(services, "state.set", ["key": .string(longKey), "json": "1"])
                == .failure(CallError(.valueError, "state key is 257 bytes; the limit is 256")))
        let big = "\"" + String(repeating: "x", count: 1 << 20) + "\""
        guard case .failure(let tooBig) = await call(services, "state.set", ["key": "k", "json": .string(big)]) else {
            Issue.record("expected a failure"); return
        }
        #expect(tooBig.kind == .valueError && tooBig.message.contains("the limit is 1 MiB"))
        #expect(
            await call(services, "state.set", ["key": "k", "json": "{oops"])
                == .failure(CallError(.valueError, "state value for 'k' is not valid JSON")))
        #expect(await call(services, "state.incr", ["key": "n", "by": 2]) == .success("2"))
        #expect(await call(services, "state.get", ["key": "n"]) == .success(["found": true, "json": "2"]))
        #expect(await call(services, "nope", [:]) == .failure(CallError(.unknownCall, "unknown ctx call 'nope'")))
    }
}
