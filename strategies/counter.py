"""The seed's example: counts ticks in persistent state."""


def setup(ctx):
    """Called ONCE when the worker starts."""
    ctx.state.set("counter", ctx.state.get("counter", 0))
    ctx.log.info("Worker started")


def tick(ctx):
    """Called every tick_interval seconds."""
    count = ctx.state.get("counter", 0) + 1
    ctx.state.set("counter", count)
    ctx.log.info(f"Tick #{count}")


def on_error(ctx, error):
    """OPTIONAL. Called when tick() raises an exception."""
    ctx.log.error(f"Error occurred: {error}")
