import AdapterKit
import Foundation
import Testing

@testable import WorkerHost

struct FrameTests {
    func decode(_ text: String) throws(FrameError) -> WorkerFrame {
        try WorkerFrame.decode(Data(text.utf8))
    }

    @Test func workerFramesDecode() throws {
        #expect(
            try decode(#"{"type":"ready","v":1,"runtime":"python/3.11"}"#) == .ready(version: 1, runtime: "python/3.11")
        )
        #expect(
            try decode(#"{"type":"call","id":7,"method":"state.get","params":{"key":"k"}}"#)
                == .call(id: 7, method: "state.get", params: ["key": "k"]))
        #expect(try decode(#"{"type":"tick_done","n":3,"error":null}"#) == .tickDone(n: 3, failure: nil))
        #expect(try decode(#"{"type":"log","level":"warn","message":"hi"}"#) == .log(level: "warn", message: "hi"))
        let fatal = try decode(
            #"{"type":"fatal","error":{"type":"SyntaxError","message":"bad","file":"a.py","line":2}}"#)
        #expect(fatal == .fatal(WorkerFailure(type: "SyntaxError", message: "bad", file: "a.py", line: 2)))
    }

    @Test(arguments: [
        ("this is not json", "malformed frame (not a JSON object): this is not json"),
        ("[1,2]", "malformed frame"),
        (#"{"v":1}"#, "frame without a \"type\""),
        (#"{"type":"teleport"}"#, "unknown frame type \"teleport\""),
        (#"{"type":"call","method":"state.get"}"#, "call frame without \"id\""),
        (#"{"type":"tick_done"}"#, "tick_done frame without \"n\""),
    ])
    func badFramesSayWhatIsWrong(text: String, expected: String) {
        #expect(throws: FrameError.self) { try decode(text) }
        do { _ = try decode(text) } catch { #expect(error.message.contains(expected), "\(error.message)") }
    }

    @Test func resultFramesCarryValuesOrErrors() {
        let ok = HostFrame.result(id: 3, .success(["found": true]))
        #expect(ok.jsonText() == #"{"id":3,"ok":true,"type":"result","value":{"found":true}}"#)
        let failed = HostFrame.result(id: 4, .failure(CallError(.valueError, "too long")))
        #expect(failed["error"] == ["type": "ValueError", "message": "too long"])
    }

    @Test func failuresDescribeThemselvesWithFileAndLine() {
        let failure = WorkerFailure(type: "SyntaxError", message: "invalid syntax", file: "/x/bad.py", line: 2)
        #expect(failure.description == "SyntaxError: invalid syntax (/x/bad.py, line 2)")
    }
}

struct JSONValueTests {
    @Test(arguments: [
        JSONValue.string("quote \" backslash \\ newline \n tab \t bell \u{07} é ✓"),
        ["b": [1, 2.5, -3e20, true, nil], "a": ["nested": "x"]],
        .number(0.1), .number(-0), .array([]), .object([:]),
    ])
    func textRoundTrips(value: JSONValue) throws {
        #expect(try JSONValue(parsing: Data(value.jsonText().utf8)) == value)
    }

    @Test func pythonsEscapesParse() throws {
        // json.dumps escapes non-ASCII by default, with surrogate pairs beyond the BMP.
        let text = #"{"s": "caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n", "n": [-1.5e3, 0, 12], "t": true, "z": null}"#
        let value = try JSONValue(parsing: Data(text.utf8))
        #expect(value["s"] == "café 😀 \"q\" \\ / \n")
        #expect(value["n"] == [-1500, 0, 12])
        #expect(value["t"] == true && value["z"] == .null)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "NaN", "[1] x", "\"\\ud83d\"", "\"a\nb\"", "{1:2}"])
    func invalidTextIsRefused(text: String) {
        #expect(throws: (any Error).self) { try JSONValue(parsing: Data(text.utf8)) }
    }

    @Test func theInitFrameNamesTheConnectedBlocksAndNothingElseOfThem() {
        let frame = HostFrame.initialize(
            worker: "trend", script: "/s.py", interval: .seconds(5), tickTimeout: .seconds(60),
            blocks: [("main", "bybit"), ("sim", "bybit")])
        #expect(frame["blocks"] == [["name": "main", "type": "bybit"], ["name": "sim", "type": "bybit"]])
        #expect(frame["worker"]?["name"]?.stringValue == "trend")
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue(parsing: Data(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue(parsing: Data(fine.utf8))) != nil)
    }

    @Test func textIsCompactWithSortedKeys() {
        #expect((["b": 1, "a": [true, nil]] as JSONValue).jsonText() == #"{"a":[true,null],"b":1}"#)
        #expect(JSONValue.number(.nan).jsonText() == "null")
        #expect(JSONValue.string("\u{01}").jsonText() == #""\u0001""#)
    }
}
