import Hummingbird

/// What a worker's own token (`BOTYARD_RUNTIME_TOKEN`) may do: publish events and notifications, read the
/// runtime's health, and read its own worker's status, state and log. Nothing else: not another worker's
/// state, not a stop, a deploy or a reload.
enum WorkerScope {
    static func allows(_ method: HTTPRequest.Method, _ path: String, worker: String) -> Bool {
        let own = "/api/workers/\(worker)"
        switch method {
        case .post: return path == "/api/events"
        case .get, .head:
            return path == "/api/runtime" || path == own || path == own + "/state" || path == own + "/logs"
        default: return false
        }
    }

    static func refusal(worker: String) -> String {
        "worker '\(worker)''s token may publish (POST /api/events), read /api/runtime and its own "
            + "/api/workers/\(worker) (status, state, logs); nothing else"
    }
}
