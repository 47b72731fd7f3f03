#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-wide defences of the host itself.
enum Hardening {
    private typealias Prctl = @convention(c) (CInt, UInt, UInt, UInt, UInt) -> CInt

    /// Makes the host non-dumpable (`PR_SET_DUMPABLE` 0): no core file holds its secrets, and no process of
    /// another uid (nor its own, without `CAP_SYS_PTRACE`) can read its `/proc/<pid>/environ` or memory.
    static func makeUndumpable() {
        #if os(Linux)
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "prctl") else { return }
            let prctl = unsafeBitCast(symbol, to: Prctl.self)
            _ = prctl(4, 0, 0, 0, 0)  // PR_SET_DUMPABLE = 4
        #endif
    }

    /// Whether the process runs as root (then each worker runs as its own unprivileged uid).
    static var isRoot: Bool { geteuid() == 0 }
}
