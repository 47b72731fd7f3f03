import Testing

@testable import AdapterKit

/// The strict parser that reads every worker frame and venue answer: hostile sizes stay cheap.
struct JSONParserTests {
    /// A frame of three million escapes once took minutes on an event loop (each escape re-copied the string).
    @Test(.timeLimit(.minutes(1))) func millionsOfEscapesParseInLinearTime() throws {
        let count = 3_000_000
        var text = Array(#"{"message":""#.utf8)
        text.reserveCapacity(count * 2 + 32)
        for _ in 0..<count { text += [UInt8(ascii: "\\"), UInt8(ascii: "n")] }
        text += Array(#""}"#.utf8)
        let parsed = try JSONParser.parse(text)
        #expect(parsed["message"]?.stringValue?.utf8.count == count)
    }

    @Test func escapesAndPlainTextMixAsWritten() throws {
        let parsed = try JSONParser.parse(Array(#"["a\"b\\c\u00e9\ud83d\ude00 z\t"]"#.utf8))
        #expect(parsed.arrayValue?.first?.stringValue == "a\"b\\cé😀 z\t")
    }

    @Test(arguments: [#""\ud800""#, #""\udc00x""#, "\"a\u{01}\"", #""\q""#, "\"\\", "\"ab"])
    func badStringsAreRefused(text: String) {
        #expect(throws: (any Error).self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func invalidUTF8AfterAnEscapeIsRefused() {
        let bytes = Array(#"["\n"#.utf8) + [0xFF, 0xFE] + Array(#""]"#.utf8)
        #expect(throws: (any Error).self) { try JSONParser.parse(bytes) }
    }
}
