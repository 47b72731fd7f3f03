import Foundation
import Testing

/// `botyard cron` against `scripts/cron-oracle`, a brute force over every UTC minute with Python's zoneinfo.
struct CronCommandTests {
    static let oracle = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/cron-oracle").standardized.path

    func oracle(_ expression: String, tz: String, after: String, count: Int) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.oracle, expression, tz, after, String(count)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test(arguments: [
        ("0 9 * * 1-5", "Europe/London"), ("30 1 * * *", "Europe/London"), ("*/20 1,2 * * *", "Europe/London"),
        ("0 2 * * sun", "America/New_York"), ("15 1-3 * * *", "America/New_York"), ("0 0 13 * fri", "UTC"),
        ("0 */6 1,15 * *", "America/New_York"), ("45 23 * mar,oct *", "Europe/London"),
    ])
    func nextTimesMatchTheBruteForceOracleAcrossBothDaylightSavingChanges(expression: String, tz: String) async throws {
        let host = try HostProcess()
        for after in ["2026-03-06T00:00:00Z", "2026-10-23T00:00:00Z"] {
            let run = try await host.runToEnd(["cron", expression, "--tz", tz, "--after", after, "--count", "12"])
            #expect(run.status == 0, "\(run.output)")
            let printed = run.output.split(separator: "\n").map(String.init)
            #expect(
                printed == (try oracle(expression, tz: tz, after: after, count: 12)), "\(expression) \(tz) \(after)")
        }
    }

    @Test func aBadExpressionOrZoneIsAClearErrorAndNoOutput() async throws {
        let host = try HostProcess()
        let minute = try await host.runToEnd(["cron", "61 9 * * *"])
        #expect(minute.status != 0)
        #expect(minute.output.contains("minute field \"61\""))
        let zone = try await host.runToEnd(["cron", "0 9 * * *", "--tz", "Mars/Olympus"])
        #expect(zone.status != 0)
        #expect(zone.output.contains("--tz: unknown time zone \"Mars/Olympus\""))
        let count = try await host.runToEnd(["cron", "0 9 * * *", "--count", "0"])
        #expect(count.status != 0 && count.output.contains("--count"))
    }
}

extension CronCommandTests {
    @Test func startsOutsideTheSupportedYearsAreRefusedInsteadOfPrintingWrongDates() async throws {
        let host = try HostProcess()
        for after in ["0000-01-01T00:00:00Z", "9999-12-31T00:00:00Z"] {
            let run = try await host.runToEnd(["cron", "0 0 29 2 *", "--after", after])
            #expect(run.status != 0 && run.output.contains("from 1970 to 9990"), "\(after): \(run.output)")
        }
        let late = try await host.runToEnd(["cron", "0 0 29 2 *", "--after", "9989-03-01T00:00:00Z", "--count", "1"])
        #expect(late.status == 0 && late.output == "9992-02-29T00:00:00Z\n", "\(late.output)")
    }
}
