"""A morning summary and a warning whenever a worker fails: an event worker (docs/workers.md).

Declare it in botyard.yaml:

    workers:
      london-summary:
        code: strategies/london_summary.py

It needs no `every:`: the host runs its handlers when their events or times come.
"""

from botyard import Worker

worker = Worker(name="london-summary")


@worker.on_startup
async def hello(client):
    client.log.info("london-summary started: summaries at 09:00 London time, Monday to Friday")


@worker.on_event("worker.state")
async def count_errors(event, client):
    """The host publishes worker.state on every lifecycle change of every worker; count those into error."""
    if event.payload["to"] != "error":
        return
    name = event.payload["worker"]
    errors = await client.state.incr(f"errors.{name}")
    await client.notify(
        title=f"{name} stopped with an error",
        body=f"{event.payload['reason']} (error #{errors} for {name})",
        severity="warning",
    )


@worker.every(cron="0 9 * * 1-5", tz="Europe/London")
async def morning_summary(client):
    """09:00 in London, winter and summer alike: the error counters, in one notification."""
    lines = []
    for key in await client.state.keys("errors."):
        name = key.removeprefix("errors.")
        lines.append(f"{name}: {await client.state.get(key)} error(s)")
    number = await client.state.incr("summaries")
    body = "\n".join(lines) if lines else "No worker has stopped with an error."
    await client.notify(title=f"Good morning (summary #{number})", body=body)


if __name__ == "__main__":
    worker.run()
