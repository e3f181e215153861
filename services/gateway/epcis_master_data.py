"""Master data in an EPCIS XML header (``EPCISHeader/extension/EPCISMasterData``), applied on capture.

An EPCClass vocabulary element naming one of the caller's own GTINs registers that product, or
updates its regulated name and attributes (NDC, dosage form, strength, net content,
manufacturer), before the document's events are checked, so a document may commission a product
it introduces. Elements for other companies' GTINs travel with their goods (a wholesaler passes
its supplier's master data on) and are left alone. Registration is idempotent: a document that
is then refused leaves the products as it declared them, which is what the caller asserted.
"""

from __future__ import annotations

from typing import Any

from verinet.gateway.api import owns_gtin, register_product
from verinet.gateway.epcis_xml import XmlDocument, products_of
from verinet.partners import Partner


async def apply_master_data(clients: Any, partner: Partner, document: XmlDocument) -> int:
    """Registers or updates the caller's own products the header describes; returns how many."""
    if not partner.has_role("manufacturer"):
        return 0
    applied = 0
    for product in products_of(document):
        if owns_gtin(partner, product.gtin):
            await register_product(clients, partner, product.gtin, product.name, product.attributes)
            applied += 1
    return applied
