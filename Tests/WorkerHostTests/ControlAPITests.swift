import AdapterKit
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import WorkerHost

struct ControlAPITests {
    struct Idle: TickWorker {
        func tick(_ ctx: WorkerContext) async throws {}
    }

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("api-\(UUID().uuidString)").path
    let token = "test-token"
    let viewer = "viewer-token"

    func application() throws -> (some ApplicationProtocol, any StateStore) {
        let data = DataDirectory(path: folder)
        try data.prepare()
        let store = try SQLiteStateStore(path: data.stateDatabase)
        let spec = WorkerSpec(name: "alpha", code: .swift(name: "Idle"), workingDirectory: folder)
        let log = WorkerLog(worker: "alpha", directory: data.logs, console: nil)
        let services = WorkerServices(
            worker: "alpha", store: store, log: log, http: HTTPService(client: .shared))
        let runner = WorkerRunner(spec: spec, log: log, logger: Logger(label: "test")) { spec in
            SwiftBackend(spec: spec, services: services) { Idle() }
        }
        let api = ControlAPI(
            supervisor: Supervisor(runners: [runner]), store: store, data: data, python: .locate())
        return (Application(router: api.router(token: token, viewerToken: viewer)), store)
    }

    var auth: HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func healthNeedsNoTokenButTheAPIDoes() async throws {
        let (app, _) = try application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/workers", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("admin.token"))
            }
            try await client.execute(uri: "/api/workers", method: .get, headers: [.authorization: "Bearer nope"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func theViewerTokenReadsButNeverCommands() async throws {
        let (app, _) = try application()
        try await app.test(.router) { client in
            let viewing: HTTPFields = [.authorization: "Bearer \(viewer)"]
            try await client.execute(uri: "/api/workers", method: .get, headers: viewing) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/workers/alpha/stop", method: .post, headers: viewing) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("the viewer token only reads"))
            }
            try await client.execute(uri: "/api/workers?token=\(viewer)", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/monitor?token=\(viewer)", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/workers/alpha/stop?token=\(token)", method: .post) {
                #expect($0.status == .unauthorized, "a token in the URL only reads")
            }
            try await client.execute(uri: "/api/monitor", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok, "the pages hold no data and need no token")
                #expect(!String(buffer: response.body).contains(viewer))
            }
        }
    }

    @Test func workersAreListedAndDetailed() async throws {
        let (app, _) = try application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/workers", method: .get, headers: auth) { response in
                let list = try JSONValue(parsing: Data(response.body.readableBytesView))
                #expect(list.arrayValue?.compactMap { $0["name"]?.stringValue } == ["alpha"])
                #expect(list.arrayValue?.first?["state"] == "stopped")
            }
            try await client.execute(uri: "/api/workers/ghost", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no worker named 'ghost'; the workers are: alpha"))
            }
        }
    }

    @Test func refusedCommandsAreConflictsWithAReason() async throws {
        let (app, _) = try application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/workers/alpha/stop", method: .post, headers: auth) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("it is already stopped"))
            }
        }
    }

    @Test func aBadIntervalIsRefusedWithTheRange() async throws {
        let (app, _) = try application()
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"every":"500ms"}"#)
            try await client.execute(
                uri: "/api/workers/alpha/interval", method: .post, headers: auth, body: body
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("it must be from 1s to 1h"))
            }
            try await client.execute(
                uri: "/api/workers/alpha/interval", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"every":"5s"}"#)
            ) { #expect($0.status == .ok) }
        }
    }

    @Test func stateIsListedAsStored() async throws {
        let (app, store) = try application()
        try await store.set(worker: "alpha", key: "price", json: "100.0")
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/workers/alpha/state", method: .get, headers: auth) { response in
                let reply = try JSONValue(parsing: Data(response.body.readableBytesView))
                #expect(reply["entries"] == [["key": "price", "json": "100.0"]])
            }
        }
    }

    @Test func aSwiftWorkerCannotTakePythonCode() async throws {
        let (app, _) = try application()
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/api/workers/alpha/deploy", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"code":"x"}"#)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("compiled Swift worker"))
            }
        }
    }
}
