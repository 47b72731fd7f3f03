import AdapterKit
import Foundation
import Hummingbird

/// The runtime API for workers in any language: publishing events and reading the runtime's health.
///
/// `POST /api/events` `{"kind", "payload"}` publishes on the host's bus as the caller (a worker's token
/// publishes as that worker, the admin token as `operator`); the host's own prefixes are refused with 400.
/// `GET /api/runtime` is the workers with their states, reasons and statistics, the uptime and the version.
struct RuntimeRoutes: Sendable {
    let supervisor: Supervisor
    let bus: EventBus
    let runtime: RuntimeVariables
    let started = Date()

    /// The severities a `notify` may carry.
    static let severities: Set<String> = ["info", "warning", "error", "success"]
    /// The largest body `POST /api/events` reads.
    static let maxBody = EventKind.maxPayloadBytes + 4096

    func add(to api: RouterGroup<BasicRequestContext>) {
        api.post("events") { request, context in try await publish(request, context) }
        api.get("runtime") { _, _ in health() }
    }

    struct Published: ResponseEncodable {
        var eventID: String
        var seq: Int
        var source: String
    }

    private func publish(_ request: Request, _ context: BasicRequestContext) async throws -> Published {
        let bytes = try await request.body.collect(upTo: Self.maxBody)
        guard let body = try? JSONValue(parsing: bytes.readableBytesView), body.objectValue != nil else {
            throw HTTPError(.badRequest, message: "the body is a JSON object {\"kind\", \"payload\"}")
        }
        guard let kind = body["kind"]?.stringValue else { throw HTTPError(.badRequest, message: "'kind' is missing") }
        if let problem = EventKind.problem(publishing: kind) { throw HTTPError(.badRequest, message: problem) }
        let source =
            TokenMiddleware<BasicRequestContext>.bearer(request).flatMap(runtime.worker(forToken:))
            ?? "operator"
        var payload = body["payload"] ?? [:]
        guard payload.objectValue != nil else { throw HTTPError(.badRequest, message: "'payload' is a JSON object") }
        if kind == "notify" { payload = try notification(payload, source: source) }
        let size = payload.jsonText().utf8.count
        guard size <= EventKind.maxPayloadBytes else {
            throw HTTPError(
                .badRequest, message: "the payload is \(size) bytes; the limit is \(EventKind.maxPayloadBytes)")
        }
        let envelope = bus.publish(kind: kind, payload: payload, source: source, size: size)
        return Published(eventID: envelope.eventID, seq: envelope.seq, source: source)
    }

    /// A `notify` payload checked: a `title`, a known `severity` (default `info`), text `body` and `source`.
    private func notification(_ payload: JSONValue, source: String) throws -> JSONValue {
        guard var fields = payload.objectValue, let title = fields["title"]?.stringValue, !title.isEmpty else {
            throw HTTPError(.badRequest, message: "a notify payload needs a 'title'")
        }
        let severity = fields["severity"]?.stringValue ?? "info"
        guard Self.severities.contains(severity) else {
            throw HTTPError(
                .badRequest,
                message: "severity '\(severity)' is not one of \(Self.severities.sorted().joined(separator: ", "))")
        }
        for field in ["body", "source"] where fields[field] != nil && fields[field]?.stringValue == nil {
            throw HTTPError(.badRequest, message: "a notify '\(field)' is text")
        }
        fields["title"] = .string(title)
        fields["severity"] = .string(severity)
        fields["source"] = fields["source"] ?? .string(source)
        return .object(fields)
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
}

/// This build's version.
public enum BotyardVersion {
    public static let current = "0.10.0"
}
