import AdapterKit
import Foundation
import Testing
import WorkerHost

/// The dashboard in a real browser: headless Chromium on a running host whose worker updates a metric and a
/// chart every tick. A failure saves a screenshot in the test's folder.
@Suite(.timeLimit(.minutes(3)), .enabled(if: Chromium.binary != nil, "chromium is not installed"))
struct DashboardBrowserTests {
    static let painter = """
        def tick(ctx):
            ctx.monitor.metric("ticks", ctx.worker.tick, unit="ticks")
            ctx.monitor.chart("price", 100 + ctx.worker.tick)
            ctx.monitor.table("book", [{"side": "bid", "price": 99.5}, {"side": "ask", "price": 100.5}])
            ctx.monitor.status("feed", "ok", "fresh")
        """

    static func start() async throws -> HostProcess {
        let host = try HostProcess()
        try host.write("painter.py", painter)
        let manifest = try host.write(
            "botyard.yaml",
            """
            blocks:
              board: {type: monitor}
            workers:
              painter:
                code: painter.py
                every: 1s
                connect: [board]
            """)
        try await host.start(manifest)
        try await host.waitUntil("the first widgets") {
            try await host.api(.get, "/api/monitor/board").json["widgets"]?.arrayValue?.count == 4
        }
        return host
    }

    @Test func theMonitorPageShowsNewValuesWithinTwoSeconds() async throws {
        let host = try await Self.start()
        let port = host.data.readHostInfo()?.port ?? 0
        let viewer = try #require(host.data.readViewerToken())
        let browser = try Chromium(folder: host.directory)
        let screenshot = host.directory.appendingPathComponent("monitor-failure.png").path
        let outcome = try await browser.withPage { page in
            _ = try await page.send("Page.enable")
            _ = try await page.send(
                "Page.navigate", ["url": .string("http://127.0.0.1:\(port)/monitor/board?token=\(viewer)")])
            let metric = "document.querySelector('[data-name=\"ticks\"] .value')?.firstChild?.textContent"
            let chart = "document.querySelector('[data-name=\"price\"]')?.dataset.last"
            guard let first = try await Self.poll(page, metric, within: .seconds(10)) else {
                try? await page.screenshot(to: screenshot)
                return "the metric never appeared"
            }
            let firstChart = try await page.evaluate(chart).stringValue
            // The worker ticks every second: a newer value must be on the page within two seconds.
            let newer = try await Self.poll(page, metric, within: .seconds(2)) { Double($0) ?? 0 > Double(first) ?? 0 }
            let newerChart = try await Self.poll(page, chart, within: .seconds(1)) { $0 != firstChart }
            let rows = try await page.evaluate("document.querySelectorAll('[data-name=\"book\"] tbody tr').length")
            let light = try await page.evaluate("document.querySelector('[data-name=\"feed\"] .light')?.className")
            let live = try await page.evaluate("document.getElementById('live-text').textContent")
            guard newer != nil, newerChart != firstChart, rows == 2, light == "light ok", live == "live" else {
                try? await page.screenshot(to: screenshot)
                return "metric \(first) → \(newer ?? "nothing"), chart \(firstChart ?? "-") → \(newerChart ?? "-"), "
                    + "rows \(rows), light \(light), live \(live)"
            }
            return "ok"
        }
        if outcome != "ok" { host.keep() }
        #expect(outcome == "ok", "screenshot: \(screenshot)")
        #expect(try await host.interrupt() == 0)
    }

    static func notify(_ host: HostProcess, _ title: String, _ severity: String) async throws {
        let body = #"{"kind": "notify", "payload": {"title": "\#(title)", "body": "from the test", "severity": "\#(severity)"}}"#
        #expect(try await host.api(.post, "/api/events", body: body).status == 200)
    }

    @Test func theOverviewListsWorkersAndNotificationsAndAsksForATokenFirst() async throws {
        let host = try await Self.start()
        let port = host.data.readHostInfo()?.port ?? 0
        let admin = try #require(host.data.readToken())
        try await Self.notify(host, "Before the page opened", "warning")  // kept by the host, replayed
        let browser = try Chromium(folder: host.directory)
        let screenshot = host.directory.appendingPathComponent("overview-failure.png").path
        let outcome = try await browser.withPage { page in
            _ = try await page.send("Page.navigate", ["url": .string("http://127.0.0.1:\(port)/")])
            let asked = try await Self.poll(page, "document.getElementById('login').className", within: .seconds(10)) {
                $0 == "shown"
            }
            _ = try await page.send("Page.navigate", ["url": .string("http://127.0.0.1:\(port)/?token=\(admin)")])
            let state = try await Self.poll(
                page, "document.querySelector('tr[data-worker=\"painter\"] .badge')?.textContent", within: .seconds(10)
            ) { $0 == "running" }
            let dashboards = try await Self.poll(
                page, "document.querySelector('a.card')?.getAttribute('href')", within: .seconds(10))
            try await Self.notify(host, "BTC crossed 100k", "success")  // live
            let titles = "[...document.querySelectorAll('.notifications li strong')].map(e => e.textContent).join('|')"
            let notes = try await Self.poll(page, titles, within: .seconds(10)) { $0.contains("BTC") }
            let badge = try await page.evaluate("document.querySelector('.notifications li .badge')?.className")
            guard asked != nil, state != nil, dashboards == "/monitor/board",
                notes == "BTC crossed 100k|Before the page opened", badge == "badge success"
            else {
                try? await page.screenshot(to: screenshot)
                return "asked \(asked ?? "no"), state \(state ?? "-"), dashboards \(dashboards ?? "-"), "
                    + "notifications \(notes ?? "-") \(badge)"
            }
            return "ok"
        }
        if outcome != "ok" { host.keep() }
        #expect(outcome == "ok", "screenshot: \(screenshot)")
        #expect(try await host.interrupt() == 0)
    }

    @Test func theFeedsNeedATokenAndTheViewerTokenCannotCommand() async throws {
        let host = try await Self.start()
        let viewer = try #require(host.data.readViewerToken())
        #expect(try await host.api(.get, "/api/monitor/board/stream", token: "wrong").status == 401)
        #expect(try await host.api(.get, "/api/monitor/board", token: "wrong").status == 401)
        #expect(try await host.api(.get, "/api/monitor/board", token: viewer).json["version"] != nil)
        #expect(try await host.api(.post, "/api/workers/painter/stop", token: viewer).status == 403)
        #expect(try await host.worker("painter")["state"] == "running")
        #expect(try await host.interrupt() == 0)
    }

    /// Evaluates `expression` every 50 ms until it gives a string that `accept` takes, or `within` passes.
    static func poll(
        _ page: DevToolsSession, _ expression: String, within: Duration, accept: (String) -> Bool = { !$0.isEmpty }
    ) async throws -> String? {
        let deadline = ContinuousClock.now + within
        repeat {
            if let value = try await page.evaluate(expression).stringValue, accept(value) { return value }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        return nil
    }
}
