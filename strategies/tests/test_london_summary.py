"""Tests of strategies/london_summary.py, written as a trader tests a strategy: plain pytest, no host."""

import pytest

from botyard.testing import FakeClient, WorkerHarness, make_envelope
from london_summary import morning_summary, worker


@pytest.fixture
def harness():
    worker.state.clear()
    with WorkerHarness(worker, FakeClient("london-summary")) as harness:
        yield harness


def went(name, to, reason="", old="running"):
    """The payload of a worker.state event, as the host publishes it."""
    return {"worker": name, "from": old, "to": to, "reason": reason}


def test_startup_says_hello(harness):
    assert harness.startup() == []
    assert harness.client.logs == [
        ("info", "london-summary started: summaries at 09:00 London time, Monday to Friday")
    ]


def test_a_worker_going_to_error_is_counted_and_warned_about(harness):
    assert harness.emit("worker.state", went("sma", "error", "stopped after 5 consecutive errors")) == []
    assert harness.deliver(make_envelope("worker.state", went("sma", "error", "on_startup failed", "starting"))) == []
    assert harness.client.state.as_dict() == {"errors.sma": 2}
    assert harness.client.notifications == [
        {
            "source": "london-summary",
            "title": "sma stopped with an error",
            "body": "stopped after 5 consecutive errors (error #1 for sma)",
            "severity": "warning",
        },
        {
            "source": "london-summary",
            "title": "sma stopped with an error",
            "body": "on_startup failed (error #2 for sma)",
            "severity": "warning",
        },
    ]


def test_other_transitions_are_not_counted(harness):
    for old, new in [("stopped", "loading"), ("loading", "starting"), ("starting", "running"), ("running", "stopping")]:
        assert harness.emit("worker.state", went("trader", new, "", old)) == []
    assert harness.client.state.as_dict() == {} and harness.client.notifications == []


def test_the_morning_summary_lists_the_counters(harness):
    harness.emit("worker.state", went("trader", "error", "the worker process ended"))
    harness.emit("worker.state", went("sma", "error", "stopped after 5 consecutive errors"))
    harness.emit("worker.state", went("sma", "error", "stopped after 5 consecutive errors"))
    harness.client.notifications.clear()

    assert harness.fire(morning_summary) == []
    assert harness.client.notifications == [
        {
            "source": "london-summary",
            "title": "Good morning (summary #1)",
            "body": "sma: 2 error(s)\ntrader: 1 error(s)",
            "severity": "info",
        }
    ]


def test_a_quiet_morning(harness):
    assert harness.fire("morning_summary") == []
    assert harness.fire("morning_summary") == []
    assert [n["title"] for n in harness.client.notifications] == [
        "Good morning (summary #1)",
        "Good morning (summary #2)",
    ]
    assert harness.client.notifications[0]["body"] == "No worker has stopped with an error."


def test_the_summary_runs_at_nine_in_london_on_weekdays():
    [schedule] = worker.handlers_of("every")
    assert (schedule.cron, schedule.tz) == ("0 9 * * 1-5", "Europe/London")
