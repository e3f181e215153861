"""GS1 dates: YYMMDD with the GS1 century window, DD=00 meaning the whole month.

GS1 General Specifications §7.12: a two-digit year YY is placed in the century that puts it
closest to the current year, with the window skewed towards the past: if YY minus the current
two-digit year is 51..99 the date is in the previous century, if it is -99..-50 in the next one,
otherwise in the current century. With 2026 as the current year, 76 is 2076 and 77 is 1977.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Final

from verinet.errors import IdentifierError

_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _LocalYear:
    """The local year, re-read only after local midnight: every parse asks for it, and
    ``dt.date.today()`` costs more than the rest of a date check."""

    __slots__ = ("_until", "_year")

    def __init__(self) -> None:
        self._until = 0.0
        self._year = 0

    def __call__(self) -> int:
        if time.time() >= self._until:
            now = dt.datetime.now()
            midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
            self._year, self._until = now.year, midnight.timestamp()
        return self._year


_local_year = _LocalYear()


def current_year(today: dt.date | None) -> int:
    return today.year if today is not None else _local_year()


def century_year(yy: int, year_now: int) -> int:
    """The four-digit year for two-digit ``yy`` by the GS1 sliding window."""
    two_digit_now = year_now % 100
    century = year_now - two_digit_now
    difference = yy - two_digit_now
    if 51 <= difference <= 99:
        century -= 100
    elif -99 <= difference <= -50:
        century += 100
    return century + yy


def days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month]


def _ymd(text: str, year_now: int, *, zero_day: bool) -> dt.date | str:
    """Resolve six ASCII digits YYMMDD; a string result says what is wrong."""
    return _calendar(int(text[:2]), text[2:6], year_now, zero_day=zero_day)


def _calendar(yy: int, mmdd: str, year_now: int, *, zero_day: bool, full: int = 0) -> dt.date | str:
    """The date for MMDD in two-digit year ``yy`` (or four-digit year ``full``)."""
    month = int(mmdd[:2])
    if not 1 <= month <= 12:
        return f"expected a month of 01-12, got {mmdd[:2]}"
    year = full or century_year(yy, year_now)
    last = days_in_month(year, month)
    day = int(mmdd[2:])
    if day == 0 and zero_day:
        return dt.date(year, month, last)
    if not 1 <= day <= last:
        allowed = f"01-{last}" + (" (or 00)" if zero_day else "")
        return f"expected a day of {allowed} for {year:04d}-{month:02d}, got {mmdd[2:]}"
    return dt.date(year, month, day)


def _time(text: str, names: tuple[str, ...]) -> str | None:
    limits = {"hour": 23, "minute": 59, "second": 59}
    for index, name in enumerate(names):
        part = text[2 * index : 2 * index + 2]
        if len(part) < 2:
            break  # an incomplete time: the caller reports the value's format, not the time
        if int(part) > limits[name]:
            article = "an" if name == "hour" else "a"
            return f"expected {article} {name} of 00-{limits[name]}, got {part}"
    return None


_TIME_PARTS: Final = ("hour", "minute", "second")


def resolve(value: str, layout: str, year_now: int) -> dt.date | str:
    """The date a date AI's value stands for, or a string saying what is wrong.

    ``value`` must already match the AI's digit pattern (length and digits). ``layout`` is one
    of ``_tables._DATES``: the date part, then ``hhmm`` (hour and minute, absent when the value
    ends with the date) or ``hh`` (hour, then optional minute and second).
    """
    if layout.startswith("yyyy"):
        date_len = 8
        first = _calendar(0, value[4:8], year_now, zero_day=False, full=int(value[:4]))
    else:
        date_len = 6
        first = _ymd(value, year_now, zero_day=layout.startswith("yymmd0"))
    if isinstance(first, str):
        return first
    rest = value[date_len:]
    problem: str | None = None
    time = layout[date_len:]
    if time == "hhmm" and rest:
        problem = _time(rest, _TIME_PARTS[:2])
    elif time == "hh":
        problem = _time(rest, _TIME_PARTS[: len(rest) // 2])
    elif layout == "yymmdd" and len(value) == 12:  # 7007: a date range YYMMDD[YYMMDD]
        second = _ymd(rest, year_now, zero_day=False)
        problem = second if isinstance(second, str) else None
    return problem if problem is not None else first


def parse_expiry(text: str, *, today: dt.date | None = None) -> dt.date:
    """Resolve an expiry date ``YYMMDD`` (AI 17) to the date it stands for.

    DD may be ``00``, meaning the last day of the month. ``today`` sets the current year for the
    GS1 century window (default: the system date).

    >>> parse_expiry("261200", today=dt.date(2026, 1, 1))
    datetime.date(2026, 12, 31)
    >>> parse_expiry("251340")
    Traceback (most recent call last):
    ...
    verinet.errors.IdentifierError: Failed to parse '251340' as expiry date (17): expected a month of 01-12, got 13.
    """
    resolved = _expiry(text, current_year(today))
    if resolved is None:
        raise IdentifierError(
            f"Failed to parse {text!r} as expiry date (17): expected 6 digits YYMMDD, "
            f"got {len(text)} characters.",
            code="date.invalid",
            ai="17",
            field="expiry",
        )
    if isinstance(resolved, str):
        raise IdentifierError(
            f"Failed to parse {text!r} as expiry date (17): {resolved}.",
            code="date.invalid",
            ai="17",
            field="expiry",
        )
    return resolved


@functools.lru_cache(maxsize=4096)
def _expiry(text: str, year_now: int) -> dt.date | str | None:
    """``_ymd`` of an expiry text, ``None`` when it is not 6 digits; cached because bulk
    requests repeat the few expiries of their lots a thousand times."""
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        return None
    return _ymd(text, year_now, zero_day=True)


def expiry_matches(stored: str, given: str) -> bool:
    """Whether two YYMMDD expiry texts denote the same expiry.

    Equal texts match. Otherwise both are resolved, a day of ``00`` standing for the last day of
    its month, so ``261200`` matches ``261231`` (the usual cause of EU alert A52). Text that is not
    a valid YYMMDD matches nothing but itself.

    >>> expiry_matches("261200", "261231"), expiry_matches("261200", "261230")
    (True, False)
    """
    if stored == given:
        return True
    try:
        # The century window cannot make two different YY texts equal, so any year will do.
        return parse_expiry(stored) == parse_expiry(given)
    except IdentifierError:
        return False
