"""A moving-average crossover on a simulated price: no keys, no network.

Each tick moves a random-walk price, keeps the last 30 prices in state, and logs a signal when the
fast average (5) crosses the slow one (20). Swap the simulated price for ctx.http or ctx.bybit to
trade real data.
"""

import random

FAST, SLOW = 5, 20


def setup(ctx):
    if ctx.state.get("prices") is None:
        ctx.state.set("prices", [100.0])
    ctx.log.info(f"SMA {FAST}/{SLOW} on a simulated price, every {ctx.worker.interval}s")


def tick(ctx):
    prices = ctx.state.get("prices", [100.0])
    price = round(prices[-1] * (1 + random.gauss(0, 0.004)), 2)
    prices = (prices + [price])[-30:]
    ctx.state.set("prices", prices)
    if len(prices) < SLOW + 1:
        ctx.log.info(f"price {price:.2f} (warming up {len(prices)}/{SLOW + 1})")
        return
    fast_now, slow_now = average(prices[-FAST:]), average(prices[-SLOW:])
    fast_before, slow_before = average(prices[-FAST - 1 : -1]), average(prices[-SLOW - 1 : -1])
    side = ctx.state.get("side", "flat")
    if fast_before <= slow_before and fast_now > slow_now and side != "long":
        ctx.state.set("side", "long")
        ctx.log.info(f"BUY signal at {price:.2f} (fast {fast_now:.2f} > slow {slow_now:.2f})")
    elif fast_before >= slow_before and fast_now < slow_now and side != "short":
        ctx.state.set("side", "short")
        ctx.log.info(f"SELL signal at {price:.2f} (fast {fast_now:.2f} < slow {slow_now:.2f})")


def on_error(ctx, error):
    ctx.log.error(f"tick failed: {error}")


def average(values):
    return sum(values) / len(values)
