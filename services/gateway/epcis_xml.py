"""EPCIS 1.2 and 2.0 XML documents, read as a stream into the events the JSON reader yields.

An ``epcis:EPCISDocument`` (namespace ``urn:epcglobal:epcis:xsd:1`` or ``urn:epcglobal:epcis:xsd:2``)
is fed chunk by chunk to ElementTree's pull parser, whose tree builder is C; each event element
under ``EPCISBody/EventList`` (in 1.2 also inside EventList's ``extension`` wrappers) is turned,
when it ends, into the EPCIS 2.0 JSON shape (``{"type": "ObjectEvent", "epcList": [...], "ilmd":
{"cbvmda:lotNumber": ...}}``) and dropped, so the one ``Reader`` in ``epcis.py`` checks and
reduces XML and JSON events alike. The 1.2 ``extension`` and ``baseExtension`` wrappers are
flattened, since 2.0 moved their members up; extension elements keep their namespace as a prefix
(``gs1ushc:dropShipment``). The ``EPCISHeader`` (SBDH, GS1 US healthcare fields, master data) is
kept as a small tree for ``epcis_master_data``.

The reader is hardened because partners send these documents. The prolog is read before the
parser sees a byte: a DOCTYPE with an internal subset or an external DTD is refused (a bare
``<!DOCTYPE name>`` declares nothing), so no entity can be declared, expanded or fetched, and
only UTF-8 (ASCII, Latin-1) bodies are read, so no declaration hides in another encoding.
Elements nested deeper than ``MAX_DEPTH``, a text longer than ``MAX_TEXT_CHARS``, a stretch of
``MAX_TOKEN_BYTES`` in which no element starts or ends (one huge tag, attribute, comment or text)
and a header of more than ``MAX_HEADER_NODES`` elements are refused, so memory stays bounded by
the event being read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, cast
from xml.etree import ElementTree as ET

from verinet.errors import InvalidInput

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


class Names:
    """Element tags (``{namespace}local``) as the names verinet uses: bare for EPCIS elements,
    ``prefix:local`` for others (a fixed prefix for known namespaces, else the document's own)."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}

    def declare(self, prefix: str, namespace: str) -> None:
        self.prefixes.setdefault(namespace, prefix)

    def __call__(self, tag: str) -> str:
        name = self.cache.get(tag)
        if name is None:
            if tag[:1] != "{":
                name = tag
            else:
                namespace, local = tag[1:].split("}", 1)
                if namespace in EPCIS_NAMESPACES:
                    name = local
                else:
                    prefix = KNOWN_PREFIXES.get(namespace) or self.prefixes.get(namespace, "")
                    name = f"{prefix}:{local}" if prefix else f"{namespace}#{local}"
            self.cache[tag] = name
        return name


class Node:
    """One element of the header: its name, attributes, child elements and text."""

    __slots__ = ("attributes", "children", "name", "value")

    def __init__(self, name: str, attributes: dict[str, str], value: str) -> None:
        self.name = name
        self.attributes = attributes
        self.children: list[Node] = []
        self.value = value

    @classmethod
    def of(cls, element: ET.Element, names: Names) -> Node:
        node = cls(names(element.tag), dict(element.attrib), (element.text or "").strip())
        node.children = [cls.of(child, names) for child in element]
        return node

    def child(self, name: str) -> Node | None:
        return next((c for c in self.children if c.name == name), None)


def _text(element: ET.Element) -> str:
    text = element.text
    return text.strip() if text else ""


def plain(element: ET.Element, names: Names) -> Any:
    """An element as JSON: its text when it has no child elements, else an object of its
    children (a name that repeats becomes a list)."""
    if not len(element):
        return _text(element)
    members: dict[str, Any] = {}
    for child in element:
        name, value = names(child.tag), plain(child, names)
        if name in members:
            current = members[name]
            if isinstance(current, list):
                current.append(value)
            else:
                members[name] = [current, value]
        else:
            members[name] = value
    return members


def _quantity(element: ET.Element, names: Names) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for child in element:
        name = names(child.tag)
        if name == "quantity":
            try:
                entry["quantity"] = float(_text(child))
            except ValueError:
                entry["quantity"] = _text(child)  # the schema refuses it with the value shown
        else:
            entry[name] = _text(child)
    return entry


def _members(element: ET.Element, event: dict[str, Any], names: Names) -> None:
    for child in element:
        name = names(child.tag)
        if name in _TEXT_MEMBERS:
            event[name] = _text(child)
        elif name in _EPC_LISTS:
            event[name] = [_text(epc) for epc in child]
        elif name in ("readPoint", "bizLocation"):
            location = next((c for c in child if names(c.tag) == "id"), None)
            event[name] = {"id": _text(location)} if location is not None else {}
        elif name in _PARTY_LISTS:
            member = _PARTY_LISTS[name]
            entries = []
            for item in child:
                entry = {member: _text(item)}
                kind = item.get("type")
                if kind is not None:
                    entry["type"] = kind
                entries.append(entry)
            event[name] = entries
        elif name in _QUANTITY_LISTS:
            event[name] = [_quantity(item, names) for item in child]
        elif name in _FLATTENED:
            _members(child, event, names)
        elif name == "persistentDisposition":
            event[name] = {kind: [_text(c) for c in child if names(c.tag) == kind] for kind in ("set", "unset")}
        elif name == "sensorElementList":
            event[name] = [plain(item, names) for item in child]
        else:  # ilmd, errorDeclaration and extension fields
            event[name] = plain(child, names) if len(child) or name != "ilmd" else {}


def event_of(element: ET.Element, names: Names) -> dict[str, Any]:
    """An XML event element as the EPCIS 2.0 JSON event it stands for."""
    event: dict[str, Any] = {"type": names(element.tag)}
    _members(element, event, names)
    when, offset = event.get("eventTime"), event.get("eventTimeZoneOffset")
    # xsd:dateTime may leave out the offset; the event's own eventTimeZoneOffset says which it is
    if isinstance(when, str) and isinstance(offset, str) and "T" in when and not _has_offset(when):
        event["eventTime"] = when + offset
    return event


def _has_offset(text: str) -> bool:
    clock = text.split("T", 1)[1]
    return clock.endswith("Z") or "+" in clock or "-" in clock


# -- the prolog: everything before the root element -------------------------------------------------

_ROOT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
# A DOCTYPE that only names the root declares nothing (some published examples carry one).
_BARE_DOCTYPE = re.compile(rb"<!DOCTYPE[ \t\r\n]+[A-Za-z_:][-A-Za-z0-9._:]*[ \t\r\n]*>")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
ENCODINGS = ("utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1")


def root_offset(prolog: bytes, final: bool) -> int | None:
    """Where the root element starts, after the XML declaration, comments, processing
    instructions, a bare ``<!DOCTYPE name>`` and blanks; ``None`` while more bytes are needed. A
    DOCTYPE with an internal subset or an external DTD (or any other ``<!`` declaration) and an
    encoding other than UTF-8, ASCII or Latin-1 are refused here, before the parser sees a byte,
    so no entity can ever be declared.

    >>> root_offset(b'<?xml version="1.0"?> <!-- a --> <epcis:EPCISDocument', False)
    33
    >>> root_offset(b"<!-", False) is None
    True
    """
    at = 3 if prolog.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while at < len(prolog) and prolog[at] in b" \t\r\n":
            at += 1
        rest = prolog[at : at + 4]
        if not final and len(rest) < 4 and (b"<!--".startswith(rest) or b"<?".startswith(rest[:2])):
            return None
        if prolog.startswith(b"<?", at):
            end = prolog.find(b"?>", at + 2)
            if end < 0:
                return None if not final else _refuse_prolog("the XML declaration never ends")
            encoding = _DECLARED_ENCODING.search(prolog, at, end)
            if encoding is not None and encoding.group(1).decode().lower() not in ENCODINGS:
                _refuse_prolog(f"expected the encoding UTF-8, got {encoding.group(1).decode()!r}")
            at = end + 2
        elif prolog.startswith(b"<!--", at):
            end = prolog.find(b"-->", at + 4)
            if end < 0:
                return None if not final else _refuse_prolog("a comment never ends")
            at = end + 3
        elif prolog.startswith(b"<!", at):
            bare = _BARE_DOCTYPE.match(prolog, at)
            if bare is None:
                if not final and b">" not in prolog[at:]:
                    return None
                _refuse_prolog(
                    "a DOCTYPE with an internal subset or an external DTD (or any other declaration) is not "
                    "accepted in an EPCIS document; only a bare <!DOCTYPE name> is"
                )
            at = bare.end()
        elif _ROOT_START.match(prolog, at):
            return at
        elif at >= len(prolog):
            return None if not final else _refuse_prolog("the body holds no XML element")
        else:
            _refuse_prolog("expected an XML document in UTF-8 that starts with an element, such as <epcis:EPCISDocument")


def _refuse_prolog(reason: str) -> NoReturn:
    raise InvalidInput(f"Failed to read the XML body: {reason}.", code="body.xml")


# -- the document ----------------------------------------------------------------------------------


@dataclass
class XmlDocument:
    """The parse of one XML body: root attributes, the header, and events ready to hand out."""

    version: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    header: Node | None = None
    header_complete: bool = False
    saw_event_list: bool = False
    ready: list[dict[str, Any]] = field(default_factory=list)
    fed_bytes: int = 0
    names: Names = field(default_factory=Names)
    _prolog: bytearray | None = field(default_factory=bytearray)  # ``None`` once the root started
    _quiet_bytes: int = 0  # fed since the parser last reported an element
    _open: list[ET.Element] = field(default_factory=list)
    _event_depth: int = 0  # depth of the event being read, 0 outside events
    _header_nodes: int = -1  # counts while the header is open
    _parser: ET.XMLPullParser[Any] = field(default_factory=lambda: ET.XMLPullParser(events=("start", "end", "start-ns")))

    def feed(self, data: bytes) -> None:
        """The next chunk of the body; ``b""`` ends the document."""
        self.fed_bytes += len(data)
        final = not data
        if self._prolog is not None:
            self._prolog += data
            if root_offset(bytes(self._prolog), final) is None:
                if len(self._prolog) > MAX_TOKEN_BYTES:
                    self._fail(f"the document's prolog is longer than {MAX_TOKEN_BYTES:,} bytes", "body.xml_limit")
                return
            data, self._prolog = bytes(self._prolog), None
        try:
            if data:
                self._parser.feed(data)
            if final:
                self._parser.close()
            reported = self._take_events()
        except ET.ParseError as error:
            raise InvalidInput(f"Failed to parse the body as XML: {error}.", code="body.xml") from None
        self._quiet_bytes = 0 if reported else self._quiet_bytes + len(data)
        # expat holds back one unfinished tag or comment, and the tree builder an element's text:
        # a stretch this long without an element ending or starting is refused, not buffered.
        if self._quiet_bytes > MAX_TOKEN_BYTES:
            self._fail(
                f"a single piece of markup or text (a tag, an attribute, a comment, an element's text) "
                f"is longer than {MAX_TOKEN_BYTES:,} bytes",
                "body.xml_limit",
            )
        if final:
            self._finish()

    def take(self) -> list[dict[str, Any]]:
        ready, self.ready = self.ready, []
        return ready

    def _fail(self, reason: str, code: str = "body.xml") -> NoReturn:
        raise InvalidInput(f"Failed to read the XML body (within its first {self.fed_bytes:,} bytes): {reason}.", code=code)

    def _finish(self) -> None:
        if not self.version:
            raise InvalidInput("The body holds no XML element: expected an epcis:EPCISDocument.", code="epcis.schema")
        if not self.saw_event_list:
            raise InvalidInput(
                "The EPCISDocument has no EPCISBody/EventList: expected the events there.", code="epcis.schema"
            )

    def _take_events(self) -> bool:
        """Handles what the parser reported; whether it reported anything."""
        reported = False
        opened = self._open
        for kind, item in cast(Iterator[tuple[str, Any]], self._parser.read_events()):
            reported = True
            if kind == "start":
                element: ET.Element = item
                opened.append(element)
                if len(opened) > MAX_DEPTH:
                    self._fail(f"elements are nested deeper than {MAX_DEPTH} levels", "body.xml_limit")
                if self._event_depth:
                    continue
                if self._header_nodes >= 0:
                    self._header_nodes += 1
                    if self._header_nodes > MAX_HEADER_NODES:
                        self._fail(f"the EPCISHeader holds more than {MAX_HEADER_NODES:,} elements", "body.xml_limit")
                    continue
                self._structure(element)
            elif kind == "end":
                element = opened.pop()
                text = element.text
                if text is not None and len(text) > MAX_TEXT_CHARS:
                    self._fail(
                        f"the text of {self.names(element.tag)} is longer than {MAX_TEXT_CHARS:,} characters",
                        "body.xml_limit",
                    )
                depth = len(opened) + 1
                if self._event_depth == depth:
                    self.ready.append(event_of(element, self.names))
                    opened[-1].remove(element)  # read: let it go
                    self._event_depth = 0
                elif depth == 2 and self._header_nodes >= 0:
                    self.header = Node.of(element, self.names)
                    self.header_complete = True
                    self._header_nodes = -1
                    opened[-1].remove(element)
            else:  # start-ns
                prefix, namespace = item
                self.names.declare(prefix, namespace)
        return reported

    def _structure(self, element: ET.Element) -> None:
        """An element outside events and the header: the root, EPCISHeader, EPCISBody, EventList."""
        opened = self._open
        depth = len(opened)
        name = self.names(element.tag)
        if depth == 1:
            self._root(element)
        elif depth == 2 and name == "EPCISHeader":
            self._header_nodes = 0
        elif depth == 3 and name == "EventList" and self.names(opened[1].tag) == "EPCISBody":
            self.saw_event_list = True
        elif depth >= 4 and self.names(opened[2].tag) == "EventList" and self.names(opened[1].tag) == "EPCISBody":
            if name == "extension":  # EPCIS 1.2 keeps newer event types in (nested) extensions
                return
            if name not in EVENT_TYPES:
                self._fail(f"expected an EPCIS event (ObjectEvent, AggregationEvent, ...) in EventList, got {name!r}")
            self._event_depth = depth

    def _root(self, element: ET.Element) -> None:
        tag = element.tag
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if local != "EPCISDocument" or namespace not in EPCIS_NAMESPACES:
            got = f"{local!r} in namespace {namespace!r}" if namespace else f"{local!r} in no namespace"
            self._fail(
                "expected the root element EPCISDocument in namespace urn:epcglobal:epcis:xsd:1 (EPCIS 1.2) "
                f"or urn:epcglobal:epcis:xsd:2 (EPCIS 2.0), got {got}"
            )
        attributes = element.attrib
        self.attributes = dict(attributes)
        schema_version = attributes.get("schemaVersion", "")
        if schema_version.split(".")[0] not in ("1", "2"):
            self._fail(f"expected a schemaVersion attribute such as 1.2 or 2.0, got {schema_version or 'none'!r}")
        if not attributes.get("creationDate"):
            self._fail("the EPCISDocument has no creationDate attribute")
        self.version = EPCIS_NAMESPACES[namespace]


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
