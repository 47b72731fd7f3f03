import AdapterKit
import WorkerHost

/// A compiled-in Swift event worker: counts `desk.ping` events, answers each with `desk.pong`, and keeps a beat.
///
/// Declare it in botyard.yaml with `swift: PingCounter`.
public enum PingCounter {
    public static func make() -> Worker {
        var worker = Worker(name: "ping-counter")
        worker.onStartup(name: "hello") { client in
            client.log.info("PingCounter started")
        }
        worker.onEvent("desk.ping", name: "count") { event, client in
            let pings = try await client.state.incr("pings")
            try client.publish("desk.pong", ["pings": .number(Double(pings)), "ping_seq": .number(Double(event.seq))])
        }
        worker.every(.seconds(1), name: "beat") { client in
            _ = try await client.state.incr("beats")
        }
        worker.onShutdown(name: "bye") { client in
            client.log.info("PingCounter stopping")
        }
        return worker
    }
}
