"""GS1 identifier parsing for the verification router: scans, HRI, Digital Link, GTINs.

One entry point, :func:`parse`, reads whatever a scanner or partner sends and returns a frozen
:class:`ProductIdentifier`; the field validators check the values an LMS request or API carries on
their own. Every failure is a ``verinet.errors.IdentifierError`` with a stable ``code`` (see
``ERROR_CODES``), the ``ai`` at fault, the ``position`` in the input and, when a known scanner
fault fits (missing GS, Caps Lock, US/German keyboard layouts, a glued EAN-13), a ``hint``.

biip supplies the table of all Application Identifiers (lengths, character sets, patterns); we add
the strict rules a router needs: CSET 82, calendar dates with the GS1 century window and DD=00,
check digits, conflicting repeats, requisite and exclusive AIs, and Digital Link qualifier order.

>>> import datetime as dt
>>> pi = parse("]d2010950600013435217261200" "10ABC123\\x1d21SN0001", today=dt.date(2026, 1, 1))
>>> pi.gtin, pi.expiry, pi.expiry_date
('09506000134352', '261200', datetime.date(2026, 12, 31))
>>> validate_gtin("9506000134355")
Traceback (most recent call last):
...
verinet.errors.IdentifierError: Failed to parse '9506000134355' as GTIN: expected a check digit of 2, got 5.

Form detection, FNC1 spellings and Digital Link decisions are documented in ``_parse``,
``_element`` and ``_digital_link``.
"""

from verinet.identifiers._codes import ERROR_CODES
from verinet.identifiers._dates import expiry_matches, parse_expiry
from verinet.identifiers._fields import validate_lot, validate_serial
from verinet.identifiers._model import ProductIdentifier
from verinet.identifiers._parse import parse, parse_digital_link, parse_element_string, parse_hri
from verinet.identifiers._values import check_digit, validate_gln, validate_gtin

__all__ = [
    "ERROR_CODES",
    "ProductIdentifier",
    "check_digit",
    "expiry_matches",
    "parse",
    "parse_digital_link",
    "parse_element_string",
    "parse_expiry",
    "parse_hri",
    "validate_gln",
    "validate_gtin",
    "validate_lot",
    "validate_serial",
]
