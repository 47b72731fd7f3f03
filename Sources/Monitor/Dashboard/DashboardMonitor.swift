// /monitor/<block>: the block's widgets in a grid, live over Server-Sent Events.
extension DashboardAssets {
    static let monitorJS = #"""
        "use strict";
        (() => {
          const { el, number, time, api, live, token } = Botyard;
          const block = decodeURIComponent(location.pathname.split("/").pop());
          const palette = ["#58a6ff", "#3fb950", "#d29922", "#f778ba", "#a371f7", "#39c5cf", "#ff7b72"];
          const cards = new Map();  // name -> { widget, node, chart }
          const main = document.getElementById("main");
          const grid = el("div", { class: "grid", id: "widgets" });
          const empty = el("div", { class: "empty" }, "No widgets yet: a worker connected to this block draws them with ctx.monitor.");
          main.append(el("h1", {}, block), grid, empty);
          Botyard.navigation();

          function shell(widget, wide) {
            const node = el("section", { class: `card ${widget.type}${wide ? " wide" : ""}`, "data-name": widget.name });
            node.append(el("div", { class: "title" }, el("span", {}, widget.name), el("span", { class: "by" }, "")));
            return node;
          }

          function flash(node) {
            node.classList.add("flash");
            requestAnimationFrame(() => requestAnimationFrame(() => node.classList.remove("flash")));
          }

          function draw(card) {
            const { widget, node } = card;
            node.querySelector(".by").textContent = widget.worker + " · " + time(widget.updated_at);
            node.querySelectorAll(".body").forEach((part) => part.remove());
            const body = kinds[widget.type]?.(card);
            if (body) node.append(body);
            flash(node);
          }

          const kinds = {
            metric({ widget }) {
              const change = widget.previous == null ? null : widget.value - widget.previous;
              const pct = change != null && widget.previous ? (change / Math.abs(widget.previous)) * 100 : null;
              const direction = change == null || change === 0 ? "flat" : change > 0 ? "up" : "down";
              const arrow = { up: "▲", down: "▼", flat: "■" }[direction];
              return el("div", { class: "body" },
                el("div", { class: "value" }, number(widget.value), widget.unit ? el("span", { class: "unit" }, widget.unit) : null),
                el("div", { class: `change ${direction}` }, change == null ? "first value" :
                  `${arrow} ${change > 0 ? "+" : ""}${number(change)}${pct != null ? ` (${pct > 0 ? "+" : ""}${pct.toFixed(2)}%)` : ""}`));
            },
            chart(card) {
              if (!card.canvas) {
                card.canvas = el("canvas");
                card.node.append(el("div", { class: "canvas" }, card.canvas));
                card.chart = new Chart(card.canvas, {
                  type: "line",
                  data: { datasets: [] },
                  options: {
                    animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
                    interaction: { mode: "nearest", intersect: false },
                    scales: {
                      x: { type: "linear", ticks: { color: "#8b96a5", maxTicksLimit: 6, callback: (v) => time(v) }, grid: { color: "#2a334055" } },
                      y: { ticks: { color: "#8b96a5", callback: (v) => number(v) }, grid: { color: "#2a334055" } },
                    },
                    plugins: { legend: { labels: { color: "#e6edf3", boxWidth: 10 } },
                      tooltip: { callbacks: { title: (items) => time(items[0].parsed.x) } } },
                  },
                });
              }
              const names = Object.keys(card.widget.points).sort();
              const xs = names.flatMap((name) => card.widget.points[name].map(([x]) => x));
              Object.assign(card.chart.options.scales.x, { min: Math.min(...xs), max: Math.max(...xs) });
              card.chart.options.plugins.legend.display = names.length > 1;
              card.chart.data.datasets = names.map((name, index) => ({
                label: name, data: card.widget.points[name].map(([x, y]) => ({ x, y })),
                borderColor: palette[index % palette.length], backgroundColor: palette[index % palette.length] + "33",
                borderWidth: 2, pointRadius: 0, tension: 0.25, fill: names.length === 1,
              }));
              card.chart.update("none");
              const last = names.map((name) => card.widget.points[name].at(-1)?.[1]);
              card.node.dataset.last = last.join(",");
              return null;
            },
            table({ widget }) {
              const numeric = widget.columns.map((_, i) => widget.rows.length > 0 && widget.rows.every((row) => row[i] == null || typeof row[i] === "number"));
              const head = el("tr", {}, widget.columns.map((column, i) => el("th", numeric[i] ? { class: "num" } : {}, column)));
              const rows = widget.rows.map((row) => el("tr", {}, row.map((cell) =>
                el("td", { class: typeof cell === "number" ? "num" : "" }, typeof cell === "number" ? number(cell) : cell == null ? "" : String(cell)))));
              return el("div", { class: "body scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, rows)));
            },
            text({ widget }) { return el("div", { class: "body" }, widget.text); },
            status({ widget }) {
              return el("div", { class: "body" }, el("span", { class: `light ${widget.level}` }), el("span", {}, widget.text || widget.level));
            },
            log(card) {
              const box = el("div", { class: "body lines" }, card.widget.lines.map(([t, line]) =>
                el("div", {}, el("span", { class: "t" }, time(t)), line)));
              requestAnimationFrame(() => { box.scrollTop = box.scrollHeight; });
              return box;
            },
          };

          function put(widget) {
            let card = cards.get(widget.name);
            if (!card || card.widget.type !== widget.type) {
              if (card) remove(widget.name);
              card = { widget, node: shell(widget, widget.type === "chart" || widget.type === "table" || widget.type === "log") };
              cards.set(widget.name, card);
              grid.append(card.node);
            }
            card.widget = widget;
            draw(card);
            empty.style.display = cards.size ? "none" : "";
          }

          function append(part) {
            const card = cards.get(part.name);
            if (!card) return put(part);
            const widget = { ...card.widget, worker: part.worker, updated_at: part.updated_at, version: part.version };
            const keep = part.capacity || 500;
            if (part.type === "chart") {
              widget.points = { ...widget.points };
              for (const [series, points] of Object.entries(part.points)) {
                widget.points[series] = [...(widget.points[series] || []), ...points].slice(-keep);
              }
            } else {
              widget.lines = [...widget.lines, ...part.lines].slice(-keep);
            }
            card.widget = widget;
            draw(card);
          }

          function remove(name) {
            const card = cards.get(name);
            if (!card) return;
            card.chart?.destroy();
            card.node.remove();
            cards.delete(name);
            empty.style.display = cards.size ? "none" : "";
          }

          function apply(message) {
            switch (message.type) {
              case "snapshot":
                for (const name of [...cards.keys()]) remove(name);
                message.widgets.forEach(put);
                break;
              case "update": put(message.widget); break;
              case "append": append(message.widget); break;
              case "remove": remove(message.name); break;
            }
            document.body.dataset.version = message.version;
          }

          async function connect() {
            try {
              await api("/api/monitor/" + encodeURIComponent(block));  // checks the token and the block first
            } catch (error) {
              live(false, error.message);
              if (error.message !== "unauthorized") main.append(el("div", { class: "empty" }, error.message));
              return;
            }
            const stream = new EventSource(`/api/monitor/${encodeURIComponent(block)}/stream?token=${encodeURIComponent(token())}`);
            stream.onopen = () => live(true, "live");
            stream.onerror = () => live(false, "reconnecting…");
            stream.onmessage = (event) => apply(JSON.parse(event.data));
          }
          connect();
        })();
        """#
}
