"""Every IdentifierError code this package raises, with what it means.

The codes are stable: services map them to statuses and clients may branch on them.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

ERROR_CODES: Final = MappingProxyType(
    {
        "input.empty": "nothing to parse, or a symbology identifier with no data after it",
        "input.unrecognised": "not an element string, HRI text, Digital Link URI or GTIN",
        "input.symbology": "a symbology identifier (]xx) this parser does not accept",
        "gtin.length": "a GTIN with the wrong number of digits",
        "gtin.charset": "a GTIN with a character that is not an ASCII digit",
        "gtin.check_digit": "a GTIN whose mod-10 check digit is wrong",
        "gln.length": "a GLN that is not 13 digits",
        "gln.charset": "a GLN with a character that is not an ASCII digit",
        "gln.check_digit": "a GLN whose mod-10 check digit is wrong",
        "ai.unknown": "an Application Identifier that does not exist",
        "ai.missing_value": "an AI with an empty value",
        "ai.conflict": "the same AI twice with different values",
        "ai.association": "an AI without its requisite AI (lot without GTIN) or with an "
        "exclusive one (GTIN with contained GTIN)",
        "value.charset": "a value with a character outside its character set (CSET 82...)",
        "value.too_long": "a value longer than its AI allows",
        "value.too_short": "a value shorter than its AI allows",
        "value.format": "a value that does not fit its AI's format otherwise",
        "value.check_digit": "an SSCC, GDTI... whose mod-10 check digit is wrong",
        "date.invalid": "a date that does not exist (month 13, 30 February...)",
        "hri.escape": "HRI text with a '(' inside a value that is not written '\\('",
        "dl.invalid": "a Digital Link URI whose structure is wrong",
        "dl.qualifier_order": "Digital Link key qualifiers out of grammar order",
        "dl.encoding": "a Digital Link URI with illegal characters or bad percent-encoding",
    }
)
