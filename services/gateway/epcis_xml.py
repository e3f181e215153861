"""EPCIS 1.2 and 2.0 XML documents, read as a stream into the events the JSON reader yields.

An ``epcis:EPCISDocument`` (namespace ``urn:epcglobal:epcis:xsd:1`` or ``urn:epcglobal:epcis:xsd:2``)
is fed to expat chunk by chunk; each event element under ``EPCISBody/EventList`` (in 1.2 also
under ``EventList/extension``) is built as a small tree when it ends and turned into the
EPCIS 2.0 JSON shape (``{"type": "ObjectEvent", "epcList": [...], "ilmd": {"cbvmda:lotNumber": ...}}``),
so the one ``Reader`` in ``epcis.py`` checks and reduces XML and JSON events alike. The 1.2
``extension`` and ``baseExtension`` wrappers are flattened, since 2.0 moved their members up.
Extension elements keep their namespace as a prefix (``gs1ushc:dropShipment``). The
``EPCISHeader`` (SBDH, GS1 US healthcare fields, master data) is kept as a tree of its own.

The parser is hardened because partners send these documents: a DOCTYPE is refused outright, so
no entity can be declared (no entity expansion, no external entities, no DTD fetch); an element
nested deeper than ``MAX_DEPTH``, a text longer than ``MAX_TEXT_CHARS``, a single markup token
(tag, comment) longer than ``MAX_TOKEN_BYTES`` and a header of more than ``MAX_HEADER_NODES``
elements are refused, so memory stays bounded by the event being read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol
from xml.parsers import expat

from verinet.epc import parse_location
from verinet.errors import InvalidInput, VerinetError
from verinet.identifiers import check_digit

XML_TYPES = ("application/xml", "text/xml")
EPCIS_NAMESPACES = {"urn:epcglobal:epcis:xsd:1": "1", "urn:epcglobal:epcis:xsd:2": "2"}
MAX_DEPTH = 64
MAX_TEXT_CHARS = 1 << 16
MAX_TOKEN_BYTES = 1 << 20
MAX_HEADER_NODES = 200_000
READ_BYTES = 1 << 16
EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent", "QuantityEvent"}
)
# Namespaces whose elements are named with a fixed prefix whatever the document calls them, so
# rules can look them up (the lot in ilmd is cbvmda:lotNumber however it was declared).
KNOWN_PREFIXES = {
    "urn:epcglobal:cbv:mda": "cbvmda",
    "https://ref.gs1.org/cbv/mda/": "cbvmda",
    "http://epcis.gs1us.org/hc/ns": "gs1ushc",
    "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader": "sbdh",
}
_TEXT_MEMBERS = frozenset(
    {"eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "action", "bizStep", "disposition", "parentID",
     "certificationInfo", "transformationID"}
)  # fmt: skip
_EPC_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})
_QUANTITY_LISTS = frozenset({"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"})
_PARTY_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
_FLATTENED = frozenset({"extension", "baseExtension"})


class Source(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class Node:
    """One element: its name (bare for EPCIS elements, ``prefix:local`` for others), attributes,
    child elements and text."""

    __slots__ = ("attributes", "children", "name", "text")

    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name = name
        self.attributes = attributes
        self.children: list[Node] = []
        self.text: list[str] = []

    @property
    def value(self) -> str:
        return "".join(self.text).strip()

    def child(self, name: str) -> Node | None:
        return next((c for c in self.children if c.name == name), None)


def plain(node: Node) -> Any:
    """A node as JSON: its text when it has no child elements, else an object of its children
    (a name that repeats becomes a list)."""
    if not node.children:
        return node.value
    members: dict[str, Any] = {}
    for child in node.children:
        value = plain(child)
        if child.name in members:
            current = members[child.name]
            if isinstance(current, list):
                current.append(value)
            else:
                members[child.name] = [current, value]
        else:
            members[child.name] = value
    return members


def _quantity(node: Node) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for child in node.children:
        if child.name == "quantity":
            try:
                entry["quantity"] = float(child.value)
            except ValueError:
                entry["quantity"] = child.value  # the schema refuses it with the value shown
        else:
            entry[child.name] = child.value
    return entry


def _members(node: Node, event: dict[str, Any]) -> None:
    for child in node.children:
        name = child.name
        if name in _TEXT_MEMBERS:
            event[name] = child.value
        elif name in _EPC_LISTS:
            event[name] = [epc.value for epc in child.children]
        elif name in ("readPoint", "bizLocation"):
            location = child.child("id")
            event[name] = {"id": location.value} if location is not None else {}
        elif name in _PARTY_LISTS:
            member = _PARTY_LISTS[name]
            entries = []
            for item in child.children:
                entry = {member: item.value}
                if "type" in item.attributes:
                    entry["type"] = item.attributes["type"]
                entries.append(entry)
            event[name] = entries
        elif name in _QUANTITY_LISTS:
            event[name] = [_quantity(item) for item in child.children]
        elif name in _FLATTENED:
            _members(child, event)
        elif name == "persistentDisposition":
            event[name] = {kind: [c.value for c in child.children if c.name == kind] for kind in ("set", "unset")}
        elif name == "sensorElementList":
            event[name] = [plain(item) for item in child.children]
        else:  # ilmd, errorDeclaration and extension fields
            value = plain(child)
            event[name] = value if child.children or name != "ilmd" else {}


def event_of(node: Node) -> dict[str, Any]:
    """An XML event element as the EPCIS 2.0 JSON event it stands for."""
    event: dict[str, Any] = {"type": node.name}
    _members(node, event)
    when, offset = event.get("eventTime"), event.get("eventTimeZoneOffset")
    # xsd:dateTime may leave out the offset; the event's own eventTimeZoneOffset says which it is
    if isinstance(when, str) and isinstance(offset, str) and "T" in when and not _has_offset(when):
        event["eventTime"] = when + offset
    return event


def _has_offset(text: str) -> bool:
    clock = text.split("T", 1)[1]
    return clock.endswith("Z") or "+" in clock or "-" in clock


@dataclass
class XmlDocument:
    """The parse of one XML body: root attributes, the header tree, and events ready to hand out."""

    version: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    header: Node | None = None
    header_complete: bool = False
    saw_event_list: bool = False
    ready: list[dict[str, Any]] = field(default_factory=list)
    fed_bytes: int = 0
    _path: list[str] = field(default_factory=list)
    _open: list[Node] = field(default_factory=list)
    _header_nodes: int = -1  # counts while the header is open
    _names: dict[str, str] = field(default_factory=dict)
    _parser: Any = None

    def __post_init__(self) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.namespace_prefixes = True
        parser.buffer_text = True
        parser.buffer_size = MAX_TEXT_CHARS
        parser.ordered_attributes = False
        # No DOCTYPE, hence no entity declarations, so nothing can expand or be fetched.
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.UnparsedEntityDeclHandler = self._entity
        parser.ExternalEntityRefHandler = self._external_entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        self._parser = parser

    # -- feeding ----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """The next chunk of the body; ``b""`` ends the document."""
        self.fed_bytes += len(data)
        try:
            self._parser.Parse(data, not data)
        except expat.ExpatError as error:
            raise InvalidInput(
                f"Failed to parse the body as XML at line {error.lineno}, column {error.offset + 1}: "
                f"{expat.ErrorString(error.code)}.",
                code="body.xml",
            ) from None
        # expat consumes all it can; what it holds back is one unfinished tag or comment
        if self.fed_bytes - self._parser.CurrentByteIndex > MAX_TOKEN_BYTES:
            self._fail(
                f"a single piece of markup (a tag, an attribute or a comment) is longer than {MAX_TOKEN_BYTES:,} bytes",
                "body.xml_limit",
            )
        if not data:
            self._finish()

    def take(self) -> list[dict[str, Any]]:
        ready, self.ready = self.ready, []
        return ready

    def _fail(self, reason: str, code: str = "body.xml") -> NoReturn:
        parser = self._parser
        raise InvalidInput(
            f"Failed to read the XML body at line {parser.CurrentLineNumber}, column "
            f"{parser.CurrentColumnNumber + 1}: {reason}.",
            code=code,
        )

    def _finish(self) -> None:
        if not self.version:
            raise InvalidInput("The body holds no XML element: expected an epcis:EPCISDocument.", code="epcis.schema")
        if not self.saw_event_list:
            raise InvalidInput(
                "The EPCISDocument has no EPCISBody/EventList: expected the events there.", code="epcis.schema"
            )

    # -- expat handlers ---------------------------------------------------------------------------

    def _doctype(self, *_: Any) -> None:
        self._fail("a DOCTYPE (DTD) is not accepted in an EPCIS document")

    def _entity(self, *_: Any) -> None:
        self._fail("entity declarations and external entities are not accepted")

    def _external_entity(self, *_: Any) -> int:
        self._fail("external entities are not accepted")

    def _name(self, raw: str) -> str:
        name = self._names.get(raw)
        if name is None:
            parts = raw.split(" ")
            if len(parts) == 1:
                name = raw
            elif parts[0] in EPCIS_NAMESPACES:
                name = parts[1]
            else:
                prefix = KNOWN_PREFIXES.get(parts[0]) or (parts[2] if len(parts) == 3 else "")
                name = f"{prefix}:{parts[1]}" if prefix else f"{parts[0]}#{parts[1]}"
            self._names[raw] = name
        return name

    def _start(self, raw: str, attributes: dict[str, str]) -> None:
        # The hot path (an element inside an event) first: it runs for every EPC.
        open_nodes = self._open
        if open_nodes:
            if len(open_nodes) + len(self._path) >= MAX_DEPTH:
                self._fail(f"elements are nested deeper than {MAX_DEPTH} levels", "body.xml_limit")
            name = self._names.get(raw) or self._name(raw)
            node = Node(name, attributes)
            open_nodes[-1].children.append(node)
            open_nodes.append(node)
            if self._header_nodes >= 0:
                self._header_nodes += 1
                if self._header_nodes > MAX_HEADER_NODES:
                    self._fail(f"the EPCISHeader holds more than {MAX_HEADER_NODES:,} elements", "body.xml_limit")
            return
        name = self._name(raw)
        path = self._path
        if not path:
            self._root(raw, name, attributes)
        elif path == ["EPCISDocument"] and name == "EPCISHeader":
            self.header = Node(name, attributes)
            self._open.append(self.header)
            self._header_nodes = 0
            return
        elif path == ["EPCISDocument", "EPCISBody"] and name == "EventList":
            self.saw_event_list = True
        elif len(path) >= 3 and path[1:3] == ["EPCISBody", "EventList"] and name != "extension":
            if name not in EVENT_TYPES:
                self._fail(f"expected an EPCIS event (ObjectEvent, AggregationEvent, ...) in EventList, got {name!r}")
            self._open.append(Node(name, attributes))
            return
        if len(path) >= MAX_DEPTH:
            self._fail(f"elements are nested deeper than {MAX_DEPTH} levels", "body.xml_limit")
        path.append(name)

    def _root(self, raw: str, name: str, attributes: dict[str, str]) -> None:
        namespace = raw.split(" ")[0] if " " in raw else ""
        if name != "EPCISDocument" or namespace not in EPCIS_NAMESPACES:
            got = f"{name!r} in namespace {namespace!r}" if namespace else f"{name!r} in no namespace"
            self._fail(
                "expected the root element EPCISDocument in namespace urn:epcglobal:epcis:xsd:1 (EPCIS 1.2) "
                f"or urn:epcglobal:epcis:xsd:2 (EPCIS 2.0), got {got}"
            )
        self.attributes = dict(attributes)
        schema_version = attributes.get("schemaVersion", "")
        major = schema_version.split(".")[0]
        if major not in ("1", "2"):
            self._fail(f"expected a schemaVersion attribute such as 1.2 or 2.0, got {schema_version or 'none'!r}")
        if not attributes.get("creationDate"):
            self._fail("the EPCISDocument has no creationDate attribute")
        self.version = EPCIS_NAMESPACES[namespace]

    def _end(self, _: str) -> None:
        open_nodes = self._open
        if open_nodes:
            node = open_nodes.pop()
            if not open_nodes:
                if node is self.header:
                    self._header_nodes = -1
                    self.header_complete = True
                else:
                    self.ready.append(event_of(node))
            return
        self._path.pop()

    def _text(self, text: str) -> None:
        open_nodes = self._open
        if open_nodes:
            node = open_nodes[-1]
            node.text.append(text)
            if len(node.text) > 1 and sum(map(len, node.text)) > MAX_TEXT_CHARS:
                self._fail(f"the text of {node.name} is longer than {MAX_TEXT_CHARS:,} characters", "body.xml_limit")
        elif text.strip():
            self._fail("text outside the document's elements is not expected")


async def xml_events(
    body: Source, document: XmlDocument, on_header: Callable[[XmlDocument], Awaitable[object]] | None = None
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """The events of an XML EPCISDocument in document order, read as the body arrives.
    ``on_header`` runs once, before the first event, when the document has an EPCISHeader."""
    index = 0
    while True:
        data = await body.read(READ_BYTES)
        document.feed(data)
        if on_header is not None and document.header_complete:
            await on_header(document)
            on_header = None
        for event in document.take():
            yield index, event
            index += 1
        if not data:
            return


def header_text(document: XmlDocument, *path: str) -> str:
    """The text at a path of element names under EPCISHeader, or ``""``."""
    node: Node | None = document.header
    for name in path:
        node = node.child(name) if node is not None else None
    return node.value if node is not None else ""



# -- master data (EPCISHeader/extension/EPCISMasterData) ------------------------------------------

EPC_CLASS_VOCABULARY = "urn:epcglobal:epcis:vtype:EPCClass"
LOCATION_VOCABULARY = "urn:epcglobal:epcis:vtype:Location"
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
    for vocabulary in _vocabularies(document, LOCATION_VOCABULARY):
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


def _vocabularies(document: XmlDocument, kind: str) -> list[list[Node]]:
    """The VocabularyElement lists of the header's vocabularies of one type."""
    header = document.header
    extension = header.child("extension") if header is not None else None
    master = extension.child("EPCISMasterData") if extension is not None else None
    vocabularies = master.child("VocabularyList") if master is not None else None
    found = []
    for vocabulary in vocabularies.children if vocabularies is not None else ():
        if vocabulary.name == "Vocabulary" and vocabulary.attributes.get("type") == kind:
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
