import Foundation

/// A cron expression in a time zone: the instants at which it fires.
///
/// Times are wall-clock times in `timeZone`, so `0 9 * * 1-5` in `Europe/London` is 09:00 London time in winter
/// and in summer. Across daylight-saving changes a local time that does not exist (the hour skipped in spring)
/// fires once, at the first instant after the gap; a local time that happens twice (the hour repeated in autumn)
/// fires once, the first time.
///
/// A pure value: `next(after:)` reads no clock.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    /// Why a schedule was refused: the field (`cron` or `tz`) and the reason.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { message }
    }

    public let expression: CronExpression
    public let timeZone: TimeZone

    /// The longest gap between two fires of a valid expression: `0 0 29 2 *` skips 2100 (8 years).
    static let searchDays = 8 * 366 + 1

    /// Parses `expression` for the IANA zone `timeZone` (`UTC` by default).
    /// - Throws: `Failure` for a malformed expression, an unknown zone, or an expression that never fires
    ///   (`0 0 30 2 *`).
    public init(_ expression: String, timeZone identifier: String = "UTC") throws(Failure) {
        let parsed: CronExpression
        do { parsed = try CronExpression(expression) } catch { throw Failure(field: "cron", message: "\(error)") }
        guard !identifier.isEmpty, identifier.utf8.count <= 64, let zone = TimeZone(identifier: identifier) else {
            throw Failure(field: "tz", message: "unknown time zone \"\(identifier)\" (use an IANA name: Europe/London)")
        }
        self.expression = parsed
        self.timeZone = zone
        guard next(after: Date(timeIntervalSince1970: 1_767_225_600)) != nil else {  // 2026-01-01
            throw Failure(field: "cron", message: "cron \"\(expression)\" names no day that exists: it never fires")
        }
    }

    public var description: String { "\(expression.text) (\(timeZone.identifier))" }

    /// The first fire time strictly after `date`, or `nil` if there is none within eight years.
    public func next(after date: Date) -> Date? {
        guard date.timeIntervalSince1970.isFinite, abs(date.timeIntervalSince1970) < 2.6e11 else { return nil }
        let after = Int64(date.timeIntervalSince1970.rounded(.down))
        let localNow = after + Int64(offset(at: after))
        let firstDay = localNow.floorDiv(86_400)
        let times = expression.timesOfDay
        for day in firstDay..<(firstDay + Int64(Self.searchDays)) {
            let civil = CivilDate(days: day)
            guard expression.matches(month: civil.month, day: civil.day, weekday: civil.weekday) else { continue }
            for time in times {
                let local = day * 86_400 + Int64(time.hour * 3600 + time.minute * 60)
                let instant = resolve(local: local)
                if instant > after { return Date(timeIntervalSince1970: Double(instant)) }
            }
        }
        return nil
    }

    /// The next `count` fire times after `date`.
    public func upcoming(after date: Date, count: Int) -> [Date] {
        var times: [Date] = []
        var cursor = date
        while times.count < count, let next = next(after: cursor) {
            times.append(next)
            cursor = next
        }
        return times
    }

    // MARK: - Local time to instants

    /// The instant of a local wall-clock time (Unix seconds as if the zone were UTC): the first of two when it
    /// is repeated, the end of the gap when it does not exist.
    func resolve(local: Int64) -> Int64 {
        let before = Int64(offset(at: local - 86_400))
        let after = Int64(offset(at: local + 86_400))
        let valid = [local - before, local - after].filter { Int64(offset(at: $0)) == local - $0 }
        if let first = valid.min() { return first }
        // In a gap: the clocks jumped from `before` to `after` between these instants; find when.
        var low = min(local - after, local - before)
        var high = max(local - after, local - before)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if Int64(offset(at: middle)) == before { low = middle } else { high = middle }
        }
        return high
    }

    private func offset(at instant: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))
    }
}

/// A proleptic Gregorian date from a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
struct CivilDate: Equatable {
    var year: Int
    var month: Int
    var day: Int
    /// 0–6, Sunday = 0.
    var weekday: Int

    init(days: Int64) {
        let shifted = days + 719_468
        let era = shifted.floorDiv(146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        weekday = Int((days + 4).floorMod(7))
    }
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    fileprivate func floorMod(_ divisor: Int64) -> Int64 {
        self - floorDiv(divisor) * divisor
    }
}
