import Foundation
import Hummingbird
import Synchronization

/// A worker process's environment, layered as the seed says (later wins): the host's whitelisted variables
/// (never a block secret), `BOTYARD_FLAG__<FLAG>=1|0` for every declared flag, the manifest's `env:`, then the
/// runtime variables, which `env:` cannot set.
enum WorkerEnvironment {
    static func layered(
        _ spec: WorkerSpec, host: [String: String], runtime: RuntimeVariables
    ) -> [String: String] {
        var environment: [String: String] = [:]
        for name in PythonRuntime.inheritedVariables { environment[name] = host[name] }
        for (flag, on) in spec.flags { environment[FlagName.variable(flag)] = on ? "1" : "0" }
        environment.merge(spec.environment) { _, declared in declared }
        environment["BOTYARD_WORKER"] = spec.name
        environment["BOTYARD_ROOT"] = spec.workingDirectory
        environment["BOTYARD_RUNTIME_URL"] = runtime.url
        environment["BOTYARD_RUNTIME_ID"] = runtime.id
        environment["BOTYARD_RUNTIME_TOKEN"] = runtime.token(for: spec.name)
        return environment
    }
}

/// What the host tells a worker about itself: its API's URL, this run's id, and a token scoped to the worker.
final class RuntimeVariables: Sendable {
    /// This run of the host.
    let id = UUID().uuidString.lowercased()
    private let address = Mutex<String?>(nil)
    private let tokens = Mutex<[String: String]>([:])
    private let restarts = Mutex<[String: Set<String>]>([:])

    init(url: String? = nil) {
        address.withLock { $0 = url }
    }

    /// The API's URL once the server listens (`http://127.0.0.1:<port>`).
    var url: String? { address.withLock { $0 } }

    func listening(hostname: String, port: Int) {
        address.withLock { $0 = "http://\(hostname):\(port)" }
    }

    /// Waits (bounded) until the API listens, so that workers start with its URL.
    func waitUntilListening(within timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while url == nil, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { return }
        }
    }

    /// The worker's token: random, kept in memory for this run only.
    func token(for worker: String) -> String {
        tokens.withLock { tokens in
            if let token = tokens[worker] { return token }
            var generator = SystemRandomNumberGenerator()
            let token = (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
            tokens[worker] = token
            return token
        }
    }

    /// Records the workers `worker` may restart (`may_restart:`), replacing what an earlier manifest said.
    func allow(_ worker: String, toRestart names: [String]) {
        restarts.withLock { $0[worker] = Set(names) }
    }

    /// The workers `worker` may restart.
    func mayRestart(_ worker: String) -> Set<String> {
        restarts.withLock { $0[worker] ?? [] }
    }

    /// Whether `token` is the one given to `worker`.
    func isToken(_ token: String, of worker: String) -> Bool {
        tokens.withLock { $0[worker] } == token
    }

    /// The worker whose token this is (compared in constant time with every worker's).
    func worker(forToken token: String) -> String? {
        let given = Array(token.utf8)
        var found: String?
        for (worker, own) in tokens.withLock({ $0 })
        where Credentials.constantTimeEqual(given, Array(own.utf8)) {
            found = worker
        }
        return found
    }
}
