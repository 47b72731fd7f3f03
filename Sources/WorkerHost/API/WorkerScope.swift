import Hummingbird

/// What a worker's own token (`BOTYARD_RUNTIME_TOKEN`) may do: publish events and notifications, read the event
/// streams and the runtime's health, use sessions, read its own worker's status, state and log, and restart the
/// workers its manifest entry lists under `may_restart:`. Nothing else: not another worker's state, not a stop,
/// a deploy or a reload.
enum WorkerScope {
    static func allows(_ method: HTTPRequest.Method, _ path: String, worker: String, mayRestart: Set<String>) -> Bool {
        let own = "/api/workers/\(worker)"
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        switch method {
        case .post:
            if ["/api/events", "/api/sessions", "/api/ws-ticket", own + "/calls"].contains(path) { return true }
            // /api/sessions/<id>/events and /api/workers/<name>/restart
            if parts.count == 5, parts[1] == "api", parts[2] == "sessions", parts[4] == "events" { return true }
            return parts.count == 5 && parts[1] == "api" && parts[2] == "workers" && parts[4] == "restart"
                && mayRestart.contains(String(parts[3]))
        case .get, .head:
            return ["/api/runtime", "/api/sessions", "/api/events/ws", "/api/events/stream"].contains(path)
                || path == own || path == own + "/state" || path == own + "/logs"
        default: return false
        }
    }

    static func refusal(worker: String, mayRestart: Set<String>) -> String {
        let restart =
            mayRestart.isEmpty
            ? "restart no worker (list them under its 'may_restart:')"
            : "restart \(mayRestart.sorted().joined(separator: ", "))"
        return "worker '\(worker)''s token may publish events, read the event streams, /api/runtime and "
            + "/api/sessions, use its own /api/workers/\(worker) (status, state, logs, calls) and \(restart); nothing else"
    }
}
