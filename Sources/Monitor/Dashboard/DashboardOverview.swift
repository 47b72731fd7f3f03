// /: every worker with its state and controls, its log tail and state keys; the notifications; the monitor blocks.
extension DashboardAssets {
    static let overviewJS = #"""
        "use strict";
        (() => {
          const { el, api, live, ago, number, token } = Botyard;
          const INTERVALS = ["1s", "2s", "5s", "10s", "15s", "30s", "1m", "5m", "15m", "30m", "1h"];
          const main = document.getElementById("main");
          const notice = el("div", { class: "notice" });
          const body = el("tbody");
          const boards = el("div", { class: "grid" });
          const notes = el("ul", { class: "notifications" }, el("li", { class: "empty" }, "No notifications yet"));
          main.append(
            el("h1", {}, "Workers"), notice,
            el("section", { class: "card" }, el("table", { class: "workers" },
              el("thead", {}, el("tr", {}, ["Worker", "State", "Every", "Last tick", "Ticks", "Errors", "Restarts", ""].map((h) =>
                el("th", ["Ticks", "Errors", "Restarts"].includes(h) ? { class: "num" } : {}, h)))),
              body)),
            el("h2", {}, "Notifications"), el("section", { class: "card" }, notes),
            el("h2", {}, "Dashboards"), boards);
          Botyard.navigation();
          const open = new Set();

          const seconds = (value) => typeof value === "number" ? value : value ? Date.parse(value) / 1000 : 0;

          async function command(name, action, payload) {
            try {
              await api(`/api/workers/${encodeURIComponent(name)}/${action}`, { method: "POST", body: JSON.stringify(payload || {}) });
              notice.textContent = "";
              refresh();
            } catch (error) {
              notice.textContent = `${action} ${name}: ${error.message}` + (/forbidden|token/i.test(error.message) ? " (controls need the admin token)" : "");
            }
          }

          function intervalSelect(worker) {
            const s = worker.intervalSeconds;
            const current = s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 && s >= 60 ? `${s / 60}m` : `${s}s`;
            const options = INTERVALS.includes(current) ? INTERVALS : [current, ...INTERVALS];
            const select = el("select", { title: "tick interval", onclick: (e) => e.stopPropagation(),
              onchange: (e) => command(worker.name, "interval", { every: e.target.value }) },
              options.map((value) => el("option", value === current ? { selected: "" } : {}, value)));
            return select;
          }

          function row(worker) {
            const stop = (e) => e.stopPropagation();
            const running = worker.state === "running";
            return el("tr", { "data-worker": worker.name, onclick: () => toggle(worker.name) },
              el("td", {}, el("strong", {}, worker.name), el("div", { style: "color: var(--muted); font-size: 12px" }, worker.code)),
              el("td", {}, el("span", { class: `badge ${worker.state}` }, worker.state),
                worker.reason ? el("div", { style: "color: var(--muted); font-size: 12px; white-space: normal" }, worker.reason) : null),
              el("td", {}, intervalSelect(worker)),
              el("td", {}, ago(seconds(worker.lastTickAt)),
                worker.lastTickMilliseconds != null ? el("div", { style: "color: var(--muted); font-size: 12px" }, number(worker.lastTickMilliseconds, 1) + " ms") : null),
              el("td", { class: "num" }, worker.ticks),
              el("td", { class: "num" }, `${worker.consecutiveErrors} / ${worker.maxErrors}`,
                el("div", { style: "color: var(--muted); font-size: 12px" }, `${worker.totalErrors} in all`)),
              el("td", { class: "num" }, worker.restarts),
              el("td", {}, el("div", { class: "actions", onclick: stop },
                el("button", { onclick: () => command(worker.name, "start"), ...(running ? { disabled: "" } : {}) }, "Start"),
                el("button", { onclick: () => command(worker.name, "stop"), ...(running ? {} : { disabled: "" }) }, "Stop"),
                el("button", { onclick: () => command(worker.name, "restart") }, "Restart"))));
          }

          async function detail(worker) {
            const [logs, state] = await Promise.all([
              api(`/api/workers/${encodeURIComponent(worker.name)}/logs?lines=40`),
              api(`/api/workers/${encodeURIComponent(worker.name)}/state`),
            ]);
            const error = worker.lastError ? el("div", { class: "notice" }, `${worker.lastError.type}: ${worker.lastError.message}`) : null;
            const tail = el("div", { class: "logtail" }, (logs.lines || []).join("\n") || "no log lines yet");
            requestAnimationFrame(() => { tail.scrollTop = tail.scrollHeight; });
            const keys = el("div", { class: "kv" }, state.entries.length ? state.entries.map((entry) =>
              el("div", {}, el("span", { class: "k" }, entry.key), el("span", { class: "v" }, entry.json.length > 200 ? entry.json.slice(0, 200) + "…" : entry.json)))
              : el("div", {}, el("span", { class: "v" }, "no state")));
            return el("tr", { class: "detail" }, el("td", { colspan: 8 }, error,
              el("div", { class: "split" }, el("div", {}, el("h2", {}, "Log"), tail), el("div", {}, el("h2", {}, "State"), keys))));
          }

          function toggle(name) {
            open.has(name) ? open.delete(name) : open.add(name);
            refresh();
          }

          async function refresh() {
            try {
              const workers = await api("/api/workers");
              const rows = [];
              for (const worker of workers) {
                rows.push(row(worker));
                if (open.has(worker.name)) rows.push(await detail(worker));
              }
              body.replaceChildren(...rows);
              live(true, `${workers.length} workers · ${new Date().toLocaleTimeString([], { hour12: false })}`);
            } catch (error) {
              live(false, error.message);
            }
          }

          async function dashboards() {
            try {
              const list = await api("/api/monitor");
              boards.replaceChildren(...(list.blocks.length ? list.blocks.map((board) =>
                el("a", { class: "card", href: "/monitor/" + encodeURIComponent(board.name) },
                  el("div", { class: "title" }, el("span", {}, "monitor"), el("span", { class: "by" }, `${board.widgets} widgets`)),
                  el("div", { style: "font-size: 20px; margin-top: 6px" }, board.name)))
                : [el("div", { class: "empty" }, "No monitor blocks: declare one with type: monitor in botyard.yaml")]));
            } catch (error) { /* shown by refresh */ }
          }

          // `notify` events, newest first: those the host still keeps (since=0), then live. EventSource reconnects by
          // itself with Last-Event-ID, and the host resumes after it; seen seqs are skipped all the same.
          const SHOWN = 50;
          let lastSeq = -1;
          function notifications() {
            const stream = new EventSource(`/api/events/stream?kinds=notify&since=0&token=${encodeURIComponent(token())}`);
            stream.onmessage = (message) => {
              const event = JSON.parse(message.data);
              if (event.kind !== "notify" || event.seq <= lastSeq) return;
              lastSeq = event.seq;
              const note = event.payload;
              notes.querySelector(".empty")?.remove();
              notes.prepend(el("li", { "data-seq": event.seq },
                el("span", { class: `badge ${note.severity}` }, note.severity),
                el("strong", {}, note.title),
                note.body ? el("span", { class: "body" }, note.body) : null,
                // `source` in the payload is the sender's word; the envelope's is the host's: show both if they differ.
                el("span", { class: "by" }, `${note.source && note.source !== event.source ? `${note.source} via ${event.source}` : event.source} · ${ago(event.timestamp)}`)));
              while (notes.children.length > SHOWN) notes.lastChild.remove();
            };
          }

          refresh();
          dashboards();
          notifications();
          setInterval(refresh, 2000);
          setInterval(dashboards, 10000);
        })();
        """#
}
