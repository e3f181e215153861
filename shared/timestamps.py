"""Timestamps as verinet writes them: every format in one place, named by its shape.

All are RFC 3339 in UTC; they differ where a standard or a published shape fixes them, and
each output is byte-for-byte what that place has always sent:

- :func:`utc_z_ms`, milliseconds and ``Z``: LMS responses (the LMS examples' form), EPCIS
  documents and events (``creationDate``, ``eventTime``).
- :func:`utc_ms`, milliseconds and ``+00:00``: webhook deliveries (``sent_at``, the delivery
  log) and the JSON logs.
- :func:`utc`, Python's natural precision (seconds, microseconds when there are any) and
  ``+00:00``: times recall-status stores and reports (recalls, pack history, audit), with
  :func:`utc_or_empty` where 0 means "not yet".
- :func:`id_stamp`, ``YYYYMMDDHHMMSS``: the time part of generated ids.

:class:`UtcSeconds` writes :func:`utc` of many times close together faster (a batch of
sightings), each whole second formatted once.

Each takes an aware ``datetime`` or seconds since the epoch.

>>> at = dt.datetime(2026, 11, 25, 12, 0, 5, 123456, tzinfo=dt.UTC)
>>> utc_z_ms(at), utc_ms(at)
('2026-11-25T12:00:05.123Z', '2026-11-25T12:00:05.123+00:00')
>>> utc(at.timestamp()), utc(at.replace(microsecond=0))
('2026-11-25T12:00:05.123456+00:00', '2026-11-25T12:00:05+00:00')
>>> utc_or_empty(0.0), id_stamp(at)
('', '20261125120005')
>>> utc_z_ms(dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))))
'2026-11-25T12:00:00.000Z'
"""

from __future__ import annotations

import datetime as dt
import math

__all__ = ["UtcSeconds", "id_stamp", "utc", "utc_ms", "utc_or_empty", "utc_z_ms"]

When = dt.datetime | float


def _in_utc(when: When) -> dt.datetime:
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.UTC)
    return dt.datetime.fromtimestamp(when, dt.UTC)


def utc_z_ms(when: When) -> str:
    """``2026-11-25T12:00:05.123Z``: milliseconds (truncated), ``Z``."""
    # isoformat is twice as fast as strftime, and in UTC it always ends in "+00:00".
    return _in_utc(when).isoformat(timespec="milliseconds")[:-6] + "Z"


def utc_ms(when: When) -> str:
    """``2026-11-25T12:00:05.123+00:00``: milliseconds (truncated), ``+00:00``."""
    return _in_utc(when).isoformat(timespec="milliseconds")


def utc(when: When) -> str:
    """``2026-11-25T12:00:05+00:00``, with microseconds when there are any."""
    return _in_utc(when).isoformat()


class UtcSeconds:
    """:func:`utc` of seconds since the epoch, the same string, with the date and time of the
    last whole second kept: times close together cost a rounding and a join each.

    >>> stamp = UtcSeconds()
    >>> stamp(1795608005.123456), stamp(1795608005.0), stamp(1795608006.9999996)
    ('2026-11-25T12:00:05.123456+00:00', '2026-11-25T12:00:05+00:00', '2026-11-25T12:00:07+00:00')
    """

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = math.nan
        self._prefix = ""

    def __call__(self, at: float) -> str:
        # The microseconds as datetime.fromtimestamp rounds them: the fraction, half to even.
        fraction, second = math.modf(at)
        micro = round(fraction * 1e6)
        if micro >= 1_000_000:
            micro -= 1_000_000
            second += 1.0
        elif micro < 0:
            micro += 1_000_000
            second -= 1.0
        if second != self._second:
            self._prefix = dt.datetime.fromtimestamp(second, dt.UTC).isoformat()[:-6]
            self._second = second
        return f"{self._prefix}.{micro:06d}+00:00" if micro else f"{self._prefix}+00:00"


def utc_or_empty(at: float) -> str:
    """:func:`utc` of seconds since the epoch, or ``""`` for 0 (a time not reached yet)."""
    return utc(at) if at else ""


def id_stamp(when: When) -> str:
    """``20261125120005``: the time part of an id, to the second."""
    return _in_utc(when).strftime("%Y%m%d%H%M%S")
