"""What an EPCIS XML header tells beside the events: master data, applied on capture, and the
GS1 US healthcare (DSCSA) facts kept with a shipment.

Master data sits in ``EPCISHeader/extension/EPCISMasterData``. An EPCClass vocabulary element
naming one of the caller's own GTINs registers that product, or updates its regulated name and
attributes (NDC, dosage form, strength, net content, manufacturer), before the document's events
are checked, so a document may commission a product it introduces. Location elements for the
caller's own GLNs store their names and addresses, shown beside the GLN in pack histories and
recalls. Elements for other companies' GTINs or GLNs travel with the goods (a wholesaler passes
its supplier's master data on; a seller names its buyer's site) and are left alone. Both writes
are idempotent: a document that is then refused leaves them as it declared them, which is what
the caller asserted.

The header's affirmed ``gs1ushc:dscsaTransactionStatement``, its ``gs1ushc:guidelineVersion`` and
``gs1ushc:dropShipment`` (in the header or on the event) are noted on the document's shipping
events, beside their business transactions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from verinet.callers import Role, owning_prefix
from verinet.epc import parse_location
from verinet.errors import InvalidInput, VerinetError
from verinet.gateway.api import register_product
from verinet.gateway.epcis_xml import Node, XmlDocument
from verinet.gateway.lms import caller_message
from verinet.identifiers import check_digit
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb


async def apply_master_data(clients: Any, partner: Partner, document: XmlDocument) -> int:
    """Registers or updates the caller's own products and locations the header describes;
    returns how many."""
    applied = 0
    if partner.has_role(Role.MANUFACTURER):
        for product in products_of(document):
            if owning_prefix(partner.company_prefixes, product.gtin) is not None:
                await register_product(clients, partner, product.gtin, product.name, product.attributes)
                applied += 1
    own = [rs_pb.LocationMasterData(**entry) for entry in locations_of(document) if entry["gln"] in partner.glns]
    if own:
        await clients.ask(clients.recall_status.PutLocations, rs_pb.PutLocationsRequest(caller=caller_message(partner), locations=own))
        applied += len(own)
    return applied


# -- reading the header --------------------------------------------------------------------------

EPC_CLASS_VOCABULARY = "urn:epcglobal:epcis:vtype:EPCClass"
# The GS1 US guideline's Location; the CBV's BusinessLocation and ReadPoint.
LOCATION_VOCABULARIES = (
    "urn:epcglobal:epcis:vtype:Location",
    "urn:epcglobal:epcis:vtype:BusinessLocation",
    "urn:epcglobal:epcis:vtype:ReadPoint",
)
NDC_TYPES = ("US_FDA_NDC", "FDA_NDC_11")
MAX_ATTRIBUTE_CHARS = 200
# CBV master data attributes verinet keeps for a product, by the name it stores them under.
PRODUCT_ATTRIBUTES = {
    "dosageFormType": "dosage_form",
    "strengthDescription": "strength",
    "netContentDescription": "net_content",
    "manufacturerOfTradeItemPartyName": "manufacturer",
}
_CLASS_PATTERN = re.compile(r"urn:epc:(?:idpat:sgtin|class:lgtin):([0-9]{6,12})\.([0-9]{1,7})\.(?:\*|.+)\Z")
_CLASS_LINK = re.compile(r"https?://[^/?#]+/01/([0-9]{14})(?:[/?#].*)?\Z")


@dataclass(frozen=True)
class ProductMasterData:
    """An EPCClass vocabulary element: the GTIN it names, its regulated name and other attributes."""

    gtin: str
    name: str
    attributes: dict[str, str]


def gtin_of_class(identifier: str) -> str | None:
    """The GTIN-14 an EPC class names (an SGTIN pattern, an LGTIN class or a Digital Link), or
    ``None``.

    >>> gtin_of_class("urn:epc:idpat:sgtin:0361414.023224.*")
    '00361414232242'
    >>> gtin_of_class("urn:epc:class:lgtin:0361414.123224.LOT1")
    '10361414232249'
    >>> gtin_of_class("https://id.gs1.org/01/00361414232242")
    '00361414232242'
    """
    pattern = _CLASS_PATTERN.match(identifier)
    if pattern is not None:
        prefix, reference = pattern.groups()
        if len(prefix) + len(reference) != 13:
            return None
        digits = reference[0] + prefix + reference[1:]
        return digits + str(check_digit(digits))
    link = _CLASS_LINK.match(identifier)
    if link is not None and str(check_digit(link.group(1)[:13])) == link.group(1)[13]:
        return link.group(1)
    return None


def _attribute_name(identifier: str) -> str:
    """``urn:epcglobal:cbv:mda#regulatedProductName`` (or ``cbvmda:...``, a Web URI) as its bare name."""
    return re.split(r"[#:/]", identifier)[-1]


