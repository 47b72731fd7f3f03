import AdapterKit
import Foundation

/// Where the paper exchange's prices come from.
public enum PriceSource: Sendable, Equatable {
    /// A geometric random walk per symbol, one step per second, reproducible from `seed`; a day of history is
    /// generated before the start so that klines and moving averages have data at once.
    case randomWalk(seed: UInt64)
    /// The closes of a CSV of candles (`time,open,high,low,close[,volume]`, a header line allowed), one row per
    /// second, replayed in a loop for every symbol (scaled to each symbol's start price).
    case candles(closes: [Double])

    /// Reads a candle CSV.
    /// - Throws: an error naming the file and line of the first row without a numeric close.
    public static func csv(path: String) throws -> PriceSource {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var closes: [Double] = []
        for (index, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 5, let close = Double(fields[4]), close > 0 else {
                if index == 0 { continue }  // a header
                throw PriceFeedError(message: "\(path):\(index + 1): expected time,open,high,low,close")
            }
            closes.append(close)
        }
        guard !closes.isEmpty else { throw PriceFeedError(message: "\(path): no candles") }
        return .candles(closes: closes)
    }
}

public struct PriceFeedError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Prices per symbol at one-second steps, extended lazily up to the present.
struct PriceFeed: Sendable {
    /// How far back the random walk's history reaches at start.
    static let history = 86_400
    /// The most steps kept per symbol (older ones are dropped).
    static let maxKept = 200_000

    private struct Series {
        var firstSecond: Int64  // the Unix second of `prices[0]`
        var prices: [Double]
        var rng: SplitMix64
        var lastSecond: Int64 { firstSecond + Int64(prices.count) - 1 }
    }

    private let source: PriceSource
    private let startSecond: Int64
    private var series: [String: Series] = [:]

    init(source: PriceSource, startSecond: Int64) {
        self.source = source
        self.startSecond = startSecond
    }

    /// The usual price of `symbol`'s base coin, for the walk's start and the scale of CSV prices.
    static func startPrice(_ symbol: String) -> Double {
        switch symbol {
        case "BTCUSDT": 60_000
        case "ETHUSDT": 3_000
        case "SOLUSDT": 150
        case "XRPUSDT": 0.6
        default: 100
        }
    }

    /// The price of `symbol` at Unix second `second`.
    mutating func price(_ symbol: String, at second: Int64) -> Double {
        extend(symbol, to: second)
        guard let series = series[symbol] else { return Self.startPrice(symbol) }
        let index = Int(max(0, min(second - series.firstSecond, Int64(series.prices.count - 1))))
        return series.prices[index]
    }

    /// The prices of `symbol` from `from` to `to` (Unix seconds, inclusive), oldest first, with their seconds.
    mutating func prices(_ symbol: String, from: Int64, to: Int64) -> (first: Int64, prices: ArraySlice<Double>) {
        extend(symbol, to: to)
        guard let series = series[symbol], to >= series.firstSecond else { return (from, []) }
        let lower = Int(max(0, from - series.firstSecond))
        let upper = Int(min(to, series.lastSecond) - series.firstSecond)
        guard lower <= upper else { return (from, []) }
        return (series.firstSecond + Int64(lower), series.prices[lower...upper])
    }

    private mutating func extend(_ symbol: String, to second: Int64) {
        var current = series[symbol] ?? makeSeries(symbol)
        guard second > current.lastSecond else {
            series[symbol] = current
            return
        }
        let steps = Int(min(second - current.lastSecond, Int64(Self.maxKept)))
        current.prices.reserveCapacity(current.prices.count + steps)
        for _ in 0..<steps {
            current.prices.append(next(after: current.prices[current.prices.count - 1], symbol, &current))
        }
        if current.prices.count > Self.maxKept {
            let drop = current.prices.count - Self.maxKept
            current.prices.removeFirst(drop)
            current.firstSecond += Int64(drop)
        }
        current.firstSecond = second - Int64(current.prices.count) + 1
        series[symbol] = current
    }

    private func makeSeries(_ symbol: String) -> Series {
        switch source {
        case .randomWalk(let seed):
            var series = Series(
                firstSecond: startSecond - Int64(Self.history), prices: [Self.startPrice(symbol)],
                rng: SplitMix64(seed: seed ^ Self.fnv1a(symbol)))
            for _ in 0..<Self.history {
                series.prices.append(Self.walk(series.prices[series.prices.count - 1], &series.rng))
            }
            return series
        case .candles(let closes):
            let scale = Self.startPrice(symbol) / closes[0]
            return Series(firstSecond: startSecond, prices: [closes[0] * scale], rng: SplitMix64(seed: 0))
        }
    }

    private func next(after price: Double, _ symbol: String, _ series: inout Series) -> Double {
        switch source {
        case .randomWalk:
            return Self.walk(price, &series.rng)
        case .candles(let closes):
            let index = series.prices.count % closes.count
            return closes[index] * Self.startPrice(symbol) / closes[0]
        }
    }

    /// One second of a geometric random walk with about 0.05 % volatility per step.
    private static func walk(_ price: Double, _ rng: inout SplitMix64) -> Double {
        // Box–Muller from two uniforms in (0, 1].
        let u1 = Double(rng.next() >> 11 + 1) / Double(1 << 53)
        let u2 = Double(rng.next() >> 11) / Double(1 << 53)
        let gaussian = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        return price * exp(0.0005 * gaussian)
    }

    /// A hash of the symbol that is the same on every run (Swift's `hashValue` is not).
    private static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
