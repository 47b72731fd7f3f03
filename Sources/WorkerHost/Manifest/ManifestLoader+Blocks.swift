import Exchanges
import Foundation
import Yams

extension ManifestLoader.Context {
    /// Parses `blocks:`, a mapping of block names to settings.
    mutating func blocks(_ node: Node) throws(ManifestError) -> [BlockSpec] {
        guard let mapping = node.mapping else {
            throw error(node, field: "blocks", "expected a mapping of block names to settings")
        }
        var specs: [BlockSpec] = []
        for (nameNode, settings) in mapping {
            let name = nameNode.string ?? ""
            block = name
            guard WorkerSpec.isValidName(name) else {
                throw error(nameNode, field: nil, "a block name uses letters, digits, '-' and '_' (at most 64)")
            }
            specs.append(BlockSpec(name: name, kind: try blockKind(settings)))
        }
        block = nil
        return specs
    }

    private func blockKind(_ node: Node) throws(ManifestError) -> BlockSpec.Kind {
        guard let mapping = node.mapping else {
            throw error(node, field: nil, "expected settings such as 'type: bybit'")
        }
        var fields: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping { fields[key.string ?? ""] = (key, value) }
        guard let type = fields["type"] else {
            throw error(node, field: "type", "missing; the block types are: bybit, monitor")
        }
        switch type.value.string {
        case "bybit": return .bybit(try bybit(fields))
        case "monitor": return .monitor(try monitor(fields))
        default: throw error(type.value, field: "type", "unknown block type; the block types are: bybit, monitor")
        }
    }

    private func monitor(_ fields: [String: (key: Node, value: Node)]) throws(ManifestError) -> MonitorBlockSettings {
        var settings = MonitorBlockSettings()
        for (name, field) in fields where name != "type" {
            let value = field.value.string.flatMap { Int($0) }
            switch name {
            case "points":
                guard let value, (10...100_000).contains(value) else {
                    throw error(field.value, field: name, "expected a whole number from 10 to 100000")
                }
                settings.points = value
            case "log_lines":
                guard let value, (10...10_000).contains(value) else {
                    throw error(field.value, field: name, "expected a whole number from 10 to 10000")
                }
                settings.logLines = value
            case "coalesce":
                guard let duration = DurationText.parse(field.value.string ?? ""), duration <= .seconds(1) else {
                    throw error(field.value, field: name, "expected a duration up to 1s, like 25ms (0s: no delay)")
                }
                settings.coalescing = duration
            default:
                throw error(
                    field.key, field: name, "unknown field; a monitor block has type, points, log_lines, coalesce")
            }
        }
        return settings
    }

    static let bybitFields: Set<String> = [
        "type", "network", "base_url", "api_key", "api_secret", "recv_window", "seed", "prices",
    ]

    private func bybit(_ fields: [String: (key: Node, value: Node)]) throws(ManifestError) -> BybitBlockSettings {
        for (name, field) in fields where !Self.bybitFields.contains(name) {
            let known = Self.bybitFields.sorted().joined(separator: ", ")
            throw error(field.key, field: name, "unknown field; a bybit block has \(known)")
        }
        var settings = BybitBlockSettings(venue: try venue(fields))
        settings.apiKey = try fields["api_key"].map { field throws(ManifestError) in
            try expanded(field.value, "api_key")
        }
        settings.apiSecret = try fields["api_secret"].map { field throws(ManifestError) in
            try expanded(field.value, "api_secret")
        }
        if case .paper = settings.venue, let given = fields["api_key"] ?? fields["api_secret"] {
            throw error(given.key, field: given.key.string, "a paper block makes its own keys; remove this field")
        }
        if (settings.apiKey == nil) != (settings.apiSecret == nil) {
            throw error(
                nil, field: settings.apiKey == nil ? "api_key" : "api_secret",
                "give both api_key and api_secret, or neither")
        }
        if let window = fields["recv_window"] {
            guard let value = window.value.string.flatMap({ Int($0) }), (1...60_000).contains(value) else {
                throw error(window.value, field: "recv_window", "expected milliseconds from 1 to 60000, like 5000")
            }
            settings.recvWindow = value
        }
        return settings
    }

    private func venue(_ fields: [String: (key: Node, value: Node)]) throws(ManifestError) -> BybitBlockSettings.Venue {
        let networkName = fields["network"]?.value.string ?? (fields["base_url"] == nil ? "paper" : nil)
        if let baseURL = fields["base_url"] {
            if let network = fields["network"] {
                throw error(network.key, field: "network", "give either 'network:' or 'base_url:', not both")
            }
            let url = try expanded(baseURL.value, "base_url")
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
                throw error(baseURL.value, field: "base_url", "expected an http:// or https:// URL")
            }
            return .bybit(.custom(url: url))
        }
        if networkName == "paper" {
            return .paper(try priceSource(fields))
        }
        if let seedOrPrices = fields["seed"] ?? fields["prices"] {
            throw error(seedOrPrices.key, field: seedOrPrices.key.string, "only a paper block has prices")
        }
        guard let name = networkName, let network = BybitNetwork(name: name) else {
            throw error(fields["network"]?.value, field: "network", "expected mainnet, testnet, demo or paper")
        }
        return .bybit(network)
    }

    private func priceSource(_ fields: [String: (key: Node, value: Node)]) throws(ManifestError) -> PriceSource {
        if let prices = fields["prices"] {
            guard let relative = prices.value.string, !relative.isEmpty else {
                throw error(prices.value, field: "prices", "expected the path of a CSV of candles")
            }
            let path = relative.hasPrefix("/") ? relative : folder + "/" + relative
            do {
                return try PriceSource.csv(path: path)
            } catch {
                throw self.error(prices.value, field: "prices", "\(error)")
            }
        }
        guard let seed = fields["seed"] else { return .randomWalk(seed: 42) }
        guard let value = seed.value.string.flatMap({ UInt64($0) }) else {
            throw error(seed.value, field: "seed", "expected a whole number")
        }
        return .randomWalk(seed: value)
    }

    /// A string value with each `${NAME}` replaced by the host's environment variable.
    /// - Throws: naming the variable when it is not set.
    func expanded(_ node: Node, _ field: String) throws(ManifestError) -> String {
        guard let text = node.string, !text.isEmpty else { throw error(node, field: field, "expected a value") }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw error(node, field: field, "'${' without a closing '}'")
            }
            let name = String(rest[open.upperBound..<close])
            guard let value = environment[name], !value.isEmpty else {
                throw error(node, field: field, "environment variable \(name) is not set")
            }
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
