#if canImport(Glibc)
    import Glibc
#endif
import AdapterKit
import Foundation

/// A seeded mutation fuzzer: it mutates a corpus of valid inputs (bit flips, cuts, splices, and values that
/// break careless code: huge and negative numbers, NaN, deep nesting) and feeds each to a target, for a
/// number of seconds. A crash ends the process; the signal handler prints the input that caused it first.
///
/// libFuzzer builds with this toolchain only outside SwiftPM, so the engine lives in the test target; the
/// seed makes every run reproducible (`FUZZ_SEED`).
struct Mutator {
    private var random: SplitMix64
    private let corpus: [[UInt8]]

    static let interesting: [String] = [
        "1e308", "-1e308", "1e16", "9223372036854775807", "-9223372036854775808", "18446744073709551616", "NaN",
        "-0", "0", "-1", "1e-320", "null", "true", "[]", "{}", "\"\"", "\"\\u0000\"", "\"\\ud800\"",
        String(repeating: "[", count: 200), String(repeating: "9", count: 400), "99999999999h", "1e19",
        "\u{FEFF}", "'", "\n", "*", "&", "=",
    ]

    init(seed: UInt64, corpus: [String]) {
        self.random = SplitMix64(seed: seed)
        self.corpus = corpus.map { Array($0.utf8) }
    }

    mutating func next() -> UInt64 {
        random.next()
    }

    mutating func below(_ bound: Int) -> Int {
        bound <= 1 ? 0 : Int(next() % UInt64(bound))
    }

    /// The next input: a corpus entry with one to four mutations.
    mutating func input() -> [UInt8] {
        var bytes = corpus[below(corpus.count)]
        for _ in 0...below(4) { mutate(&bytes) }
        return bytes
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let at = below(bytes.count + 1)
        switch below(7) {
        case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] ^= UInt8(1 << below(8))
        case 1 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(8)))
        case 2: bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
        case 3: bytes.insert(contentsOf: Array(Self.interesting[below(Self.interesting.count)].utf8), at: at)
        case 4 where !bytes.isEmpty:
            let token = numberOrWord(in: bytes, around: min(at, bytes.count - 1))
            bytes.replaceSubrange(token, with: Array(Self.interesting[below(Self.interesting.count)].utf8))
        case 5:
            let other = corpus[below(corpus.count)]
            let cut = below(other.count + 1)
            bytes = Array(bytes[..<at]) + Array(other[cut...])
        default:
            let length = min(bytes.count - at, below(16))
            bytes.insert(contentsOf: bytes[at..<at + length], at: at)
        }
    }

    /// The run of letters, digits, `.`, `-` or `+` around `index`.
    private func numberOrWord(in bytes: [UInt8], around index: Int) -> Range<Int> {
        let word: (UInt8) -> Bool = { $0.isASCIIAlnum || $0 == 46 || $0 == 45 || $0 == 43 }
        var start = index
        var end = index
        while start > 0, word(bytes[start - 1]) { start -= 1 }
        while end < bytes.count, word(bytes[end]) { end += 1 }
        return start..<max(end, min(index + 1, bytes.count))
    }
}

extension UInt8 {
    fileprivate var isASCIIAlnum: Bool { (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self) }
}

/// Runs a target for a while and reports what it did.
enum Fuzz {
    /// How long each target runs: `FUZZ_SECONDS` (the test suite's smoke run uses 2 s).
    static var seconds: Double { ProcessInfo.processInfo.environment["FUZZ_SECONDS"].flatMap(Double.init) ?? 2 }
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64(Date().timeIntervalSince1970)
    }

    /// Whether `target` is the one `scripts/fuzz` asked for (all when none is named).
    static func selected(_ target: String) -> Bool {
        guard let wanted = ProcessInfo.processInfo.environment["FUZZ_TARGET"], !wanted.isEmpty else { return true }
        return wanted == target
    }

    /// Feeds mutated inputs to `body` until the time is up.
    /// - Returns: how many inputs ran.
    @discardableResult
    static func run(_ name: String, corpus: [String], _ body: ([UInt8]) async -> Void) async -> Int {
        let seed = Self.seed
        var mutator = Mutator(seed: seed, corpus: corpus)
        let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        var count = 0
        CrashReport.install()
        for input in corpus.map({ Array($0.utf8) }) { await body(input) }
        while ContinuousClock.now < end {
            let input = mutator.input()
            CrashReport.remember(input)
            await body(input)
            count += 1
        }
        print("fuzz \(name): \(count) inputs in \(seconds) s (\(Int(Double(count) / max(seconds, 0.001)))/s), seed \(seed)")
        return count
    }
}

/// Keeps the input being run where a signal handler can print it if the target traps.
enum CrashReport {
    private static let capacity = 1 << 20
    nonisolated(unsafe) private static let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    nonisolated(unsafe) private static var length = 0
    nonisolated(unsafe) private static var installed = false

    static func remember(_ input: [UInt8]) {
        length = min(input.count, capacity)
        guard length > 0 else { return }
        input.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { buffer.update(from: base, count: length) }
        }
    }

    static func install() {
        guard !installed else { return }
        installed = true
        for signal in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT] {
            Glibc.signal(signal) { code in
                let header = "\n=== fuzz crash (signal \(code)); input follows between markers ===\n<<<"
                _ = header.withCString { write(2, $0, strlen($0)) }
                _ = write(2, CrashReport.buffer, CrashReport.length)
                _ = ">>>\n".withCString { write(2, $0, 4) }
                Glibc.signal(code, SIG_DFL)
                raise(code)
            }
        }
    }
}
