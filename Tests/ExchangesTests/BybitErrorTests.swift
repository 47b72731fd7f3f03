import Exchanges
import Testing

struct BybitErrorTests {
    @Test func successIsNoError() {
        #expect(BybitError.classify(httpStatus: 200, retCode: 0, retMsg: "OK") == nil)
    }

    @Test(arguments: [
        (200, 10006, BybitError.Code.rateLimited, true),
        (200, 10002, .clockSkew, true),
        (200, 110072, .duplicateOrder, false),
        (200, 110007, .rejected, false),
        (200, 10016, .rejected, true),
        (403, 0, .ipBanned, false),
        (429, 0, .rateLimited, true),
        (404, 0, .http, false),
    ])
    func responsesAreClassified(status: Int, retCode: Int, code: BybitError.Code, retryable: Bool) throws {
        let error = try #require(BybitError.classify(httpStatus: status, retCode: retCode, retMsg: "msg"))
        #expect(error.code == code)
        #expect(error.isRetryable == retryable)
    }

    @Test func theDescriptionCarriesTheVenuesCodeAndMessage() {
        let error = BybitError.classify(httpStatus: 200, retCode: 110007, retMsg: "ab not enough for new order")
        #expect(error?.description == "Bybit error 110007: ab not enough for new order")
    }
}

struct OrderLinkIDTests {
    @Test func derivedIdsFollowBybitsRules() {
        let id = OrderLinkID.derive(
            worker: "sma crossover/BTC ✓ with a very long name", hostStart: 1_800_000_000_000, tick: 123_456,
            sequence: 3)
        #expect(OrderLinkID.isValid(id))
        #expect(id.hasPrefix("smacrossover"))
        #expect(id.count <= 36)
    }

    @Test func idsDifferAcrossTicksSequencesAndHostRuns() {
        let ids = [
            OrderLinkID.derive(worker: "w", hostStart: 1, tick: 1, sequence: 0),
            OrderLinkID.derive(worker: "w", hostStart: 1, tick: 1, sequence: 1),
            OrderLinkID.derive(worker: "w", hostStart: 1, tick: 2, sequence: 0),
            OrderLinkID.derive(worker: "w", hostStart: 2, tick: 1, sequence: 0),
        ]
        #expect(Set(ids).count == ids.count)
    }

    @Test(arguments: ["bot-0001", "A_b-9", String(repeating: "x", count: 36)])
    func validIds(id: String) { #expect(OrderLinkID.isValid(id)) }

    @Test(arguments: ["", "has space", "dot.ted", "é", String(repeating: "x", count: 37)])
    func invalidIds(id: String) { #expect(!OrderLinkID.isValid(id)) }
}
