import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The exclusive lock (`flock`) one host holds on `<data-dir>/lock` for its whole life, so that two hosts never
/// run the same workers; the kernel drops it when the process ends, however it ends.
public final class HostLock: Sendable {
    private let fd: CInt

    private init(fd: CInt) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// Takes the lock on `path`, writing this process's pid into it.
    /// - Throws: `HostError` naming the pid that holds it, or why the file cannot be opened.
    public static func acquire(_ path: String) throws(HostError) -> HostLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw HostError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readPID(fd)
            close(fd)
            let who = holder.map { "another botyard (pid \($0))" } ?? "another botyard"
            throw HostError("\(who) is already running on this data directory (\(path)); stop it or use --data-dir")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }  // informative only
        return HostLock(fd: fd)
    }

    private static func readPID(_ fd: CInt) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: bytes[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The host cannot start; the message says why and what to do.
public struct HostError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(_ message: String) {
        self.message = message
    }
}

/// Checks before anything starts that the control API's port is free, so that a taken port is an immediate,
/// clear error rather than a host half started.
enum PortCheck {
    /// - Throws: `HostError` when `port` on `hostname` (an IPv4 address) is in use.
    static func ensureFree(hostname: String, port: Int) throws(HostError) {
        guard (0...65535).contains(port) else { throw HostError("port \(port) is out of range (0 to 65535)") }
        guard port != 0 else { return }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let host = hostname == "localhost" ? "127.0.0.1" : hostname
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return }  // not IPv4: the server will say
        let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var one: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0, errno == EADDRINUSE {
            throw HostError("port \(port) is in use (another botyard? use --port)")
        }
    }
}
