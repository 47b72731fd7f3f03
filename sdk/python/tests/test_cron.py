"""``botyard.cron`` against scripts/cron-oracle (brute force over every minute with zoneinfo) and the host's errors."""

import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from botyard import Worker
from botyard.cron import CronError, CronSchedule

ORACLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts", "cron-oracle")

CASES = [
    ("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 3),  # 01:30 skipped: 02:00 BST = 01:00Z
    ("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 3),  # 01:30 twice: the first (00:30Z)
    ("*/20 1-2 * * *", "Europe/London", "2026-03-29T00:00:00Z", 6),  # several skipped times fire once
    ("*/20 1-2 * * *", "Europe/London", "2026-10-25T00:00:00Z", 8),
    ("0,30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3),
    ("15 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3),
    ("0 9 * * 1-5", "Europe/London", "2026-03-26T12:00:00Z", 5),
    ("0 12 13 * fri", "UTC", "2026-02-01T00:00:00Z", 4),  # Vixie: the 13th or a Friday
    ("5/15 */6 * jan,JUL 0,7", "UTC", "2026-01-01T00:00:00Z", 5),
    ("@weekly", "America/New_York", "2026-03-01T00:00:00Z", 2),
    ("@hourly", "Europe/London", "2026-03-29T00:10:00Z", 3),
]


def iso(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("expression, tz, after, count", CASES)
def test_fire_times_agree_with_the_oracle(expression, tz, after, count):
    oracle = subprocess.run([sys.executable, ORACLE, expression, tz, after, str(count), "40"],
                            capture_output=True, text=True, timeout=30, check=True).stdout.split()
    start = datetime.fromisoformat(after.replace("Z", "+00:00")).timestamp()
    assert [iso(t) for t in CronSchedule(expression, tz).upcoming(start, count)] == oracle
    assert len(oracle) == count


def test_the_documented_examples():
    london = CronSchedule("0 9 * * 1-5", "Europe/London")
    after = datetime(2026, 3, 26, 12, tzinfo=timezone.utc).timestamp()
    assert [iso(t) for t in london.upcoming(after, 3)] == [
        "2026-03-27T09:00:00Z", "2026-03-30T08:00:00Z", "2026-03-31T08:00:00Z"]
    night = datetime(2026, 3, 28, 12, tzinfo=timezone.utc).timestamp()
    gap = CronSchedule("30 1 * * *", "Europe/London").next_after(night)
    assert iso(gap) == "2026-03-29T01:00:00Z"


@pytest.mark.parametrize("expression, message", [
    ("61 * * * *", 'cron minute field "61": "61" is not a number from 0 to 59'),
    ("* * * *", 'cron "* * * *": needs 5 fields (minute hour day-of-month month day-of-week), has 4'),
    ("*/0 * * * *", 'cron minute field "*/0": step "0" must be a number from 1 to 60'),
    ("5-1 * * * *", 'cron minute field "5-1": range 5-1 runs backwards'),
    ("* * * * mon,", 'cron day of week field "mon,": empty list item'),
    ("* * * foo *", 'cron month field "foo": "foo" is not a number from 1 to 12 or a name (jan, feb,'),
    ("0 0 30 2 *", 'cron "0 0 30 2 *" names no day that exists: it never fires'),
])
def test_malformed_expressions_are_refused_in_the_host_s_words(expression, message):
    with pytest.raises(CronError) as refused:
        CronSchedule(expression)
    assert str(refused.value).startswith(message)


def test_an_unknown_zone_is_refused():
    with pytest.raises(CronError, match='unknown time zone "Mars/Olympus"'):
        CronSchedule("* * * * *", "Mars/Olympus")


def test_workers_accept_the_macros():
    worker = Worker("w")

    @worker.every(cron="@daily", tz="Europe/London")
    async def nightly(client):
        pass

    assert worker.handlers()[0]["cron"] == "@daily"
