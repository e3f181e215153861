"""The EPCIS 2.0 REST query interface: ``GET /epcis/events``.

A SimpleEventQuery through query parameters (``MATCH_epc``, ``MATCH_anyEPC``, ``MATCH_parentID``,
``EQ_bizStep``, ``EQ_disposition``, ``EQ_bizLocation``, ``EQ_readPoint``, ``GE_eventTime``,
``LT_eventTime``, ``EQ_eventID``; a parameter may repeat or hold values separated by commas, and
matches any of them), answered with an EPCISQueryDocument in JSON-LD, or in EPCIS 2.0 XML when
``Accept`` asks for XML. ``perPage`` (default 30, at most 1000) pages the answer; the next page
is linked in a ``Link: <...>; rel="next"`` header with its ``nextPageToken``. Every answer
carries ``GS1-EPCIS-Version`` and ``GS1-CBV-Version``; a request for another major version of
EPCIS is 406.

Visibility (decided in recall-status, see ``verinet.recall_status.event_store``): a partner sees
the events it captured and those about units it held, from the time it held them; a
manufacturer sees its products' events; nobody else sees any.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

import orjson
from aiohttp import web

from verinet.callers import HOLDER_ROLES, Role
from verinet.epc import Sgtin, case_container, is_case, parse_epc, parse_location
from verinet.errors import InvalidInput, VerinetError
from verinet.gateway.app_keys import CLIENTS
from verinet.gateway.epcis import vocabulary
from verinet.gateway.lms import caller_message
from verinet.gateway.problems import problem
from verinet.gateway.routing import RouteTable
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.timestamps import utc_z_ms

routes = RouteTable()

#: Holders query their own events; admins any.
QUERY_ROLES = (*HOLDER_ROLES, Role.ADMIN)
EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
SUPPORTED = frozenset(
    {"MATCH_epc", "MATCH_anyEPC", "MATCH_parentID", "EQ_bizStep", "EQ_disposition", "EQ_bizLocation",
     "EQ_readPoint", "GE_eventTime", "LT_eventTime", "EQ_eventID", "perPage", "nextPageToken"}
)  # fmt: skip

GS1_HEADERS = {"GS1-EPCIS-Version": EPCIS_VERSION, "GS1-CBV-Version": CBV_VERSION}


def values(request: web.Request, name: str) -> list[str]:
    return [v.strip() for raw in request.query.getall(name, []) for v in raw.split(",") if v.strip()]


def epc_keys(request: web.Request, name: str, *, parents: bool = False) -> list[str]:
    keys = []
    for value in values(request, name):
        try:
            epc = parse_epc(value)
        except VerinetError as error:
            raise InvalidInput(f"{name}: {error.message}", code=error.code, field=name) from None
        if isinstance(epc, Sgtin):
            key = epc.gtin + epc.serial
            keys.append(case_container(key) if parents and is_case(key) else key)
        else:
            keys.append(epc.sscc)
    return keys


def glns(request: web.Request, name: str) -> list[str]:
    found = []
    for value in values(request, name):
        try:
            found.append(parse_location(value).gln)
        except VerinetError as error:
            raise InvalidInput(f"{name}: {error.message}", code=error.code, field=name) from None
    return found


def moment(request: web.Request, name: str) -> float | None:
    given = values(request, name)
    if not given:
        return None
    try:
        parsed = dt.datetime.fromisoformat(given[-1])
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            f"{name}: expected a date and time with offset such as 2026-11-25T10:00:00.000+01:00, got {given[-1]!r}.",
            code="epcis.query_time",
            field=name,
        )
    return parsed.timestamp()


def per_page(request: web.Request) -> int:
    given = request.query.get("perPage", "30")
    if not given.isdigit() or not 1 <= int(given) <= 1000:
        raise InvalidInput(f"perPage: expected a whole number from 1 to 1000, got {given!r}.", code="epcis.per_page", field="perPage")
    return int(given)


def query_request(request: web.Request, partner: Partner) -> rs_pb.QueryEventsRequest:
    unknown = sorted(set(request.query) - SUPPORTED)
    if unknown:
        raise InvalidInput(
            f"Query parameter {unknown[0]!r} is not supported: expected any of {', '.join(sorted(SUPPORTED))}.",
            code="epcis.query_parameter",
            field=unknown[0],
        )
    asked = rs_pb.QueryEventsRequest(
        caller=caller_message(partner),
        match_epc=epc_keys(request, "MATCH_epc"),
        match_any_epc=epc_keys(request, "MATCH_anyEPC") + epc_keys(request, "MATCH_anyEPC", parents=True),
        match_parent_id=epc_keys(request, "MATCH_parentID", parents=True),
        eq_biz_step=[vocabulary(v, "bizstep") for v in values(request, "EQ_bizStep")],
        eq_disposition=[vocabulary(v, "disp") for v in values(request, "EQ_disposition")],
        eq_biz_location=glns(request, "EQ_bizLocation"),
        eq_read_point=glns(request, "EQ_readPoint"),
        eq_event_id=values(request, "EQ_eventID"),
        per_page=per_page(request),
        page_token=request.query.get("nextPageToken", ""),
    )
    for name, field in (("GE_eventTime", "ge_event_time"), ("LT_eventTime", "lt_event_time")):
        at = moment(request, name)
        if at is not None:
            setattr(asked, field, at)
    return asked


#: The OpenAPI description of the query parameters both query routes take.
QUERY_PARAMS = tuple(
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in sorted(SUPPORTED)
)


def wants_xml(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "xml" in accept and "json" not in accept.split("xml")[0]


@routes.route(
    "GET",
    "/epcis/events",
    roles=QUERY_ROLES,
    tag="EPCIS query",
    summary="EPCIS 2.0 query: the events you may see (captured by you, about units you held, or of your products), filtered and paged",
    params=QUERY_PARAMS,
    responses={
        "200": "EPCISQueryDocument (JSON-LD, or EPCIS 2.0 XML on Accept: application/xml); Link rel=next when more pages follow",
        "400": "A parameter is malformed or not supported",
        "406": "A GS1-EPCIS-Version other than 2.x was asked for",
    },
)
async def query_events(request: web.Request, partner: Partner) -> web.StreamResponse:
    return await answer(request, partner, lambda: query_request(request, partner))


@routes.route(
    "GET",
    "/epcis/epcs/{epc}/events",
    roles=QUERY_ROLES,
    tag="EPCIS query",
    summary="EPCIS 2.0 query: the events you may see that name an EPC (an EPC URN; the query parameters of /epcis/events narrow it)",
    params=QUERY_PARAMS,
    responses={"200": "EPCISQueryDocument, as GET /epcis/events with MATCH_anyEPC", "400": "Not an EPC, or a bad parameter"},
)
async def events_of_epc(request: web.Request, partner: Partner) -> web.StreamResponse:
    def asked() -> rs_pb.QueryEventsRequest:
        found = query_request(request, partner)
        value = request.match_info["epc"]
        try:
            epc = parse_epc(value)
        except VerinetError as error:
            raise InvalidInput(f"epc: {error.message}", code=error.code, field="epc") from None
        if isinstance(epc, Sgtin):
            key = epc.gtin + epc.serial
            found.match_any_epc.extend([key, case_container(key)] if is_case(key) else [key])
        else:
            found.match_any_epc.append(epc.sscc)
        return found

    return await answer(request, partner, asked)


@routes.route("GET", "/epcis/eventTypes", roles=QUERY_ROLES, tag="EPCIS query", summary="EPCIS 2.0 query: the event types this server keeps")
async def event_types(request: web.Request, partner: Partner) -> web.Response:
    body = {"@context": CONTEXT, "type": "Collection", "member": ["ObjectEvent", "AggregationEvent"]}
    return web.Response(body=orjson.dumps(body), content_type="application/ld+json", headers=GS1_HEADERS)


async def answer(request: web.Request, partner: Partner, asked: Callable[[], rs_pb.QueryEventsRequest]) -> web.StreamResponse:
    version = request.headers.get("GS1-EPCIS-Version", "")
    if version and not version.startswith("2."):
        refused = problem(406, "epcis.version", f"This server speaks EPCIS {EPCIS_VERSION}, got GS1-EPCIS-Version {version!r}.")
        refused.headers.update(GS1_HEADERS)
        return refused
    clients = request.app[CLIENTS]
    found = await clients.ask(clients.recall_status.QueryEvents, asked())
    events = [orjson.loads(e) for e in found.events]
    created = utc_z_ms(dt.datetime.now(dt.UTC))
    headers = dict(GS1_HEADERS)
    if found.next_page_token:
        kept = [(k, v) for k, v in request.query.items() if k != "nextPageToken"]
        headers["Link"] = f'<{request.path}?{urlencode([*kept, ("nextPageToken", found.next_page_token)])}>; rel="next"'
    if wants_xml(request):
        return web.Response(body=query_document_xml(events, created), content_type="application/xml", headers=headers)
    document = {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}},
    }
    return web.Response(body=orjson.dumps(document), content_type="application/ld+json", headers=headers)


# -- EPCIS 2.0 XML --------------------------------------------------------------------------------

_CBV_URNS = {"bizStep": "urn:epcglobal:cbv:bizstep:", "disposition": "urn:epcglobal:cbv:disp:"}


def _as_is(value: str) -> str:
    return value


def event_xml(
    event: dict[str, Any],
    *,
    version: str = "2.0",
    epc: Callable[[str], str] = _as_is,
    location: Callable[[str], str] = _as_is,
) -> str:
    """One EPCIS 2.0 JSON event (as the query answers it) in EPCIS XML, members in schema order.

    ``version`` "1.2" writes the eventID in ``baseExtension`` and sources, destinations and ILMD
    in the event's ``extension``, as EPCIS 1.2 has them; ``epc`` and ``location`` respell
    identifiers (the 1.2 export writes EPC URNs where it knows the company prefix)."""
    legacy = version == "1.2"
    kind = event["type"]
    event_id = escape(event["eventID"])
    parts = [f"<{kind}><eventTime>{escape(event['eventTime'])}</eventTime>",
             f"<eventTimeZoneOffset>{escape(event['eventTimeZoneOffset'])}</eventTimeZoneOffset>",
             f"<baseExtension><eventID>{event_id}</eventID></baseExtension>" if legacy else f"<eventID>{event_id}</eventID>"]  # fmt: skip
    if "parentID" in event:
        parts.append(f"<parentID>{escape(epc(event['parentID']))}</parentID>")
    for name in ("epcList", "childEPCs"):
        if name in event:
            parts.append(f"<{name}>" + "".join(f"<epc>{escape(epc(e))}</epc>" for e in event[name]) + f"</{name}>")
    parts.append(f"<action>{escape(event['action'])}</action>")
    for name, prefix in _CBV_URNS.items():
        if event.get(name):
            parts.append(f"<{name}>{escape(prefix + event[name])}</{name}>")
    for name in ("readPoint", "bizLocation"):
        place = event.get(name) or (event.get("bizLocation") if legacy else None)  # 1.2: read where it is
        if place:
            parts.append(f"<{name}><id>{escape(location(place['id']))}</id></{name}>")
    if "bizTransactionList" in event:
        parts.append("<bizTransactionList>" + "".join(
            f"<bizTransaction{' type=' + quoteattr('urn:epcglobal:cbv:btt:' + t['type']) if t.get('type') else ''}>"
            f"{escape(t['bizTransaction'])}</bizTransaction>" for t in event["bizTransactionList"]) + "</bizTransactionList>")  # fmt: skip
    extension = []
    for name, member in (("sourceList", "source"), ("destinationList", "destination")):
        if name in event:
            extension.append(f"<{name}>" + "".join(
                f"<{member} type={quoteattr('urn:epcglobal:cbv:sdt:' + p['type'])}>{escape(location(p[member]))}</{member}>"
                for p in event[name]) + f"</{name}>")  # fmt: skip
    if "ilmd" in event:
        extension.append("<ilmd>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in event["ilmd"].items()) + "</ilmd>")
    if legacy and extension:
        parts.append("<extension>" + "".join(extension) + "</extension>")
    else:
        parts.extend(extension)
    parts.append(f"</{kind}>")
    return "".join(parts)


def query_document_xml(events: list[dict[str, Any]], created: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<epcisq:EPCISQueryDocument xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2" xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        f'xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="2.0" creationDate="{created}">'
        "<EPCISBody><epcisq:QueryResults><queryName>SimpleEventQuery</queryName><resultsBody><EventList>"
        + "".join(event_xml(e) for e in events)
        + "</EventList></resultsBody></epcisq:QueryResults></EPCISBody></epcisq:EPCISQueryDocument>\n"
    ).encode()
