"""EPCIS reading: one event of a capture checked and reduced to a ``CustodyEvent``.

Each event is checked on its own (the subset of the EPCIS 2.0 JSON schema in
``verinet/epcis-capture.schema.json``, then verinet's rules: supported event types, business
steps and dispositions, EPC schemes, the caller's own locations, own GTINs for commissioning)
and reduced to a ``CustodyEvent``, which recall-status checks against stored state. No HTTP
here: the body is read by ``epcis_stream`` (JSON, NDJSON) or ``epcis_xml``, and the route is
``epcis_capture``.

Who may submit what: the caller's GLNs must include the event's readPoint and bizLocation; for
shipping, every source of type ``location`` or ``possessing_party``; for receiving, every such
destination (an ``owning_party`` may be someone else, e.g. the owner of goods a 3PL ships).
Commissioning is for manufacturers, on GTINs under their own company prefixes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.resources
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import orjson

from verinet.callers import Role, owning_prefix
from verinet.epc import Gln, Sgtin, case_container, is_case, parse_epc, parse_location
from verinet.errors import ErrorKind, InvalidInput, VerinetError
from verinet.identifiers import parse_expiry, validate_lot
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb

MAX_EVENTS = 2_000_000
MAX_LISTED_ERRORS = 100
REQUIRED_HEADER = frozenset({"@context", "type", "schemaVersion", "creationDate"})
TIME_MEMBERS = ("eventTime", "recordTime", "creationDate", "declarationTime")
# The common shapes of SGTIN EPCs, whose serials need no unescaping: read without the general
# parser once their company prefix and item reference (or GTIN) were read by it.
_PLAIN_SGTIN_URN = re.compile(r"urn:epc:id:sgtin:([0-9]{6,12}\.[0-9]{1,7})\.([0-9A-Za-z_.-]{1,20})\Z")
_PLAIN_SGTIN_LINK = re.compile(r"(https?://[^/?#]+/01/[0-9]{14}/21/)([0-9A-Za-z_.-]{1,20})\Z")
_CACHE_LIMIT = 10_000
_XSD_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?")

CUSTODY_STEPS = ("shipping", "receiving")
UNAPPLIED_EVENT_TYPES = ("TransactionEvent", "TransformationEvent", "AssociationEvent", "QuantityEvent")
STATE_STEPS = ("decommissioning", "destroying", "dispensing", "retail_selling", "sampling")
DECOMMISSION_DISPOSITIONS = ("dispensed", "retail_sold", "destroyed", "disposed", "stolen")
OWN_PARTY_TYPES = ("location", "possessing_party")

# CBV values may be bare words (EPCIS 2.0 JSON), URNs (EPCIS 1.x and XML) or Web URIs.
_VOCABULARY_PREFIXES = {
    "bizstep": ("urn:epcglobal:cbv:bizstep:", "https://ns.gs1.org/cbv/BizStep-", "https://ref.gs1.org/cbv/BizStep-"),
    "disp": ("urn:epcglobal:cbv:disp:", "https://ns.gs1.org/cbv/Disp-", "https://ref.gs1.org/cbv/Disp-"),
    "sdt": ("urn:epcglobal:cbv:sdt:", "https://ns.gs1.org/cbv/SDT-", "https://ref.gs1.org/cbv/SDT-"),
    "btt": ("urn:epcglobal:cbv:btt:", "https://ns.gs1.org/cbv/BTT-", "https://ref.gs1.org/cbv/BTT-"),
}
_LOT_KEYS = ("cbvmda:lotNumber", "urn:epcglobal:cbv:mda:lotNumber", "urn:epcglobal:cbv:mda#lotNumber", "https://ref.gs1.org/cbv/mda/lotNumber")
_EXPIRY_KEYS = (
    "cbvmda:itemExpirationDate",
    "urn:epcglobal:cbv:mda:itemExpirationDate",
    "urn:epcglobal:cbv:mda#itemExpirationDate",
    "https://ref.gs1.org/cbv/mda/itemExpirationDate",
)



@functools.cache
def validators() -> tuple[Any, Any]:
    """The document-header and event validators, compiled once from the packaged schema."""
    text = importlib.resources.files("verinet").joinpath("epcis-capture.schema.json").read_bytes()
    schema = orjson.loads(text)
    document = jsonschema_rs.validator_for({"$ref": "#/definitions/document", "definitions": schema["definitions"]})
    event = jsonschema_rs.validator_for({"$ref": "#/definitions/event", "definitions": schema["definitions"]})
    return document, event


class EventError(VerinetError):
    """One event's refusal, found while reading it: the reader collects them (with the event's
    index) instead of failing the document at the first one."""

    def __init__(self, code: str, message: str, kind: ErrorKind = ErrorKind.INVALID, field: str = "") -> None:
        super().__init__(message, code=code, field=field or None)
        self.kind = kind


def vocabulary(value: Any, kind: str) -> str:
    """A CBV value as its bare word; other URIs stay as given."""
    text = str(value or "")
    for prefix in _VOCABULARY_PREFIXES[kind]:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def schema_error(validator: Any, value: Any) -> tuple[str, str] | None:
    """(path, reason) of the first way ``value`` breaks the schema, or ``None``."""
    try:
        if validator.is_valid(value):
            return None
        error = next(iter(validator.iter_errors(value)))
    except ValueError:  # jsonschema_rs refuses values nested deeper than its recursion limit
        return "", "a value is nested too deeply"
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path).lstrip(".")
    last = error.instance_path[-1] if error.instance_path else ""
    if last in TIME_MEMBERS and "pattern" in error.schema_path:
        reason = f"expected a date and time with offset such as 2026-11-25T10:00:00.000+01:00, got {error.instance!r}"
    else:
        reason = error.message
        shown = orjson.dumps(error.instance).decode()
        if len(shown) > 80 and shown in reason:
            size = f" of {len(error.instance)} items" if isinstance(error.instance, list | dict) else ""
            reason = reason.replace(shown, f"the {type(error.instance).__name__}{size}")
        if len(reason) > 300:
            reason = reason[:300] + "..."
    return path, reason


def event_time(value: str, where: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise EventError("epcis.time", f"{where}: {value!r} is not a valid date and time.", field=where) from None
    return parsed.timestamp()


def expiry_from_date(value: Any) -> str:
    """cbvmda:itemExpirationDate (xsd:date: YYYY-MM-DD, optionally a time zone) as AI (17) YYMMDD."""
    text = str(value)
    date: dt.date | None = None
    if _XSD_DATE.fullmatch(text):
        try:
            date = dt.date.fromisoformat(text[:10])
        except ValueError:
            date = None
    if date is None:
        raise EventError(
            "epcis.ilmd",
            f"ilmd cbvmda:itemExpirationDate: expected a date such as 2027-12-31, got {value!r}.",
            field="ilmd",
        )
    return date.strftime("%y%m%d")


@dataclass
class Reader:
    """Reads a document's events one by one for a partner, collecting what is wrong."""

    partner: Partner
    errors: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    events: int = 0
    document_error: VerinetError | None = None
    header: dict[str, Any] = field(default_factory=dict)
    saw_event_list: bool = False
    # Locations, and the GTIN part of SGTINs, repeat from event to event: read each once.
    _locations: dict[str, Gln] = field(default_factory=dict)
    _gtins: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.refused or self.document_error)

    def refuse(self, index: int, raw: Any, error: EventError) -> None:
        self.refused += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            event_id = raw.get("eventID") if isinstance(raw, dict) else None
            entry: dict[str, Any] = {"index": index, "code": error.code, "message": error.message, "kind": error.kind.value}
            if isinstance(event_id, str):
                entry["eventID"] = event_id
            if error.field:
                entry["field"] = f"epcisBody.eventList[{index}].{error.field}"
            self.errors.append(entry)

    def read(self, index: int, raw: Any) -> rs_pb.CustodyEvent | None:
        self.events += 1
        if self.events > MAX_EVENTS:
            raise InvalidInput(f"A document may hold at most {MAX_EVENTS:,} events.", code="epcis.too_many_events")
        try:
            return self._event(index, raw)
        except EventError as error:
            self.refuse(index, raw, error)
            return None

    def check_header(self) -> None:
        """The document's members other than the events, once the whole document was read."""
        if not self.saw_event_list:
            self.header.setdefault("epcisBody", {})
        problem = schema_error(validators()[0], self.header)
        if problem is not None:
            path, reason = problem
            raise InvalidInput(
                f"The EPCISDocument does not match the EPCIS 2.0 schema at {path or 'the top level'}: {reason}.",
                code="epcis.schema",
                field=path or None,
            )

    # -- one event ------------------------------------------------------------------------------

    def _location(self, value: str, where: str) -> Gln:
        location = self._locations.get(value)
        if location is not None:
            return location
        try:
            location = parse_location(value)
        except VerinetError as error:
            raise EventError(error.code, f"{where}: {error.message}", field=where) from None
        if len(self._locations) >= _CACHE_LIMIT:
            self._locations.clear()
        self._locations[value] = location
        return location

    def _sgtin_key(self, value: str) -> str | None:
        """GTIN-14 + serial of a plain SGTIN whose GTIN part was read before, else ``None``."""
        plain = _PLAIN_SGTIN_URN.match(value) or _PLAIN_SGTIN_LINK.match(value)
        if plain is None:
            return None
        gtin = self._gtins.get(plain.group(1))
        return None if gtin is None else gtin + plain.group(2)

    def _remember_gtin(self, value: str, gtin: str) -> None:
        plain = _PLAIN_SGTIN_URN.match(value) or _PLAIN_SGTIN_LINK.match(value)
        if plain is not None:
            if len(self._gtins) >= _CACHE_LIMIT:
                self._gtins.clear()
            self._gtins[plain.group(1)] = gtin

    def _own_location(self, value: str, where: str) -> Gln:
        location = self._location(value, where)
        if location.gln not in self.partner.glns:
            raise EventError(
                "epcis.foreign_location",
                f"{where}: GLN {location.gln} is not one of your GLNs ({', '.join(self.partner.glns) or 'none'}); "
                "only the partner at a location may submit its events.",
                ErrorKind.FORBIDDEN,
                where,
            )
        return location

    def _epcs(self, values: list[str], where: str) -> tuple[list[str], list[str]]:
        units: list[str] = []
        containers: list[str] = []
        for n, value in enumerate(values):
            known = self._sgtin_key(value)
            if known is not None:
                units.append(known)
                continue
            try:
                epc = parse_epc(value)
            except VerinetError as error:
                raise EventError(error.code, f"{where}[{n}]: {error.message}", field=f"{where}[{n}]") from None
            if isinstance(epc, Sgtin):
                units.append(epc.gtin + epc.serial)
                self._remember_gtin(value, epc.gtin)
            else:
                containers.append(epc.sscc)
        return units, containers

    def _parties(self, raw: dict[str, Any], name: str, member: str, step: str) -> list[rs_pb.CustodyParty]:
        parties = []
        for n, entry in enumerate(raw.get(name, ())):
            where = f"{name}[{n}]"
            kind = vocabulary(entry["type"], "sdt")
            location = self._location(entry[member], f"{where}.{member}")
            own = (step == "shipping" and name == "sourceList") or (step == "receiving" and name == "destinationList")
            if own and kind in OWN_PARTY_TYPES and location.gln not in self.partner.glns:
                raise EventError(
                    "epcis.foreign_location",
                    f"{where}: the {kind} GLN {location.gln} is not one of your GLNs; for {step}, "
                    f"the {'source' if name == 'sourceList' else 'destination'} must be yours.",
                    ErrorKind.FORBIDDEN,
                    where,
                )
            parties.append(rs_pb.CustodyParty(type=kind, gln=location.gln))
        return parties

    def _event(self, index: int, raw: Any) -> rs_pb.CustodyEvent:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if isinstance(kind, str) and kind in UNAPPLIED_EVENT_TYPES:
            raise EventError(
                "epcis.event_type",
                f"A {kind} is not applied by verinet: expected an ObjectEvent or an AggregationEvent.",
                field="type",
            )
        problem = schema_error(validators()[1], raw)
        if problem is not None:
            path, reason = problem
            raise EventError(
                "epcis.schema", f"The event does not match the EPCIS 2.0 schema at {path or 'the event'}: {reason}.", field=path
            )
        if "ilmd" in raw and raw["action"] != "ADD":
            raise EventError("epcis.schema", f"ilmd is only allowed with action ADD, got {raw['action']}.", field="ilmd")
        if "errorDeclaration" in raw:
            raise EventError(
                "epcis.unsupported",
                "errorDeclaration is not supported: capture a corrective event instead.",
                field="errorDeclaration",
            )
        kind, action = raw["type"], raw["action"]
        step = vocabulary(raw.get("bizStep"), "bizstep")
        disposition = vocabulary(raw.get("disposition"), "disp")
        parent = ""
        if kind == "ObjectEvent":
            for name in ("parentID", "childEPCs"):
                if name in raw:
                    raise EventError("epcis.schema", f"An ObjectEvent has no {name}.", field=name)
            units, containers = self._epcs(raw.get("epcList", []), "epcList")
            if not units and not containers:
                raise EventError(
                    "epcis.no_epcs",
                    "epcList is empty: verinet applies instance-level events (quantityList alone is not enough).",
                    field="epcList",
                )
            self._check_step(kind, action, step, disposition)
        else:
            if "epcList" in raw:
                raise EventError("epcis.schema", "An AggregationEvent has childEPCs, not epcList.", field="epcList")
            units, containers = self._epcs(raw.get("childEPCs", []), "childEPCs")
            if "parentID" in raw:
                parent_units, parent_containers = self._epcs([raw["parentID"]], "parentID")
                if parent_units and is_case(parent_units[0]):
                    parent = case_container(parent_units[0])
                    if action == "OBSERVE":  # the case itself is observed, with its contents
                        units = [*units, parent_units[0]]
                elif not parent_containers:
                    raise EventError(
                        "epcis.parent",
                        f"parentID {raw['parentID']!r} is a unit (GTIN indicator digit 0): expected an SSCC, "
                        "or the SGTIN of a serialized case (GTIN indicator digit 1 to 8).",
                        field="parentID",
                    )
                else:
                    parent = parent_containers[0]
            if action == "ADD" and not (units or containers):
                raise EventError("epcis.no_epcs", "Packing (action ADD) needs childEPCs.", field="childEPCs")
            if action == "OBSERVE":
                if not parent and not (units or containers):
                    raise EventError("epcis.no_epcs", "The event names no parentID and no childEPCs.", field="childEPCs")
                self._check_step(kind, action, step, disposition)
            else:
                step = "packing" if action == "ADD" else "unpacking"

        if step != "commissioning":  # a serialized case is a unit and a container: its contents go with it
            cases = [case_container(u) for u in units if is_case(u)]
            if cases:
                containers = [*containers, *cases]
        read_point = self._own_location(raw["readPoint"]["id"], "readPoint.id") if "readPoint" in raw else None
        biz_location = self._own_location(raw["bizLocation"]["id"], "bizLocation.id") if "bizLocation" in raw else None
        where = biz_location or read_point
        if where is None:
            raise EventError("epcis.location", "The event names no location: give a bizLocation or a readPoint (one of your GLNs).", field="bizLocation")
        sources = self._parties(raw, "sourceList", "source", step)
        destinations = self._parties(raw, "destinationList", "destination", step)
        transactions = [
            f"{vocabulary(t.get('type', ''), 'btt')} {t['bizTransaction']}".strip() for t in raw.get("bizTransactionList", ())
        ]
        lot = expiry = ""
        # Commissioning SSCCs alone (pallets and cases built for shipping) carries no lot or
        # expiry: nothing to store but the event, which anyone may record at its own location.
        if step == "commissioning" and units:
            lot, expiry = self._commissioning(raw, units)
        when = event_time(raw["eventTime"], "eventTime")
        normalized = orjson.dumps(
            [
                kind, action, step, disposition, round(when * 1000), sorted(units), sorted(containers), parent,
                read_point.gln if read_point else "", read_point.extension if read_point else "",
                where.gln, where.extension, sorted((p.type, p.gln) for p in sources),
                sorted((p.type, p.gln) for p in destinations), sorted(transactions), lot, expiry,
            ]
        )  # fmt: skip
        event_id = raw.get("eventID", "")
        return rs_pb.CustodyEvent(
            index=index,
            event_id=event_id,
            event_hash=hashlib.sha256(normalized).digest(),
            type=kind,
            action=action,
            biz_step=step,
            disposition=disposition,
            event_time=when,
            location_gln=where.gln,
            units=units,
            containers=containers,
            parent=parent,
            sources=sources,
            destinations=destinations,
            biz_transactions=transactions,
            lot=lot,
            expiry=expiry,
        )

    def _check_step(self, kind: str, action: str, step: str, disposition: str) -> None:
        supported = ("commissioning", *CUSTODY_STEPS, *STATE_STEPS) if kind == "ObjectEvent" else (*CUSTODY_STEPS, *STATE_STEPS)
        if step not in supported:
            got = f"{step!r}" if step else "none"
            raise EventError(
                "epcis.biz_step",
                f"bizStep {got} is not applied by verinet for an {kind} with action {action}: "
                f"expected one of {', '.join(supported)}"
                + ("; packing and unpacking are AggregationEvents (ADD, DELETE)." if kind == "ObjectEvent" else "."),
                field="bizStep",
            )
        if step == "commissioning" and action != "ADD":
            raise EventError("epcis.action", f"Commissioning has action ADD, got {action}.", field="action")
        if step != "commissioning" and action == "ADD":
            raise EventError("epcis.action", f"Action ADD is for commissioning, got bizStep {step!r}.", field="action")
        if step == "decommissioning" and disposition not in DECOMMISSION_DISPOSITIONS:
            raise EventError(
                "epcis.disposition",
                f"Decommissioning needs a disposition naming the pack's new state: dispensed or retail_sold "
                f"(supplied), destroyed or disposed (destroyed), stolen (stolen); got {disposition or 'none'!r}.",
                field="disposition",
            )

    def _commissioning(self, raw: dict[str, Any], units: list[str]) -> tuple[str, str]:
        if not self.partner.has_role(Role.MANUFACTURER):
            raise EventError("auth.role", "Only manufacturers commission packs.", ErrorKind.FORBIDDEN)
        for gtin in sorted({u[:14] for u in units}):
            if owning_prefix(self.partner.company_prefixes, gtin) is None:
                raise EventError(
                    "product.foreign_prefix",
                    f"GTIN {gtin} is not under your GS1 company prefixes {list(self.partner.company_prefixes)!r}.",
                    ErrorKind.FORBIDDEN,
                    "epcList",
                )
        return self._lot_and_expiry(raw)

    def _lot_and_expiry(self, raw: dict[str, Any]) -> tuple[str, str]:
        """The commissioned lot and expiry (YYMMDD) in the event's ILMD."""
        ilmd = raw.get("ilmd", {})
        lot = next((ilmd[k] for k in _LOT_KEYS if k in ilmd), None)
        expiry = next((ilmd[k] for k in _EXPIRY_KEYS if k in ilmd), None)
        if lot is None or expiry is None:
            raise EventError(
                "epcis.ilmd",
                "Commissioning needs the lot and expiry in ilmd: cbvmda:lotNumber and cbvmda:itemExpirationDate.",
                field="ilmd",
            )
        try:
            lot = validate_lot(str(lot))
        except VerinetError as error:
            raise EventError(error.code, f"ilmd cbvmda:lotNumber: {error.message}", field="ilmd") from None
        expiry = expiry_from_date(expiry)
        parse_expiry(expiry)
        return lot, expiry