def products_of(document: XmlDocument) -> list[ProductMasterData]:
    """The EPCClass elements of the header's master data, each with a GTIN it names."""
    products = []
    for vocabulary in _vocabularies(document, EPC_CLASS_VOCABULARY):
        for element in vocabulary:
            gtin = gtin_of_class(element.attributes.get("id", ""))
            if gtin is None:
                continue
            values: dict[str, str] = {}
            for attribute in element.children:
                if attribute.name == "attribute":
                    name = _attribute_name(attribute.attributes.get("id", ""))
                    value = attribute.value
                    if len(value) > MAX_ATTRIBUTE_CHARS:
                        raise InvalidInput(
                            f"EPCISMasterData: the EPCClass {element.attributes['id']!r} attribute {name}: expected "
                            f"at most {MAX_ATTRIBUTE_CHARS} characters, got {len(value):,}.",
                            code="epcis.master_data",
                        )
                    values[name] = value
            attributes = {stored: values[name] for name, stored in PRODUCT_ATTRIBUTES.items() if values.get(name)}
            if values.get("additionalTradeItemIdentification") and (
                values.get("additionalTradeItemIdentificationTypeCode", "") in NDC_TYPES
            ):
                attributes["ndc"] = values["additionalTradeItemIdentification"]
            products.append(ProductMasterData(gtin, values.get("regulatedProductName", ""), attributes))
    return products


# CBV Location attributes verinet keeps, by the name it stores them under.
LOCATION_ATTRIBUTES = {
    "name": "name",
    "streetAddressOne": "street",
    "city": "city",
    "state": "state",
    "postalCode": "postal_code",
    "countryCode": "country_code",
}


def locations_of(document: XmlDocument) -> list[dict[str, str]]:
    """The Location elements of the header's master data that name a site (an SGLN with
    extension 0, or a Digital Link with (414)), as ``{"gln": ..., "name": ..., "city": ...}``."""
    found = []
    for vocabulary in _vocabularies(document, *LOCATION_VOCABULARIES):
        for element in vocabulary:
            try:
                location = parse_location(element.attributes.get("id", ""))
            except VerinetError:
                continue  # a sub-location or another kind of id: nothing to show it by
            if location.extension not in ("", "0"):
                continue
            entry = {"gln": location.gln}
            for attribute in element.children:
                stored = LOCATION_ATTRIBUTES.get(_attribute_name(attribute.attributes.get("id", "")))
                if attribute.name == "attribute" and stored is not None:
                    entry[stored] = attribute.value[:MAX_ATTRIBUTE_CHARS]
            found.append(entry)
    return found


def _vocabularies(document: XmlDocument, *kinds: str) -> list[list[Node]]:
    """The VocabularyElement lists of the header's vocabularies of the given types."""
    header = document.header
    extension = header.child("extension") if header is not None else None
    master = extension.child("EPCISMasterData") if extension is not None else None
    vocabularies = master.child("VocabularyList") if master is not None else None
    found = []
    for vocabulary in vocabularies.children if vocabularies is not None else ():
        if vocabulary.name == "Vocabulary" and vocabulary.attributes.get("type") in kinds:
            elements = vocabulary.child("VocabularyElementList")
            if elements is not None:
                found.append([e for e in elements.children if e.name == "VocabularyElement"])
    return found


# -- GS1 US healthcare (DSCSA) facts kept with a shipment ------------------------------------------

_TRUE = ("true", "1")


def dscsa_notes(document: XmlDocument | None) -> list[str]:
    """The header's DSCSA facts, noted on every shipping event of the document: the affirmed
    transaction statement, the GS1 US guideline version, a drop shipment."""
    header = document.header if document is not None else None
    if header is None:
        return []
    notes = []
    statement = header.child("gs1ushc:dscsaTransactionStatement")
    affirmed = statement.child("gs1ushc:affirmTransactionStatement") if statement is not None else None
    if affirmed is not None and affirmed.value.lower() in _TRUE:
        notes.append("DSCSA transaction statement affirmed")
    version = header.child("gs1ushc:guidelineVersion")
    if version is not None and version.value:
        notes.append(f"GS1 US guideline {version.value[:40]}")
    drop = header.child("gs1ushc:dropShipment")
    if drop is not None and drop.value.lower() in _TRUE:
        notes.append("drop shipment")
    return notes


def event_notes(raw: Any, header_notes: list[str]) -> list[str]:
    """What a shipping event keeps: the header's DSCSA facts and its own drop-shipment flag
    (``gs1ushc:dropShipment``, in XML or JSON)."""
    notes = list(header_notes)
    drop = raw.get("gs1ushc:dropShipment") if isinstance(raw, dict) else None
    if str(drop).lower() in _TRUE and "drop shipment" not in notes:
        notes.append("drop shipment")
    return notes
