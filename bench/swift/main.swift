// Micro-benchmarks for the adapters: Bybit request signing and rate-limiter acquire cost.
// Run: swift run -c release adapter-bench
import AdapterKit
import Exchanges

func measure(_ label: String, iterations: Int, _ body: () -> Void) {
    let clock = ContinuousClock()
    for _ in 0..<min(iterations / 10, 10_000) { body() }  // warm up
    let elapsed = clock.measure { for _ in 0..<iterations { body() } }
    let perCall = elapsed / iterations
    let perSecond =
        Double(iterations) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    print("\(label): \(perCall) per call, \(Int(perSecond)) per second")
}

let signer = BybitSigner(apiKey: "testApiKey123", apiSecret: "testApiSecret456")
let body =
    #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"GTC","orderLinkId":"bot-0001"}"#
var sink = 0
measure("sign (HMAC-SHA256, order body)", iterations: 200_000) {
    sink &+= signer.sign(timestamp: 1_700_000_000_000, recvWindow: 5000, payload: body).utf8.count
}

let origin = ContinuousClock.now
var book = RateLimitBook(limits: [
    RateLimit(id: "ip", limit: 1_000_000_000, window: .seconds(5)),
    RateLimit(id: "order", limit: 1_000_000_000, window: .seconds(1)),
])
let far = Duration.seconds(3600)
let costs = [RateLimitCost("order"), RateLimitCost("ip")]
measure("rate-limit reserve, uncontended (two limits, pure book)", iterations: 200_000) {
    _ = try? book.reserve(costs, now: origin.duration(to: .now), deadline: far)
}
print("(checksum \(sink))")
