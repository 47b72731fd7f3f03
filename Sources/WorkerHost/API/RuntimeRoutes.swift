import AdapterKit
import Foundation
import Hummingbird

/// The runtime API for workers in any language: publishing events, sessions, a worker's ctx calls, WebSocket
/// tickets and the runtime's health. The event streams are `EventStreamRoutes`.
///
/// Events are published as the caller: a worker's token publishes as that worker, the admin token as `operator`;
/// the host's own prefixes are refused with 400.
struct RuntimeRoutes: Sendable {
    let supervisor: Supervisor
    let bus: EventBus
    let runtime: RuntimeVariables
    let credentials: Credentials
    let sessions = SessionBook()
    let started = Date()

    /// The largest body a publish reads.
    static let maxBody = EventKind.maxPayloadBytes + 4096
    /// The largest body a call reads: a `state.set` of the largest value, escaped as a JSON string.
    static let maxCallBody = 2 * StateLimits.maxValueBytes + 4096

    func add(to api: RouterGroup<APIRequestContext>) {
        api.post("events") { request, context in try await publish(request, context, session: nil) }
        api.get("runtime") { _, _ in health() }
        api.get("sessions") { _, _ in SessionList(sessions: sessions.all) }
        api.post("sessions") { request, context in try await openSession(request, context) }
        api.post("sessions/:session/events") { request, context in
            try await publish(request, context, session: context.parameters.get("session") ?? "")
        }
        api.post("ws-ticket") { _, context in try ticket(context) }
        api.post("workers/:name/calls") { request, context in try await call(request, context) }
    }

    struct Published: ResponseEncodable {
        var eventID: String
        var seq: Int
        var source: String
    }

    private func publish(_ request: Request, _ context: APIRequestContext, session: String?) async throws
        -> Published
    {
        let body = try await Self.object(request, "the body is a JSON object {\"kind\", \"payload\"}")
        guard let kind = body["kind"]?.stringValue else { throw HTTPError(.badRequest, message: "'kind' is missing") }
        if let problem = EventKind.problem(publishing: kind) { throw HTTPError(.badRequest, message: problem) }
        let source = context.caller?.source ?? "operator"
        var payload = body["payload"] ?? [:]
        guard payload.objectValue != nil else { throw HTTPError(.badRequest, message: "'payload' is a JSON object") }
        if kind == "notify" { payload = try notification(payload, source: source) }
        let size = payload.jsonText().utf8.count
        guard size <= EventKind.maxPayloadBytes else {
            throw HTTPError(
                .badRequest, message: "the payload is \(size) bytes; the limit is \(EventKind.maxPayloadBytes)")
        }
        if let session, !sessions.recordEvent(session) {
            throw HTTPError(.notFound, message: "no session '\(session)'; create it with POST /api/sessions")
        }
        let envelope = bus.publish(kind: kind, payload: payload, source: source, size: size, sessionID: session)
        return Published(eventID: envelope.eventID, seq: envelope.seq, source: source)
    }

    private func notification(_ payload: JSONValue, source: String) throws -> JSONValue {
        switch EventKind.notification(payload, source: source) {
        case .success(let checked): return checked
        case .failure(let refusal): throw HTTPError(.badRequest, message: refusal.message)
        }
    }

    struct Health: ResponseEncodable {
        var status = "ok"
        var version: String
        var runtimeID: String
        var uptimeSeconds: Double
        var lastSeq: Int
        var workers: [WorkerStatus]
    }

    private func health() -> Health {
        Health(
            version: BotyardVersion.current, runtimeID: runtime.id, uptimeSeconds: Date().timeIntervalSince(started),
            lastSeq: bus.lastSeq, workers: supervisor.statuses)
    }

    struct SessionList: ResponseEncodable {
        var sessions: [Session]
    }

    struct Opened: ResponseEncodable {
        var session: Session
        var created: Bool
    }

