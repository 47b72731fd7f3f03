import Foundation
import Testing

@testable import WorkerHost

/// Cron parsing and next fire times. The expected tables were computed by `scripts/cron-oracle`, an independent
/// brute force over every UTC minute with Python's zoneinfo; the end-to-end tests compare the two directly.
struct CronTests {
    func times(_ expression: String, tz: String = "UTC", after: String, count: Int) throws -> [String] {
        let schedule = try CronSchedule(expression, timeZone: tz)
        let formatter = ISO8601DateFormatter()
        let start = try #require(formatter.date(from: after))
        return schedule.upcoming(after: start, count: count).map(formatter.string(from:))
    }

    @Test func fieldsAcceptNumbersRangesStepsListsAndNames() throws {
        let cron = try CronExpression("*/15 9-17/4 1,15 jan-mar,dec MON-fri")
        #expect(cron.minutes == [0, 15, 30, 45])
        #expect(cron.hours == [9, 13, 17])
        #expect(cron.daysOfMonth == [1, 15])
        #expect(cron.months == [1, 2, 3, 12])
        #expect(cron.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(try CronExpression("0 0 * * 7").daysOfWeek == [0])  // 7 is Sunday too
        #expect(try CronExpression("0 0 * * 5-7").daysOfWeek == [5, 6, 0])
        #expect(try CronExpression("5/20 * * * *").minutes == [5, 25, 45])
        let hourly = try CronExpression("@hourly")
        #expect(hourly.minutes == [0] && hourly.hours == Set(0...23) && hourly.daysOfWeek == Set(0...6))
    }

    @Test(arguments: [
        ("61 * * * *", "minute", "61"), ("* 24 * * *", "hour", "24"), ("* * 0 * *", "day of month", "0"),
        ("* * * 13 *", "month", "13"), ("* * * * 8", "day of week", "8"), ("*/0 * * * *", "minute", "step"),
        ("5-2 * * * *", "minute", "backwards"), ("* * * foo *", "month", "foo"), ("1,,2 * * * *", "minute", "empty"),
        ("* * * *", "", "5 fields"), ("* * * * * *", "", "5 fields"), ("1-2-3 * * * *", "minute", "range"),
        ("9999999999999999999999 * * * *", "minute", "9999"),
    ])
    func badExpressionsNameTheirField(text: String, field: String, fragment: String) {
        #expect {
            try CronExpression(text)
        } throws: { error in
            let message = "\(error)"
            return message.contains(fragment) && (field.isEmpty || message.contains("\(field) field"))
        }
    }

    @Test func anUnknownZoneAndADayThatNeverComesAreRefused() {
        #expect(
            throws: CronSchedule.Failure(
                field: "tz", message: "unknown time zone \"Europe/Londn\" (use an IANA name: Europe/London)")
        ) {
            try CronSchedule("0 9 * * *", timeZone: "Europe/Londn")
        }
        #expect { try CronSchedule("0 0 30 2 *") } throws: { ($0 as? CronSchedule.Failure)?.field == "cron" }
        #expect(throws: Never.self) { try CronSchedule("0 0 29 2 *") }  // leap days exist
    }

    @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
        // The 13th or any Friday, in March 2026 (the 13th is a Friday).
        #expect(
            try times("0 0 13 * fri", after: "2026-03-01T00:00:00Z", count: 5) == [
                "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z", "2026-03-27T00:00:00Z",
                "2026-04-03T00:00:00Z",
            ])
        // `*/2` in the day of month counts as unrestricted: both must match.
        #expect(
            try times("0 0 */2 * mon", after: "2026-03-01T00:00:00Z", count: 2) == [
                "2026-03-09T00:00:00Z", "2026-03-23T00:00:00Z",
            ])
    }

    @Test func weekdayMorningsInLondonAcrossTheSpringChange() throws {
        #expect(
            try times("0 9 * * 1-5", tz: "Europe/London", after: "2026-03-26T00:00:00Z", count: 4) == [
                "2026-03-26T09:00:00Z", "2026-03-27T09:00:00Z", "2026-03-30T08:00:00Z", "2026-03-31T08:00:00Z",
            ])
    }

    @Test func aSkippedLocalTimeFiresOnceAtTheEndOfTheGap() throws {
        #expect(
            try times("30 1 * * *", tz: "Europe/London", after: "2026-03-27T00:00:00Z", count: 4) == [
                "2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z",
            ])
        #expect(
            try times("30 2 * * *", tz: "America/New_York", after: "2026-03-07T00:00:00Z", count: 3) == [
                "2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z",
            ])
        // Every minute of the skipped hour collapses into one fire at 02:00 local.
        #expect(
            try times("* 1 * * *", tz: "Europe/London", after: "2026-03-29T00:58:00Z", count: 2) == [
                "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z",
            ])
    }

    @Test func aRepeatedLocalTimeFiresOnce() throws {
        #expect(
            try times("30 1 * * *", tz: "Europe/London", after: "2026-10-23T00:00:00Z", count: 4) == [
                "2026-10-23T00:30:00Z", "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
            ])
        #expect(
            try times("*/20 1 * * *", tz: "Europe/London", after: "2026-10-24T12:00:00Z", count: 6) == [
                "2026-10-25T00:00:00Z", "2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z", "2026-10-26T01:00:00Z",
                "2026-10-26T01:20:00Z", "2026-10-26T01:40:00Z",
            ])
        #expect(
            try times("30 1 * * *", tz: "America/New_York", after: "2026-10-31T00:00:00Z", count: 3) == [
                "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z",
            ])
        // Asked from inside the repeated hour's second pass, the next fire is the next day's.
        #expect(
            try times("30 1 * * *", tz: "Europe/London", after: "2026-10-25T01:15:00Z", count: 1) == [
                "2026-10-26T01:30:00Z"
            ])
    }

    @Test func leapDaysAndCivilDates() throws {
        #expect(
            try times("0 12 29 2 *", after: "2026-01-01T00:00:00Z", count: 2) == [
                "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z",
            ])
        func civil(_ days: Int64) -> [Int] {
            let date = CivilDate(days: days)
            return [date.year, date.month, date.day, date.weekday]
        }
        #expect(civil(0) == [1970, 1, 1, 4])
        #expect(civil(-1) == [1969, 12, 31, 3])
        #expect(civil(20_513) == [2026, 3, 1, 0])
    }

    @Test func hostileInstantsAnswerNothingInsteadOfTrapping() throws {
        let schedule = try CronSchedule("* * * * *")
        #expect(schedule.next(after: Date(timeIntervalSince1970: .infinity)) == nil)
        #expect(schedule.next(after: Date(timeIntervalSince1970: 1e300)) == nil)
        #expect(schedule.next(after: Date(timeIntervalSince1970: .nan)) == nil)
    }
}
