"""The LMS 1.3 vocabularies (STANDARDS.md §1.6), in one place: the verifier answers with
them and lookup checks other networks' answers against them.

>>> "No_match_GTIN_Serial" in FAILURE_REASONS, "recalled" in ADDITIONAL_INFO
(True, False)
"""

from __future__ import annotations

__all__ = [
    "ADDITIONAL_INFO",
    "EXPIRATION_EXTENDED",
    "EXPIRED",
    "FAILURE_REASONS",
    "ILLEGITIMATE",
    "MANUFACTURER_POLICY",
    "NOT_FOR_REDISTRIBUTION",
    "NO_MATCH_EXPIRY",
    "NO_MATCH_LOT",
    "NO_MATCH_LOT_EXPIRY",
    "NO_MATCH_SERIAL",
    "NO_REASON_PROVIDED",
    "RECALLED",
    "SUSPECT",
]

# verificationFailureReason
NO_MATCH_SERIAL = "No_match_GTIN_Serial"
NO_MATCH_LOT = "No_match_GTIN_Serial_Lot"
NO_MATCH_EXPIRY = "No_match_GTIN_Serial_Expiry"
NO_MATCH_LOT_EXPIRY = "No_match_GTIN_Serial_Lot_Expiry"
NO_REASON_PROVIDED = "No_reason_provided"
MANUFACTURER_POLICY = "Manufacturer_policy"
NOT_FOR_REDISTRIBUTION = "Not_for_re-distribution"

FAILURE_REASONS = frozenset(
    {
        NO_MATCH_SERIAL,
        NO_MATCH_LOT,
        NO_MATCH_EXPIRY,
        NO_MATCH_LOT_EXPIRY,
        NO_REASON_PROVIDED,
        MANUFACTURER_POLICY,
        NOT_FOR_REDISTRIBUTION,
    }
)

# additionalInfo
EXPIRED = "Expired"
EXPIRATION_EXTENDED = "ExpirationExtended"
RECALLED = "Recalled"
SUSPECT = "Suspect"
ILLEGITIMATE = "Illegitimate"

ADDITIONAL_INFO = frozenset({EXPIRED, EXPIRATION_EXTENDED, RECALLED, SUSPECT, ILLEGITIMATE})
