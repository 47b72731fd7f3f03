/// How a subprocess worker is confined: limits a trader would not notice, and whether it may use the network.
///
/// Set host-wide with a top-level `sandbox:` in the manifest and per worker with `sandbox:` under the worker;
/// `sandbox: off` runs the worker unconfined (for debugging), which the host announces loudly at start.
public struct SandboxPolicy: Sendable, Equatable {
    /// Whether the worker runs in a bubblewrap sandbox at all.
    public var enabled = true
    /// The most memory (address space) its processes may map, in bytes. Default 512 MiB.
    public var memoryBytes = 512 * 1024 * 1024
    /// The most processes and threads it may run at once. Default 64.
    public var pids = 64
    /// The most files it may hold open at once. Default 256.
    public var files = 256
    /// Whether it may open network connections itself; without, `ctx.http` and its blocks are its only way out.
    public var network = true

    public init() {}

    /// The accepted ranges, checked by the manifest loader.
    static let memoryRange = (64 * 1024 * 1024)...(64 * 1024 * 1024 * 1024)
    static let pidsRange = 8...4096
    static let filesRange = 32...65536
}
