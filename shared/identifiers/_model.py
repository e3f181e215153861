"""The parsed product identifier: one value object whatever form the input had."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from verinet.identifiers._digital_link import write_digital_link
from verinet.identifiers._element import write_element_string, write_hri

FORMS: Final = ("element_string", "hri", "digital_link", "gtin")


@dataclass(frozen=True, slots=True)
class ProductIdentifier:
    """A GS1 identifier read from a scan, HRI text, a Digital Link URI or a bare GTIN.

    >>> from verinet.identifiers import parse
    >>> pi = parse("]d201095060001343521726120010ABC123\\x1d21SN0001", today=dt.date(2026, 1, 1))
    >>> pi.gtin, pi.lot, pi.serial, pi.expiry, pi.expiry_date.isoformat()
    ('09506000134352', 'ABC123', 'SN0001', '261200', '2026-12-31')
    >>> pi.as_digital_link()
    'https://id.gs1.org/01/09506000134352/10/ABC123/21/SN0001?17=261200'
    >>> pi.as_hri()
    '(01)09506000134352(17)261200(10)ABC123(21)SN0001'
    """

    form: str
    """How the input was written: ``element_string``, ``hri``, ``digital_link`` or ``gtin``."""
    gtin: str | None = None
    """AI (01) as GTIN-14."""
    serial: str | None = None
    """AI (21)."""
    lot: str | None = None
    """AI (10)."""
    expiry: str | None = None
    """AI (17) verbatim, YYMMDD; DD may be 00. Forward this, not ``expiry_date``."""
    expiry_date: dt.date | None = None
    """AI (17) resolved: DD 00 is the month's last day, the century by the GS1 window."""
    nhrn: dict[str, str] = field(default_factory=dict)
    """National Healthcare Reimbursement Numbers, AIs 710-717 (e.g. 714 for Portugal)."""
    ais: dict[str, str] = field(default_factory=dict)
    """Every AI read, in input order (an AI repeated with the same value appears once)."""
    dates: dict[str, dt.date] = field(default_factory=dict)
    """Every date AI (11, 13, 15, 17, 7003...) resolved to its date."""
    symbology: str | None = None
    """The symbology identifier the scanner sent, e.g. ``]d2``, or None."""
    extra_query: dict[str, str] = field(default_factory=dict)
    """Digital Link query parameters that are not AIs (``linkType``, ``context``, ``reqGLN``...)."""
    hints: tuple[str, ...] = ()
    """Warnings for a valid read that looks like a known scanner fault (e.g. a missing GS)."""

    def __hash__(self) -> int:
        return hash(
            (self.form, self.symbology, tuple(self.ais.items()), tuple(self.extra_query.items()))
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready members; dates as ISO 8601 strings."""
        return {
            "form": self.form,
            "symbology": self.symbology,
            "gtin": self.gtin,
            "serial": self.serial,
            "lot": self.lot,
            "expiry": self.expiry,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "nhrn": dict(self.nhrn),
            "ais": dict(self.ais),
            "dates": {ai: date.isoformat() for ai, date in self.dates.items()},
            "extra_query": dict(self.extra_query),
            "hints": list(self.hints),
        }

    def as_element_string(self, separator: str = "\x1d") -> str:
        """The AIs as an element string without symbology identifier.

        Predefined-length AIs come first, then the others, separated by ``separator`` (GS).
        """
        return write_element_string(self.ais, separator)

    def as_hri(self) -> str:
        """The AIs as human-readable text, ``(01)...(17)...``."""
        return write_hri(self.ais)

    def as_digital_link(
        self, domain: str = "https://id.gs1.org", *, extra_query: bool = False
    ) -> str:
        """The AIs as a GS1 Digital Link URI with numeric AIs (the canonical form at the
        default domain). ``domain`` may carry a path prefix. With ``extra_query``, the non-AI
        query parameters read from a Digital Link are appended."""
        return write_digital_link(self.ais, domain, self.extra_query if extra_query else None)
