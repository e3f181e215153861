"""EPCIS 2.0 capture: ``POST /v1/events``.

The body is an EPCISDocument in JSON or JSON-LD (``application/json``,
``application/ld+json``), read incrementally (``epcis_stream``) so a document of any size
streams through; one EPCIS event per line (``application/x-ndjson``), which skips the document
header; or EPCIS 1.2 / 2.0 XML (``epcis_xml``). Each event is checked and reduced by
``epcis.Reader`` and streamed to recall-status in chunks, which checks it against stored state
and writes the whole document only if every event passed.

A refused document answers with the status of its first refused event (400 invalid, 403 not
the caller's, 409 contradicts stored state) and ``errors``: each with the event's ``index`` in
eventList, its ``eventID``, a ``code`` and a precise ``message``. Nothing is written.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import ijson
from aiohttp import web

from verinet.callers import HOLDER_ROLES
from verinet.errors import ErrorKind, InvalidInput, VerinetError
from verinet.gateway.api import json_response
from verinet.gateway.app_keys import BODY_LIMITS, CLIENTS
from verinet.gateway.epcis import MAX_LISTED_ERRORS, Reader
from verinet.gateway.epcis_master_data import apply_master_data, dscsa_notes, event_notes
from verinet.gateway.epcis_stream import (
    MAX_DOCUMENT_BYTES,
    CountingReader,
    json_events,
    ndjson_events,
)
from verinet.gateway.epcis_xml import XML_TYPES, XmlDocument, xml_events
from verinet.gateway.inputs import NDJSON_TYPES
from verinet.gateway.jsonscan import JsonScanner
from verinet.gateway.lms import caller_message
from verinet.gateway.problems import HTTP_STATUS_BY_KIND, problem, problem_from_error
from verinet.gateway.routing import RouteTable
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import error_from_rpc

routes = RouteTable()

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "application/ld+json")


_JSON_DOCUMENT = {"type": "object", "description": "EPCISDocument (EPCIS 2.0)"}
_XML_DOCUMENT = {"type": "string", "description": "EPCISDocument (EPCIS 1.2 or 2.0 XML)"}
#: What a body of each media type an EPCIS route reads holds, for the OpenAPI description.
DOCUMENT_SCHEMAS: dict[str, dict[str, str]] = {
    "application/ld+json": _JSON_DOCUMENT,
    "application/json": _JSON_DOCUMENT,
    "application/x-ndjson": {"type": "string", "description": "one EPCIS event per line"},
    "application/xml": _XML_DOCUMENT,
    "text/xml": _XML_DOCUMENT,
}


def document_body(*media_types: str) -> dict[str, Any]:
    """The OpenAPI request body of a route reading an EPCIS document in ``media_types``."""
    return {"content": {media_type: {"schema": DOCUMENT_SCHEMAS[media_type]} for media_type in media_types}}
CHUNK_EVENTS = 2_000
CHUNK_EPCS = 20_000
# A document of 100,000 events with a million unit-events takes about a minute.
CAPTURE_RPC_SECONDS = 1800.0


def refused_response(reader: Reader, answer: rs_pb.CaptureEventsResponse | None) -> web.Response:
    errors = list(reader.errors)
    refused = reader.refused
    if answer is not None:
        refused += answer.refused
        for r in answer.refusals:
            entry: dict[str, Any] = {"index": r.index, "code": r.code, "message": r.message, "kind": r.kind}
            if r.event_id:
                entry["eventID"] = r.event_id
            errors.append(entry)
    errors.sort(key=lambda e: e["index"])
    errors = errors[:MAX_LISTED_ERRORS]
    first = errors[0] if errors else {"kind": "invalid", "index": 0, "message": "The document was refused."}
    status = HTTP_STATUS_BY_KIND[ErrorKind(first["kind"])]
    detail = (
        f"Refused the whole document: {refused} event(s) failed and nothing was written. "
        f"First, event {first['index']}: {first['message']}"
    )
    return problem(status, "epcis.refused", detail, events=reader.events, refused=refused, errors=errors)


@routes.route(
    "POST",
    "/v1/events",
    roles=HOLDER_ROLES,
    tag="Custody",
    summary="Capture an EPCIS document (2.0 JSON / JSON-LD, 1.2 or 2.0 XML, streamed; or NDJSON of events): all or nothing",
    request_body=document_body("application/ld+json", "application/json", "application/x-ndjson", *XML_TYPES),
    responses={
        "200": "Applied: counts of events, duplicates ignored, unit-events, commissioned packs, state changes",
        "400": "Refused: a schema or rule error (errors[] with index, code, message)",
        "403": "Refused: an event at a location (or for a GTIN) that is not the caller's",
        "409": "Refused: an event contradicts stored state (e.g. receiving a unit never shipped)",
    },
)
async def capture_events(request: web.Request, partner: Partner) -> web.StreamResponse:
    if request.content_type in JSON_TYPES:
        ndjson = False
    elif request.content_type in NDJSON_TYPES:
        ndjson = True
    elif request.content_type in XML_TYPES:
        ndjson = False
    else:
        return problem(
            415,
            "body.media_type",
            "Expected application/ld+json, application/json, application/x-ndjson, application/xml or text/xml, "
            f"got {request.content_type!r}.",
        )
    xml = XmlDocument() if request.content_type in XML_TYPES else None
    reader = Reader(partner)
    # Events are built one at a time: the values of each (of each line in NDJSON) count on
    # their own; an event of a document sits at depth 4 (document, epcisBody, eventList).
    # XML has its own bounds (epcis_xml: no DTD or entities, depth, text and markup sizes).
    scanner = None if xml is not None else JsonScanner(request.app[BODY_LIMITS], ndjson=ndjson, unit_depth=1 if ndjson else 4, max_bytes=MAX_DOCUMENT_BYTES)
    body = CountingReader(request.content, scanner)
    caller = caller_message(partner)
    clients = request.app[CLIENTS]

    async def chunks() -> AsyncIterator[rs_pb.CaptureEventsRequest]:
        batch: list[rs_pb.CustodyEvent] = []
        epcs = 0
        try:
            if xml is not None:
                source = xml_events(body, xml, on_header=functools.partial(apply_master_data, clients, partner))
            else:
                source = ndjson_events(body) if ndjson else json_events(body, reader)
            async for index, raw in source:
                event = reader.read(index, raw)
                if event is None or reader.failed:
                    batch.clear()
                    continue
                if event.biz_step == "shipping":
                    event.notes.extend(event_notes(raw, dscsa_notes(xml)))
                batch.append(event)
                epcs += len(event.units) + len(event.containers) + 1
                if len(batch) >= CHUNK_EVENTS or epcs >= CHUNK_EPCS:
                    yield rs_pb.CaptureEventsRequest(caller=caller, events=batch)
                    batch, epcs = [], 0
            if not ndjson and xml is None:
                reader.check_header()
        except VerinetError as error:
            reader.document_error = error
        except ijson.JSONError as error:
            reader.document_error = InvalidInput(
                f"Failed to parse the body as JSON after {body.read_bytes} bytes: {error}.", code="body.json"
            )
        except Exception as error:  # answered, never a dropped connection
            # An error escaping this generator cancels the gRPC call and the request with it.
            log.exception("Failed to read an EPCIS body after %d bytes", body.read_bytes)
            reader.document_error = VerinetError(f"Internal error while reading the body ({type(error).__name__}); it has been logged.")
        if batch and not reader.failed:
            yield rs_pb.CaptureEventsRequest(caller=caller, events=batch)
        yield rs_pb.CaptureEventsRequest(caller=caller, commit=not reader.failed)

    try:
        answer = await clients.recall_status.CaptureEvents(chunks(), timeout=CAPTURE_RPC_SECONDS)
    except grpc.aio.AioRpcError as error:
        raise error_from_rpc(error) from None
    if reader.document_error is not None:
        return problem_from_error(reader.document_error)
    if reader.failed or not answer.applied:
        return refused_response(reader, answer)
    return json_response(
        {
            "applied": True,
            "events": answer.events,
            "duplicates": answer.duplicates,
            "unit_events": answer.unit_events,
            "commissioned": answer.commissioned,
            "state_changes": answer.state_changes,
        }
    )
