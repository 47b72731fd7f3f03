import Exchanges
import Testing

/// The reference's vectors V1–V9, byte for byte (shared/reference/exchange-apis.md, section 1.4).
struct BybitSignerTests {
    let signer = BybitSigner(apiKey: "testApiKey123", apiSecret: "testApiSecret456")

    @Test(arguments: [
        ("category=linear&symbol=BTCUSDT", "9c529514be794b9d552e373f15e1019075f0865a57bd4b59da8d5c05af9fb7c7"),
        ("symbol=BTCUSDT&category=linear", "0fbc958f3f5c2918156384a3ec13028020fe2a489a61279ee46d0f3d26f1adce"),
        ("", "9a034bdec86faa99557f063ee1f860aec9eee9fff9e6c8eb73b160e02f9e5e7f"),
        ("accountType=UNIFIED&coin=USDT", "283572cbbd17ef691f758f751ff664331fba9d6ae621ff1e1b79032a226756f1"),
        (
            #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"GTC","orderLinkId":"bot-0001"}"#,
            "3d7b15d1af16027b6b5113a08c3fe1a74189177cfa05e3faa2bd6ee4020278c1"
        ),
        (
            #"{"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "30000", "timeInForce": "GTC", "orderLinkId": "bot-0001"}"#,
            "4e749ab4eab8efef75f9ece78c81fc37b5ecdf23471a21fa5890793e0cd761f2"
        ),
        ("{}", "fd710b4c43bc4abae20f8ade5a8556035479c4d0486893e420ed5b2822b64b78"),
        (
            #"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"5","sellLeverage":"5"}"#,
            "8baa999e08d59ca26d48c9f623e3feb58eb634bc935272a8bd79628b74bf61ce"
        ),
    ])
    func restVectors(payload: String, expected: String) {
        #expect(signer.sign(timestamp: 1_700_000_000_000, recvWindow: 5000, payload: payload) == expected)
    }

    @Test func webSocketVector() {
        #expect(
            signer.signWebSocket(expires: 1_700_000_001_000)
                == "191a92a021f8136d0ccb28afd0089e7a0129fdfa365456a9c0acfca0ab8b32d3")
    }

    @Test func headersCarryTheSignatureAndNeverTheSecret() {
        let headers = signer.headers(timestamp: 1_700_000_000_000, recvWindow: 5000, payload: "{}")
        #expect(
            headers.first { $0.0 == "X-BAPI-SIGN" }?.1
                == "fd710b4c43bc4abae20f8ade5a8556035479c4d0486893e420ed5b2822b64b78")
        #expect(!headers.contains { $0.1.contains("testApiSecret456") })
        #expect(!"\(signer)".contains("testApiSecret456"))
    }
}
