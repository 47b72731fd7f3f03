import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every worker process group the host has started and not yet reaped, so that the host's last act can
/// SIGKILL whatever is left, whatever path its shutdown took.
public final class ChildRegistry: Sendable {
    private let groups = Mutex<Set<pid_t>>([])

    public init() {}

    /// Records a child that leads its own process group.
    func insert(_ pid: pid_t) {
        groups.withLock { _ = $0.insert(pid) }
    }

    /// Forgets a child once it has been reaped.
    func remove(_ pid: pid_t) {
        groups.withLock { _ = $0.remove(pid) }
    }

    /// Sends SIGKILL to every registered group.
    /// - Returns: how many groups were signalled.
    @discardableResult
    public func killAll() -> Int {
        let all = groups.withLock { groups in
            defer { groups.removeAll() }
            return groups
        }
        for pid in all { kill(-pid, SIGKILL) }
        return all.count
    }
}
