import AdapterKit
import Foundation

/// The ctx calls of event workers: publishing on the host's bus and restarting a peer.
extension WorkerServices {
    /// `events.publish` {kind, payload}: `{"event_id", "seq"}`.
    func publish(_ params: JSONValue) throws(CallError) -> JSONValue {
        guard let bus else { throw CallError(.runtime, "this host has no event bus") }
        guard let kind = params["kind"]?.stringValue else { throw CallError(.valueError, "publish needs a 'kind'") }
        if let problem = EventKind.problem(publishing: kind) { throw CallError(.valueError, problem) }
        var payload = params["payload"] ?? [:]
        guard payload.objectValue != nil else { throw CallError(.valueError, "an event's payload is a JSON object") }
        if kind == "notify" {
            switch EventKind.notification(payload, source: worker) {
            case .success(let checked): payload = checked
            case .failure(let refusal): throw CallError(.valueError, refusal.message)
            }
        }
        let size = payload.jsonText().utf8.count
        guard size <= EventKind.maxPayloadBytes else {
            throw CallError(.valueError, "the payload is \(size) bytes; the limit is \(EventKind.maxPayloadBytes)")
        }
        let envelope = bus.publish(kind: kind, payload: payload, source: worker, size: size)
        return ["event_id": .string(envelope.eventID), "seq": .number(Double(envelope.seq))]
    }

    /// `workers.restart` {name}.
    func restartPeer(_ params: JSONValue) throws(CallError) -> JSONValue {
        guard let name = params["name"]?.stringValue, !name.isEmpty else {
            throw CallError(.valueError, "restart_worker needs a worker's name")
        }
        guard let directory else { throw CallError(.runtime, "this host cannot restart workers") }
        switch directory.restart(name, by: worker) {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }
}
