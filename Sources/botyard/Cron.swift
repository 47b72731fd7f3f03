import ArgumentParser
import Foundation
import WorkerHost

struct Cron: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the next times a cron expression fires, in UTC, to check it before deploying.",
        discussion: """
            Five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5" with --tz Europe/London
            for 09:00 London time on weekdays. Each line is one fire time as YYYY-MM-DDTHH:MM:SSZ.
            """)

    @Argument(help: "The expression, quoted: \"0 9 * * 1-5\".")
    var expression: String

    @Option(help: "The IANA time zone the times are in.")
    var tz = "UTC"

    @Option(help: "Start after this instant (ISO 8601, e.g. 2026-03-28T00:00:00Z; default: now).")
    var after: String?

    @Option(help: "How many times to print (1-1000).")
    var count = 5

    func run() throws {
        guard (1...1000).contains(count) else { throw ValidationError("--count must be from 1 to 1000") }
        let schedule: CronSchedule
        do { schedule = try CronSchedule(expression, timeZone: tz) } catch {
            throw ValidationError(error.field == "tz" ? "--tz: \(error.message)" : error.message)
        }
        var start = Date()
        if let after {
            guard let parsed = ISO8601DateFormatter().date(from: after),
                (0...253_086_768_000).contains(parsed.timeIntervalSince1970)  // 1970 to 9990
            else {
                throw ValidationError(
                    "--after \"\(after)\" is not an ISO 8601 instant from 1970 to 9990, like 2026-03-28T00:00:00Z")
            }
            start = parsed
        }
        let formatter = ISO8601DateFormatter()
        let times = schedule.upcoming(after: start, count: count)
        guard !times.isEmpty else {
            throw ValidationError("\"\(expression)\" does not fire in the 8 years after the start")
        }
        for time in times { print(formatter.string(from: time)) }
    }
}
