import AdapterKit
import AsyncHTTPClient
import Logging
import Monitor
import ServiceLifecycle

/// A block a worker is connected to, as its ctx calls reach it.
enum ConnectedBlock: Sendable {
    case bybit(BybitBlock)
    case monitor(MonitorBoard)

    var name: String {
        switch self {
        case .bybit(let block): block.name
        case .monitor(let board): board.name
        }
    }

    var type: String {
        switch self {
        case .bybit: "bybit"
        case .monitor: "monitor"
        }
    }
}

/// The manifest's blocks at run time: one object per block, shared by every worker connected to it.
struct HostBlocks: Sendable {
    let all: [ConnectedBlock]
    /// The monitor boards, with the service that keeps their streams alive.
    let monitor: MonitorHub

    init(_ specs: [BlockSpec], http: HTTPClient, logger: Logger) {
        all = specs.map { spec in
            switch spec.kind {
            case .bybit(let settings):
                .bybit(BybitBlock(name: spec.name, settings: settings, http: AdapterHTTP(client: http), logger: logger))
            case .monitor(let settings):
                .monitor(
                    MonitorBoard(
                        name: spec.name, store: WidgetStore(maxPoints: settings.points, maxLogLines: settings.logLines),
                        coalescing: settings.coalescing))
            }
        }
        monitor = MonitorHub(
            boards: all.compactMap { block in
                if case .monitor(let board) = block { board } else { nil }
            })
    }

    /// The blocks of a worker's `connect:`, in its order.
    func connected(to spec: WorkerSpec) -> [ConnectedBlock] {
        spec.connect.compactMap { name in all.first { $0.name == name } }
    }

    /// Services that run before the workers start and stop after them (the paper exchanges).
    var venues: [any Service] {
        all.compactMap { block in
            if case .bybit(let bybit) = block { bybit.paper } else { nil }
        }
    }
}
