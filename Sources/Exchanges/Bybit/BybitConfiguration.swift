/// Which Bybit venue a client talks to.
public enum BybitNetwork: Sendable, Hashable, CustomStringConvertible {
    case mainnet
    case testnet
    case demo
    /// Any V5-compatible server, such as the paper exchange; `url` has no trailing slash.
    case custom(url: String)

    /// The REST base URL.
    public var baseURL: String {
        switch self {
        case .mainnet: "https://api.bybit.com"
        case .testnet: "https://api-testnet.bybit.com"
        case .demo: "https://api-demo.bybit.com"
        case .custom(let url): url.hasSuffix("/") ? String(url.dropLast()) : url
        }
    }

    /// Parses a manifest's `network:` value (`mainnet`, `testnet`, `demo`); `nil` for anything else.
    public init?(name: String) {
        switch name {
        case "mainnet": self = .mainnet
        case "testnet": self = .testnet
        case "demo": self = .demo
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .mainnet: "mainnet"
        case .testnet: "testnet"
        case .demo: "demo"
        case .custom(let url): url
        }
    }
}

/// How a `BybitClient` reaches its account.
public struct BybitConfiguration: Sendable {
    public var network: BybitNetwork
    /// The API key and secret; `nil` for market data only.
    public var credentials: (apiKey: String, apiSecret: String)?
    /// How long after its timestamp the server still accepts a request, in milliseconds.
    public var recvWindow = 5000
    /// The longest any one request may take.
    public var requestTimeout: Duration = .seconds(10)
    /// The prefix of derived orderLinkIds, e.g. the worker's name.
    public var orderLinkPrefix = "botyard"

    public init(network: BybitNetwork, credentials: (apiKey: String, apiSecret: String)? = nil) {
        self.network = network
        self.credentials = credentials
    }
}
