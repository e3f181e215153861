"""Who and what the recall-status custody tests are about: one product, its maker and three
other partners, and the identifiers of the units and cases they move."""

from __future__ import annotations

import datetime as dt

from verinet.network import with_check_digit
from verinet.recall_status.custody_model import Actor

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)
GTIN = with_check_digit("0061414112345")
MAKER = Actor("maker", ("manufacturer",), (with_check_digit("061414100000"),))
WHOLESALER = Actor("wholesaler", ("wholesaler",), (with_check_digit("001234500001"),))
PHARMACY = Actor("pharmacy", ("dispenser",), (with_check_digit("001234500002"),))
OTHER = Actor("other", ("wholesaler",), (with_check_digit("001234500003"),))


def unit(n: int) -> str:
    """Unit ``n`` of the product, as the capture names it: its GTIN and serial ``U<n>``."""
    return f"{GTIN}U{n}"


def sscc(n: int) -> str:
    """Case or pallet ``n``, by its SSCC."""
    return with_check_digit(f"30614141{n:09d}")
