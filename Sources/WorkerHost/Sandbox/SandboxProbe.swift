import Foundation

/// Checks once, at host start, that bubblewrap runs and can make the sandbox's namespaces on this machine.
public enum SandboxProbe {
    /// Runs a trivial command in a sandbox like a worker's.
    /// - Returns: `nil` when it works, or what went wrong and how to fix it.
    public static func check(_ configuration: Sandbox.Configuration) -> String? {
        guard FileManager.default.isExecutableFile(atPath: configuration.bwrap) else {
            return "bubblewrap is not installed (\(configuration.bwrap) not found); install it with "
                + "'apt-get install bubblewrap' (scripts/setup does), or set 'sandbox: off' in the manifest "
                + "to run workers unconfined"
        }
        let arguments = [
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--new-session", "--die-with-parent", "--", "/bin/true",
        ]
        let (status, output) = run(configuration.bwrap, arguments)
        guard status != 0 else { return nil }
        return "bubblewrap cannot create namespaces here (\(output.trimmingCharacters(in: .whitespacesAndNewlines))); "
            + "run the host as root or enable unprivileged user namespaces "
            + "('sysctl kernel.unprivileged_userns_clone=1'), or set 'sandbox: off' to run workers unconfined"
    }

    /// Runs a short command with an empty environment.
    /// - Returns: its exit status and its output.
    static func run(_ executable: String, _ arguments: [String]) -> (CInt, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = [:]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
