import Foundation
import Testing

@testable import WorkerHost

struct ManifestLoaderTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "def tick(ctx):\n    pass\n".write(toFile: folder + "/a.py", atomically: true, encoding: .utf8)
    }

    func load(_ text: String) throws(ManifestError) -> Manifest {
        try ManifestLoader(swiftWorkers: ["Heartbeat"]).parse(text, path: folder + "/botyard.yaml")
    }

    func error(_ text: String) -> String {
        do {
            _ = try load(text)
            return "no error"
        } catch {
            return error.description.replacingOccurrences(of: folder + "/", with: "")
        }
    }

    @Test func aFullManifestLoads() throws {
        let manifest = try load(
            """
            workers:
              alpha:
                code: a.py
                every: 90s
                max_errors: 3
                tick_timeout: 30s
                env: {SYMBOL: BTCUSDT}
              beat:
                swift: Heartbeat
            """)
        #expect(manifest.workers.map(\.name) == ["alpha", "beat"])
        let alpha = manifest.workers[0]
        #expect(alpha.code == .python(script: folder + "/a.py"))
        #expect(alpha.every == .seconds(90))
        #expect(alpha.maxErrors == 3)
        #expect(alpha.tickTimeout == .seconds(30))
        #expect(alpha.environment == ["SYMBOL": "BTCUSDT"])
        #expect(alpha.workingDirectory == folder)
        let beat = manifest.workers[1]
        #expect(beat.code == .swift(name: "Heartbeat"))
        #expect(beat.every == .seconds(10) && beat.maxErrors == 5 && beat.tickTimeout == .seconds(60))
    }

    @Test(arguments: [
        (
            "workers:\n  w:\n    code: a.py\n    every: 500ms\n",
            "botyard.yaml:4: worker 'w', field 'every': interval 500ms is out of range; it must be from 1s to 1h"
        ),
        (
            "workers:\n  w:\n    code: a.py\n    every: 2h\n",
            "botyard.yaml:4: worker 'w', field 'every': interval 2h is out of range"
        ),
        ("workers:\n  w:\n    code: a.py\n    every: soon\n", "field 'every': 'soon' is not a duration"),
        ("workers:\n  w:\n    code: a.py\n    evry: 5s\n", "botyard.yaml:4: worker 'w', field 'evry': unknown field"),
        (
            "workers:\n  w:\n    code: missing.py\n",
            "botyard.yaml:3: worker 'w', field 'code': no such file: missing.py"
        ),
        ("workers:\n  w:\n    every: 5s\n", "worker 'w', field 'code': missing"),
        ("workers:\n  w:\n    code: a.py\n    swift: Heartbeat\n", "field 'swift': a worker has exactly one of"),
        ("workers:\n  w:\n    swift: Nope\n", "field 'swift': no Swift worker of that name; compiled in: Heartbeat"),
        (
            "workers:\n  w:\n    code: a.py\n    max_errors: 0\n",
            "field 'max_errors': expected a whole number from 1 to 1000"
        ),
        ("workers:\n  w:\n    code: a.py\n    tick_timeout: forever\n", "field 'tick_timeout'"),
        ("workers:\n  w:\n    code: a.py\n    env: [A]\n", "field 'env': expected a mapping"),
        ("workers:\n  bad name:\n    code: a.py\n", "worker 'bad name': a worker name uses letters"),
        ("wrkers:\n  w:\n    code: a.py\n", "botyard.yaml:1: field 'wrkers': unknown key"),
        ("workers: {}\n", "no workers"),
        ("workers:\n  w: [\n", "not valid YAML"),
    ])
    func badManifestsNameFileLineWorkerAndField(text: String, expected: String) {
        let message = error(text)
        #expect(message.contains(expected), "\(message)")
        #expect(message.hasPrefix("botyard.yaml"))
    }

    @Test func intervalsParseAsTradersWriteThem() {
        #expect(TickInterval.parse("1s") == .success(.seconds(1)))
        #expect(TickInterval.parse("90s") == .success(.seconds(90)))
        #expect(TickInterval.parse("5m") == .success(.seconds(300)))
        #expect(TickInterval.parse("1h") == .success(.seconds(3600)))
        #expect(TickInterval.parse("1m30s") == .success(.seconds(90)))
        #expect((try? TickInterval.parse("500ms").get()) == nil)
        #expect((try? TickInterval.parse("1.5s").get()) == nil)
        #expect((try? TickInterval.parse("0s").get()) == nil)
        #expect(DurationText.format(.seconds(90)) == "90s")
        #expect(DurationText.format(.seconds(300)) == "5m")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
    }
}