    /// `POST /api/sessions` `{"session_id"?, "agent"?}`: 201 when created, 200 when it existed.
    private func openSession(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let body = try await Self.object(request, "the body is a JSON object {\"session_id\", \"agent\"}")
        let id = body["session_id"]?.stringValue ?? body["sessionID"]?.stringValue ?? UUID().uuidString.lowercased()
        let agent = body["agent"]?.stringValue
        if let agent, agent.isEmpty || agent.utf8.count > 128 {
            throw HTTPError(.badRequest, message: "an agent name is 1 to 128 bytes")
        }
        let caller = context.caller?.source ?? "operator"
        let opened: (Session, created: Bool)
        do {
            opened = try sessions.open(id: id, agent: agent, by: caller)
        } catch .badID(let problem) {
            throw HTTPError(.badRequest, message: problem)
        } catch {
            throw HTTPError(
                .tooManyRequests,
                message:
                    "the host keeps at most \(SessionBook.limit) sessions, \(SessionBook.limitPerCreator) of one worker's"
            )
        }
        if opened.created {
            var payload: [String: JSONValue] = ["session_id": .string(id), "created_by": .string(caller)]
            payload["agent"] = agent.map(JSONValue.string)
            bus.publish(kind: "session.created", payload: .object(payload), source: "host", sessionID: id)
        }
        var response = try Opened(session: opened.0, created: opened.created).response(from: request, context: context)
        response.status = opened.created ? .created : .ok
        return response
    }

    struct Ticket: ResponseEncodable {
        var ticket: String
        var expiresInSeconds: Int
    }

    /// `POST /api/ws-ticket`: a one-time ticket for a WebSocket upgrade (`?ticket=`), standing for the header's token.
    private func ticket(_ context: APIRequestContext) throws -> Ticket {
        guard let caller = context.caller, let tickets = credentials.tickets else {
            throw HTTPError(.unauthorized, message: "a ticket is given for an Authorization header's token")
        }
        guard let ticket = tickets.issue(for: caller) else {
            throw HTTPError(
                .tooManyRequests,
                message: "too many unused tickets (\(WebSocketTickets.limitPerCaller) per caller); try again in 30 s")
        }
        return Ticket(ticket: ticket, expiresInSeconds: Int(WebSocketTickets.lifetime.components.seconds))
    }

    /// `POST /api/workers/{name}/calls` `{"method", "params"}`: the worker's ctx calls for a `command:` worker,
    /// answered as `{"result": …}` or `{"error": {"type", "message", …}}`, exactly as over fd 3.
    private func call(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let name = context.parameters.get("name") ?? ""
        guard let runner = supervisor.runner(named: name), let services = runner.services else {
            throw HTTPError(.notFound, message: "no worker named '\(name)'")
        }
        let body = try await Self.object(
            request, "the body is a JSON object {\"method\", \"params\"}", upTo: Self.maxCallBody)
        guard let method = body["method"]?.stringValue else {
            throw HTTPError(.badRequest, message: "'method' is missing")
        }
        let timeout = Duration.seconds(checked: runner.status.tickTimeoutSeconds, upTo: 3600) ?? .seconds(60)
        let deadline = ContinuousClock.now + timeout
        let answer: JSONValue
        switch await services.handle(method: method, params: body["params"] ?? [:], deadline: deadline) {
        case .success(let result): answer = ["result": result]
        case .failure(let error):
            var fields = error.details
            fields["type"] = .string(error.kind.rawValue)
            fields["message"] = .string(error.message)
            answer = ["error": .object(fields)]
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: answer.jsonText())))
    }

    /// The request's body as a JSON object, read up to `maxBody`.
    static func object(_ request: Request, _ expected: String, upTo limit: Int = maxBody) async throws -> JSONValue {
        let bytes = try await request.body.collect(upTo: limit)
        if bytes.readableBytes == 0 { return [:] }  // then the first missing field is named
        guard let body = try? JSONValue(parsing: bytes.readableBytesView), body.objectValue != nil else {
            throw HTTPError(.badRequest, message: expected)
        }
        return body
    }
}

/// This build's version.
public enum BotyardVersion {
    public static let current = "0.11.0"
}
