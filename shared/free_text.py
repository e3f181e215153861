"""Free text that partners store: names, reasons, notes.

Stored text is shown later to other people: in the console, in CSV reports opened in a
spreadsheet, in logs and in webhook payloads. So it is plain printable text of bounded length:

- no control characters: C0 (U+0000 to U+001F, tab and line breaks included), DEL and C1
  (U+007F to U+009F), and the Unicode line and paragraph separators (U+2028, U+2029); text
  that needs lines is not stored here;
- no lone surrogates (not text; most encoders refuse them later, at a worse moment);
- no bidirectional overrides or isolates (U+202A to U+202E, U+2066 to U+2069), which make a
  reader see text in another order than the one stored ("Trojan Source");
- at least one character that is not white space when the text is required;
- at most ``max_length`` characters (code points). Each field's limit is in ``TEXT_LIMITS``.

Lots are not free text: they are GS1 lots (``verinet.identifiers.validate_lot``).

>>> validate_text("Out-of-specification dissolution", "reason", max_length=1000)
'Out-of-specification dissolution'
>>> validate_text("Acme\\u202ePharma", "name", max_length=200)
Traceback (most recent call last):
...
verinet.errors.InvalidInput: Failed to read "name": expected text without control characters, got U+202E (a bidirectional override) at position 4.
"""

from __future__ import annotations

from typing import Final

from verinet.errors import InvalidInput

__all__ = ["TEXT_LIMITS", "validate_text"]

#: The documented length limit of every stored free-text field, in characters.
TEXT_LIMITS: Final = {
    "partner name": 200,
    "product name": 200,
    "recall reason": 1000,
    "recall close reason": 1000,
    "withdrawal reason": 500,
    "alert close reason": 500,
    "recall public warning by": 200,
    "recall external reference": 100,
    "recall contact": 300,
    "recall response note": 1000,
    "effectiveness check note": 1000,
    "effectiveness checked by": 200,
}

_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused(character: str) -> str | None:
    """Why a character is refused in stored text, None when it is fine."""
    point = ord(character)
    if point < 0x20 or 0x7F <= point <= 0x9F:
        return "a control character"
    if point in (0x2028, 0x2029):
        return "a line break"
    if 0xD800 <= point <= 0xDFFF:
        return "a lone surrogate"
    if character in _BIDI_CONTROLS:
        return "a bidirectional override"
    return None


def validate_text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    """``value`` unchanged when it is storable free text; else InvalidInput naming ``field``,
    with ``expected`` and ``got`` members for the problem document.

    >>> validate_text("", "note", max_length=10, required=False)
    ''
    >>> validate_text("x" * 11, "note", max_length=10)
    Traceback (most recent call last):
    ...
    verinet.errors.InvalidInput: Failed to read "note": expected at most 10 characters, got 11.
    """
    if len(value) > max_length:
        raise InvalidInput(
            f'Failed to read "{field}": expected at most {max_length} characters, got {len(value)}.',
            code="text.too_long",
            field=field,
            expected=f"at most {max_length} characters",
            got=f"{len(value)} characters",
        )
    if required and not value.strip():
        raise InvalidInput(
            f'Failed to read "{field}": expected text, got {"nothing" if not value else "only white space"}.',
            code="text.empty",
            field=field,
            expected=f"1 to {max_length} characters",
            got=repr(value),
        )
    if value.isprintable():
        return value  # the usual case (every refused character is unprintable): no loop in Python
    for position, character in enumerate(value):
        why = _refused(character)
        if why is not None:
            got = f"U+{ord(character):04X} ({why})"
            raise InvalidInput(
                f'Failed to read "{field}": expected text without control characters, got {got} '
                f"at position {position}.",
                code="text.control",
                field=field,
                expected="text without control characters",
                got=got,
                position=position,
            )
    return value
