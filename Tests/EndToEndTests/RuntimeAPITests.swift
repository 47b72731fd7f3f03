import AdapterKit
import Foundation
import Testing
import WorkerHost

/// The runtime API as a worker in any language uses it: its own token, `POST /api/events`, `GET /api/runtime`.
@Suite(.timeLimit(.minutes(2)))
struct RuntimeAPITests {
    /// A `command:` worker in plain Python (no SDK) that publishes with its token and probes its scope.
    static let relay = """
        import json, os, urllib.request, urllib.error

        URL = os.environ["BOTYARD_RUNTIME_URL"]
        TOKEN = os.environ["BOTYARD_RUNTIME_TOKEN"]

        def call(method, path, body=None, token=TOKEN, header=True):
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(URL + path, data=data, method=method)
            if header:
                request.add_header("Authorization", "Bearer " + token)
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    return reply.status, json.loads(reply.read() or b"null")
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()

        import time
        for _ in range(200):  # events are not replayed: wait until the listener runs
            status, runtime = call("GET", "/api/runtime")
            if status == 200 and any(w["name"] == "listener" and w["state"] == "running" for w in runtime["workers"]):
                break
            time.sleep(0.05)

        results = {
            "publish": call("POST", "/api/events", {"kind": "desk.signal", "payload": {"px": 101.5}}),
            "notify": call("POST", "/api/events", {"kind": "notify", "payload": {"title": "hi", "severity": "success"}}),
            "reserved": call("POST", "/api/events", {"kind": "session.created", "payload": {}}),
            "bad_severity": call("POST", "/api/events", {"kind": "notify", "payload": {"title": "x", "severity": "loud"}}),
            "runtime": call("GET", "/api/runtime"),
            "own": call("GET", "/api/workers/relay"),
            "other_state": call("GET", "/api/workers/listener/state"),
            "stop_other": call("POST", "/api/workers/listener/stop"),
            "deploy": call("POST", "/api/workers/listener/deploy", {"code": "x"}),
            "reload": call("POST", "/api/reload"),
            "traverse": call("GET", "/api/workers/relay/../listener/state"),
            "encoded": call("GET", "/api/workers/relay/%2e%2e/listener/state"),
            "wrong": call("GET", "/api/runtime", token="nope"),
            "in_url": call("GET", "/api/runtime?token=" + TOKEN, header=False),
            "restart_other": call("POST", "/api/workers/listener/restart"),
            "calls_other": call("POST", "/api/workers/listener/calls", {"method": "state.get", "params": {"key": "signal"}}),
            "calls_own": call("POST", "/api/workers/relay/calls", {"method": "state.set", "params": {"key": "k", "json": "7"}}),
            "calls_bad": call("POST", "/api/workers/relay/calls", {"method": "state.set", "params": {"key": "k", "json": "{"}}),
            "session": call("POST", "/api/sessions", {"session_id": "relay-1"}),
            "ticket": call("POST", "/api/ws-ticket"),
        }
        for name, (status, body) in results.items():
            print(f"{name} {status} {json.dumps(body)[:300]}")
        """

    static let listener = """
        from botyard import Worker

        worker = Worker(name="listener")

        @worker.on_event("desk.signal")
        async def signal(event, client):
            await client.state.set("signal", {"px": event.payload["px"], "source": event.source})

        @worker.on_event("notify")
        async def notified(event, client):
            if event.payload.get("severity") == "success":
                await client.state.set("notify", event.payload)
        """

    @Test func aCommandWorkerPublishesWithItsOwnTokenAndCannotLeaveItsScope() async throws {
        let host = try HostProcess()
        try host.write("relay.py", Self.relay)
        try host.write("listener.py", Self.listener)
        let manifest = """
            workers:
              listener:
                code: listener.py
              relay:
                command: /usr/bin/python3
                args: ['${BOTYARD_ROOT}/relay.py']
            """
        try await host.start(try host.write("botyard.yaml", manifest))
        try await host.waitUntil("the relay ran") {
            (try await host.worker("relay")["state"]?.stringValue) == "stopped"
        }
        let lines = host.log("relay").split(separator: "\n").compactMap { line in
            line.range(of: "| ").map { String(line[$0.upperBound...]) }
        }
        func status(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name + " ") }?.split(separator: " ").dropFirst().first.map(String.init)
        }
        #expect(status("publish") == "200" && status("notify") == "200", "\(lines)")
        #expect(status("reserved") == "400" && lines.contains { $0.contains("'session.' prefix is reserved") })
        #expect(status("bad_severity") == "400")
        #expect(status("runtime") == "200" && status("own") == "200")
        for refused in ["other_state", "stop_other", "deploy", "reload"] {
            #expect(status(refused) == "403", "\(refused): \(lines)")
        }
        for probe in ["traverse", "encoded"] {
            #expect(status(probe) == "403" || status(probe) == "404", "\(probe) must not read another worker: \(lines)")
        }
        #expect(status("wrong") == "401" && status("in_url") == "401", "a worker's token is never read from a URL")
        #expect(status("restart_other") == "403" && status("calls_other") == "403", "no may_restart, no other's calls")
        #expect(status("calls_own") == "200" && status("session") == "201" && status("ticket") == "200")
        #expect(lines.contains { $0.hasPrefix("calls_bad 200") && $0.contains("ValueError") }, "\(lines)")
        #expect(try await host.state("relay", "k") == "7", "a command: worker's state, through its calls")
        try await host.waitUntil("the listener got both", timeout: .seconds(10)) {
            let notify = try await host.state("listener", "notify")
            let signal = try await host.state("listener", "signal")
            return notify != nil && signal != nil
        }
        #expect(try await host.state("listener", "signal") == #"{"px":101.5,"source":"relay"}"#)
        let notify = try await host.state("listener", "notify") ?? ""
        #expect(notify.contains(#""source":"relay""#) && notify.contains(#""title":"hi""#), "\(notify)")
        #expect(try await host.interrupt() == 0)
    }

    @Test func theAdminPublishesAsTheOperatorAndReadsTheRuntime() async throws {
        let host = try HostProcess()
        try host.write("listener.py", Self.listener)
        try await host.start(try host.write("botyard.yaml", "workers:\n  listener:\n    code: listener.py\n"))
        try await host.waitUntil("running") { (try await host.worker("listener")["state"]?.stringValue) == "running" }
        let published = try await host.api(.post, "/api/events", body: #"{"kind":"desk.signal","payload":{"px":7}}"#)
        #expect(published.status == 200 && published.json["source"] == "operator")
        try await host.waitUntil("delivered") { try await host.state("listener", "signal") != nil }
        let runtime = try await host.api(.get, "/api/runtime")
        #expect(runtime.json["workers"]?[0]?["name"] == "listener")
        #expect((runtime.json["lastSeq"]?.intValue ?? 0) >= (published.json["seq"]?.intValue ?? 1))
        #expect(try await host.api(.get, "/api/runtime", token: "").status == 401)
        #expect(try await host.interrupt() == 0)
    }
}
