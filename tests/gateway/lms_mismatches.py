"""The four LMS no-match reasons, as questions about a known pack that get each of them."""

from __future__ import annotations


def no_match_questions(
    serial: str, lot: str, expiry: str, other_expiry: str
) -> list[tuple[str, str, str, str]]:
    """(serial, lot, expiry, reason) for a pack stored with ``serial``, ``lot`` and ``expiry``:
    an unknown serial, then each of lot and expiry wrong, then both."""
    return [
        ("NOPE-1", lot, expiry, "No_match_GTIN_Serial"),
        (serial, "OTHER", expiry, "No_match_GTIN_Serial_Lot"),
        (serial, lot, other_expiry, "No_match_GTIN_Serial_Expiry"),
        (serial, "OTHER", other_expiry, "No_match_GTIN_Serial_Lot_Expiry"),
    ]
