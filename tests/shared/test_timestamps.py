"""Every timestamp format verinet writes, from one module, byte for byte as it has always been."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import verinet.timestamps
from verinet.timestamps import UtcSeconds, id_stamp, utc, utc_ms, utc_or_empty, utc_z_ms

AT = dt.datetime(2026, 11, 25, 12, 0, 5, 987654, tzinfo=dt.UTC)


def test_the_examples_in_the_docstring_hold() -> None:
    assert doctest.testmod(verinet.timestamps).failed == 0


@pytest.mark.parametrize("when", [AT, AT.timestamp()], ids=["datetime", "epoch seconds"])
def test_a_datetime_and_its_epoch_seconds_write_the_same(when: dt.datetime | float) -> None:
    assert utc_z_ms(when) == "2026-11-25T12:00:05.987Z"  # truncated, never rounded up
    assert utc_ms(when) == "2026-11-25T12:00:05.987+00:00"
    assert utc(when) == "2026-11-25T12:00:05.987654+00:00"
    assert id_stamp(when) == "20261125120005"


def test_the_lms_and_epcis_form_matches_the_strftime_it_replaced() -> None:
    for micro in (0, 999, 1000, 999999):
        when = AT.replace(microsecond=micro)
        old = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        assert utc_z_ms(when) == old


def test_a_time_in_another_zone_is_written_in_utc() -> None:
    paris = AT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert utc_z_ms(paris) == utc_z_ms(AT) and utc_ms(paris) == utc_ms(AT)


def test_zero_is_a_time_not_reached_yet() -> None:
    assert utc_or_empty(0.0) == "" and utc_or_empty(AT.timestamp()) == utc(AT)


@given(st.floats(min_value=-1e10, max_value=1e11, allow_nan=False))
def test_utc_seconds_writes_what_utc_writes(at: float) -> None:
    stamp = UtcSeconds()
    assert stamp(at) == utc(at)
    assert stamp(at + 0.25) == utc(at + 0.25)  # the same second again, or the next one


def test_utc_seconds_rounds_microseconds_as_datetime_does() -> None:
    stamp = UtcSeconds()
    base = AT.timestamp()
    for offset in (0.0, 0.0000005, 0.0000015, 0.9999994, 0.9999995, 0.9999996, 0.5, 1e-7, -0.0000005, -0.9999995):
        assert stamp(base + offset) == utc(base + offset), offset
    for n in range(20_000):  # a batch's times, a few distinct seconds
        at = base + n * 0.000_173
        assert stamp(at) == utc(at)
