// The subscriber side of bench/monitor_fanout.py: N Server-Sent Events readers on one monitor block.
// Each update's metric value is the Unix time it was sent; a reader's latency is its arrival time minus that.
// Usage: monitor-bench <stream URL> <token> <subscribers> <seconds>   → one JSON line of figures.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count == 5, let subscribers = Int(arguments[3]), let seconds = Double(arguments[4]) else {
    print("usage: monitor-bench <stream URL> <token> <subscribers> <seconds>")
    exit(2)
}
let url = arguments[1]
let token = arguments[2]

/// Latencies in microseconds, and counts, from every reader.
final class Tally: Sendable {
    struct Figures {
        var latencies: [Double] = []
        var messages = 0
        var snapshots = 0
        var connected = 0
        var failed = 0
    }
    let figures = Mutex(Figures())
}
let tally = Tally()
let start = Date().timeIntervalSince1970
let measureFrom = start + 3  // let every reader connect first

let dataPrefix = Array("data: ".utf8)
let updatePrefix = Array("data: {\"type\":\"update\"".utf8)
let snapshotPrefix = Array("data: {\"type\":\"snapshot\"".utf8)
let valueKey = Array("\"value\":".utf8)

/// The metric `value` of an update line (the time it was sent), scanned from the bytes without a JSON parse.
func sentAt<Line: Collection<UInt8>>(_ line: Line) -> Double? where Line.Index == Int {
    var index = line.startIndex
    while index + valueKey.count <= line.endIndex {
        if line[index] == valueKey[0], line[index..<index + valueKey.count].elementsEqual(valueKey) {
            let digits = line[(index + valueKey.count)...].prefix {
                ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 101 || $0 == 45 || $0 == 43
            }
            return Double(String(decoding: digits, as: UTF8.self))
        }
        index += 1
    }
    return nil
}

/// One SSE reader as a NIO channel handler: no async hops per chunk, so the client takes little of the CPU the
/// host needs (both run on this machine).
final class Reader: ChannelInboundHandler, @unchecked Sendable {  // confined to its channel's event loop
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let host: String
    let path: String
    var line: [UInt8] = []
    var latencies: [Double] = []
    var messages = 0
    var snapshots = 0
    let done: EventLoopPromise<Void>

    init(host: String, path: String, done: EventLoopPromise<Void>) {
        self.host = host
        self.path = path
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Authorization", value: "Bearer \(token)")
        head.headers.add(name: "Accept", value: "text/event-stream")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .body(let chunk) = unwrapInboundIn(data) else { return }
        let now = Date().timeIntervalSince1970
        let bytes = chunk.readableBytesView
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: 10) {
            if line.isEmpty {
                scan(bytes[start..<newline], now: now)
            } else {
                line += bytes[start..<newline]
                scan(line[...], now: now)
                line.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
        line += bytes[start...]  // a partial line, completed by the next chunk
    }

    private func scan<Line: Collection<UInt8>>(_ line: Line, now: Double) where Line.Index == Int {
        guard line.starts(with: dataPrefix) else { return }
        messages += 1
        if line.starts(with: snapshotPrefix) { snapshots += 1 }
        if now >= measureFrom, line.starts(with: updatePrefix), let sent = sentAt(line) {
            latencies.append((now - sent) * 1_000_000)
        }
    }

    func channelInactive(context: ChannelHandlerContext) { done.succeed(()) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

func read(_ index: Int) async {
    guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else { return }
    let group = MultiThreadedEventLoopGroup.singleton
    let done = group.any().makePromise(of: Void.self)
    let reader = Reader(host: "\(host):\(port)", path: parsed.path, done: done)
    do {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(reader)
                }
            }
            .connect(host: host, port: port).get()
        tally.figures.withLock { $0.connected += 1 }
        try? await Task.sleep(for: .seconds(seconds + 3))
        try await channel.eventLoop.submit {
            tally.figures.withLock {
                $0.latencies += reader.latencies
                $0.messages += reader.messages
                $0.snapshots += reader.snapshots
            }
        }.get()
        try await channel.close()
    } catch {
        tally.figures.withLock { $0.failed += 1 }
    }
}

await withTaskGroup(of: Void.self) { group in
    for index in 0..<subscribers { group.addTask { await read(index) } }
}

let figures = tally.figures.withLock { $0 }
let sorted = figures.latencies.sorted()
func percentile(_ p: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}
let result: [String: Double] = [
    "subscribers": Double(subscribers), "connected": Double(figures.connected), "failed": Double(figures.failed),
    "messages": Double(figures.messages), "snapshots": Double(figures.snapshots),
    "samples": Double(sorted.count), "p50_ms": percentile(0.5) / 1000, "p99_ms": percentile(0.99) / 1000,
    "max_ms": (sorted.last ?? .nan) / 1000,
]
let json = result.keys.sorted().map { "\"\($0)\":\(result[$0, default: 0])" }.joined(separator: ",")
print("{\(json)}")
