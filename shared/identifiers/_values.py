"""Validation of single values: GTIN, GLN, check digits, and any AI's value by its format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from verinet.errors import IdentifierError
from verinet.identifiers import _dates, _hints, _lint
from verinet.identifiers._tables import (
    CHARSET_NAMES,
    FIELDS,
    GLN_AIS,
    GTIN_AIS,
    AISpec,
    label,
    mod10,
)

_GTIN_LENGTHS = (8, 12, 13, 14)


def _first_non_digit(text: str) -> int:
    return next(i for i, ch in enumerate(text) if not ("0" <= ch <= "9"))


def _is_digits(text: str) -> bool:
    # str.isdigit() alone accepts superscripts and other Unicode digits.
    return text.isascii() and text.isdigit()


def check_digit(digits_without_check: str) -> int:
    """The GS1 mod-10 check digit for a GTIN, GLN, SSCC... payload (all digits but the last).

    >>> check_digit("950600013435")
    2
    """
    if not _is_digits(digits_without_check):
        if not digits_without_check:
            raise IdentifierError(
                "Failed to compute a check digit for '': expected at least one digit, got none.",
                code="value.too_short",
            )
        at = _first_non_digit(digits_without_check)
        raise IdentifierError(
            f"Failed to compute a check digit for {digits_without_check!r}: expected only "
            f"digits, got {digits_without_check[at]!r} at position {at}.",
            code="value.charset",
            position=at,
        )
    return mod10(digits_without_check)


def validate_gtin(text: str) -> str:
    """Validate a GTIN-8, -12, -13 or -14 and return it as GTIN-14.

    >>> validate_gtin("5901234123457")
    '05901234123457'
    >>> validate_gtin("9506000134355")
    Traceback (most recent call last):
    ...
    verinet.errors.IdentifierError: Failed to parse '9506000134355' as GTIN: expected a check digit of 2, got 5.
    """
    if text.__class__ is str and (known := _valid_gtins.get(text)) is not None:
        return known
    gtin14 = _checked_gtin(text)
    if len(_valid_gtins) < _VALID_GTINS_KEPT:
        _valid_gtins[text] = gtin14
    return gtin14


# Bulk requests name a few GTINs a thousand times: valid ones are remembered (bounded), so the
# check digit is computed once per GTIN. Invalid ones are checked each time (errors are mutable).
_VALID_GTINS_KEPT = 65_536
_valid_gtins: dict[str, str] = {}


def _checked_gtin(text: str) -> str:
    _check_digits(text, "GTIN", _GTIN_LENGTHS, "8, 12, 13 or 14 digits", field="gtin")
    return text.zfill(14)


def validate_gln(text: str) -> str:
    """Validate a GLN (13 digits with a mod-10 check digit) and return it.

    >>> validate_gln("1234567890128")
    '1234567890128'
    """
    _check_digits(text, "GLN", (13,), "13 digits")
    return text


def _check_digits(
    text: str, what: str, lengths: Collection[int], lengths_text: str, field: str | None = None
) -> None:
    """Refuses ``text`` unless it is digits only, of one of ``lengths``, with a right mod-10
    check digit last; each error's code starts with ``what`` in lower case (``gln.length``)."""
    family = what.lower()
    if not _is_digits(text):
        if not text:
            raise IdentifierError(
                f"Failed to parse '' as {what}: expected {lengths_text}, got nothing.",
                code=f"{family}.length",
                field=field,
            )
        at = _first_non_digit(text)
        raise IdentifierError(
            f"Failed to parse {text!r} as {what}: expected only digits, got {text[at]!r} "
            f"at position {at}.",
            code=f"{family}.charset",
            position=at,
            field=field,
        )
    if len(text) not in lengths:
        raise IdentifierError(
            f"Failed to parse {text!r} as {what}: expected {lengths_text}, got {len(text)}.",
            code=f"{family}.length",
            field=field,
        )
    expected = mod10(text[:-1])
    if expected != ord(text[-1]) - 48:
        raise IdentifierError(
            f"Failed to parse {text!r} as {what}: expected a check digit of {expected}, "
            f"got {text[-1]}.",
            code=f"{family}.check_digit",
            position=len(text) - 1,
            field=field,
        )


def _fixed_lengths(spec: AISpec) -> tuple[int, ...]:
    """The lengths an all-digit value of fixed-length parts may have, (6, 10) for N6+[N4];
    empty when a part has a variable length or is not digits."""
    if not all(c.kind == "N" and c.min_len == c.max_len for c in spec.components):
        return ()
    lengths: list[int] = []
    total = 0
    for component in spec.components:
        if component.optional:
            lengths.append(total)
        total += component.max_len
    return (*lengths, total)


def _family(ai: str) -> str:
    """The first word of a value error's code: ``gtin``, ``gln``, or ``value`` for other AIs."""
    return "gtin" if ai in GTIN_AIS else "gln" if ai in GLN_AIS else "value"


def _length_code(family: str, *, too_long: bool) -> str:
    if family != "value":
        return f"{family}.length"
    return "value.too_long" if too_long else "value.too_short"


