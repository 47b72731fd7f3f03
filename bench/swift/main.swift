// Micro-benchmarks for the adapters: Bybit request signing and rate-limiter acquire cost.
// Run: swift run -c release adapter-bench
import AdapterKit
import AsyncHTTPClient
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
let client = BybitClient(
    configuration: BybitConfiguration(
        network: .testnet, credentials: (apiKey: "testApiKey123", apiSecret: "testApiSecret456")),
    http: AdapterHTTP(client: .shared))
let order: [String: JSONValue] = [
    "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
    "price": "30000", "timeInForce": "GTC", "orderLinkId": "bot-0001",
]
measure("build and sign a place_order request (URL, JSON body, headers)", iterations: 100_000) {
    sink &+= (try? client.request(.placeOrder, order))?.body?.count ?? 0
}
let query: [String: JSONValue] = ["category": "linear", "symbol": "BTCUSDT", "openOnly": "0", "limit": "50"]
measure("build and sign a get_open_orders request (query string, headers)", iterations: 100_000) {
    sink &+= (try? client.request(.openOrders, query))?.url.utf8.count ?? 0
}

let limiter = RateLimiter(
    limits: BybitRateLimits.all.map { RateLimit(id: $0.id, limit: 1_000_000_000, window: $0.window) })
let orderCosts = BybitRateLimits.costs(.placeOrder)
/// Off the main actor, as a worker's ctx call runs: the loop itself makes no executor hops.
@concurrent func timeAcquires(_ count: Int) async throws -> Duration {
    try await ContinuousClock().measure {
        for _ in 0..<count { try await limiter.acquire(orderCosts, deadline: .now + .seconds(3600)) }
    }
}
let acquires = 200_000
_ = try await timeAcquires(acquires / 10)  // warm up
let acquireTime = try await timeAcquires(acquires)
print("RateLimiter.acquire, uncontended (IP + order/create limits): \(acquireTime / acquires) per call")
print("(checksum \(sink))")
