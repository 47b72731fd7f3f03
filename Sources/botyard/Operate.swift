import AdapterKit
import ArgumentParser
import Foundation
import WorkerHost

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every worker, or one in detail.")

    @Argument(help: "A worker's name for its details.")
    var name: String?

    @Flag(help: "Print the API's JSON.")
    var json = false

    @OptionGroup var host: HostOptions

    func run() async throws {
        let client = try host.client()
        let reply = try await client.request(.get, name.map { "/api/workers/\($0)" } ?? "/api/workers")
        if json { return print(reply.jsonText()) }
        let data = Data(reply.jsonText().utf8)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        if name == nil {
            print(StatusFormat.table(try decoder.decode([WorkerStatus].self, from: data)))
        } else {
            print(StatusFormat.detail(try decoder.decode(WorkerStatus.self, from: data)))
        }
    }
}

/// `start`, `stop` and `restart` share their shape.
protocol WorkerAction: AsyncParsableCommand {
    var name: String { get }
    var host: HostOptions { get }
    static var action: String { get }
}

extension WorkerAction {
    func run() async throws {
        let reply = try await host.client().request(.post, "/api/workers/\(name)/\(Self.action)")
        print("\(name): \(Self.action) requested (was \(reply["worker"]?["state"]?.stringValue ?? "?"))")
    }
}

struct Start: WorkerAction {
    static let configuration = CommandConfiguration(abstract: "Start a stopped worker.")
    static let action = "start"
    @Argument var name: String
    @OptionGroup var host: HostOptions
}

struct Stop: WorkerAction {
    static let configuration = CommandConfiguration(abstract: "Stop a worker gracefully.")
    static let action = "stop"
    @Argument var name: String
    @OptionGroup var host: HostOptions
}

struct Restart: WorkerAction {
    static let configuration = CommandConfiguration(abstract: "Stop and start a worker (setup runs again).")
    static let action = "restart"
    @Argument var name: String
    @OptionGroup var host: HostOptions
}

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the manifest: stop every worker (on_shutdown, SIGTERM, SIGKILL), start the new set.",
        discussion: "ctx state is kept; an event worker's worker.state starts empty. A manifest that does not load "
            + "changes nothing. SIGHUP to the host does the same.")
    @OptionGroup var host: HostOptions

    func run() async throws {
        let reply = try await host.client().request(.post, "/api/reload")
        let names = reply["reloading"]?.arrayValue?.compactMap(\.stringValue) ?? []
        print("reloading: \(names.joined(separator: ", "))")
    }
}

struct Interval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change a worker's tick interval; it applies from the next tick, no redeploy.")
    @Argument var name: String
    @Argument(help: "1s to 1h, e.g. 5s, 90s, 5m, 1h") var every: String
    @OptionGroup var host: HostOptions

    func run() async throws {
        _ = try await host.client().request(.post, "/api/workers/\(name)/interval", body: ["every": .string(every)])
        print("\(name): interval set to \(every)")
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a worker's log (the last 200 lines).")
    @Argument var name: String
    @Option(help: "How many lines.") var lines = 200
    @Flag(help: "Keep printing new lines until Ctrl-C.") var follow = false
    @OptionGroup var host: HostOptions

    func run() async throws {
        let client = try host.client()
        let reply = try await client.request(.get, "/api/workers/\(name)/logs?lines=\(lines)")
        reply["lines"]?.arrayValue?.compactMap(\.stringValue).forEach { print($0) }
        guard follow, var offset = reply["offset"]?.intValue else { return }
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(500))
            let chunk = try await client.request(.get, "/api/workers/\(name)/logs?offset=\(offset)")
            if let text = chunk["text"]?.stringValue, !text.isEmpty { print(text, terminator: "") }
            offset = chunk["offset"]?.intValue ?? offset
        }
    }
}

struct State: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a worker's state keys and values.")
    @Argument var name: String
    @OptionGroup var host: HostOptions

    func run() async throws {
        let reply = try await host.client().request(.get, "/api/workers/\(name)/state")
        let entries = reply["entries"]?.arrayValue ?? []
        if entries.isEmpty { print("\(name): no state") }
        for entry in entries {
            print("\(entry["key"]?.stringValue ?? "?") = \(entry["json"]?.stringValue ?? "null")")
        }
    }
}

struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy new code to a worker as a new revision and restart it (state is kept).")
    @Argument var name: String
    @Argument(help: "The new Python file.") var file: String
    @OptionGroup var host: HostOptions

    func run() async throws {
        guard let code = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let reply = try await host.client().request(
            .post, "/api/workers/\(name)/deploy", body: ["code": .string(String(decoding: code, as: UTF8.self))])
        print("\(name): deployed revision \(reply["worker"]?["revision"]?.intValue ?? 0) and restarting")
    }
}
