import AdapterKit
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Runs a compiled-in event `Worker` inside the host: each handler run is a task on the cooperative pool.
///
/// A run ends when its handler returns or throws, when its timeout passes, or when the host cancels it: the
/// last two end it at once for the host even if the handler ignores cancellation (it is then left to finish
/// on its own, and its result is dropped).
final class SwiftEventBackend: WorkerBackend {
    private let spec: WorkerSpec
    private let services: WorkerServices
    private let make: @Sendable () -> Worker?
    private let worker = Mutex<Worker?>(nil)
    private let runs = Mutex<[Int: RunSlot]>([:])

    init(spec: WorkerSpec, services: WorkerServices, make: @escaping @Sendable () -> Worker?) {
        self.spec = spec
        self.services = services
        self.make = make
    }

    func start() async throws(StartFailure) -> WorkerShape {
        guard let made = make() else {
            throw StartFailure(
                phase: .load, failure: WorkerFailure(type: "LookupError", message: "no Swift worker named \(spec.name)")
            )
        }
        do throws(HandlerSet.Refusal) {
            let set = try made.handlerSet()
            worker.withLock { $0 = made }
            return .event(set)
        } catch {
            throw StartFailure(phase: .load, failure: WorkerFailure(type: "HandlerError", message: error.message))
        }
    }

    func invoke(_ invocation: EventEngine.Invocation) async -> HandlerOutcome {
        guard let entry = worker.withLock({ $0?.entries }).flatMap({ Array($0) })?[safe: invocation.handler.id] else {
            return .crashed(WorkerFailure(type: "WorkerExited", message: "the worker is not running"))
        }
        let client = RuntimeClient(
            services: services, callTimeout: spec.tickTimeout, scheduledAt: invocation.scheduledAt)
        let slot = RunSlot()
        runs.withLock { $0[invocation.id] = slot }
        defer { _ = runs.withLock { $0.removeValue(forKey: invocation.id) } }
        let work = Task {
            do {
                try await entry.body(invocation.event ?? .empty, client)
                slot.resolve(.success)
            } catch is CancellationError {
                slot.resolve(.cancelled)
            } catch {
                slot.resolve(.failed(WorkerFailure(type: String(describing: type(of: error)), message: "\(error)")))
            }
        }
        slot.onCancel { work.cancel() }
        // An event-loop timer, not a sleeping task: cancelling it removes it at once, so runs that end early
        // hold nothing until their deadline (a sleeping task's timer would stay queued until then).
        let timer = invocation.timeout.map { timeout in
            let name = invocation.handler.name
            return MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
                slot.resolve(
                    .failed(
                        WorkerFailure(
                            type: "TimeoutError", message: "handler '\(name)' ran past its \(timeout) timeout")))
                work.cancel()
            }
        }
        let outcome = await slot.outcome()
        timer?.cancel()
        return outcome
    }

    func cancel(_ ids: [Int]) async {
        let slots = runs.withLock { runs in ids.compactMap { runs[$0] } }
        for slot in slots { slot.resolve(.cancelled) }
    }

    func tick(_ request: TickRequest) async -> TickOutcome {
        .crashed(WorkerFailure(type: "ProtocolError", message: "an event worker has no ticks"))
    }

    func stop() async {
        worker.withLock { $0 = nil }
        let slots = runs.withLock { Array($0.values) }
        for slot in slots { slot.resolve(.cancelled) }
    }

    func kill() async { await stop() }

}

/// The outcome of one handler run, settled once by whichever comes first: the handler, its timeout, a cancel.
final class RunSlot: Sendable {
    private struct State {
        var outcome: HandlerOutcome?
        var waiter: CheckedContinuation<HandlerOutcome, Never>?
        var cancelHook: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func resolve(_ outcome: HandlerOutcome) {
        let (waiter, hook) = state.withLock {
            state -> (CheckedContinuation<HandlerOutcome, Never>?, (@Sendable () -> Void)?) in
            guard state.outcome == nil else { return (nil, nil) }
            state.outcome = outcome
            defer { state.waiter = nil }
            return (state.waiter, outcome == .cancelled ? state.cancelHook : nil)
        }
        hook?()
        waiter?.resume(returning: outcome)
    }

    func onCancel(_ hook: @escaping @Sendable () -> Void) {
        state.withLock { $0.cancelHook = hook }
    }

    func outcome() async -> HandlerOutcome {
        await withCheckedContinuation { continuation in
            let settled = state.withLock { state -> HandlerOutcome? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let settled { continuation.resume(returning: settled) }
        }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
