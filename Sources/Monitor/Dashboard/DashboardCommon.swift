// Shared by both pages: the token, API calls, the live indicator, formatting.
extension DashboardAssets {
    static let commonJS = #"""
        "use strict";
        const Botyard = (() => {
          const KEY = "botyard.token";
          const query = new URLSearchParams(location.search);
          if (query.get("token")) {
            localStorage.setItem(KEY, query.get("token"));
            query.delete("token");
            history.replaceState(null, "", location.pathname + (query.toString() ? "?" + query : ""));
          }
          const token = () => localStorage.getItem(KEY) || "";

          function askToken(why) {
            const box = document.getElementById("login");
            document.getElementById("login-why").textContent = why || "";
            box.classList.add("shown");
            box.querySelector("form").onsubmit = (event) => {
              event.preventDefault();
              localStorage.setItem(KEY, document.getElementById("login-token").value.trim());
              location.reload();
            };
          }

          async function api(path, options = {}) {
            const response = await fetch(path, {
              ...options,
              headers: { Authorization: "Bearer " + token(), "Content-Type": "application/json", ...(options.headers || {}) },
            });
            if (response.status === 401) {
              askToken(token() ? "That token was not accepted." : "");
              throw new Error("unauthorized");
            }
            const body = await response.json().catch(() => ({}));
            if (!response.ok) throw new Error(body.error?.message || body.message || response.statusText);
            return body;
          }

          function live(state, text) {
            const dot = document.getElementById("live");
            dot.className = "dot " + (state ? "on" : "off");
            document.getElementById("live-text").textContent = text;
          }

          function el(tag, attributes = {}, ...children) {
            const node = document.createElement(tag);
            for (const [key, value] of Object.entries(attributes)) {
              if (key === "class") node.className = value;
              else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
              else node.setAttribute(key, value);
            }
            for (const child of children.flat()) {
              if (child != null) node.append(child instanceof Node ? child : String(child));
            }
            return node;
          }

          function number(value, digits) {
            if (typeof value !== "number") return value == null ? "" : String(value);
            const abs = Math.abs(value);
            const places = digits ?? (abs >= 1000 ? 2 : abs >= 1 ? 4 : 6);
            return value.toLocaleString(undefined, { maximumFractionDigits: places });
          }

          function time(seconds) {
            return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
          }

          function ago(seconds) {
            if (!seconds) return "never";
            const delta = Math.max(0, Date.now() / 1000 - seconds);
            if (delta < 60) return Math.round(delta) + "s ago";
            if (delta < 3600) return Math.round(delta / 60) + "m ago";
            return Math.round(delta / 3600) + "h ago";
          }

          async function navigation() {
            try {
              const boards = await api("/api/monitor");
              const nav = document.getElementById("nav");
              for (const board of boards.blocks) {
                const link = el("a", { href: "/monitor/" + encodeURIComponent(board.name) }, board.name);
                if (location.pathname === "/monitor/" + board.name) link.className = "current";
                nav.append(link);
              }
              if (location.pathname === "/") nav.firstChild.className = "current";
            } catch (error) { /* the page reports its own errors */ }
          }

          return { token, api, live, el, number, time, ago, askToken, navigation };
        })();
        """#
}
