import Foundation
import Testing

@testable import WorkerHost

/// `command:`/`args:`, `flags:`/`when:`, `env:` rules, `${BOTYARD_ROOT}` and `tasks:`.
struct ManifestEventsTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/bin", withIntermediateDirectories: true)
        try "def tick(ctx):\n    pass\n".write(toFile: folder + "/a.py", atomically: true, encoding: .utf8)
        try "#!/bin/sh\nexit 0\n".write(toFile: folder + "/bin/relay", atomically: true, encoding: .utf8)
        chmod(folder + "/bin/relay", 0o755)
    }

    func load(_ text: String, flags: [String: Bool] = [:]) throws(ManifestError) -> Manifest {
        var loader = ManifestLoader(swiftWorkers: ["Heartbeat"])
        loader.flagOverrides = flags
        return try loader.parse(text, path: folder + "/botyard.yaml")
    }

    func error(_ text: String, flags: [String: Bool] = [:]) -> String {
        do {
            _ = try load(text, flags: flags)
            return "no error"
        } catch {
            return error.description.replacingOccurrences(of: folder + "/", with: "")
        }
    }

    @Test func commandArgsAndTheRootAreSubstituted() throws {
        let manifest = try load(
            """
            workers:
              relay:
                command: ${BOTYARD_ROOT}/bin/relay
                args: ['--config=${BOTYARD_ROOT}/relay.toml', '--addr=127.0.0.1:9090']
                env: {LOG_LEVEL: info, CONFIG: '${BOTYARD_ROOT}/relay.toml'}
              shell:
                command: sh
                args: [-c, 'exit 3']
            """)
        let relay = manifest.workers[0]
        #expect(
            relay.code
                == .command(
                    executable: folder + "/bin/relay",
                    arguments: [
                        "--config=\(folder)/relay.toml", "--addr=127.0.0.1:9090",
                    ]))
        #expect(relay.environment == ["LOG_LEVEL": "info", "CONFIG": folder + "/relay.toml"])
        guard case .command(let shell, _) = manifest.workers[1].code else { return #expect(Bool(false)) }
        #expect(shell.hasSuffix("/sh") && shell.hasPrefix("/"), "a bare name is found on PATH")
    }

    @Test func flagsGateWorkersAndTheCommandLineOverridesThem() throws {
        let text = """
            flags: {bridge-enabled: false, live: true}
            workers:
              bridge:
                code: a.py
                when: [bridge-enabled, live]
              always:
                code: a.py
            """
        let off = try load(text)
        #expect(off.workers[0].gatedOff == "flag 'bridge-enabled' is off")
        #expect(off.workers[1].gatedOff == nil)
        #expect(off.workers[1].flags == ["bridge-enabled": false, "live": true])
        let on = try load(text, flags: ["bridge-enabled": true])
        #expect(on.workers[0].gatedOff == nil)
        #expect(
            try load(text, flags: ["bridge-enabled": true, "live": false]).workers[0].gatedOff == "flag 'live' is off")
        #expect(FlagName.variable("bridge-enabled") == "BOTYARD_FLAG__BRIDGE_ENABLED")
    }

    @Test(arguments: [
        (
            "workers:\n  w:\n    code: a.py\n    env: {BOTYARD_RUNTIME_TOKEN: x}\n",
            "botyard.yaml:4: worker 'w', field 'env.BOTYARD_RUNTIME_TOKEN': is set by the host"
        ),
        (
            "workers:\n  w:\n    code: a.py\n    env: {KEY: '${BYBIT_SECRET}'}\n",
            "field 'env.KEY': only ${BOTYARD_ROOT} can be substituted here, not ${BYBIT_SECRET}"
        ),
        ("workers:\n  w:\n    code: a.py\n    when: [nope]\n", "field 'when': no flag named 'nope'"),
        ("flags: {a: maybe}\nworkers:\n  w:\n    code: a.py\n", "field 'flags.a': expected true or false"),
        ("flags: {Bad Name: true}\nworkers:\n  w:\n    code: a.py\n", "flag 'Bad Name'"),
        ("workers:\n  w:\n    code: a.py\n    command: sh\n", "field 'command': a worker has exactly one of"),
        ("workers:\n  w:\n    code: a.py\n    args: [x]\n", "field 'args': 'args:' goes with 'command:'"),
        (
            "workers:\n  w:\n    command: no-such-program-here\n",
            "field 'command': no executable 'no-such-program-here'"
        ),
        ("workers:\n  w:\n    command: sh\n    args: {a: b}\n", "field 'args': expected a list"),
        ("workers:\n  w:\n    code: a.py\n    tasks: {max_delay: 0s}\n", "field 'tasks.max_delay'"),
        (
            "workers:\n  w:\n    code: a.py\n    tasks: {first_delay: 10s, max_delay: 1s}\n",
            "first_delay must not exceed"
        ),
    ])
    func badEntriesNameTheFileLineWorkerAndField(text: String, fragment: String) {
        let message = error(text)
        #expect(message.contains(fragment), "\(message)")
    }

    @Test func anUnknownFlagOnTheCommandLineIsAnError() {
        #expect(
            error("flags: {a: true}\nworkers:\n  w:\n    code: a.py\n", flags: ["b": true]).contains(
                "--flag b: no such flag; declared: a"))
    }

    @Test func theEnvironmentIsLayeredWithRuntimeVariablesLast() throws {
        var spec = try load(
            "flags: {live: true, paper: false}\nworkers:\n  w:\n    code: a.py\n    env: {PATH: /opt/bin, LEVEL: info}\n"
        ).workers[0]
        spec.environment["HOME"] = "/declared"
        let runtime = RuntimeVariables(url: "http://127.0.0.1:8700")
        let environment = WorkerEnvironment.layered(
            spec, host: ["PATH": "/usr/bin", "HOME": "/root", "BYBIT_SECRET": "s3cret", "LANG": "C.UTF-8"],
            runtime: runtime)
        #expect(environment["PATH"] == "/opt/bin", "env: wins over the host")
        #expect(environment["LANG"] == "C.UTF-8" && environment["HOME"] == "/declared")
        #expect(environment["BYBIT_SECRET"] == nil, "never a secret from the host")
        #expect(environment["BOTYARD_FLAG__LIVE"] == "1" && environment["BOTYARD_FLAG__PAPER"] == "0")
        #expect(environment["BOTYARD_ROOT"] == folder && environment["BOTYARD_RUNTIME_URL"] == "http://127.0.0.1:8700")
        #expect(environment["BOTYARD_RUNTIME_ID"] == runtime.id)
        let token = try #require(environment["BOTYARD_RUNTIME_TOKEN"])
        #expect(token.count == 64 && runtime.isToken(token, of: "w") && !runtime.isToken(token, of: "other"))
    }
}
