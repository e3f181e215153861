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

__all__ = ["id_stamp", "utc", "utc_ms", "utc_or_empty", "utc_z_ms"]

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


def utc_or_empty(at: float) -> str:
    """:func:`utc` of seconds since the epoch, or ``""`` for 0 (a time not reached yet)."""
    return utc(at) if at else ""


def id_stamp(when: When) -> str:
    """``20261125120005``: the time part of an id, to the second."""
    return _in_utc(when).strftime("%Y%m%d%H%M%S")
