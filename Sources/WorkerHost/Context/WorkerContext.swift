import AdapterKit
import Foundation

/// What a compiled-in Swift worker gets as `ctx`: the same services a Python worker has.
public struct WorkerContext: Sendable {
    /// The worker's name, tick number and interval.
    public struct Info: Sendable {
        public var name: String
        /// The running tick's number (0 during setup).
        public var tick: Int
        public var interval: Duration
    }

    /// The running worker.
    public let worker: Info
    /// Persistent key-value state (`ctx.state`).
    public var state: State { State(services: services, deadline: deadline) }
    /// The worker's log (`ctx.log`).
    public var log: Log { Log(services: services) }
    /// HTTP requests (`ctx.http`).
    public var http: HTTP { HTTP(services: services, deadline: deadline) }
    /// The first connected Bybit block (`ctx.bybit`), or `nil` when the worker connects to none.
    public var bybit: Bybit? {
        services.blocks.first { $0.type == "bybit" }.map {
            Bybit(services: services, block: $0.name, deadline: deadline)
        }
    }

    let services: WorkerServices
    let deadline: ContinuousClock.Instant

    init(worker: Info, services: WorkerServices, deadline: ContinuousClock.Instant) {
        self.worker = worker
        self.services = services
        self.deadline = deadline
    }

    /// `ctx.state`: values are JSON, stored per worker, surviving restarts.
    public struct State: Sendable {
        let services: WorkerServices
        let deadline: ContinuousClock.Instant

        /// The value under `key`, or `nil`.
        /// - Throws: `CallError` for a bad key or a store failure.
        public func get(_ key: String) async throws -> JSONValue? {
            let reply = try await call("state.get", ["key": .string(key)])
            guard reply["found"]?.boolValue == true, let json = reply["json"]?.stringValue else { return nil }
            return try JSONValue(parsing: Data(json.utf8))
        }

        /// Stores `value` under `key`.
        /// - Throws: `CallError` (`valueError` for a key over 256 bytes or a value over 1 MiB).
        public func set(_ key: String, _ value: JSONValue) async throws {
            _ = try await call("state.set", ["key": .string(key), "json": .string(value.jsonText())])
        }

        /// Removes `key`. - Returns: whether it existed.
        public func delete(_ key: String) async throws -> Bool {
            try await call("state.delete", ["key": .string(key)]).boolValue ?? false
        }

        /// The keys starting with `prefix`, sorted.
        public func keys(prefix: String = "") async throws -> [String] {
            try await call("state.keys", ["prefix": .string(prefix)]).arrayValue?.compactMap(\.stringValue) ?? []
        }

        /// Adds `amount` to the integer under `key` (missing counts as 0). - Returns: the new value.
        public func incr(_ key: String, by amount: Int = 1) async throws -> Int {
            let json = try await call("state.incr", ["key": .string(key), "by": .number(Double(amount))]).stringValue
            guard let json, case .integer(let value)? = StateNumber(json: json), let integer = Int(exactly: value)
            else {
                throw CallError(.valueError, "state '\(key)' holds \(json ?? "nothing"), not a whole number")
            }
            return integer
        }

        private func call(_ method: String, _ params: JSONValue) async throws(CallError) -> JSONValue {
            try await services.handle(method: method, params: params, deadline: deadline).get()
        }
    }

    /// `ctx.log`: lines in the worker's log file and on the host's stdout.
    public struct Log: Sendable {
        let services: WorkerServices
        public func debug(_ message: String) { services.log.write(level: .debug, message) }
        public func info(_ message: String) { services.log.write(level: .info, message) }
        public func warn(_ message: String) { services.log.write(level: .warn, message) }
        public func error(_ message: String) { services.log.write(level: .error, message) }
    }

    /// `ctx.bybit`: Bybit V5 calls by pybit's method names, signed by the host.
    public struct Bybit: Sendable {
        let services: WorkerServices
        /// The block's name.
        public let block: String
        let deadline: ContinuousClock.Instant

        /// Calls a method such as `get_tickers` or `place_order` with pybit's keyword arguments.
        /// - Returns: the response envelope (`retCode`, `retMsg`, `result`, `retExtInfo`, `time`).
        /// - Throws: `CallError` (kind `bybitError` for a non-zero retCode, with `ret_code` in `details`).
        public func call(_ method: String, _ args: [String: JSONValue] = [:]) async throws(CallError) -> JSONValue {
            try await services.handle(
                method: "bybit." + method, params: ["block": .string(block), "args": .object(args)], deadline: deadline
            ).get()
        }
    }

    /// `ctx.http`: requests made by the host, bounded by the tick's deadline.
    public struct HTTP: Sendable {
        let services: WorkerServices
        let deadline: ContinuousClock.Instant

        /// A GET request. - Throws: `CallError`.
        public func get(_ url: String, params: [String: String] = [:], headers: [String: String] = [:])
            async throws -> HTTPService.Response
        {
            var request = HTTPService.Request(method: "GET", url: url)
            request.query = params.sorted { $0.key < $1.key }
            request.headers = headers.sorted { $0.key < $1.key }
            return try await services.http.perform(request, deadline: deadline)
        }

        /// A POST request with a JSON body. - Throws: `CallError`.
        public func post(_ url: String, json: JSONValue, headers: [String: String] = [:]) async throws
            -> HTTPService.Response
        {
            var request = HTTPService.Request(method: "POST", url: url)
            request.headers = [("Content-Type", "application/json")] + headers.sorted { $0.key < $1.key }
            request.body = json.jsonText()
            return try await services.http.perform(request, deadline: deadline)
        }
    }
}
