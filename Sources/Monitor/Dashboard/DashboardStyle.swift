// The dashboard's stylesheet: a dark theme meant for a second screen.
extension DashboardAssets {
    static let css = #"""
        :root {
          --bg: #0d1117; --panel: #161b22; --panel-2: #1c2330; --line: #2a3340; --text: #e6edf3;
          --muted: #8b96a5; --accent: #58a6ff; --ok: #3fb950; --warn: #d29922; --error: #f85149;
          --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, monospace;
        }
        * { box-sizing: border-box; }
        html, body { margin: 0; background: var(--bg); color: var(--text);
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        header { display: flex; align-items: center; gap: 20px; padding: 12px 24px;
          border-bottom: 1px solid var(--line); background: var(--panel); position: sticky; top: 0; z-index: 2; }
        header .brand { font-weight: 700; font-size: 16px; letter-spacing: .3px; }
        header .brand::before { content: "●"; color: var(--accent); margin-right: 8px; }
        header nav { display: flex; gap: 14px; flex-wrap: wrap; }
        header nav a { color: var(--muted); }
        header nav a.current { color: var(--text); }
        header .live { margin-left: auto; color: var(--muted); font-size: 12px; display: flex; align-items: center; gap: 6px; }
        .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); display: inline-block; }
        .dot.on { background: var(--ok); box-shadow: 0 0 8px var(--ok); }
        .dot.off { background: var(--error); box-shadow: 0 0 8px var(--error); }
        main { padding: 20px 24px 40px; max-width: 1800px; margin: 0 auto; }
        h1 { font-size: 20px; margin: 4px 0 16px; font-weight: 600; }
        h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .8px; color: var(--muted); margin: 24px 0 10px; }
        .grid { display: grid; gap: 14px; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr));
          grid-auto-flow: dense; }
        .card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
          min-width: 0; position: relative; transition: border-color .6s; }
        .card.flash { border-color: var(--accent); transition: none; }
        .card.wide { grid-column: span 2; }
        .card .title { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px;
          display: flex; justify-content: space-between; gap: 8px; }
        .card .title .by { text-transform: none; letter-spacing: 0; opacity: .7; white-space: nowrap;
          overflow: hidden; text-overflow: ellipsis; }
        .metric .value { font-size: 40px; font-weight: 650; margin-top: 6px; font-variant-numeric: tabular-nums;
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .metric .unit { font-size: 16px; color: var(--muted); margin-left: 6px; font-weight: 500; }
        .metric .change { font-size: 13px; font-variant-numeric: tabular-nums; }
        .up { color: var(--ok); } .down { color: var(--error); } .flat { color: var(--muted); }
        .chart .canvas { position: relative; height: 220px; margin-top: 8px; }
        .text .body { margin-top: 8px; white-space: pre-wrap; word-break: break-word; }
        .status .body { display: flex; align-items: center; gap: 12px; margin-top: 10px; font-size: 16px; }
        .light { width: 18px; height: 18px; border-radius: 50%; flex: none; }
        .light.ok { background: var(--ok); box-shadow: 0 0 12px var(--ok); }
        .light.warn { background: var(--warn); box-shadow: 0 0 12px var(--warn); }
        .light.error { background: var(--error); box-shadow: 0 0 12px var(--error); animation: pulse 1.2s infinite; }
        @keyframes pulse { 50% { opacity: .45; } }
        .log .lines, .logtail { font: 12px/1.5 var(--mono); margin-top: 8px; max-height: 240px; overflow-y: auto;
          background: var(--bg); border-radius: 6px; padding: 8px 10px; white-space: pre-wrap; word-break: break-word; }
        .log .lines .t, .logtail .t { color: var(--muted); margin-right: 8px; }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; padding: 6px 8px;
          border-bottom: 1px solid var(--line); }
        td { padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
        tr:last-child td { border-bottom: none; }
        .table .scroll { overflow: auto; max-height: 320px; margin-top: 6px; }
        td.num, th.num { text-align: right; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
          background: var(--panel-2); color: var(--muted); border: 1px solid var(--line); }
        .badge.running { color: var(--ok); border-color: #23863655; }
        .badge.error, .badge.crashed { color: var(--error); border-color: #f8514955; }
        .badge.stopped, .badge.paused { color: var(--warn); border-color: #d2992255; }
        .workers tbody tr { cursor: pointer; }
        .workers tbody tr:hover td { background: var(--panel-2); }
        .workers tr.detail td { cursor: default; background: var(--bg); padding: 12px 16px; white-space: normal; }
        button, select { background: var(--panel-2); color: var(--text); border: 1px solid var(--line);
          border-radius: 6px; padding: 4px 10px; font: inherit; font-size: 12px; cursor: pointer; }
        button:hover { border-color: var(--accent); }
        button:disabled { opacity: .4; cursor: not-allowed; }
        .actions { display: flex; gap: 6px; }
        .split { display: grid; grid-template-columns: 2fr 1fr; gap: 14px; }
        .kv { font: 12px/1.5 var(--mono); }
        .kv div { display: flex; gap: 10px; border-bottom: 1px solid var(--line); padding: 3px 0; }
        .kv .k { color: var(--accent); min-width: 120px; }
        .kv .v { word-break: break-all; }
        .empty { color: var(--muted); padding: 40px; text-align: center; border: 1px dashed var(--line); border-radius: 10px; }
        .notice { color: var(--warn); font-size: 12px; }
        .badge.success { color: var(--ok); border-color: #23863655; }
        .badge.warning { color: var(--warn); border-color: #d2992255; }
        .notifications { list-style: none; margin: 0; padding: 0; max-height: 320px; overflow-y: auto; }
        .notifications li { display: flex; gap: 10px; align-items: baseline; padding: 6px 0;
          border-bottom: 1px solid var(--line); }
        .notifications li:last-child { border-bottom: none; }
        .notifications .body { color: var(--muted); flex: 1; }
        .notifications .by { color: var(--muted); font-size: 12px; margin-left: auto; white-space: nowrap; }
        #login { position: fixed; inset: 0; background: #0d1117ee; display: none; align-items: center;
          justify-content: center; z-index: 5; }
        #login.shown { display: flex; }
        #login form { background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 24px;
          width: min(460px, 90vw); }
        #login input { width: 100%; margin: 12px 0; padding: 8px 10px; background: var(--bg); color: var(--text);
          border: 1px solid var(--line); border-radius: 6px; font: 13px var(--mono); }
        @media (max-width: 700px) { .card.wide { grid-column: span 1; } .split { grid-template-columns: 1fr; } }
        """#
}
