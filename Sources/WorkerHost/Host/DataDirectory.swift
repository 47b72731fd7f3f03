import Foundation

/// The host's files: state database, logs, deployed code, the admin token and the running host's port.
public struct DataDirectory: Sendable {
    /// The directory itself.
    public let path: String

    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardized.path
    }

    public var logs: String { path + "/logs" }
    public var stateDatabase: String { path + "/state.sqlite" }
    public var tokenFile: String { path + "/admin.token" }
    public var hostFile: String { path + "/host.json" }
    /// The lock one running host holds (see `HostLock`).
    public var lockFile: String { path + "/lock" }
    /// The folder holding each worker's private scratch folder.
    public var scratch: String { path + "/scratch" }

    /// Creates the directory and its subfolders.
    /// - Throws: when they cannot be created.
    public func prepare() throws {
        for folder in [path, logs, path + "/code"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        // State, logs and tokens are the host's alone, also those written before this rule.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        let manager = FileManager.default
        let logFiles = ((try? manager.contentsOfDirectory(atPath: logs)) ?? []).map { logs + "/" + $0 }  // none yet
        let stateFiles = ["", "-wal", "-shm"].map { stateDatabase + $0 }
        for file in logFiles + stateFiles where manager.fileExists(atPath: file) {
            try? manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)  // best effort: not ours
        }
    }

    /// The read-only token for dashboards.
    public var viewerTokenFile: String { path + "/viewer.token" }

    /// The admin token, generated into `admin.token` (mode 0600) on first use.
    /// - Throws: when the file cannot be read or written.
    public func adminToken() throws -> String {
        try token(in: tokenFile)
    }

    /// The viewer token (read-only: dashboards, status, logs), generated into `viewer.token` on first use.
    /// - Throws: when the file cannot be read or written.
    public func viewerToken() throws -> String {
        try token(in: viewerTokenFile)
    }

    /// The admin token, if the host has made one.
    public func readToken() -> String? {
        Self.read(tokenFile)
    }

    /// The viewer token, if the host has made one.
    public func readViewerToken() -> String? {
        Self.read(viewerTokenFile)
    }

    private func token(in file: String) throws -> String {
        if let existing = Self.read(file) { return existing }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        guard
            FileManager.default.createFile(
                atPath: file, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file]) }
        return token
    }

    private static func read(_ file: String) -> String? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Where the running host listens, for the CLI.
    public struct HostInfo: Codable, Sendable {
        public var port: Int
        public var pid: Int32
    }

    /// Records where the running host listens.
    public func writeHostInfo(_ info: HostInfo) throws {
        try JSONEncoder().encode(info).write(to: URL(fileURLWithPath: hostFile), options: .atomic)
    }

    /// Where the running host listens, if one has said so.
    public func readHostInfo() -> HostInfo? {
        guard let data = FileManager.default.contents(atPath: hostFile) else { return nil }
        return try? JSONDecoder().decode(HostInfo.self, from: data)  // a stale or partial file means "unknown"
    }

    /// The event numbers' high-water mark: the last `seq` used (after a clean stop) or reserved (while running).
    public var eventSeqFile: String { path + "/events.seq" }

    /// The `seq` the next run's events follow: 0 when there is no file, `nil` when it cannot be read as one.
    public func readEventSeq() -> Int? {
        guard let text = Self.read(eventSeqFile) else {
            return FileManager.default.fileExists(atPath: eventSeqFile) ? nil : 0
        }
        if !text.isEmpty, text.count > 18, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) {
            return EventBus.maxStart  // past any real count: the numbers still never go back
        }
        guard let seq = Int(text), seq >= 0 else { return nil }
        return min(seq, EventBus.maxStart)
    }

    public func writeEventSeq(_ seq: Int) throws {
        try Data("\(seq)\n".utf8).write(to: URL(fileURLWithPath: eventSeqFile), options: .atomic)
    }

    /// Stores a new code revision for `worker`.
    /// - Returns: its number and path.
    public func storeRevision(worker: String, code: String) throws -> (number: Int, path: String) {
        let folder = "\(path)/code/\(worker)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let number = (latestRevision(worker: worker)?.number ?? 0) + 1  // file names above 1e9 are ignored
        let file = "\(folder)/rev-\(number).py"
        try Data(code.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        return (number, file)
    }

    /// The newest deployed revision of `worker`, if any.
    public func latestRevision(worker: String) -> (number: Int, path: String, modified: Date)? {
        let folder = "\(path)/code/\(worker)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []  // no folder: none deployed
        let numbers = names.compactMap { name -> Int? in
            guard name.hasPrefix("rev-"), name.hasSuffix(".py"), let number = Int(name.dropFirst(4).dropLast(3)),
                (1...1_000_000_000).contains(number)
            else { return nil }
            return number
        }
        guard let number = numbers.max() else { return nil }
        let file = "\(folder)/rev-\(number).py"
        return (number, file, Self.modified(file))
    }

    /// When `path` was last written, or the distant past when it cannot be read.
    static func modified(_ path: String) -> Date {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)  // unreadable: treated as oldest
        return attributes?[.modificationDate] as? Date ?? .distantPast
    }
}
