"""An SMA crossover that trades BTCUSDT perpetuals through ctx.bybit.

The example manifest connects it to a paper block, so it trades on the paper exchange inside the host:
no keys, no real money. Point the block at `network: testnet` (with your testnet keys) and the same code
trades there. The calls are pybit's, so code written for pybit's HTTP session ports unchanged.

Each tick reads the last 1-minute candles, compares the fast and the slow average of their closes, and
keeps a long position while fast > slow, a short one while fast < slow.
"""

from botyard import BybitError

SYMBOL, QTY = "BTCUSDT", 0.01
FAST, SLOW = 5, 20


def setup(ctx):
    ctx.log.info(f"SMA {FAST}/{SLOW} on {SYMBOL} 1-minute closes, trading {QTY} through block {ctx.bybit.block!r}")


def tick(ctx):
    candles = ctx.bybit.get_kline(category="linear", symbol=SYMBOL, interval="1", limit=SLOW)["result"]["list"]
    closes = [float(candle[4]) for candle in candles]  # newest first, as Bybit sends them
    if len(closes) < SLOW:
        ctx.log.info(f"waiting for {SLOW} candles ({len(closes)} so far)")
        return
    fast, slow = sum(closes[:FAST]) / FAST, sum(closes[:SLOW]) / SLOW
    want = "Buy" if fast > slow else "Sell"
    held = position(ctx)
    if held["side"] == want:
        if ctx.worker.tick % 10 == 0:
            ctx.log.info(f"holding {held['side']} {held['size']} @ {held['avgPrice']}, uPnL {held['unrealisedPnl']}")
        return
    qty = QTY + float(held["size"] or 0)  # close the opposite position and open ours in one order
    try:
        order = ctx.bybit.place_order(category="linear", symbol=SYMBOL, side=want, orderType="Market", qty=f"{qty:g}")
    except BybitError as error:
        ctx.log.warn(f"order refused: {error.ret_code} {error.ret_msg}")
        return
    now = position(ctx)
    ctx.log.info(
        f"{want.upper()} {qty:g} {SYMBOL} (fast {fast:.1f} {'>' if want == 'Buy' else '<'} slow {slow:.1f}): "
        f"order {order['result']['orderId']}, position {now['side']} {now['size']} @ {now['avgPrice']}"
    )


def position(ctx):
    positions = ctx.bybit.get_positions(category="linear", symbol=SYMBOL)["result"]["list"]
    return positions[0] if positions else {"side": "", "size": "0", "avgPrice": "0", "unrealisedPnl": "0"}


def on_error(ctx, error):
    ctx.log.error(f"tick failed: {error}")
