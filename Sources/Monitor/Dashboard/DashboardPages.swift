import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The dashboard's pages and assets: plain HTML, CSS and JavaScript, served without a token (they hold no
/// data; the scripts ask for a token and call the API). Chart.js comes from Debian's `libjs-chart.js`.
public enum DashboardAssets {
    /// Where Debian's libjs-chart.js puts the browser build.
    static let chartJSCandidates = [
        "/usr/share/javascript/chart.js/chart.min.js", "/usr/share/javascript/chart.js/Chart.min.js",
        "/usr/share/javascript/chart.js/chart.umd.js",
    ]

    /// `GET /`, `GET /monitor/:block` and `GET /assets/…` on `router`.
    public static func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in page(title: "Botyard", script: "overview.js") }
        router.get("/monitor/:block") { _, context in
            page(title: "\(context.parameters.get("block") ?? "") · Botyard monitor", script: "monitor.js")
        }
        router.get("/assets/dashboard.css") { _, _ in asset(css, type: "text/css; charset=utf-8") }
        router.get("/assets/common.js") { _, _ in asset(commonJS, type: "text/javascript; charset=utf-8") }
        router.get("/assets/overview.js") { _, _ in asset(overviewJS, type: "text/javascript; charset=utf-8") }
        router.get("/assets/monitor.js") { _, _ in asset(monitorJS, type: "text/javascript; charset=utf-8") }
        router.get("/assets/chart.js") { _, _ in try chartJS() }
    }

    static func page(title: String, script: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escaped(title))</title>
            <link rel="stylesheet" href="/assets/dashboard.css">
            <script src="/assets/chart.js"></script>
            <script src="/assets/common.js"></script>
            <script src="/assets/\(script)" defer></script>
            </head>
            <body>
            <header>
              <span class="brand">Botyard</span>
              <nav id="nav"><a href="/">Overview</a></nav>
              <span class="live"><span id="live" class="dot"></span><span id="live-text">connecting</span></span>
            </header>
            <main id="main"></main>
            <div id="login"><form>
              <strong>Token</strong>
              <div class="notice" id="login-why"></div>
              <input id="login-token" autocomplete="off" placeholder="paste the viewer or the admin token">
              <div style="color: var(--muted); font-size: 12px">The viewer token is in <code>.botyard/viewer.token</code>,
              the admin token in <code>.botyard/admin.token</code>. It is kept in this browser.</div>
              <p><button type="submit">Open</button></p>
            </form></div>
            </body>
            </html>
            """
        return asset(html, type: "text/html; charset=utf-8")
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Debian's Chart.js, read once.
    static let chartJSBytes: ByteBuffer? = chartJSCandidates.lazy.compactMap {
        FileManager.default.contents(atPath: $0).map { ByteBuffer(bytes: $0) }
    }.first

    static func chartJS() throws -> Response {
        guard let bytes = chartJSBytes else {
            throw HTTPError(.notFound, message: "Chart.js is not installed: apt-get install libjs-chart.js")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=86400"],
            body: .init(byteBuffer: bytes))
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
