"""Cron expressions in a time zone, as the host reads them (Sources/WorkerHost/Scheduler/CronSchedule.swift).

Five fields, ``minute hour day-of-month month day-of-week``: numbers, ``*``, ranges ``1-5``, lists
``1,15,30``, steps ``*/15``, ``0-30/10`` and ``5/15`` (= ``5-59/15``); month and day names (``jan``, ``mon``)
in any case; 0 and 7 are Sunday; the macros ``@hourly``, ``@daily`` (``@midnight``), ``@weekly``,
``@monthly``, ``@yearly`` (``@annually``). When both day fields are restricted (neither starts with ``*``)
a day matches if either does (Vixie cron). Times are wall-clock times in an IANA zone: a local time that a
daylight-saving gap skips fires once, at the first instant after the gap; a repeated local time fires once,
the first time::

    schedule = CronSchedule("0 9 * * 1-5", "Europe/London")
    schedule.next_after(time.time())   # Unix seconds of the next 09:00 London time on a weekday
"""

import bisect
import math
import zoneinfo
from datetime import datetime, time, timedelta, timezone

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# name, low, high, names, the value of the first name
FIELDS = [
    ("minute", 0, 59, [], 0), ("hour", 0, 23, [], 0), ("day of month", 1, 31, [], 0),
    ("month", 1, 12, MONTHS, 1), ("day of week", 0, 7, DAYS, 0),
]
# The longest gap between two fires of a valid expression: "0 0 29 2 *" skips 2100 (8 years).
SEARCH_DAYS = 8 * 366 + 1


class CronError(ValueError):
    """A malformed expression, an unknown zone, or an expression that never fires; the host's wording."""


class CronExpression:
    """A parsed expression: the sets of minutes, hours, days, months and weekdays (0-6, Sunday 0)."""

    def __init__(self, text):
        if not isinstance(text, str):
            raise CronError(f"a cron expression is a str, not {type(text).__name__}")
        trimmed = text.strip()
        parts = MACROS.get(trimmed.lower(), trimmed).split()
        if len(parts) != 5:
            raise CronError(
                f'cron "{text}": needs 5 fields (minute hour day-of-month month day-of-week), has {len(parts)}'
            )
        self.text = trimmed
        self.minutes, self.hours, self.days, self.months, weekdays = (
            parse_field(part, field) for part, field in zip(parts, FIELDS)
        )
        self.weekdays = {day % 7 for day in weekdays}
        self.days_restricted = not parts[2].startswith("*")
        self.weekdays_restricted = not parts[4].startswith("*")
        self.times = [(hour, minute) for hour in sorted(self.hours) for minute in sorted(self.minutes)]

    def __repr__(self):
        return f"CronExpression({self.text!r})"

    def matches_day(self, day):
        """Whether a calendar ``date`` matches the day-of-month, month and day-of-week fields."""
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday


def parse_field(text, field):
    name, low, high, names, first = field
    values = set()
    for item in text.split(","):
        if not item:
            raise CronError(f'cron {name} field "{text}": empty list item')
        values.update(parse_item(item, field, text))
    return values


def parse_item(item, field, whole):
    """One list item: ``*``, ``a`` or ``a-b``, each with an optional ``/step``."""
    name, low, high, names, first = field

    def fail(reason):
        return CronError(f'cron {name} field "{whole}": {reason}')

    pieces = item.split("/")
    if len(pieces) > 2:
        raise fail(f'more than one \'/\' in "{item}"')
    step = 1
    if len(pieces) == 2:
        if not is_number(pieces[1]) or not 1 <= int(pieces[1]) <= high + 1:
            raise fail(f'step "{pieces[1]}" must be a number from 1 to {high + 1}')
        step = int(pieces[1])
    base = pieces[0]
    if base == "*":
        start, end = low, (6 if name == "day of week" else high)
    else:
        ends = base.split("-")
        if len(ends) > 2:
            raise fail(f'"{base}" is not a value or a range')
        start = value(ends[0], field, whole)
        end = value(ends[1], field, whole) if len(ends) == 2 else (high if len(pieces) == 2 else start)
        if end < start:
            raise fail(f"range {base} runs backwards")
    return range(start, end + 1, step)


def value(text, field, whole):
    name, low, high, names, first = field
    if text.lower() in names:
        return names.index(text.lower()) + first
    if not is_number(text) or not low <= int(text) <= high:
        listed = f" or a name ({', '.join(names)})" if names else ""
        raise CronError(f'cron {name} field "{whole}": "{text}" is not a number from {low} to {high}{listed}')
    return int(text)


def is_number(text):
    return text.isascii() and text.isdigit() and len(text) <= 9


class CronSchedule:
    """A cron expression in an IANA time zone (``UTC`` by default): ``next_after`` gives its fire times."""

    def __init__(self, expression, tz="UTC"):
        self.expression = expression if isinstance(expression, CronExpression) else CronExpression(expression)
        try:
            if not isinstance(tz, str) or not tz or len(tz) > 64:
                raise ValueError(tz)
            self.zone = zoneinfo.ZoneInfo(tz)
        except Exception:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise CronError(f'unknown time zone "{tz}" (use an IANA name: Europe/London)') from None
        self.tz = tz
        if self.next_after(1_767_225_600) is None:  # 2026-01-01
            raise CronError(f'cron "{self.expression.text}" names no day that exists: it never fires')

    def __repr__(self):
        return f"CronSchedule({self.expression.text!r}, {self.tz!r})"

    def next_after(self, after):
        """The first fire time strictly after ``after`` (Unix seconds), as Unix seconds; None within 8 years."""
        if not math.isfinite(after) or abs(after) > 2.5e11:
            return None
        after = math.floor(after)
        now = datetime.fromtimestamp(after, self.zone)
        times = self.expression.times
        # Today's times more than 3 hours before now have passed, whatever the clocks do tonight.
        skip = bisect.bisect_left(times, (now.hour - 3, now.minute))
        for offset in range(SEARCH_DAYS):
            day = now.date() + timedelta(days=offset)
            if not self.expression.matches_day(day):
                continue
            for hour, minute in times[skip if offset == 0 else 0 :]:
                instant = self.resolve(datetime.combine(day, time(hour, minute)))
                if instant > after:
                    return instant
        return None

    def upcoming(self, after, count):
        """The next ``count`` fire times after ``after``."""
        times = []
        while len(times) < count and (after := self.next_after(after)) is not None:
            times.append(after)
        return times

    def resolve(self, local):
        """The Unix time of a local wall-clock time: the first of two when repeated, the gap's end when skipped."""
        instant = int(local.replace(tzinfo=self.zone, fold=0).timestamp())  # the first occurrence, if any
        if datetime.fromtimestamp(instant, self.zone).replace(tzinfo=None) == local:
            return instant
        # In a gap: fold=0 reads it with the offset before the jump (an instant after it), fold=1 with the
        # offset after (an instant before it); the jump lies between.
        low = int(local.replace(tzinfo=self.zone, fold=1).timestamp())
        high = instant
        before = self.offset(low)
        while high - low > 1:
            middle = (low + high) // 2
            if self.offset(middle) == before:
                low = middle
            else:
                high = middle
        return high

    def offset(self, instant):
        return datetime.fromtimestamp(instant, timezone.utc).astimezone(self.zone).utcoffset()
