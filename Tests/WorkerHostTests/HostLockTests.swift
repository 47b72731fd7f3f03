import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import WorkerHost

/// One host per data directory, and a taken port refused before anything starts.
struct HostLockTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)").path

    @Test func aSecondLockOnOneDataDirectoryIsRefusedNamingTheHolder() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let first = try HostLock.acquire(folder + "/lock")
        do {
            _ = try HostLock.acquire(folder + "/lock")
            Issue.record("two locks on one data directory")
        } catch {
            #expect(error.message.contains("pid \(getpid())"))
            #expect(error.message.contains("already running"))
        }
        withExtendedLifetime(first) {}
    }

    @Test func theLockIsFreeAgainOnceReleased() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        do { _ = try HostLock.acquire(folder + "/lock") }
        _ = try HostLock.acquire(folder + "/lock")
    }

    @Test func aTakenPortIsAnImmediateClearError() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        do {
            try PortCheck.ensureFree(hostname: "127.0.0.1", port: port)
            Issue.record("a taken port passed")
        } catch {
            #expect(error.message == "port \(port) is in use (another botyard? use --port)")
        }
        try await server.close()
        try PortCheck.ensureFree(hostname: "127.0.0.1", port: port)
        #expect(throws: HostError.self) { try PortCheck.ensureFree(hostname: "127.0.0.1", port: 70_000) }
    }
}
