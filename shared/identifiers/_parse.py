"""Reading a scan, HRI text, a Digital Link URI or a bare GTIN into a ProductIdentifier.

Form detection, in order:

1. A symbology identifier (AIM ``]`` + 2 characters) says what follows: ``]d2`` (GS1 DataMatrix),
   ``]Q3`` (GS1 QR Code), ``]C1`` (GS1-128), ``]e0`` (GS1 DataBar), ``]J1`` (GS1 DotCode) carry an
   element string; ``]d1``, ``]Q1`` and ``]J0`` (no GS1 mode) must carry a Digital Link URI; ``]E0``
   (EAN-13/UPC-A, 13 digits), ``]E4`` (EAN-8) and ``]I1`` (ITF-14) a GTIN. Others are rejected.
2. Text starting with a URI scheme (``https:``) is a Digital Link.
3. Text starting with ``(`` is HRI.
4. Digits only: a 12-, 13- or 14-digit string with a valid check digit is a GTIN. Otherwise, if it
   reads as an element string starting with a predefined-length AI (00-03, 11-20, 31-36, 41x),
   it is one (so ``11120230`` is a production date with an invalid day, not the GTIN-8 it also
   is). Otherwise 8, 12, 13 or 14 digits are a GTIN. When both readings fail, the GTIN error is
   reported for 12-14 digits unless the element string was only missing a requisite AI.
   Scanners should send symbology identifiers; these rules only settle unprefixed digits.
5. Anything else is an element string.

A trailing CR/LF (keyboard-wedge Enter) is removed; nothing else is trimmed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from verinet.errors import IdentifierError
from verinet.identifiers import _dates, _hints
from verinet.identifiers._associations import check_associations
from verinet.identifiers._digital_link import looks_like_uri, tokenize_digital_link
from verinet.identifiers._element import (
    Token,
    element_string_fits,
    embedded_element,
    missing_separator,
    tokenize_element_string,
    tokenize_hri,
)
from verinet.identifiers._model import ProductIdentifier
from verinet.identifiers._tables import (
    AI_TABLE,
    CSET82,
    FIELDS,
    NHRN_AIS,
    AISpec,
    label,
    lookup_ai,
    mod10,
)
from verinet.identifiers._values import validate_gtin, validate_value

_ELEMENT_STRING_SYMBOLOGIES: Final = frozenset({"]d2", "]Q3", "]C1", "]e0", "]J1"})
_URI_SYMBOLOGIES: Final = frozenset({"]d1", "]Q1", "]J0"})
_GTIN_SYMBOLOGIES: Final = {"]E0": (13, "EAN-13/UPC-A"), "]E4": (8, "EAN-8"), "]I1": (14, "ITF-14")}
_SYMBOLOGIES: Final = _ELEMENT_STRING_SYMBOLOGIES | _URI_SYMBOLOGIES | frozenset(_GTIN_SYMBOLOGIES)
_MAX_REPAIR: Final = 1000
_PACK_QUALIFIERS: Final = ("21", "10", "17")

_Reader = Callable[[str, int], ProductIdentifier]


# -- public entry points -----------------------------------------------------------------------


def parse(text: str, *, today: dt.date | None = None) -> ProductIdentifier:
    """Read a scan, HRI text, a GS1 Digital Link URI or a bare GTIN; detects the form.

    ``today`` sets the current year for the GS1 century window (default: the system date).
    Raises IdentifierError with a stable ``code`` and, when a known scanner fault fits, a ``hint``.

    >>> parse("(01)09506000134352(17)261200(10)ABC123(21)SN0001").lot
    'ABC123'
    >>> parse("https://id.gs1.org/gtin/09506000134352/lot/ABC123/ser/SN0001?exp=261200").ais
    {'01': '09506000134352', '10': 'ABC123', '21': 'SN0001', '17': '261200'}
    """
    fast = _fast_element_string(text, today)
    if fast is not None:
        return fast
    return _read(_parse_any, text, today)


def parse_element_string(text: str, *, today: dt.date | None = None) -> ProductIdentifier:
    """Read an element string, optionally after a GS1 symbology identifier (``]d2``...)."""
    return _read(_parse_element_string_only, text, today)


def parse_hri(text: str, *, today: dt.date | None = None) -> ProductIdentifier:
    """Read human-readable text ``(01)...(10)...``."""
    return _read(_parse_hri_only, text, today)


def parse_digital_link(text: str, *, today: dt.date | None = None) -> ProductIdentifier:
    """Read a GS1 Digital Link URI, optionally after ``]d1`` or ``]Q1``."""
    return _read(_parse_digital_link_only, text, today)


# -- readers -----------------------------------------------------------------------------------


def _read(reader: _Reader, text: str, today: dt.date | None) -> ProductIdentifier:
    year_now = _dates.current_year(today)
    data = text.rstrip("\r\n")
    try:
        return reader(data, year_now)
    except IdentifierError as error:
        if error.hint is None:
            error.hint = _repair_hint(reader, data, year_now)
        raise


def _repair_hint(reader: _Reader, data: str, year_now: int) -> str | None:
    """A keyboard-fault hint if undoing that fault makes the input valid."""
    if len(data) <= _MAX_REPAIR:
        for candidate, hint in _hints.keyboard_repairs(data):
            try:
                reader(candidate, year_now)
            except IdentifierError:
                continue
            return hint
    return _symbology_hint(data[:3])


def _symbology_hint(prefix: str) -> str | None:
    if prefix in _SYMBOLOGIES or len(prefix) != 3:
        return None
    swapped = prefix.swapcase()
    if swapped in _SYMBOLOGIES:
        return _hints.symbology_caps_lock(prefix, swapped)
    for table in (_hints.DE_TO_US, _hints.US_TO_DE):
        mapped = prefix.translate(table)
        for variant in (mapped, mapped.swapcase()):
            if variant in _SYMBOLOGIES:
                return _hints.symbology_keyboard_layout(prefix, variant)
    return None


def _empty(data: str, what: str) -> IdentifierError:
    return IdentifierError(
        f"Failed to parse {data!r}: expected {what}, got nothing.", code="input.empty"
    )


def _split_symbology(data: str, allowed: frozenset[str]) -> tuple[str | None, str]:
    if not data.startswith("]"):
        return None, data
    symbology = data[:3]
    if symbology not in allowed:
        expected = ", ".join(repr(s) for s in sorted(allowed))
        raise IdentifierError(
            f"Failed to parse {data!r}: expected a symbology identifier such as {expected}, "
            f"got {symbology!r}.",
            code="input.symbology",
            position=0,
            hint=_symbology_hint(symbology),
        )
    if len(data) == 3:
        raise _empty(data, f"data after the symbology identifier {symbology!r}")
    return symbology, data[3:]


def _parse_any(data: str, year_now: int) -> ProductIdentifier:
    if not data:
        raise _empty(data, "a scan, HRI text, a GS1 Digital Link URI or a GTIN")
    symbology, body = _split_symbology(data, _SYMBOLOGIES)
    if symbology in _ELEMENT_STRING_SYMBOLOGIES:
        return _element_string(body, 3, symbology, year_now)
    if symbology in _URI_SYMBOLOGIES:
        if not looks_like_uri(body):
            raise IdentifierError(
                f"Failed to parse {data!r}: expected a GS1 Digital Link URI after "
                f"{symbology!r} (a 2D code without GS1 mode), got {body[:12]!r}.",
                code="input.unrecognised",
                position=3,
            )
        return _digital_link(body, 3, symbology, year_now)
    if symbology is not None:
        return _gtin(body, symbology)
    if looks_like_uri(data):
        return _digital_link(data, 0, None, year_now)
    if data.startswith("("):
        return _assemble(data, tokenize_hri(data), "hri", None, {}, year_now)
    if data.isascii() and data.isdigit():
        return _digits(data, year_now)
    return _element_string(data, 0, None, year_now)


def _parse_element_string_only(data: str, year_now: int) -> ProductIdentifier:
    if not data:
        raise _empty(data, "an element string")
    symbology, body = _split_symbology(data, _ELEMENT_STRING_SYMBOLOGIES)
    return _element_string(body, 0 if symbology is None else 3, symbology, year_now)


def _parse_hri_only(data: str, year_now: int) -> ProductIdentifier:
    if not data:
        raise _empty(data, "HRI text such as '(01)...'")
    return _assemble(data, tokenize_hri(data), "hri", None, {}, year_now)


def _parse_digital_link_only(data: str, year_now: int) -> ProductIdentifier:
    if not data:
        raise _empty(data, "a GS1 Digital Link URI")
    symbology, body = _split_symbology(data, _URI_SYMBOLOGIES)
    return _digital_link(body, 0 if symbology is None else 3, symbology, year_now)


def _element_string(
    body: str, base: int, symbology: str | None, year_now: int
) -> ProductIdentifier:
    tokens = tokenize_element_string(body, base)
    return _assemble(body, tokens, "element_string", symbology, {}, year_now)


def _digital_link(body: str, base: int, symbology: str | None, year_now: int) -> ProductIdentifier:
    tokens, extra = tokenize_digital_link(body, base)
    return _assemble(body, tokens, "digital_link", symbology, extra, year_now)


def _gtin(body: str, symbology: str) -> ProductIdentifier:
    length, name = _GTIN_SYMBOLOGIES[symbology]
    if body.isascii() and body.isdigit() and len(body) != length:
        raise IdentifierError(
            f"Failed to parse {body!r} as GTIN: expected {length} digits after {symbology!r} "
            f"({name}), got {len(body)}.",
            code="gtin.length",
            field="gtin",
        )
    try:
        gtin = validate_gtin(body)
    except IdentifierError as error:
        if error.position is not None:
            error.position += len(symbology)  # positions count the text as sent
        raise
    return ProductIdentifier(form="gtin", gtin=gtin, ais={"01": gtin}, symbology=symbology)


def _digits(data: str, year_now: int) -> ProductIdentifier:
    n = len(data)
    long_gtin = n in (12, 13, 14)
    if long_gtin and mod10(data[:-1]) == ord(data[-1]) - 48:
        return _gtin_text(data)
    first = lookup_ai(data, 0)
    if first is not None and first.fixed and element_string_fits(data):
        try:
            return _element_string(data, 0, None, year_now)
        except IdentifierError as error:
            if long_gtin and error.code != "ai.association":
                validate_gtin(data)  # raises: the check digit is wrong
            raise
    if n in (8, 12, 13, 14):
        return _gtin_text(data)
    return _element_string(data, 0, None, year_now)


def _gtin_text(data: str) -> ProductIdentifier:
    gtin = validate_gtin(data)
    return ProductIdentifier(form="gtin", gtin=gtin, ais={"01": gtin})


# -- assembly ----------------------------------------------------------------------------------


def _assemble(
    text: str,
    tokens: list[Token],
    form: str,
    symbology: str | None,
    extra_query: dict[str, str],
    year_now: int,
) -> ProductIdentifier:
    """Validate every value, merge repeats, apply the association rules, build the result."""
    ais: dict[str, str] = {}
    dates: dict[str, dt.date] = {}
    for ai, value, offset in tokens:
        spec = AI_TABLE[ai]
        if not value:
            raise IdentifierError(
                f"Failed to read AI ({ai}): expected its value at position {offset}, got "
                "nothing.",
                code="ai.missing_value",
                ai=ai,
                position=offset,
                field=FIELDS.get(ai),
            )
        try:
            resolved = validate_value(spec, value, offset=offset, year_now=year_now)
        except IdentifierError as error:
            if error.code == "value.too_long" and form != "digital_link":
                missing = _missing_separator(error, spec, value, offset, year_now)
                if missing is not None:
                    raise missing from None
            if error.hint is None:
                error.hint = _value_hint(error, spec, value, form, tokens, year_now)
            raise
        previous = ais.get(ai)
        if previous is not None:
            if previous != value:
                raise IdentifierError(
                    f"Failed to read {label(ai)}: expected one value for {label(ai)}, got "
                    f"{previous!r} and then {value!r} at position {offset}.",
                    code="ai.conflict",
                    ai=ai,
                    position=offset,
                    field=FIELDS.get(ai),
                )
            continue
        ais[ai] = value
        if resolved is not None:
            dates[ai] = resolved
    check_associations(ais)
    return ProductIdentifier(
        form=form,
        gtin=ais.get("01"),
        serial=ais.get("21"),
        lot=ais.get("10"),
        expiry=ais.get("17"),
        expiry_date=dates.get("17"),
        nhrn={ai: value for ai, value in ais.items() if ai in NHRN_AIS},
        ais=ais,
        dates=dates,
        symbology=symbology,
        extra_query=extra_query,
        hints=advisories(ais, year_now),
    )


def _missing_separator(
    error: IdentifierError, spec: AISpec, value: str, offset: int | None, year_now: int
) -> IdentifierError | None:
    """A value too long because a GS separator was dropped: an error that says so, and where
    (the position of the AI that should have followed a GS); ``None`` for any other cause."""
    found = missing_separator(spec.ai, value, year_now=year_now)
    if found is None:
        return None
    k, next_ai, next_value = found
    position = None if offset is None else offset + k
    where = "" if position is None else f" at position {position}"
    return IdentifierError(
        f"Failed to parse {value!r} as {label(spec.ai)}: missing GS separator before "
        f"({next_ai}){where}: {value[:k]!r} then ({next_ai}) {next_value!r} would be valid, "
        f"but as one value it has {len(value)} characters, more than {spec.max_len}.",
        code=error.code,
        ai=spec.ai,
        position=position,
        field=error.field,
        hint=_hints.missing_separator(spec.ai, value[:k], next_ai, next_value),
    )


def _value_hint(
    error: IdentifierError,
    spec: AISpec,
    value: str,
    form: str,
    tokens: list[Token],
    year_now: int,
) -> str | None:
    if error.code == "value.too_long" and not spec.fixed:
        hint = embedded_element(spec.ai, value, year_now=year_now)
        if hint is not None:
            return hint
        gtin = next((v for ai, v, _ in tokens if ai == "01"), None)
        found = _hints.glued_ean(value, gtin if gtin and len(gtin) == 14 else None)
        if found is not None:
            return _hints.glued_ean_hint(spec.ai, found[0], own=found[1])
    if error.code == "value.charset" and form == "hri" and value != value.strip():
        return _hints.spaces_hint(spec.ai)
    return None


def advisories(ais: dict[str, str], year_now: int) -> tuple[str, ...]:
    """Hints for a valid read that looks like a scanner fault."""
    hints: list[str] = []
    gtin = ais.get("01")
    if gtin is not None:
        missing = tuple(ai for ai in _PACK_QUALIFIERS if ai not in ais)
        if missing:
            for ai in ("10", "21"):
                value = ais.get(ai)
                if value is not None and len(value) > 5:
                    hint = embedded_element(ai, value, year_now=year_now, only=missing, min_len=4)
                    if hint is not None:
                        hints.append(hint)
    lot = ais.get("10")
    if lot is not None and len(lot) >= 13:
        found = _hints.glued_ean(lot, gtin)
        if found is not None:
            hints.append(_hints.glued_ean_hint("10", found[0], own=found[1]))
    return tuple(hints)


# -- fast path ---------------------------------------------------------------------------------


def _fast_element_string(text: str, today: dt.date | None) -> ProductIdentifier | None:
    """The common pharmaceutical scan, ``[]d2]01{gtin}`` + (17), (10), (21) in any order.

    Returns None for anything else, including anything invalid, so the general path reads it
    and reports the error. When it returns a result, that result equals the general path's
    (tests/shared/identifiers proves this on generated input).
    """
    pos = 0
    symbology = None
    if text[:1] == "]":
        symbology = text[:3]
        if symbology not in _ELEMENT_STRING_SYMBOLOGIES:
            return None
        pos = 3
    if text[pos : pos + 2] != "01":
        return None
    if "<" in text and ("<gs>" in (lowered := text.lower()) or "<fnc1>" in lowered):
        return None  # FNC1 spelled out: left to the general path
    gtin = text[pos + 2 : pos + 16]
    if len(gtin) != 14 or not (gtin.isascii() and gtin.isdigit()):
        return None
    if mod10(gtin[:13]) != ord(gtin[13]) - 48:
        return None
    ais = {"01": gtin}
    year_now = 0  # looked up only when needed: date.today() is a noticeable part of the cost
    expiry_date: dt.date | None = None
    n = len(text)
    pos += 16
    while pos < n:
        ai = text[pos : pos + 2]
        if ai in ais:
            return None
        if ai == "17":
            value = text[pos + 2 : pos + 8]
            if len(value) != 6 or not (value.isascii() and value.isdigit()):
                return None
            year_now = year_now or _dates.current_year(today)
            resolved = _dates.resolve(value, "yymmd0", year_now)
            if isinstance(resolved, str):
                return None
            expiry_date = resolved
            pos += 8
        elif ai in ("10", "21"):
            end = text.find("\x1d", pos + 2)
            if end < 0:
                end = n
            value = text[pos + 2 : end]
            if not 0 < len(value) <= 20 or not CSET82.issuperset(value):
                return None
            pos = end + 1
        else:
            return None
        ais[ai] = value
    lot = ais.get("10")
    if len(ais) == 4 and (lot is None or len(lot) < 13):
        hints: tuple[str, ...] = ()  # what advisories() returns for a complete pack, cheaper
    else:
        hints = advisories(ais, year_now or _dates.current_year(today))
    # Positional arguments are measurably faster; the field order is ProductIdentifier's.
    return ProductIdentifier(
        "element_string",
        gtin,
        ais.get("21"),
        lot,
        ais.get("17"),
        expiry_date,
        {},
        ais,
        {} if expiry_date is None else {"17": expiry_date},
        symbology,
        {},
        hints,
    )
