"""A dashboard of the account the trader worker trades on: prices, equity, PnL, positions, recent fills.

Connect it to the same bybit block as the trader and to a monitor block, then open
http://127.0.0.1:8700/monitor/<block> (the example manifest's board is `board`).
"""

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def setup(ctx):
    ctx.monitor.text("about", "Paper account of the example SMA trader (strategies/sma_bybit.py), refreshed every tick.")
    ctx.state.set("start_equity", ctx.state.get("start_equity") or equity(ctx))


def tick(ctx):
    tickers = ctx.bybit.get_tickers(category="linear")["result"]["list"]
    prices = {t["symbol"]: float(t["lastPrice"]) for t in tickers if t["symbol"] in SYMBOLS}
    ctx.monitor.chart("BTCUSDT", {"BTCUSDT": prices["BTCUSDT"]})
    ctx.monitor.metric("BTCUSDT last", prices["BTCUSDT"], unit="USDT")

    now = equity(ctx)
    ctx.monitor.metric("Equity", round(now, 2), unit="USDT")
    ctx.monitor.metric("PnL since start", round(now - ctx.state.get("start_equity", now), 2), unit="USDT")
    ctx.monitor.chart("Equity curve", {"equity": round(now, 2)})

    positions = ctx.bybit.get_positions(category="linear", settleCoin="USDT")["result"]["list"]
    ctx.monitor.table(
        "Positions",
        [
            {
                "symbol": p["symbol"],
                "side": p["side"],
                "size": float(p["size"]),
                "entry": float(p["avgPrice"]),
                "mark": float(p["markPrice"]),
                "uPnL": round(float(p["unrealisedPnl"]), 2),
            }
            for p in positions
        ],
        columns=["symbol", "side", "size", "entry", "mark", "uPnL"],
    )
    level = "ok" if positions else "warn"
    ctx.monitor.status("Trader", level, f"{len(positions)} open position(s)" if positions else "flat: waiting for a signal")

    last = ctx.state.get("last_fill_ms", 0)
    fills = ctx.bybit.get_executions(category="linear", limit=10)["result"]["list"]
    for fill in reversed(fills):  # oldest first
        if int(fill["execTime"]) > last:
            ctx.monitor.log("Fills", f"{fill['side'].upper()} {fill['execQty']} {fill['symbol']} @ {fill['execPrice']}")
            last = int(fill["execTime"])
    ctx.state.set("last_fill_ms", last)


def equity(ctx):
    wallet = ctx.bybit.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    return float(wallet["totalEquity"])


def on_error(ctx, error):
    ctx.monitor.status("Dashboard", "error", str(error))
    ctx.log.error(f"tick failed: {error}")
