import AdapterKit
import Exchanges
import Foundation
import Monitor
import Synchronization

/// The ctx services of one worker — `state`, `log`, `http` and its connected blocks — shared by Python workers (through ctx calls on
/// the worker protocol) and Swift workers (through `WorkerContext`).
public final class WorkerServices: Sendable {
    /// The worker's name, which is also its state namespace.
    public let worker: String
    let store: any StateStore
    let log: WorkerLog
    let http: HTTPService
    /// The blocks of the worker's `connect:`, in that order.
    let blocks: [ConnectedBlock]
    /// The host's event bus, for `events.publish`.
    let bus: EventBus?
    /// The other workers, for `workers.restart`.
    let directory: WorkerDirectory?
    private let orderIDs: Mutex<OrderIDState>

    private struct OrderIDState {
        let hostStart = Int64(Date().timeIntervalSince1970 * 1000)
        var tick = 0
        var sequence = 0
    }

    init(
        worker: String, store: any StateStore, log: WorkerLog, http: HTTPService, blocks: [ConnectedBlock] = [],
        bus: EventBus? = nil, directory: WorkerDirectory? = nil
    ) {
        self.worker = worker
        self.bus = bus
        self.directory = directory
        self.store = store
        self.log = log
        self.http = http
        self.blocks = blocks
        self.orderIDs = Mutex(OrderIDState())
    }

    /// The blocks as the worker's `init` frame lists them: name and type.
    var blockList: [(name: String, type: String)] { blocks.map { ($0.name, $0.type) } }

    /// Notes the tick now running (0 for setup), which derived orderLinkIds carry.
    func beginTick(_ number: Int) {
        orderIDs.withLock { state in
            if state.tick != number { state.sequence = 0 }
            state.tick = number
        }
    }

    /// Answers one ctx call from a worker.
    /// - Parameters:
    ///   - method: the call's name, e.g. `state.get`.
    ///   - params: its arguments.
    ///   - deadline: when the worker's tick (or setup) runs out of time.
    func handle(method: String, params: JSONValue, deadline: ContinuousClock.Instant) async -> Result<
        JSONValue, CallError
    > {
        do {
            switch method {
            case "state.get", "state.set", "state.delete", "state.keys", "state.incr":
                return .success(try await state(method, params))
            case "http.request":
                return .success(try await httpRequest(params, deadline: deadline))
            case _ where method.hasPrefix("bybit."):
                return .success(try await bybit(String(method.dropFirst(6)), params, deadline: deadline))
            case "monitor.update":
                return .success(try monitor(params))
            case "events.publish":
                return .success(try publish(params))
            case "workers.restart":
                return .success(try restartPeer(params))
            default:
                return .failure(CallError(.unknownCall, "unknown ctx call '\(method)'"))
            }
        } catch let error as CallError {
            return .failure(error)
        } catch let error as StateError {
            return .failure(CallError(.valueError, error.message))
        } catch {
            return .failure(CallError(.runtime, "\(method) failed: \(error)"))
        }
    }

    /// Answers a call at once, without I/O, when it can: a `state.get` whose value is cached.
    /// - Returns: the answer, or `nil` when the call must go through `handle`.
    func answerImmediately(method: String, params: JSONValue) -> JSONValue? {
        guard method == "state.get", let key = params["key"]?.stringValue, key.utf8.count <= StateLimits.maxKeyBytes,
            !key.isEmpty, let cached = store.cachedValue(worker: worker, key: key)
        else { return nil }
        return ["found": .bool(cached != nil), "json": cached.map(JSONValue.string) ?? .null]
    }

    private func state(_ method: String, _ params: JSONValue) async throws -> JSONValue {
        if method == "state.keys" {
            return .array(
                try await store.keys(worker: worker, prefix: params["prefix"]?.stringValue ?? "").map { .string($0) })
        }
        let key = try Self.string(params, "key")
        try StateLimits.check(key: key)
        switch method {
        case "state.get":
            let json = try await store.get(worker: worker, key: key)
            return ["found": .bool(json != nil), "json": json.map(JSONValue.string) ?? .null]
        case "state.set":
            let json = try Self.string(params, "json")
            try StateLimits.check(encodedValueBytes: json.utf8.count, key: key)
            try Self.checkJSON(json, key: key)
            try await store.set(worker: worker, key: key, json: json)
            return .null
        case "state.delete":
            return .bool(try await store.delete(worker: worker, key: key))
        default:
            guard let amount = StateNumber(json: params["by"].map { $0.jsonText() } ?? "1") else {
                throw CallError(.valueError, "incr needs a number to add")
            }
            // Numbers arrive as doubles: a whole one from 2^53 to 2^63 is most likely an integer that lost digits.
            if let by = params["by"]?.numberValue, by.rounded() == by,
                (9_007_199_254_740_992...9_223_372_036_854_775_808).contains(abs(by))
            {
                throw CallError(.valueError, "incr by \(by) cannot be exact: add at most 2**53 at a time")
            }
            return .string(try await store.increment(worker: worker, key: key, by: amount))
        }
    }

