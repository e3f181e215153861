"""Master data in an EPCIS XML header (``EPCISHeader/extension/EPCISMasterData``), applied on capture.

Location elements for the caller's own GLNs store their names and addresses, which pack
histories show beside the GLN; those of other partners' GLNs are left alone (a seller does not
name its buyer's site).

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
from verinet.gateway.epcis_xml import XmlDocument, locations_of, products_of
from verinet.gateway.lms import caller_message
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import call


async def apply_master_data(clients: Any, partner: Partner, document: XmlDocument) -> int:
    """Registers or updates the caller's own products and locations the header describes;
    returns how many."""
    applied = 0
    if partner.has_role("manufacturer"):
        for product in products_of(document):
            if owns_gtin(partner, product.gtin):
                await register_product(clients, partner, product.gtin, product.name, product.attributes)
                applied += 1
    own = [rs_pb.LocationMasterData(**entry) for entry in locations_of(document) if entry["gln"] in partner.glns]
    if own:
        await call(
            clients.recall_status.PutLocations,
            rs_pb.PutLocationsRequest(caller=caller_message(partner), locations=own),
            timeout=clients.rpc_timeout,
        )
        applied += len(own)
    return applied
