extension Duration {
    /// Whole milliseconds in this duration, rounded down, saturating at the bounds of `Int64`.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        let (total, over) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflow || over ? (seconds < 0 ? .min : .max) : total
    }

    /// `seconds` as a duration, when it is a finite number from 0 to `limit` (at most about 292 years).
    /// - Returns: `nil` for NaN, infinities, negative numbers and numbers past `limit`: values from outside
    ///   the host are checked here before any conversion that could trap.
    public static func seconds(checked seconds: Double, upTo limit: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= min(limit, 9.2e9) else { return nil }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Whole nanoseconds in this duration, saturating at the bounds of `Int64`.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, over) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow || over ? (seconds < 0 ? .min : .max) : total
    }

    /// This duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
