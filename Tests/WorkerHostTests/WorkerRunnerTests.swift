import AdapterKit
import AsyncHTTPClient
import Foundation
import Logging
import Testing

@testable import WorkerHost

/// The runner's loop with in-process Swift workers: errors, timeouts, commands.
@Suite(.timeLimit(.minutes(1)))
struct WorkerRunnerTests {
    struct Failing: TickWorker {
        func tick(_ ctx: WorkerContext) async throws {
            throw CallError(.runtime, "no luck")
        }
        func onError(_ ctx: WorkerContext, error: any Error) async throws {
            _ = try await ctx.state.incr("on_error")
        }
    }

    struct Sleepy: TickWorker {
        func tick(_ ctx: WorkerContext) async throws {
            try await Task.sleep(for: .seconds(30))
        }
        func onError(_ ctx: WorkerContext, error: any Error) async throws {
            try await ctx.state.set("seen", .string("\(error)"))
        }
    }

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)").path

    func runner(_ worker: @escaping @Sendable () -> any TickWorker, spec configure: (inout WorkerSpec) -> Void) throws
        -> (WorkerRunner, any StateStore)
    {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: folder + "/state.sqlite")
        var spec = WorkerSpec(name: "w", code: .swift(name: "W"), workingDirectory: folder)
        spec.every = .seconds(1)
        configure(&spec)
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        let services = WorkerServices(worker: "w", store: store, log: log, http: HTTPService(client: .shared))
        let runner = WorkerRunner(spec: spec, log: log, logger: Logger(label: "test")) { spec in
            SwiftBackend(spec: spec, services: services, make: worker)
        }
        return (runner, store)
    }

    func waitFor(_ runner: WorkerRunner, _ condition: (WorkerStatus) -> Bool) async throws {
        for _ in 0..<300 where !condition(runner.status) { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test func aWorkerThatKeepsFailingStopsAtMaxErrors() async throws {
        let (runner, store) = try runner({ Failing() }) { $0.maxErrors = 2 }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            try runner.send(.start(reason: "test"))
            try await waitFor(runner) { $0.state == .error }
            try runner.send(.shutdown)
        }
        let status = runner.status
        #expect(status.state == .error)
        #expect(status.reason == "stopped after 2 consecutive errors")
        #expect(status.ticks == 2)
        #expect(status.lastError?.message.contains("no luck") == true)
        #expect(try await store.get(worker: "w", key: "on_error") == "2")
        #expect(status.transitions.map(\.to) == [.loading, .starting, .running, .error])
    }

    @Test func aSwiftTickPastItsTimeoutIsCancelledAndReported() async throws {
        let (runner, store) = try runner({ Sleepy() }) { $0.tickTimeout = .seconds(1) }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            try runner.send(.start(reason: "test"))
            try await waitFor(runner) { $0.totalErrors >= 1 }
            try runner.send(.stop(reason: "enough"))
            try await waitFor(runner) { $0.state == .stopped }
            try runner.send(.shutdown)
        }
        #expect(runner.status.lastError?.type == "TickTimeoutError")
        #expect(try await store.get(worker: "w", key: "seen")?.contains("TickTimeoutError") == true)
        #expect(runner.status.state == .stopped)
        #expect(runner.status.reason == "enough")
    }

    @Test func startingARunningWorkerIsRefused() async throws {
        let (runner, _) = try runner({ Failing() }) { $0.maxErrors = 1000 }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            try runner.send(.start(reason: "test"))
            try await waitFor(runner) { $0.state == .running }
            #expect(throws: LifecycleStateMachine.Refusal(state: .running, event: .start)) {
                try runner.send(.start(reason: "again"))
            }
            try runner.send(.shutdown)
        }
        #expect(runner.status.state == .stopped)
        #expect(runner.status.reason == "host shutting down")
    }
}
