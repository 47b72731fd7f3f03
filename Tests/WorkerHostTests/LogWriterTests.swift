import Foundation
import Testing

@testable import WorkerHost

/// Worker logs: written off the event loop, rotated by size, read from the end.
@Suite(.timeLimit(.minutes(1)))
struct LogWriterTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("logs-\(UUID().uuidString)").path

    func flushed(_ path: String, contains text: String) async throws {
        for _ in 0..<500 {
            if let data = FileManager.default.contents(atPath: path), String(decoding: data, as: UTF8.self).contains(text) {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(path) never got \(text)")
    }

    @Test func aRunningLogRotatesBySizeAndKeepsAFewFiles() async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var limits = LogWriter.Limits()
        limits.fileBytes = 4096
        limits.keep = 2
        let path = folder + "/w.log"
        let writer = LogWriter(path: path, console: nil, limits: limits)
        writer.enqueue(.open)
        for index in 0..<400 { writer.enqueue(.line(file: "line \(index) " + String(repeating: "x", count: 40) + "\n", echo: nil)) }
        writer.enqueue(.line(file: "last\n", echo: nil))
        try await flushed(path, contains: "last")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["w.log", "w.log.1", "w.log.2"])
        for name in names {
            let size = try FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int ?? 0
            #expect(size <= 4096)
        }
    }

    @Test func aNewRunKeepsThePreviousAsPrev() async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        log.open()
        log.write(level: .info, "first run")
        log.open()
        log.write(level: .info, "second run")
        try await flushed(log.path, contains: "second run")
        try await flushed(log.path + ".prev", contains: "first run")
    }

    @Test func tailReadsTheEndOfALargeFile() async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let log = WorkerLog(worker: "w", directory: folder, console: nil)
        var text = ""
        for index in 0..<200_000 { text += "line \(index)\n" }  // about 2.4 MB
        try text.write(toFile: log.path, atomically: true, encoding: .utf8)
        #expect(log.tail(3) == ["line 199997", "line 199998", "line 199999"])
        #expect(log.tail(10_000).count == 10_000)
        #expect(log.tail(10_000).first == "line 190000")
    }

    @Test func producersWaitWhileTheQueueIsFull() async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var limits = LogWriter.Limits()
        limits.queueBytes = 1024
        let path = folder + "/w.log"
        let writer = LogWriter(path: path, console: nil, limits: limits)
        writer.enqueue(.open)
        for index in 0..<2000 { await writer.enqueueWaiting(.line(file: "flood \(index)\n", echo: nil)) }
        try await flushed(path, contains: "flood 1999")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2000, "backpressure loses nothing")
    }
}
