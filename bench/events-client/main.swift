// The client side of bench/runtime_api.py: WebSocket subscribers and an HTTP publisher on a running host.
//
//   events-bench <base URL> <token> fanout <subscribers> <events>   → publish-to-receive latency and rates
//   events-bench <base URL> <token> resume <events>                 → the cost of resuming after <events> missed
//
// Prints one JSON line of figures. Each event's payload carries `t`, the Unix time just before its POST.
import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count >= 5 else {
    print("usage: events-bench <base URL> <token> fanout <subscribers> <events> | resume <events>")
    exit(2)
}

/// Every subscriber's arrivals: latency in ms per event, and the seqs in order.
final class Tally: Sendable {
    struct Figures {
        var latencies: [Double] = []
        var received: [Int: Int] = [:]  // subscriber → events
        var outOfOrder = 0
        var connected = 0
    }
    let figures = Mutex(Figures())
}

/// The benchmark's client, against one host.
struct Bench: Sendable {
    let base: String
    let token: String
    let logger = Logger(label: "events-bench")
    var wsBase: String { base.replacingOccurrences(of: "http://", with: "ws://") }

    /// The number after `"key":` in `text`, scanned without a JSON parse (the envelope is one line).
    static func number(_ key: String, in text: String) -> Double? {
        guard let range = text.range(of: "\"\(key)\":") else { return nil }
        let digits = text[range.upperBound...].prefix {
            $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "+"
        }
        return Double(digits)
    }

    func publish(_ http: HTTPClient, _ n: Int, kind: String = "bench.e") async throws {
        var request = HTTPClientRequest(url: base + "/api/events")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = #"{"kind":"\#(kind)","payload":{"n":\#(n),"t":\#(Date().timeIntervalSince1970)}}"#
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok else { throw NSError(domain: "publish \(response.status)", code: 1) }
    }

    /// Reads `/api/events/ws?query` until `count` events arrived, recording each one's latency as subscriber `id`.
    func subscribe(
        _ id: Int, query: String, count: Int, tally: Tally, onFirst: @escaping @Sendable (Int) -> Void = { _ in }
    )
        async throws
    {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        try await WebSocketClient.connect(
            url: wsBase + "/api/events/ws?" + query, configuration: .init(additionalHeaders: headers), logger: logger
        ) { inbound, _, _ in
            tally.figures.withLock { $0.connected += 1 }
            var seen = 0
            var last = 0
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                let now = Date().timeIntervalSince1970
                let seq = Int(Self.number("seq", in: text) ?? 0)
                if seen == 0 { onFirst(seq) }
                guard text.contains("\"bench.e\"") else { continue }
                let sent = Self.number("t", in: text) ?? now
                tally.figures.withLock { figures in
                    figures.latencies.append((now - sent) * 1000)
                    figures.received[id, default: 0] += 1
                    if seq <= last { figures.outOfOrder += 1 }
                }
                last = seq
                seen += 1
                if seen >= count { break }
            }
        }
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func round(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    func fanout(subscribers: Int, events: Int) async throws -> [String: Double] {
        let tally = Tally()
        let http = HTTPClient.shared
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 0..<subscribers {
                group.addTask { try await subscribe(id, query: "kinds=bench.e", count: events, tally: tally) }
            }
            while tally.figures.withLock({ $0.connected }) < subscribers {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(200))  // every subscription registered on the host
            let start = ContinuousClock.now
            // Eight publishes in flight, as several workers publishing at once would be.
            try await withThrowingTaskGroup(of: Void.self) { publishers in
                for lane in 0..<8 {
                    publishers.addTask { for n in stride(from: lane, to: events, by: 8) { try await publish(http, n) } }
                }
                try await publishers.waitForAll()
            }
            let published = start.duration(to: .now)
            try await group.waitForAll()
            let delivered = start.duration(to: .now)
            let figures = tally.figures.withLock { $0 }
            let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
            return [
                "subscribers": Double(subscribers), "events": Double(events),
                "publish_per_s": Self.round(Double(events) / seconds(published)),
                "deliveries_per_s": Self.round(Double(figures.latencies.count) / seconds(delivered)),
                "p50_ms": Self.round(Self.percentile(figures.latencies, 0.5)),
                "p99_ms": Self.round(Self.percentile(figures.latencies, 0.99)),
                "max_ms": Self.round(figures.latencies.max() ?? 0),
                "lost": Double(subscribers * events - figures.latencies.count),
                "out_of_order": Double(figures.outOfOrder),
            ]
        }
    }

    func resume(events: Int) async throws -> [String: Double] {
        let http = HTTPClient.shared
        let first = Tally()
        try await publish(http, -1)
        let lastSeen = Mutex(0)
        try await subscribe(0, query: "kinds=bench.e&since=0", count: 1, tally: first) { seq in
            lastSeen.withLock { $0 = seq }
        }
        let since = lastSeen.withLock { $0 }
        for n in stride(from: 0, to: events, by: 1000) {  // published while the client is away
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<8 {
                    group.addTask {
                        for m in stride(from: n + lane, to: min(n + 1000, events), by: 8) { try await publish(http, m) }
                    }
                }
                try await group.waitForAll()
            }
        }
        let tally = Tally()
        let start = ContinuousClock.now
        try await subscribe(1, query: "kinds=bench.e&since=\(since)", count: events, tally: tally)
        let took = start.duration(to: .now)
        let figures = tally.figures.withLock { $0 }
        let ms = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
        return [
            "missed": Double(events), "resumed": Double(figures.received[1] ?? 0), "resume_ms": Self.round(ms),
            "events_per_s": Self.round(Double(figures.received[1] ?? 0) / (ms / 1000)),
            "out_of_order": Double(figures.outOfOrder),
        ]
    }
}

let bench = Bench(base: arguments[1], token: arguments[2])
let figures: [String: Double]
switch arguments[3] {
case "fanout" where arguments.count == 6:
    figures = try await bench.fanout(
        subscribers: max(1, Int(arguments[4]) ?? 1), events: max(1, Int(arguments[5]) ?? 1))
case "resume":
    figures = try await bench.resume(events: max(1, Int(arguments[4]) ?? 1))
default:
    print("usage: events-bench <base URL> <token> fanout <subscribers> <events> | resume <events>")
    exit(2)
}
let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
