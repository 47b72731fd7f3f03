import Synchronization

/// A write-through read cache in front of another store, so that `ctx.state.get` is a dictionary lookup.
///
/// Writes go to the backing store first and reach the cache only once acknowledged, so the cache never
/// holds a value the store does not. It is coherent while this host is the only writer of its namespaces
/// (one host per data directory). When it holds more than `budgetBytes` of values it starts over empty.
public final class CachingStateStore: StateStore {
    private struct Cache {
        var values: [String: [String: String?]] = [:]  // worker → key → JSON text (nil: known missing)
        var bytes = 0
    }

    private let backing: any StateStore
    private let budgetBytes: Int
    private let cache = Mutex(Cache())

    /// A cache of at most `budgetBytes` of values in front of `backing`.
    public init(backing: any StateStore, budgetBytes: Int = 64 * 1024 * 1024) {
        self.backing = backing
        self.budgetBytes = budgetBytes
    }

    public func cachedValue(worker: String, key: String) -> String?? {
        cache.withLock { $0.values[worker]?[key] }
    }

    public func get(worker: String, key: String) async throws -> String? {
        if let cached = cachedValue(worker: worker, key: key) { return cached }
        let json = try await backing.get(worker: worker, key: key)
        remember(worker, key, json)
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

    private func remember(_ worker: String, _ key: String, _ json: String?) {
        cache.withLock { cache in
            let previous = cache.values[worker]?[key] ?? nil
            cache.bytes += (json?.utf8.count ?? 0) - (previous?.utf8.count ?? 0)
            if cache.bytes > budgetBytes {
                cache = Cache()
                cache.bytes = json?.utf8.count ?? 0
            }
            cache.values[worker, default: [:]][key] = .some(json)
        }
    }
}
