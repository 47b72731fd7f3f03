import Foundation

/// A standard five-field cron expression: minute, hour, day of month, month, day of week.
///
/// Each field takes numbers, `*`, ranges (`1-5`), steps (`*/15`, `0-30/10`, `5/15` = `5-max/15`) and lists
/// (`1,15,30`); months and weekdays take names (`jan`, `mon-fri`), and 0 or 7 is Sunday. The macros `@hourly`,
/// `@daily`, `@weekly`, `@monthly` and `@yearly` are accepted. When both the day of month and the day of week
/// are restricted (neither starts with `*`), a day matches if either does: the classic Vixie cron rule.
///
/// A pure value: parsing reads no clock and no time zone (`CronSchedule` adds those).
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// One of the five fields.
    public enum Field: String, Sendable, CaseIterable {
        case minute, hour, dayOfMonth = "day of month", month, dayOfWeek = "day of week"

        var range: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            case .dayOfWeek: 0...7
            }
        }

        var names: [String] {
            switch self {
            case .month: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: []
            }
        }

        /// The value of a name: `jan` = 1, `sun` = 0.
        func value(ofName name: String) -> Int? {
            names.firstIndex(of: name.lowercased()).map { self == .month ? $0 + 1 : $0 }
        }
    }

    /// Why an expression was refused; names the field and the text at fault.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var field: Field?
        public var text: String
        public var reason: String

        public var description: String {
            guard let field else { return "cron \"\(text)\": \(reason)" }
            return "cron \(field.rawValue) field \"\(text)\": \(reason)"
        }
    }

    /// The text as written.
    public let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0–6, Sunday = 0.
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `text`.
    /// - Throws: `ParseError` naming the field at fault and why.
    public init(_ text: String) throws(ParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        let parts = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw ParseError(
                field: nil, text: text,
                reason: "needs 5 fields (minute hour day-of-month month day-of-week), has \(parts.count)")
        }
        self.text = trimmed
        minutes = try Self.parse(parts[0], .minute)
        hours = try Self.parse(parts[1], .hour)
        daysOfMonth = try Self.parse(parts[2], .dayOfMonth)
        months = try Self.parse(parts[3], .month)
        daysOfWeek = Set(try Self.parse(parts[4], .dayOfWeek).map { $0 % 7 })
        dayOfMonthRestricted = !parts[2].hasPrefix("*")
        dayOfWeekRestricted = !parts[4].hasPrefix("*")
    }

    public var description: String { text }

    /// Whether a calendar day matches the day-of-month, month and day-of-week fields.
    /// - Parameter weekday: 0–6, Sunday = 0.
    func matches(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let byDay = daysOfMonth.contains(day)
        let byWeekday = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted { return byDay || byWeekday }
        return byDay && byWeekday
    }

    /// Whether an hour and minute match.
    func matches(hour: Int, minute: Int) -> Bool {
        hours.contains(hour) && minutes.contains(minute)
    }

    /// The hours and minutes of a matching day, in order.
    var timesOfDay: [(hour: Int, minute: Int)] {
        hours.sorted().flatMap { hour in minutes.sorted().map { (hour, $0) } }
    }

    // MARK: - Parsing

    private static func parse(_ text: String, _ field: Field) throws(ParseError) -> Set<Int> {
        var values = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw ParseError(field: field, text: text, reason: "empty list item") }
            values.formUnion(try parseItem(String(item), field, whole: text))
        }
        return values
    }

    /// One list item: `*`, `a`, `a-b`, each with an optional `/step`.
    private static func parseItem(_ item: String, _ field: Field, whole: String) throws(ParseError) -> [Int] {
        func fail(_ reason: String) -> ParseError { ParseError(field: field, text: whole, reason: reason) }
        let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2 else { throw fail("more than one '/' in \"\(item)\"") }
        var step = 1
        if pieces.count == 2 {
            guard let parsed = Int(pieces[1]), (1...field.range.upperBound + 1).contains(parsed) else {
                throw fail("step \"\(pieces[1])\" must be a number from 1 to \(field.range.upperBound + 1)")
            }
            step = parsed
        }
        let base = String(pieces[0])
        var bounds: ClosedRange<Int>
        if base == "*" {
            bounds = field == .dayOfWeek ? 0...6 : field.range
        } else {
            let ends = base.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2 else { throw fail("\"\(base)\" is not a value or a range") }
            let low = try value(String(ends[0]), field, whole: whole)
            let high = ends.count == 2 ? try value(String(ends[1]), field, whole: whole) : nil
            if let high, high < low { throw fail("range \(base) runs backwards") }
            bounds = low...(high ?? (pieces.count == 2 ? field.range.upperBound : low))
        }
        return Array(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
    }

    private static func value(_ text: String, _ field: Field, whole: String) throws(ParseError) -> Int {
        if let name = field.value(ofName: text) { return name }
        guard let number = Int(text), field.range.contains(number) else {
            let names = field.names.isEmpty ? "" : " or a name (\(field.names.joined(separator: ", ")))"
            throw ParseError(
                field: field, text: whole,
                reason:
                    "\"\(text)\" is not a number from \(field.range.lowerBound) to \(field.range.upperBound)\(names)"
            )
        }
        return number
    }
}