    /// The methods `ctx.http` sends; anything else (a space, a line break) could rewrite the request line.
    static let httpMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    private func httpRequest(_ params: JSONValue, deadline: ContinuousClock.Instant) async throws -> JSONValue {
        let method = (params["method"]?.stringValue ?? "GET").uppercased()
        guard Self.httpMethods.contains(method) else {
            throw CallError(
                .valueError, "http method must be one of \(Self.httpMethods.sorted().joined(separator: ", "))")
        }
        var request = HTTPService.Request(method: method, url: try Self.string(params, "url"))
        request.query = Self.pairs(params["params"])
        request.headers = Self.pairs(params["headers"])
        request.body = params["body"]?.stringValue
        if let timeout = params["timeout"], timeout != .null {
            guard let seconds = timeout.numberValue, seconds > 0,
                let duration = Duration.seconds(checked: seconds, upTo: 86_400)
            else { throw CallError(.valueError, "http timeout must be a number of seconds from 0 to 86400") }
            request.timeout = duration
        }
        let response = try await http.perform(request, deadline: deadline)
        return [
            "status": .number(Double(response.status)),
            "headers": .object(response.headers.mapValues { .string($0) }),
            "text": .string(response.text),
        ]
    }

    private func bybit(_ method: String, _ params: JSONValue, deadline: ContinuousClock.Instant) async throws
        -> JSONValue
    {
        guard case .bybit(let block) = try connected("bybit", params) else { return .null }
        guard var args = params["args"]?.objectValue ?? (params["args"] == nil ? [:] : nil) else {
            throw CallError(.valueError, "bybit.\(method) takes keyword arguments")
        }
        if method == BybitEndpoint.placeOrder.name {
            let linkID = args["orderLinkId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? nextOrderLinkID()
            args["orderLinkId"] = .string(linkID)
            log.write(level: .debug, "bybit place_order \(args["symbol"]?.stringValue ?? "?") orderLinkId=\(linkID)")
        }
        return try await block.call(method, args: args, deadline: deadline)
    }

    /// `monitor.update`: one widget change on a connected monitor block, all or nothing.
    private func monitor(_ params: JSONValue) throws -> JSONValue {
        guard case .monitor(let board) = try connected("monitor", params) else { return .null }
        do {
            try board.apply(try WidgetUpdate(json: params["widget"] ?? .null), worker: worker)
        } catch {
            throw CallError(.valueError, error.message)
        }
        return .null
    }

    /// The connected block of `type` that a call's `block` parameter names.
    private func connected(_ type: String, _ params: JSONValue) throws(CallError) -> ConnectedBlock {
        let name = params["block"]?.stringValue ?? ""
        guard let block = blocks.first(where: { $0.name == name && $0.type == type }) else {
            throw CallError(
                .blockNotConnected, "worker '\(worker)' is not connected to a \(type) block named '\(name)'")
        }
        return block
    }

    /// An orderLinkId from the worker's name, the host's start, the tick and a sequence number within the tick.
    private func nextOrderLinkID() -> String {
        orderIDs.withLock { state in
            state.sequence += 1
            return OrderLinkID.derive(
                worker: worker, hostStart: state.hostStart, tick: state.tick, sequence: state.sequence)
        }
    }

    private static func string(_ params: JSONValue, _ name: String) throws(CallError) -> String {
        guard let value = params[name]?.stringValue else { throw CallError(.valueError, "missing '\(name)'") }
        return value
    }

    private static func pairs(_ value: JSONValue?) -> [(String, String)] {
        guard let object = value?.objectValue else { return [] }
        return object.sorted { $0.key < $1.key }.map { key, value in (key, value.stringValue ?? value.jsonText()) }
    }

    private static func checkJSON(_ json: String, key: String) throws(CallError) {
        guard (try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])) != nil else {
            throw CallError(.valueError, "state value for '\(key)' is not valid JSON")
        }
    }
}
