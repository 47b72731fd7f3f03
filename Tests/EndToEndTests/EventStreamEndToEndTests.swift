import AdapterKit
import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization
import Testing
import WorkerHost

/// The event streams from outside, as a client in any language sees them: resume after a disconnect, gaps, slow
/// subscribers, tickets, Server-Sent Events and sessions.
@Suite(.timeLimit(.minutes(3)))
struct EventStreamEndToEndTests {
    static func host(_ extra: String = "") async throws -> HostProcess {
        let host = try HostProcess()
        try await host.start(try host.write("botyard.yaml", "workers:\n  beat:\n    swift: Heartbeat\n" + extra))
        return host
    }

    static func publish(_ host: HostProcess, _ n: Int, kind: String = "desk.n", pad: Int = 0) async throws -> Int {
        let padding = pad > 0 ? #", "pad": "\#(String(repeating: "x", count: pad))""# : ""
        let reply = try await host.api(
            .post, "/api/events", body: #"{"kind": "\#(kind)", "payload": {"n": \#(n)\#(padding)}}"#)
        #expect(reply.status == 200, "\(reply.json)")
        return reply.json["seq"]?.intValue ?? -1
    }

    /// What a WebSocket client received: the envelopes, and the close frame the host sent, if any.
    struct Received: Sendable {
        var events: [JSONValue] = []
        var closeCode: WebSocketErrorCode?
    }

    /// Reads `/api/events/ws?query` until `count` envelopes arrived (then disconnects) or the host closes.
    /// `beforeReading` runs first, while nothing is read.
    static func stream(
        _ host: HostProcess, _ query: String, count: Int, token: String? = nil,
        beforeReading: @escaping @Sendable () async throws -> Void = {}
    ) async throws -> Received {
        let port = host.data.readHostInfo()?.port ?? 0
        var headers = HTTPFields()
        if let bearer = token ?? host.data.readToken() { headers[.authorization] = "Bearer \(bearer)" }
        let events = Mutex<[JSONValue]>([])
        let close = try await WebSocketClient.connect(
            url: "ws://127.0.0.1:\(port)/api/events/ws?\(query)",
            configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), logger: Logger(label: "ws")
        ) { inbound, _, _ in
            try await beforeReading()
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message else { continue }
                let total = events.withLock { list in
                    list.append((try? JSONValue(parsing: Array(text.utf8))) ?? .null)
                    return list.count
                }
                if total >= count { break }
            }
        }
        return Received(events: events.withLock { $0 }, closeCode: close?.closeCode)
    }

    static func numbers(_ events: [JSONValue]) -> [Int] {
        events.compactMap { $0["payload"]?["n"]?.intValue }
    }

    @Test func aClientThatReconnectsWithSinceGetsEveryMissedEventOnceInOrder() async throws {
        let host = try await Self.host()
        for n in 1...10 { _ = try await Self.publish(host, n) }
        let first = try await Self.stream(host, "kinds=desk.*&since=0", count: 4)
        #expect(Self.numbers(first.events) == [1, 2, 3, 4])
        let last = try #require(first.events.last?["seq"]?.intValue)
        for n in 11...20 { _ = try await Self.publish(host, n) }  // while it is away
        let again = try await Self.stream(host, "kinds=desk.*&since=\(last)", count: 17) {
            _ = try await Self.publish(host, 21)  // live, after the replay
        }
        #expect(Self.numbers(again.events) == Array(5...21))
        let seqs = again.events.compactMap { $0["seq"]?.intValue }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count && seqs.first ?? 0 > last)
        #expect(try await host.interrupt() == 0)
    }

    @Test func aGapBeyondTheBufferIsAnnouncedWithTransportGap() async throws {
        let host = try await Self.host("events:\n  replay: 10\n")
        for n in 1...30 { _ = try await Self.publish(host, n) }
        let lastSeq = try #require(try await host.api(.get, "/api/runtime").json["lastSeq"]?.intValue)
        let received = try await Self.stream(host, "kinds=desk.*&since=0", count: 11)
        let gap = try #require(received.events.first)
        #expect(gap["kind"] == "transport.gap")
        #expect(gap["payload"]?["missed"]?.intValue == lastSeq - 10)
        #expect(gap["payload"]?["reason"] == "evicted")
        #expect(Self.numbers(received.events) == Array(21...30))
        #expect(try await host.interrupt() == 0)
    }

    @Test func aSlowSubscriberIsDisconnectedWithCode4008AndTheHostCarriesOn() async throws {
        let host = try await Self.host("events:\n  subscriber_queue: 20\n")
        let received = try await Self.stream(host, "kinds=desk.*", count: 1000) {
            // 150 events of 100 KB while this client reads nothing: far past its queue and the socket buffers.
            for n in 1...150 { _ = try await Self.publish(host, n, pad: 100_000) }
        }
        #expect(received.closeCode == .unknown(4008), "got \(received.events.count) events")
        #expect(received.events.count < 150)
        #expect(
            Self.numbers(received.events) == Array(1...received.events.count).map { $0 }, "in order, none lost before")
        #expect(try await host.api(.get, "/api/runtime").status == 200)
        let after = try await Self.stream(host, "kinds=desk.*&since=0", count: 150)
        #expect(Self.numbers(after.events).suffix(3) == [148, 149, 150], "resuming gets the rest")
        #expect(try await host.interrupt() == 0)
    }

    @Test func aTicketOpensOneWebSocketWithoutAHeader() async throws {
        let host = try await Self.host()
        let ticket = try #require(try await host.api(.post, "/api/ws-ticket").json["ticket"]?.stringValue)
        _ = try await Self.publish(host, 1)
        let received = try await Self.stream(host, "kinds=desk.*&since=0&ticket=\(ticket)", count: 1, token: "")
        #expect(Self.numbers(received.events) == [1])
        await #expect(throws: (any Error).self, "a ticket works once") {
            _ = try await Self.stream(host, "kinds=desk.*&since=0&ticket=\(ticket)", count: 1, token: "")
        }
        await #expect(throws: (any Error).self, "no token, no stream") {
            _ = try await Self.stream(host, "since=0", count: 1, token: "")
        }
        #expect(try await host.api(.get, "/api/events/stream?since=x").status == 400)
        #expect(try await host.interrupt() == 0)
    }

    @Test func serverSentEventsResumeAfterLastEventID() async throws {
        let host = try await Self.host()
        for n in 1...5 { _ = try await Self.publish(host, n) }
        let port = host.data.readHostInfo()?.port ?? 0
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/events/stream?kinds=desk.n&since=0")
        request.headers.add(name: "Authorization", value: "Bearer \(host.data.readToken() ?? "")")
        let seqs = try await Self.sse(request, count: 5)
        #expect(seqs.count == 5)
        request.headers.add(name: "Last-Event-ID", value: "\(seqs[2])")
        #expect(try await Self.sse(request, count: 2) == Array(seqs[3...]), "Last-Event-ID wins over since=")
        #expect(try await host.interrupt() == 0)
    }

    /// The `id:`s of the first `count` events of an SSE response.
    static func sse(_ request: HTTPClientRequest, count: Int) async throws -> [Int] {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.headers.first(name: "content-type") == "text/event-stream")
        var text = ""
        var ids: [Int] = []
        for try await chunk in response.body {
            text += String(buffer: chunk)
            ids = text.split(separator: "\n").compactMap { $0.hasPrefix("id: ") ? Int($0.dropFirst(4)) : nil }
            if ids.count >= count { break }
        }
        return ids
    }

    @Test func sessionsAreCreatedOnceAndCarryTheirEvents() async throws {
        let host = try await Self.host()
        let body = #"{"session_id": "callback-7", "agent": "triage"}"#
        let created = try await host.api(.post, "/api/sessions", body: body)
        #expect(created.status == 201)
        #expect(created.json["created"] == true && created.json["session"]?["sessionID"] == "callback-7")
        let again = try await host.api(.post, "/api/sessions", body: body)
        #expect(again.status == 200 && again.json["created"] == false)
        let event = #"{"kind": "desk.note", "payload": {"text": "hello"}}"#
        #expect(try await host.api(.post, "/api/sessions/callback-7/events", body: event).status == 200)
        #expect(try await host.api(.post, "/api/sessions/nope/events", body: event).status == 404)
        #expect(try await host.api(.post, "/api/sessions", body: #"{"session_id": "a b"}"#).status == 400)
        let list = try await host.api(.get, "/api/sessions").json["sessions"]?.arrayValue ?? []
        #expect(list.count == 1 && list.first?["events"] == 1)
        let received = try await Self.stream(host, "kinds=session.*&kinds=desk.note&since=0", count: 2)
        #expect(received.events.map { $0["kind"]?.stringValue ?? "" } == ["session.created", "desk.note"])
        #expect(received.events.allSatisfy { $0["session_id"] == "callback-7" })
        #expect(try await host.interrupt() == 0)
    }
}

/// A short run of `bench/runtime_api.py` (the full benchmark lives in bench/), so the benchmark keeps working.
@Suite(.timeLimit(.minutes(3)))
struct RuntimeBenchSmokeTests {
    @Test func theRuntimeAPIBenchmarkRunsWithoutLosingAnEvent() async throws {
        let (status, output) = try HostProcess.smokeBenchmark("runtime_api.py")
        #expect(status == 0, "\(output.suffix(2000))")
        #expect(output.contains("resume after 300 missed events: 300 replayed"), "\(output.suffix(2000))")
    }
}
