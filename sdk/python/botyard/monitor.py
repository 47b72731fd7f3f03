"""``ctx.monitor``: widgets on a dashboard (a ``type: monitor`` block), updated live in the browser.

Every method checks its arguments before anything is sent, so bad input raises ``ValueError`` in the
worker and nothing is half-written. The host checks again (any program may speak the protocol).
"""

import math
import numbers

MAX_NAME = 128
MAX_ROWS = 1000
LEVELS = ("ok", "warn", "error")


def _name(name):
    if not isinstance(name, str) or not name:
        raise ValueError("a widget name is a non-empty str")
    if len(name) > MAX_NAME:
        raise ValueError(f"widget name is {len(name)} characters; the limit is {MAX_NAME}")
    return name


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, not {value}")
    return value


def _cell(value, where):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Real):
        return _number(value, where)
    raise ValueError(f"{where}: a cell is a str, a number, a bool or None, not {type(value).__name__}")


class Monitor:
    """One connected monitor block."""

    def __init__(self, conn, block):
        self._conn = conn
        self.block = block

    def _send(self, widget):
        self._conn.call("monitor.update", {"block": self.block, "widget": widget})

    def metric(self, name, value, unit=None):
        """A number shown large, with its change since the previous value."""
        if unit is not None and not isinstance(unit, str):
            raise ValueError("unit must be a str")
        self._send({"type": "metric", "name": _name(name), "value": _number(value, f"metric {name!r}"), "unit": unit})

    def chart(self, name, value):
        """Appends a point now: ``chart("price", 61000.5)`` or ``chart("pnl", {"real": 3.2, "paper": 4.1})``."""
        name = _name(name)
        series = value if isinstance(value, dict) else {name: value}
        if not series:
            raise ValueError(f"chart {name!r} needs at least one series")
        points = {}
        for key, point in series.items():
            if not isinstance(key, str) or not key or len(key) > MAX_NAME:
                raise ValueError(f"chart {name!r}: series names are non-empty str up to {MAX_NAME} characters")
            points[key] = _number(point, f"chart {name!r} series {key!r}")
        self._send({"type": "chart", "name": name, "points": points})

    def table(self, name, rows, columns=None):
        """Rows as dicts (columns from their keys) or lists (give ``columns``); at most 1,000 rows."""
        name = _name(name)
        if not isinstance(rows, (list, tuple)):
            raise ValueError(f"table {name!r} rows must be a list")
        if len(rows) > MAX_ROWS:
            raise ValueError(f"table {name!r} has {len(rows)} rows; the limit is {MAX_ROWS}")
        if columns is not None:
            if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
                raise ValueError(f"table {name!r} columns must be a list of str")
            columns = list(columns)
        if columns is None:  # the dicts' keys, in the order they first appear
            columns = []
            for row in rows:
                for key in row if isinstance(row, dict) else ():
                    if str(key) not in columns:
                        columns.append(str(key))
        cleaned = []
        for index, row in enumerate(rows):
            where = f"table {name!r} row {index}"
            if isinstance(row, dict):
                values = {str(k): v for k, v in row.items()}
                cleaned.append([_cell(values.get(column), where) for column in columns])
            elif isinstance(row, (list, tuple)):
                cleaned.append([_cell(v, where) for v in row])
            else:
                raise ValueError(f"{where} must be a dict or a list")
        self._send({"type": "table", "name": name, "rows": cleaned, "columns": columns})

    def text(self, name, text):
        if not isinstance(text, str):
            raise ValueError("text must be a str")
        self._send({"type": "text", "name": _name(name), "text": text})

    def status(self, name, level, text=""):
        """A status light: level ``ok``, ``warn`` or ``error``."""
        if level not in LEVELS:
            raise ValueError(f"status level must be one of {', '.join(LEVELS)}, not {level!r}")
        if not isinstance(text, str):
            raise ValueError("status text must be a str")
        self._send({"type": "status", "name": _name(name), "level": level, "text": text})

    def log(self, name, line):
        """Appends a line to a scrolling log widget (the last lines are kept)."""
        self._send({"type": "log", "name": _name(name), "line": str(line)})

    def remove(self, name):
        self._send({"type": "remove", "name": _name(name)})

    def __repr__(self):
        return f"<Monitor block {self.block!r}>"
