import AdapterKit
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
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

/// The runner's shell under cancellation and Swift workers that ignore it.
@Suite(.timeLimit(.minutes(1)))
struct RunnerCancellationTests {
    /// A tick that never checks for cancellation: it waits `seconds` on a timer that cancellation does not end
    /// (without holding a pool thread), counting overlaps.
    struct Stubborn: TickWorker {
        static let running = Atomic<Int>(0)
        static let mostAtOnce = Atomic<Int>(0)
        let seconds: Double
        func tick(_ ctx: WorkerContext) async throws {
            let now = Self.running.add(1, ordering: .relaxed).newValue
            Self.mostAtOnce.max(now, ordering: .relaxed)
            let delay = TimeAmount.milliseconds(Int64(seconds * 1000))
            try? await MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: delay) {}.futureResult.get()
            Self.running.subtract(1, ordering: .relaxed)
        }
    }

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cancel-\(UUID().uuidString)").path

    func runner(timeout: Duration, _ make: @escaping @Sendable () -> any TickWorker) throws -> WorkerRunner {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: folder + "/state.sqlite")
        var spec = WorkerSpec(name: "w", code: .swift(name: "W"), workingDirectory: folder)
        spec.every = .seconds(1)
        spec.tickTimeout = timeout
        spec.maxErrors = 100
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        let services = WorkerServices(worker: "w", store: store, log: log, http: HTTPService(client: .shared))
        let gate = SwiftTickGate()
        return WorkerRunner(spec: spec, log: log, logger: Logger(label: "test")) { spec in
            SwiftBackend(spec: spec, services: services, gate: gate, make: make)
        }
    }

    @Test func aCancelledRunnerReturnsPromptlyInsteadOfSpinning() async throws {
        let runner = try runner(timeout: .seconds(30)) { WorkerRunnerTests.Sleepy() }
        let task = Task { await runner.run() }
        try runner.send(.start(reason: "test"))
        for _ in 0..<200 where runner.status.ticks < 1 { try await Task.sleep(for: .milliseconds(20)) }
        let cancelled = ContinuousClock.now
        task.cancel()
        await task.value
        #expect(cancelled.duration(to: .now) < .seconds(20), "it waited for the 30 s tick instead")
    }

    @Test func ticksThatIgnoreTheirTimeoutNeverOverlap() async throws {
        let runner = try runner(timeout: .seconds(1)) { Stubborn(seconds: 2.5) }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            try runner.send(.start(reason: "test"))
            for _ in 0..<300 where runner.status.totalErrors < 3 { try await Task.sleep(for: .milliseconds(20)) }
            try runner.send(.restart(reason: "restart requested"))  // a new backend must not start a tick while the old one still spins
            for _ in 0..<300 where runner.status.totalErrors < 2 { try await Task.sleep(for: .milliseconds(20)) }
            try runner.send(.shutdown)
        }
        #expect(Stubborn.mostAtOnce.load(ordering: .relaxed) == 1)
        #expect(runner.status.lastError.map { ["TickTimeoutError", "PreviousCallRunning"].contains($0.type) } == true)
    }
}
