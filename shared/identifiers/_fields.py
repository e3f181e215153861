"""Validators for the text fields an LMS request or an API carries on their own: serial and lot."""

from __future__ import annotations

from verinet.errors import IdentifierError
from verinet.identifiers import _dates, _hints
from verinet.identifiers._element import embedded_element
from verinet.identifiers._tables import AI_TABLE, FIELDS, label
from verinet.identifiers._values import value_error


def _validate_text(text: str, ai: str) -> str:
    spec = AI_TABLE[ai]
    if spec.pattern.fullmatch(text) is not None:
        return text
    if not text:
        raise IdentifierError(
            f"Failed to parse '' as {label(ai)}: expected 1 to {spec.max_len} CSET 82 "
            "characters, got nothing.",
            code="value.too_short",
            ai=ai,
            position=0,
            field=FIELDS[ai],
        )
    year_now = _dates.current_year(None)
    error = value_error(spec, text, offset=0, year_now=year_now)
    if error.hint is None and error.code == "value.too_long":
        error.hint = embedded_element(ai, text, year_now=year_now)
        if error.hint is None and ai == "10":
            found = _hints.glued_ean(text)
            if found is not None:
                error.hint = _hints.glued_ean_hint(ai, found[0], own=False)
    raise error


def validate_serial(text: str) -> str:
    """Validate a serial number (AI 21): 1 to 20 CSET 82 characters; returns it unchanged.

    >>> validate_serial("SN 1")
    Traceback (most recent call last):
    ...
    verinet.errors.IdentifierError: Failed to parse 'SN 1' as serial (21): expected only CSET 82 characters, got ' ' at position 2.
    """
    return _validate_text(text, "21")


def validate_lot(text: str) -> str:
    """Validate a batch/lot number (AI 10): 1 to 20 CSET 82 characters; returns it unchanged."""
    return _validate_text(text, "10")
