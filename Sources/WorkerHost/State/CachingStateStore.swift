import Synchronization

/// A write-through read cache in front of another store, so that `ctx.state.get` is a dictionary lookup.
///
/// Writes go to the backing store first and reach the cache only once acknowledged, so the cache never
/// holds a value the store does not. A read that missed remembers its answer only if no write happened
/// meanwhile, so a slow read can never overwrite a newer `set`. Absent keys are not cached, and keys count
/// toward the budget with their values, so probing absent keys never grows it. It is coherent while this
/// host is the only writer of its namespaces (one host per data directory). When it holds more than
/// `budgetBytes` it starts over empty.
public final class CachingStateStore: StateStore {
    private struct Cache {
        var values: [String: [String: String]] = [:]  // worker → key → JSON text
        var bytes = 0
        /// Bumped by every write, so that a read that started before one knows its answer may be stale.
        var writes: UInt64 = 0
    }

    private let backing: any StateStore
    private let budgetBytes: Int
    private let cache = Mutex(Cache())

    /// A cache of at most `budgetBytes` of keys and values in front of `backing`.
    public init(backing: any StateStore, budgetBytes: Int = 64 * 1024 * 1024) {
        self.backing = backing
        self.budgetBytes = budgetBytes
    }

    /// The cached value: `.some(json)` when cached, `nil` when the store must be asked.
    public func cachedValue(worker: String, key: String) -> String?? {
        cache.withLock { $0.values[worker]?[key] }.map { .some($0) }
    }

    /// How many bytes of keys and values the cache holds.
    public var cachedBytes: Int { cache.withLock { $0.bytes } }

    public func get(worker: String, key: String) async throws -> String? {
        if let cached = cachedValue(worker: worker, key: key) { return cached }
        let before = cache.withLock { $0.writes }
        let json = try await backing.get(worker: worker, key: key)
        if let json { remember(worker, key, json, ifNoWriteSince: before) }
        return json
    }

    public func set(worker: String, key: String, json: String) async throws {
        try await backing.set(worker: worker, key: key, json: json)
        remember(worker, key, json)
    }

    public func delete(worker: String, key: String) async throws -> Bool {
        let existed = try await backing.delete(worker: worker, key: key)
        remember(worker, key, nil)
        return existed
    }

    public func keys(worker: String, prefix: String) async throws -> [String] {
        try await backing.keys(worker: worker, prefix: prefix)
    }

    public func increment(worker: String, key: String, by amount: StateNumber) async throws -> String {
        let json = try await backing.increment(worker: worker, key: key, by: amount)
        remember(worker, key, json)
        return json
    }

    public func entries(worker: String) async throws -> [(key: String, json: String)] {
        try await backing.entries(worker: worker)
    }

    /// Records a value (or, for `nil`, forgets the key); a read's answer only if no write came in between.
    private func remember(_ worker: String, _ key: String, _ json: String?, ifNoWriteSince read: UInt64? = nil) {
        cache.withLock { cache in
            if let read {
                guard cache.writes == read else { return }
            } else {
                cache.writes &+= 1
            }
            let previous = cache.values[worker]?[key]
            cache.bytes -= previous.map { $0.utf8.count + key.utf8.count } ?? 0
            cache.values[worker]?[key] = nil
            guard let json else { return }
            let size = json.utf8.count + key.utf8.count
            if cache.bytes + size > budgetBytes {
                cache.values = [:]
                cache.bytes = 0
            }
            guard size <= budgetBytes else { return }
            cache.values[worker, default: [:]][key] = json
            cache.bytes += size
        }
    }
}
