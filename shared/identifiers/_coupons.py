"""The content of the North American coupon AIs: (8110) coupon code and (8112) paperless coupon.

Both values are digit fields read left to right (GS1 US coupon data structures, as the GS1
Barcode Syntax Dictionary's ``couponcode`` and ``couponposoffer`` rules name them). A variable
field is announced by a one-digit length indicator (VLI) just before it; optional parts of (8110)
are each announced by an indicator digit, in rising order, at most once: 1 (second purchase), 2
(third purchase), 3 (expiration date), 4 (start date), 5 (serial number), 6 (retailer) and 9
(miscellaneous flags). Nothing may follow the last part.

Each reader answers where in the value the first fault starts and what was expected there, or
None for a value that follows the structure (``_lint`` reports it).
"""

from __future__ import annotations

import datetime as dt

from verinet.identifiers import _dates


class _Fault(Exception):
    def __init__(self, at: int, expected: str) -> None:
        super().__init__(at, expected)
        self.at, self.expected = at, expected


class _Fields:
    """A cursor over the value's digits; each read raises _Fault when the field is not there."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.at = 0

    def next_is(self, indicator: str) -> bool:
        """Whether an optional part announced by ``indicator`` starts here (and steps over it)."""
        if self.value[self.at : self.at + 1] == indicator:
            self.at += 1
            return True
        return False

    def digits(self, count: int, what: str) -> str:
        part = self.value[self.at : self.at + count]
        if len(part) < count:
            got = f"{len(part)}" if part else "the end of the value"
            raise _Fault(self.at, f"{what} of {count} digits, got {got}")
        self.at += count
        return part

    def one_of(self, allowed: str, what: str) -> str:
        digit = self.value[self.at : self.at + 1]
        if not digit:
            raise _Fault(self.at, f"{what}, got the end of the value")
        if digit not in allowed:
            raise _Fault(self.at, f"{what}, got {digit!r}")
        self.at += 1
        return digit

    def announced(self, allowed: str, plus: int, what: str, *, absent: str = "") -> str:
        """A field whose length is its VLI digit (one of ``allowed``) plus ``plus``; a VLI of
        ``absent`` means the field is left out."""
        vli = self.one_of(allowed + absent, f"a {what} length indicator of {_spell(allowed + absent)}")
        if vli == absent:
            return ""
        return self.digits(int(vli) + plus, f"a {what}")

    def date(self, what: str, year_now: int) -> dt.date:
        start = self.at
        text = self.digits(6, f"an {what} YYMMDD")
        resolved = _dates.resolve(text, "yymmdd", year_now)
        if isinstance(resolved, str):
            raise _Fault(start, f"an {what} with {resolved.removeprefix('expected ')}")
        return resolved

    def end(self) -> None:
        if self.at != len(self.value):
            extra = len(self.value) - self.at
            raise _Fault(self.at, f"the end of the coupon data, got {extra} more digit{'s' if extra > 1 else ''}")


def _spell(allowed: str) -> str:
    return ", ".join(allowed)


def _all_digits(value: str) -> None:
    bad = next((i for i, ch in enumerate(value) if not "0" <= ch <= "9"), None)
    if bad is not None:
        raise _Fault(bad, f"only digits in coupon data, got {value[bad]!r}")


_COMPANY_PREFIX_VLI = "0123456"  # a GS1 Company Prefix of 6 to 12 digits
_VALUE_VLI = "12345"  # a save value or purchase requirement of 1 to 5 digits
_REQUIREMENT_CODES = "012349"


def _purchase(fields: _Fields, which: str) -> None:
    fields.announced(_VALUE_VLI, 0, f"{which} purchase requirement")
    fields.one_of(_REQUIREMENT_CODES, f"a {which} purchase requirement code of {_spell(_REQUIREMENT_CODES)}")
    fields.digits(3, f"a {which} purchase family code")
    fields.announced(_COMPANY_PREFIX_VLI, 6, f"{which} purchase GS1 Company Prefix", absent="9")


def _coupon_code(value: str, year_now: int) -> None:
    _all_digits(value)
    fields = _Fields(value)
    fields.announced(_COMPANY_PREFIX_VLI, 6, "GS1 Company Prefix")
    fields.digits(6, "an offer code")
    fields.announced(_VALUE_VLI, 0, "save value")
    fields.announced(_VALUE_VLI, 0, "first purchase requirement")
    fields.one_of(_REQUIREMENT_CODES, f"a first purchase requirement code of {_spell(_REQUIREMENT_CODES)}")
    fields.digits(3, "a first purchase family code")
    if fields.next_is("1"):
        fields.one_of("0123", "an additional purchase rules code of 0, 1, 2, 3")
        _purchase(fields, "second")
    if fields.next_is("2"):
        _purchase(fields, "third")
    expires: dt.date | None = None
    if fields.next_is("3"):
        expires = fields.date("expiration date", year_now)
    if fields.next_is("4"):
        start = fields.at
        starts = fields.date("start date", year_now)
        if expires is not None and starts > expires:
            raise _Fault(start, f"a start date no later than the expiration date {expires}, got {starts}")
    if fields.next_is("5"):
        fields.announced("0123456789", 6, "serial number")
    if fields.next_is("6"):
        fields.announced("1234567", 6, "retailer GS1 Company Prefix or GLN")
    if fields.next_is("9"):
        fields.one_of("01256", "a save value code of 0, 1, 2, 5, 6")
        fields.one_of("012", "a save value applies-to-item code of 0, 1, 2")
        fields.digits(1, "a store coupon flag")
        fields.one_of("01", "a don't-multiply flag of 0, 1")
    fields.end()


def _paperless_coupon(value: str) -> None:
    _all_digits(value)
    fields = _Fields(value)
    fields.one_of("01", "a coupon format code of 0, 1")
    fields.announced(_COMPANY_PREFIX_VLI, 6, "funder ID")
    fields.digits(6, "an offer code")
    fields.announced("0123456789", 6, "serial number")
    fields.end()


def coupon_code_problem(value: str, year_now: int) -> tuple[int, str] | None:
    """The first fault of an (8110) value, or None."""
    try:
        _coupon_code(value, year_now)
    except _Fault as fault:
        return fault.at, fault.expected
    return None


def paperless_coupon_problem(value: str) -> tuple[int, str] | None:
    """The first fault of an (8112) value, or None."""
    try:
        _paperless_coupon(value)
    except _Fault as fault:
        return fault.at, fault.expected
    return None
