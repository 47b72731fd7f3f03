import Exchanges

/// A block as the manifest declares it under `blocks:`: a named connection to a service, which workers use
/// through `connect:`.
public struct BlockSpec: Sendable, Equatable {
    /// What a block connects to, with its settings.
    public enum Kind: Sendable, Equatable {
        case bybit(BybitBlockSettings)
        case monitor(MonitorBlockSettings)
    }

    /// The block's name: letters, digits, `-` and `_`.
    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The block's `type:` as the manifest spells it.
    public var type: String {
        switch kind {
        case .bybit: "bybit"
        case .monitor: "monitor"
        }
    }
}

/// A `type: bybit` block's settings. Its description never shows the key or the secret.
public struct BybitBlockSettings: Sendable, Equatable, CustomStringConvertible {
    /// Where the block's orders go.
    public enum Venue: Sendable, Equatable {
        /// A Bybit network, or any V5-compatible `base_url`.
        case bybit(BybitNetwork)
        /// The paper exchange, started inside the host with keys of its own.
        case paper(PriceSource)
    }

    public var venue: Venue
    /// From `api_key:` / `api_secret:` (usually `${VAR}`); `nil` for market data only, and for paper.
    public var apiKey: String?
    public var apiSecret: String?
    /// `recv_window:` in milliseconds.
    public var recvWindow = 5000

    public init(venue: Venue) {
        self.venue = venue
    }

    public var description: String {
        let venueText =
            switch venue {
            case .bybit(let network): network.description
            case .paper: "paper"
            }
        return "bybit(\(venueText), credentials: \(apiKey == nil ? "none" : "set"))"
    }
}

/// A `type: monitor` block's settings: one dashboard that connected workers draw on with `ctx.monitor`.
public struct MonitorBlockSettings: Sendable, Equatable {
    /// `points:`: the points kept per chart series.
    public var points = 500
    /// `log_lines:`: the lines kept per log widget.
    public var logLines = 200
    /// How long updates gather before they go to the readers together (one write each): cheaper with many
    /// readers, and faster than a screen redraws.
    public var coalescing: Duration = .milliseconds(25)

    public init() {}
}
