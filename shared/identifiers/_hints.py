"""Known scanner faults and the hints we give for them.

EMVO alert root causes (help.emvo-medicines.eu A3, securmed.org.uk alert management) that show in
the scanned text:

- a dropped GS (FNC1) separator, so the lot swallows the next element (``10LOT2117...``);
- Caps Lock on a keyboard-wedge scanner, which inverts the case of every letter (``]D2``);
- a scanner and a computer set to different keyboard layouts (US vs German): Y and Z swap and most
  punctuation changes (``]`` arrives as ``+``, ``-`` as ``ß``, ``:`` as ``Ö``);
- a linear EAN-13 read together with the Data Matrix and glued onto the batch.

A hint is a suggestion for the person at the scanner, never a correction: the parser does not
guess the data.
"""

from __future__ import annotations

import re
from typing import Final

from verinet.identifiers._tables import mod10

# What a US-layout keystroke shows on a computer set to German (QWERTZ), key by key.
_US_TO_DE: Final = {
    "y": "z", "z": "y", "Y": "Z", "Z": "Y",
    "@": '"', "#": "§", "^": "&", "&": "/", "*": "(", "(": ")", ")": "=",
    "-": "ß", "_": "?", "=": "\u00b4", "+": "`", "[": "ü", "{": "Ü", "]": "+", "}": "*",
    "\\": "#", "|": "'", ";": "ö", ":": "Ö", "'": "ä", '"': "Ä", "<": ";", ">": ":",
    "/": "-", "?": "_", "`": "^", "~": "°",
}  # fmt: skip
US_TO_DE: Final = str.maketrans(_US_TO_DE)
"""Repairs text from a scanner set to German typing into a computer set to US."""
DE_TO_US: Final = str.maketrans({de: us for us, de in _US_TO_DE.items()})
"""Repairs text from a scanner set to US typing into a computer set to German."""
SWAP_YZ: Final = str.maketrans("yzYZ", "zyZY")

CAPS_LOCK: Final = (
    "Caps Lock seems to be on: with the letter case inverted the scan is valid. "
    "Turn Caps Lock off and re-scan; do not retype the letters."
)
KEYBOARD_LAYOUT: Final = (
    "The scanner and the computer seem to use different keyboard layouts (e.g. US and "
    "German): with Y/Z and the punctuation keys mapped back the scan is valid. Set the "
    "scanner to the computer's keyboard layout and re-scan."
)
_DIGIT_RUN: Final = re.compile(r"[0-9]{13,}")


def symbology_caps_lock(found: str, meant: str) -> str:
    return (
        f"{found!r} looks like the symbology identifier {meant!r} with its letter case "
        "inverted: Caps Lock is probably on, so the letters in the data are inverted too. "
        "Turn Caps Lock off and re-scan."
    )


def symbology_keyboard_layout(found: str, meant: str) -> str:
    return (
        f"{found!r} looks like the symbology identifier {meant!r} typed through a different "
        "keyboard layout (US vs German: ']' arrives as '+', Y and Z swap). Set the scanner to "
        "the computer's keyboard layout and re-scan."
    )


def missing_separator(ai: str, head: str, next_ai: str, rest: str) -> str:
    return (
        f"The GS (FNC1) separator after ({ai}) seems to be missing: {head!r} followed by "
        f"({next_ai}) {rest!r} would be valid. Check that the scanner transmits GS (ASCII 29) "
        "and re-scan."
    )


def glued_ean_hint(ai: str, ean: str, *, own: bool) -> str:
    whose = "the pack's own GTIN as EAN-13" if own else "a valid EAN-13"
    return (
        f"The ({ai}) value contains {ean!r}, {whose}: a linear barcode was probably read "
        "together with the 2D code and glued onto the field. Re-scan the 2D code alone."
    )


def spaces_hint(ai: str) -> str:
    return (
        f"The ({ai}) value starts or ends with a space, which GS1 data never contains: "
        "remove the spaces around the values."
    )


def glued_ean(value: str, gtin: str | None = None) -> tuple[str, bool] | None:
    """An EAN-13 inside ``value``, and whether it is the pack's own GTIN; None if there is none.

    Looks for the GTIN's EAN-13 anywhere, else for a run of 13 or more digits whose first or last
    13 digits carry a valid check digit.
    """
    if len(value) < 13:
        return None
    if gtin is not None and gtin[0] == "0" and gtin[1:] in value:
        return gtin[1:], True
    for match in _DIGIT_RUN.finditer(value):
        run = match.group()
        for candidate in (run[:13], run[-13:]):
            if mod10(candidate[:-1]) == ord(candidate[-1]) - 48:
                return candidate, False
    return None


def keyboard_repairs(text: str) -> list[tuple[str, str]]:
    """Candidate repairs of ``text`` for the keyboard faults, each with its hint."""
    candidates = [
        (text.swapcase(), CAPS_LOCK),
        (text.translate(SWAP_YZ), KEYBOARD_LAYOUT),
        (text.translate(DE_TO_US), KEYBOARD_LAYOUT),
        (text.translate(US_TO_DE), KEYBOARD_LAYOUT),
    ]
    seen = {text}
    out: list[tuple[str, str]] = []
    for candidate, hint in candidates:
        if candidate not in seen:
            seen.add(candidate)
            out.append((candidate, hint))
    return out
