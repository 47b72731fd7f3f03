import ArgumentParser
import WorkerHost

@main
struct Botyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run trading bots: Python tick workers and compiled-in Swift workers, with persistent state.",
        subcommands: [
            Run.self, Check.self, Status.self, Start.self, Stop.self, Restart.self, Reload.self, Interval.self,
            Logs.self,
            State.self, Deploy.self, Paper.self, Cron.self,
        ])
}

/// Options every command shares.
struct HostOptions: ParsableArguments {
    @Option(help: "The data directory: state, logs, admin token.")
    var dataDir = ".botyard"

    @Option(help: "The control API's port (run: 0 picks a free one; other commands: read from the data directory).")
    var port: Int?

    var data: DataDirectory { DataDirectory(path: dataDir) }

    func client() throws -> ControlClient {
        do { return try ControlClient(data: data, port: port) } catch { throw ValidationError(error.message) }
    }
}
