import Foundation
import GRDB

/// `ctx.state` in an embedded SQLite database (WAL mode) under the data directory.
///
/// Writes are committed before they are acknowledged; with WAL and `synchronous=NORMAL` a committed write
/// survives a crash of the host process (a power loss may lose the last transactions).
public final class SQLiteStateStore: StateStore {
    private let database: DatabasePool

    /// Opens (or creates) the database at `path`.
    /// - Throws: when the file cannot be opened or migrated.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(5)
        if !FileManager.default.fileExists(atPath: path) {  // SQLite gives its -wal and -shm files the same mode
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        database = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE state (
                        worker TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,
                        PRIMARY KEY (worker, key)) WITHOUT ROWID
                    """)
        }
        try migrator.migrate(database)
    }

    public func get(worker: String, key: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(
                db, sql: "SELECT value FROM state WHERE worker = ? AND key = ?", arguments: [worker, key])
        }
    }

    public func set(worker: String, key: String, json: String) async throws {
        try await database.write { db in try Self.put(db, worker: worker, key: key, json: json) }
    }

    public func delete(worker: String, key: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM state WHERE worker = ? AND key = ?", arguments: [worker, key])
            return db.changesCount > 0
        }
    }

    public func keys(worker: String, prefix: String) async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT key FROM state WHERE worker = ? AND substr(key, 1, ?) = ? ORDER BY key",
                arguments: [worker, prefix.unicodeScalars.count, prefix])
        }
    }

    public func increment(worker: String, key: String, by amount: StateNumber) async throws -> String {
        try await database.write { db in
            let current = try String.fetchOne(
                db, sql: "SELECT value FROM state WHERE worker = ? AND key = ?", arguments: [worker, key])
            var base = StateNumber.integer(0)
            if let current {
                guard let number = StateNumber(json: current) else { throw StateError.notANumber(key) }
                base = number
            }
            let sum = base + amount
            guard sum.doubleValue.isFinite else { throw StateError.overflow(key) }
            let updated = sum.json
            try Self.put(db, worker: worker, key: key, json: updated)
            return updated
        }
    }

    public func entries(worker: String) async throws -> [(key: String, json: String)] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT key, value FROM state WHERE worker = ? ORDER BY key", arguments: [worker])
                .map { (key: $0["key"] as String, json: $0["value"] as String) }
        }
    }

    private static func put(_ db: Database, worker: String, key: String, json: String) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO state (worker, key, value, updated_at) VALUES (?, ?, ?, ?)",
            arguments: [worker, key, json, Date().timeIntervalSince1970])
    }
}
