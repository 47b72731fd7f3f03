import AdapterKit
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WorkerHost

/// A `botyard` binary run as a real process on a temporary data directory, for end-to-end tests.
final class HostProcess: @unchecked Sendable {  // process handles are only touched by the owning test
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["BOTYARD_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [beside, beside.deletingLastPathComponent()] {
            let candidate = folder.appendingPathComponent("botyard").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/botyard").standardized.path
    }()

    let directory: URL
    let data: DataDirectory
    let process = Process()
    let outputFile: URL

    /// A temporary folder for a test's scripts, manifest and data.
    init() throws {
        keepFolder = false
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("botyard-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        data = DataDirectory(path: directory.appendingPathComponent("data").path)
        outputFile = directory.appendingPathComponent("host-output.txt")
    }

    /// A second host on the same folder and data directory (after the first one ended).
    init(reusing other: HostProcess) throws {
        directory = other.directory
        data = other.data
        outputFile = other.directory.appendingPathComponent("host-output-\(UUID().uuidString).txt")
        keepFolder = true
    }

    private var keepFolder = false

    deinit {
        if process.isRunning { process.terminate() }
        if !keepFolder { try? FileManager.default.removeItem(at: directory) }  // best effort cleanup
    }

    /// Keeps the test folder after the test (for a failure's screenshot).
    func keep() { keepFolder = true }

    /// Writes a file in the test folder.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs `botyard` with `arguments` to completion (for `check` and one-shot runs).
    func runToEnd(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (
        status: Int32, output: String
    ) {
        let once = Process()
        once.executableURL = URL(fileURLWithPath: Self.binary)
        once.arguments = arguments
        once.currentDirectoryURL = directory
        let file = directory.appendingPathComponent("once-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        once.standardOutput = handle
        once.standardError = handle
        try once.run()
        let deadline = ContinuousClock.now + timeout
        while once.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if once.isRunning { once.terminate() }
        once.waitUntilExit()
        try handle.close()
        return (once.terminationStatus, String(decoding: try Data(contentsOf: file), as: UTF8.self))
    }

    /// Starts `botyard run` on `target` in the background and waits for its API.
    func start(
        _ target: String, _ extra: [String] = [], environment: [String: String] = [:], in folder: URL? = nil
    ) async throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["run", target, "--data-dir", data.path, "--port", "0"] + extra
        process.currentDirectoryURL = folder ?? directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try await waitUntil("the host's API is up", timeout: .seconds(30)) {
            !self.process.isRunning || self.data.readHostInfo() != nil
        }
        guard process.isRunning else { throw Timeout(what: "the host's API is up, but it exited", output: output) }
    }

    /// Everything the host printed so far.
    var output: String {
        (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
    }

    /// Kills the host with SIGKILL, as a crash would.
    func crash() async throws {
        kill(process.processIdentifier, SIGKILL)
        try await waitUntil("the host is gone") { !self.process.isRunning }
        try? FileManager.default.removeItem(atPath: data.hostFile)  // a crashed host leaves it behind
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit status.
    func interrupt(timeout: Duration = .seconds(30)) async throws -> Int32 {
        process.interrupt()
        try await waitUntil("the host exits", timeout: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }

    /// Sends SIGTERM (as a service manager would) and waits for the exit status.
    /// - Returns: the status and how long the host took to exit.
    func terminate(timeout: Duration = .seconds(60)) async throws -> (status: Int32, took: Duration) {
        let sent = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        try await waitUntil("the host exits after SIGTERM", timeout: timeout) { !self.process.isRunning }
        return (process.terminationStatus, sent.duration(to: .now))
    }

    /// The host's resident memory in KiB (`VmRSS` from `/proc`), or nil once it has exited.
    var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// A call to the host's API; the reply's JSON (an error's JSON on a non-2xx status).
    func api(_ method: ControlClient.Method, _ path: String, body: String? = nil, token: String? = nil) async throws
        -> (status: Int, json: JSONValue)
    {
        let port = data.readHostInfo()?.port ?? 0
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method == .get ? .GET : .POST
        if let bearer = token ?? data.readToken() {
            request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let json = (try? JSONValue(parsing: Data(bytes.readableBytesView))) ?? .string(String(buffer: bytes))
        return (Int(response.status.code), json)
    }

    /// One worker's status.
    func worker(_ name: String) async throws -> JSONValue {
        try await api(.get, "/api/workers/\(name)").json
    }

    /// One worker's state value (its JSON text), or nil.
    func state(_ name: String, _ key: String) async throws -> String? {
        let entries = try await api(.get, "/api/workers/\(name)/state").json["entries"]?.arrayValue ?? []
        return entries.first { $0["key"]?.stringValue == key }?["json"]?.stringValue
    }

    /// The worker's log file.
    func log(_ name: String) -> String {
        (try? String(contentsOfFile: "\(data.logs)/worker-\(name).log", encoding: .utf8)) ?? ""
    }

    /// Polls `condition` until it holds.
    /// - Throws: `Timeout` naming what was awaited, with the host's output.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), _ condition: @escaping () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Timeout(what: what, output: output)
    }

    struct Timeout: Error, CustomStringConvertible {
        var what: String
        var output: String
        var description: String { "timed out waiting until \(what); host output:\n\(output.suffix(3000))" }
    }
}

extension HostProcess {
    /// Runs `bench/<name> --smoke` with this build's host, as a test does to keep a benchmark working.
    /// - Returns: its exit status and everything it printed.
    static func smokeBenchmark(_ name: String) throws -> (status: Int32, output: String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../bench/\(name)").standardized.path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--smoke"]
        process.environment = ProcessInfo.processInfo.environment.merging(["BOTYARD_BIN": binary]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
