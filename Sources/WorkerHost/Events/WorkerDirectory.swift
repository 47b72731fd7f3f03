import AdapterKit
import Synchronization

/// The host's workers by name, for what one worker asks of another (`client.restart_worker`).
///
/// Filled once the runners exist; ctx calls made before that find no worker.
final class WorkerDirectory: Sendable {
    private let runners = Mutex<[String: WorkerRunner]>([:])
    /// When each worker was last restarted by a peer: a worker restarting itself (or another) in a loop is
    /// refused until `restartInterval` has passed.
    private let restarted = Mutex<[String: ContinuousClock.Instant]>([:])
    static let restartInterval = Duration.seconds(5)
    /// Who may restart whom (`may_restart:`; the host always has it, so a worker restarts only what it lists).
    /// Without it (a test's harness), any worker may restart any other.
    private let permissions: RuntimeVariables?

    init(permissions: RuntimeVariables? = nil) {
        self.permissions = permissions
    }

    /// Makes `list` the workers (after a reload, the old ones are gone).
    func replace(with list: [WorkerRunner]) {
        let byName = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        runners.withLock { $0 = byName }
    }

    func runner(named name: String) -> WorkerRunner? {
        runners.withLock { $0[name] }
    }

    /// Restarts a worker on behalf of another.
    func restart(_ name: String, by worker: String) -> Result<JSONValue, CallError> {
        guard let runner = runner(named: name) else {
            return .failure(Self.refusal(.valueError, "no worker named '\(name)'", .unknown))
        }
        if let permissions, !permissions.mayRestart(worker).contains(name) {
            return .failure(
                Self.refusal(
                    .runtime, "\(worker) may not restart \(name); list it under \(worker)'s 'may_restart:'", .forbidden)
            )
        }
        let now = ContinuousClock.now
        let recent = restarted.withLock { restarted in
            if let last = restarted[name], now < last + Self.restartInterval { return true }
            restarted[name] = now
            return false
        }
        if recent {
            let wait = DurationText.format(Self.restartInterval)
            return .failure(
                Self.refusal(.runtime, "\(name) was restarted by a worker less than \(wait) ago; try later", .tooSoon))
        }
        do throws(LifecycleStateMachine.Refusal) {
            try runner.send(.restart(reason: "restart requested by worker \(worker)"))
        } catch {
            return .failure(Self.refusal(.runtime, "cannot restart \(name): \(error)", .refused))
        }
        return .success(["worker": .string(name), "state": .string(runner.status.state.rawValue)])
    }

    /// Why a restart was refused, as `details["refusal"]` of the `CallError` (the HTTP route maps it to a status).
    enum Refusal: String {
        case unknown, forbidden, tooSoon = "too_soon", refused
    }

    private static func refusal(_ kind: CallError.Kind, _ message: String, _ why: Refusal) -> CallError {
        var error = CallError(kind, message)
        error.details["refusal"] = .string(why.rawValue)
        return error
    }
}