def _bad_char(spec: AISpec, value: str) -> tuple[int, str] | None:
    """The first character outside its component's character set, with that set's name."""
    pos = 0
    n = len(value)
    for component in spec.components:
        if pos >= n:
            return None
        end = min(n, pos + component.max_len)
        charset = component.charset
        for i in range(pos, end):
            if value[i] not in charset:
                if component.optional and component.kind == "-":
                    break
                return i, CHARSET_NAMES[component.kind]
        pos = end
    return None


def value_error(spec: AISpec, value: str, *, offset: int | None, year_now: int) -> IdentifierError:
    """Why ``value`` does not match the AI's format, as an error with a stable code."""
    ai = spec.ai
    family = _family(ai)
    what = label(ai)
    field = FIELDS.get(ai)
    n = len(value)
    numeric_fixed = spec.min_len == spec.max_len and all(c.kind == "N" for c in spec.components)
    expected_len = (
        f"{spec.max_len} digits" if numeric_fixed else f"at most {spec.max_len} characters"
    )
    if n > spec.max_len:
        return IdentifierError(
            f"Failed to parse {value!r} as {what}: expected {expected_len}, got {n}.",
            code=_length_code(family, too_long=True),
            ai=ai,
            position=None if offset is None else offset + spec.max_len,
            field=field,
        )
    bad = _bad_char(spec, value)
    if bad is not None:
        at, charset = bad
        hint = None
        # Only a non-ASCII character (ß, ü, Ö...) is the unmistakable mark of a US scanner on a
        # German computer; an ASCII one such as '^' has likelier causes (a conflated FNC1).
        repaired = value.translate(_hints.DE_TO_US)
        if not value[at].isascii() and spec.pattern.fullmatch(repaired):
            hint = _hints.KEYBOARD_LAYOUT
        where = at if offset is None else offset + at
        return IdentifierError(
            f"Failed to parse {value!r} as {what}: expected only {charset} characters, "
            f"got {value[at]!r} at position {where}.",
            code=f"{family}.charset",
            ai=ai,
            position=None if offset is None else offset + at,
            field=field,
            hint=hint,
        )
    if n < spec.min_len:
        expected = (
            f"{spec.min_len} digits" if numeric_fixed else f"at least {spec.min_len} characters"
        )
        return IdentifierError(
            f"Failed to parse {value!r} as {what}: expected {expected}, got {n}.",
            code=_length_code(family, too_long=False),
            ai=ai,
            position=offset,
            field=field,
        )
    fmt = "+".join(
        f"{'[' if c.optional else ''}{c.kind}{'' if c.min_len == c.max_len else '..'}"
        f"{c.max_len}{']' if c.optional else ''}"
        for c in spec.components
    )
    lengths = _fixed_lengths(spec)
    if lengths and n not in lengths:  # (7011) 8 digits: neither a date nor a date and a time
        allowed = " or ".join(str(k) for k in lengths)
        return IdentifierError(
            f"Failed to parse {value!r} as {what}: expected {allowed} digits ({fmt}), got {n}.",
            code="value.format",
            ai=ai,
            position=None if offset is None else offset + max(k for k in lengths if k < n),
            field=field,
        )
    if spec.date is not None and _is_digits(value[:6]) and len(value) >= 6:
        resolved = _dates.resolve(value, spec.date, year_now)
        if isinstance(resolved, str):
            return IdentifierError(
                f"Failed to parse {value!r} as {what}: {resolved}.",
                code="date.invalid",
                ai=ai,
                position=offset,
                field=field,
            )
    return IdentifierError(
        f"Failed to parse {value!r} as {what}: expected the format {fmt}, got a value that "
        "does not fit it.",
        code="value.format",
        ai=ai,
        position=offset,
        field=field,
    )


def validate_value(
    spec: AISpec, value: str, *, offset: int | None, year_now: int
) -> dt.date | None:
    """Check one AI value strictly; return the date it stands for if it is a date AI.

    ``offset`` is where the value starts in the input, for error positions (None if unknown).
    """
    if spec.pattern.fullmatch(value) is None:
        raise value_error(spec, value, offset=offset, year_now=year_now)
    if spec.check_digits:
        digits = value[: spec.check_digits]
        expected = mod10(digits[:-1])
        if expected != ord(digits[-1]) - 48:
            family = _family(spec.ai)
            raise IdentifierError(
                f"Failed to parse {value!r} as {label(spec.ai)}: expected a check digit of "
                f"{expected}, got {digits[-1]}.",
                code=f"{family}.check_digit",
                ai=spec.ai,
                position=None if offset is None else offset + spec.check_digits - 1,
                field=FIELDS.get(spec.ai),
            )
    fault = _lint.problem(spec.ai, value, year_now)
    if fault is not None:
        at, wanted, check_pair = fault
        raise IdentifierError(
            f"Failed to parse {value!r} as {label(spec.ai)}: expected {wanted} at position "
            f"{at if offset is None else offset + at}.",
            code="value.check_digit" if check_pair else "value.format",
            ai=spec.ai,
            position=None if offset is None else offset + at,
            field=FIELDS.get(spec.ai),
        )
    if spec.date is None:
        return None
    resolved = _dates.resolve(value, spec.date, year_now)
    if isinstance(resolved, str):
        raise IdentifierError(
            f"Failed to parse {value!r} as {label(spec.ai)}: {resolved}.",
            code="date.invalid",
            ai=spec.ai,
            position=offset,
            field=FIELDS.get(spec.ai),
        )
    return resolved
