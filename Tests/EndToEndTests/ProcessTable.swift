import Foundation

/// The machine's process table, read from `/proc`, for checking that no worker process outlives its host.
enum ProcessTable {
    /// One process: its parent and whether it is a zombie (dead, not yet reaped).
    struct Entry {
        var parent: pid_t
        var zombie: Bool
    }

    /// Every process now.
    static func entries() -> [pid_t: Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []  // no /proc: nothing
        var table: [pid_t: Entry] = [:]
        for name in names {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let parent = pid_t(fields[1]) else { continue }
            table[pid] = Entry(parent: parent, zombie: fields[0] == "Z")
        }
        return table
    }

    /// The living processes descended from `root` (not `root` itself).
    static func descendants(of root: pid_t) -> Set<pid_t> {
        let table = entries()
        var found: Set<pid_t> = []
        var frontier: Set<pid_t> = [root]
        while !frontier.isEmpty {
            let children = Set(table.filter { frontier.contains($0.value.parent) && !$0.value.zombie }.keys)
            frontier = children.subtracting(found)
            found.formUnion(children)
        }
        return found
    }

    /// The living processes whose environment holds `variable` (`NAME=value`); needs the right to read them.
    static func withEnvironment(_ variable: String) -> Set<pid_t> {
        let table = entries()
        return Set(
            table.filter { pid, entry in
                guard !entry.zombie, let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else {
                    return false
                }
                return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == variable }
            }.keys)
    }

    /// Those of `pids` still alive (zombies count as gone).
    static func alive(_ pids: Set<pid_t>) -> Set<pid_t> {
        let table = entries()
        return pids.filter { table[$0].map { !$0.zombie } ?? false }
    }
}
