import ArgumentParser
import Exchanges
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

struct Paper: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the paper exchange on its own, for pybit or any Bybit V5 client, until Ctrl-C.",
        discussion: """
            The same Bybit-compatible exchange a 'network: paper' block starts inside the host. Point a client at
            the printed URL (pybit: session.endpoint = URL) with the printed key and secret. Paper money only.
            """)

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 9100

    @Option(help: "The account's API key (default: generated and printed).")
    var apiKey: String?

    @Option(help: "The account's API secret (default: generated and printed).")
    var apiSecret: String?

    @Option(help: "The random walk's seed.")
    var seed: UInt64 = 42

    @Option(help: "A CSV of candles (time,open,high,low,close) to replay instead of the random walk.")
    var prices: String?

    func run() async throws {
        let generated = PaperExchange.generateCredentials()
        let key = apiKey ?? generated.apiKey
        let secret = apiSecret ?? generated.apiSecret
        var configuration = PaperExchange.Configuration(accounts: [key: secret])
        configuration.port = port
        configuration.prices = try prices.map { try PriceSource.csv(path: $0) } ?? .randomWalk(seed: seed)
        var logger = Logger(label: "botyard.paper")
        logger.logLevel = .warning
        let exchange = PaperExchange(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [exchange], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        async let running: Void = group.run()
        let url = try await exchange.baseURL()
        let banner = "paper exchange on \(url)\napi key:    \(key)\napi secret: \(secret)\n"
        try? FileHandle.standardOutput.write(contentsOf: Data(banner.utf8))  // unbuffered: scripts read it at once
        try await running
    }
}
