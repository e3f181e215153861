"""Recalls, recall tasks, pack history and the audit chains.

Past 500 lines, still one idea: the REST face of recall-status, each route translating one
request into its RPC and the answer into JSON, CSV or HTML (the documents themselves are drawn
in ``recall_documents``). It would be cut at the streamed unit report (``report_*``, ``write_*``)
and at the REST shapes of a recall and its status report (``recall_json``, ``status_report_json``),
which recall-status answers as typed messages.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any, cast

import grpc
import orjson
from aiohttp import web

from verinet.callers import HOLDER_ROLES, Role
from verinet.common.v1 import common_pb2 as common_pb
from verinet.csv_cells import safe_writer
from verinet.errors import BadUpstream, InvalidInput, UpstreamTimeout
from verinet.free_text import TEXT_LIMITS, validate_text
from verinet.gateway.api import at_field, json_response, require_own_gtin, string_list
from verinet.gateway.app_keys import CLIENTS
from verinet.gateway.inputs import (
    json_object,
    limit_query,
    lot_list,
    optional_json_object,
    pack_from_json,
    stored_text,
    text_of,
)
from verinet.gateway.lms import caller_message, query_param
from verinet.gateway.recall_documents import csv_report, html_letter, html_report
from verinet.gateway.routing import RouteTable
from verinet.identifiers import validate_gtin, validate_serial
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import error_from_rpc

routes = RouteTable()

log = logging.getLogger(__name__)

#: Holders, and admins who see everything.
VIEWER_ROLES = (Role.ADMIN, *HOLDER_ROLES)
MAX_RECALL_UNITS = 1_000_000
#: Free-text members of a recall strategy and their limits in ``verinet.free_text.TEXT_LIMITS``.
STRATEGY_TEXT = {"public_warning_by": "recall public warning by", "external_reference": "recall external reference", "contact": "recall contact"}
#: Units one acknowledgement may name (documented in README, "Exact input, exact output").
MAX_ACKNOWLEDGED_UNITS = 10_000
REPORT_COLUMNS = ("gtin", "serial", "lot", "state", "last_location", "last_partner", "last_seen", "notified_at", "acknowledged_at", "action")
# Long recalls scan many packs; their RPCs get more time than a verification.
RECALL_RPC_SECONDS = 120.0
# A report streams for as long as its size needs: the recall's time plus this per unit (as bulk
# pack calls scale theirs), up to the cap the report RPC is called with.
REPORT_SECONDS_PER_UNIT = 0.0005
REPORT_MAX_SECONDS = RECALL_RPC_SECONDS + REPORT_SECONDS_PER_UNIT * 10 * MAX_RECALL_UNITS


def units_from(body: dict[str, Any], name: str = "units") -> list[common_pb.PackIdentifier]:
    items = body.get(name, [])
    if not isinstance(items, list):
        raise InvalidInput(f'Failed to read "{name}": expected a list of units.', code="body.field_type", field=name)
    if len(items) > MAX_RECALL_UNITS:
        raise InvalidInput(f'Failed to read "{name}": expected at most {MAX_RECALL_UNITS} units.', code="recall.too_many", field=name)
    units = []
    for index, item in enumerate(items):
        pack = pack_from_json(item, index, need_lot_and_expiry=False)
        units.append(common_pb.PackIdentifier(gtin=pack.gtin, serial=pack.serial))
    return units


def scope_from(body: dict[str, Any], partner: Partner) -> rs_pb.CreateRecallRequest:
    gtins = [at_field(validate_gtin, g, f"gtins[{i}]") for i, g in enumerate(string_list(body, "gtins"))]
    units = units_from(body)
    for gtin in {*gtins, *(u.gtin for u in units)}:
        require_own_gtin(partner, gtin)
    window = body.get("window") or {}
    if not isinstance(window, dict):
        raise InvalidInput('Failed to read "window": expected {"start": ..., "end": ...}.', field="window")
    line = text_of(body, "line")
    return rs_pb.CreateRecallRequest(
        caller=caller_message(partner),
        gtins=gtins,
        lots=lot_list(body, "lots"),
        packs=units,
        line=line,
        window_start=text_of(window, "start"),
        window_end=text_of(window, "end"),
        recall_class=text_of(body, "class"),
        reason=stored_text(body, "reason", "recall reason"),
        depth=text_of(body, "depth", "retail"),
        mock=body.get("mock", False) is True,
        strategy_json=strategy_members(body),
    )


def strategy_members(body: dict[str, Any]) -> bytes:
    """The "strategy" member of a body as JSON (empty when absent): an object whose free text
    is stored text (``verinet.free_text``); recall-status checks the rest of it."""
    value = body.get("strategy")
    if value is None:
        return b""
    if not isinstance(value, dict):
        raise InvalidInput(
            f'Failed to read "strategy": expected an object, got {type(value).__name__}.', code="body.field_type", field="strategy"
        )
    for name, limit in STRATEGY_TEXT.items():
        if isinstance(value.get(name), str):
            validate_text(value[name], f"strategy.{name}", max_length=TEXT_LIMITS[limit], required=False)
    return orjson.dumps(value)


@routes.route("POST", "/v1/recalls", roles=(Role.MANUFACTURER,), tag="Recalls", summary="Publish a recall (or a drill with mock: true) by lots, units, or line and time window")
async def create_recall(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.CreateRecall, scope_from(body, partner), timeout=RECALL_RPC_SECONDS)
    return json_response(created_recall_json(answer), status=201)


def created_recall_json(created: rs_pb.CreateRecallResponse) -> dict[str, Any]:
    """A new recall and where its units are, as REST shows it."""
    return {"id": created.recall_id, "mock": created.mock, "status": created.status, **scope_json(created)}


def scope_json(scoped: rs_pb.CreateRecallResponse | rs_pb.PreviewRecallResponse) -> dict[str, Any]:
    """The scope of a recall (made or previewed): its units, where they are, the unknown ones."""
    return {
        "units": scoped.units,
        "units_by_location": [units_at_location_json(at) for at in scoped.units_by_location],
        "units_not_yet_shipped": scoped.units_not_yet_shipped,
        "unknown_units": list(scoped.unknown_units),
    }


@routes.route("POST", "/v1/recalls/preview", roles=(Role.MANUFACTURER,), tag="Recalls", summary="The scope a recall would have (units, by location, not yet shipped); writes nothing")
async def preview_recall(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    message = scope_from({"class": "I", "reason": "preview", **body}, partner)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.PreviewRecall, message, timeout=RECALL_RPC_SECONDS)
    return json_response(recall_preview_json(answer))


def recall_preview_json(preview: rs_pb.PreviewRecallResponse) -> dict[str, Any]:
    """What a recall would scope, as REST shows it."""
    return {"preview": True, **scope_json(preview)}


#: A location's members as REST shows them, in order; only the known ones appear.
LOCATION_MEMBERS = ("name", "street", "city", "state", "postal_code", "country_code", "address")


def units_at_location_json(at: rs_pb.UnitsAtLocation) -> dict[str, Any]:
    """A recall's units at one holder's location, with the location's name and address when known."""
    out: dict[str, Any] = {"gln": at.gln, "partner": at.partner, "units": at.units}
    if at.HasField("location"):
        out["location"] = location_json(at.location)
    return out


def location_json(location: rs_pb.LocationDetails) -> dict[str, str]:
    """A location's name and address: its known members only."""
    return {name: value for name in LOCATION_MEMBERS if (value := getattr(location, name))}


@routes.route("GET", "/v1/recalls", roles=(Role.MANUFACTURER, Role.ADMIN), tag="Recalls", summary="Recalls, newest first: a manufacturer's own, all for admin (?status=open|closed&limit=)")
async def list_recalls(request: web.Request, partner: Partner) -> web.Response:
    limit = limit_query(request, most=1000)
    message = rs_pb.ListRecallsRequest(caller=caller_message(partner), status=request.query.get("status", ""), limit=limit)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.ListRecalls, message, timeout=RECALL_RPC_SECONDS)
    return json_response({"recalls": [recall_summary_json(r) for r in answer.recalls]})


def recall_summary_json(recall: rs_pb.RecallSummary) -> dict[str, Any]:
    """A recall in a listing, as REST shows it."""
    return {"id": recall.id, **recall_facts_json(recall), "units": recall.units}


def recall_facts_json(recall: rs_pb.RecallSummary | rs_pb.Recall | rs_pb.RecallHeader) -> dict[str, Any]:
    """What every REST view of a recall says of it after its id (and owner), in this order."""
    return {
        "class": recall.recall_class,
        "reason": recall.reason,
        "depth": recall.depth,
        "mock": recall.mock,
        "status": recall.status,
        "published_at": recall.published_at,
    }


@routes.route("GET", "/v1/recalls/{id}", roles=VIEWER_ROLES, tag="Recalls", summary="A recall with its scope and effectiveness (partners see their own units)")
async def get_recall(request: web.Request, partner: Partner) -> web.Response:
    message = rs_pb.GetRecallRequest(caller=caller_message(partner), recall_id=request.match_info["id"])
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.GetRecall, message, timeout=RECALL_RPC_SECONDS)
    return json_response(recall_json(answer.recall))


def recall_json(recall: rs_pb.Recall) -> dict[str, Any]:
    """A recall with its scope and effectiveness, as REST shows it: a holder's view has no
    owner and no strategy external reference; closed_at and close_reason once closed; a
    drill's timings for a drill."""
    out: dict[str, Any] = {"id": recall.id}
    if recall.HasField("owner"):
        out["owner"] = recall.owner
    out.update(
        {
            **recall_facts_json(recall),
            "scopes": [recall_scope_json(scope) for scope in recall.scopes],
            "strategy": strategy_json(recall.strategy),
            "units": recall.units,
            "units_by_location": [units_at_location_json(at) for at in recall.units_by_location],
            "units_not_yet_shipped": recall.units_not_yet_shipped,
            "located": recall.located,
            "notified": recall.notified,
            "acknowledged": recall.acknowledged,
            "effectiveness": [{"hours": p.hours, "notified": p.notified, "acknowledged": p.acknowledged} for p in recall.effectiveness],
            "holders": [{"partner": h.partner, "units": h.units, "notified_at": h.notified_at, "acknowledged": h.acknowledged} for h in recall.holders],
        }
    )
    if recall.HasField("closed_at"):
        out.update(closed_at=recall.closed_at, close_reason=recall.close_reason)
    if recall.HasField("drill"):
        out["drill"] = {name: getattr(recall.drill, name) if recall.drill.HasField(name) else None for name in DRILL_TIMINGS}
    return out


#: A drill's timings, in REST order; each null until it happened.
DRILL_TIMINGS = ("seconds_to_scope", "seconds_to_first_notification", "seconds_to_first_acknowledgement", "seconds_to_90_percent_acknowledged")


#: The filters a recall's scope may name besides its GTINs, in the order REST shows them.
SCOPE_FILTERS = ("lots", "units_listed", "line", "window_start", "window_end")


def recall_scope_json(scope: rs_pb.RecallScopeEntry) -> dict[str, Any]:
    """One publication's or extension's scope: its GTINs, then only the filters it named."""
    out: dict[str, Any] = {"gtins": list(scope.gtins)}
    for name in SCOPE_FILTERS:
        if value := getattr(scope, name):
            out[name] = list(value) if name == "lots" else value  # lots: a repeated field
    return out


#: A strategy's members as REST shows them first, named as in the proto.
STRATEGY_MEMBERS = ("depth", "public_warning", "public_warning_by", "check_level", "check_share")


def strategy_json(strategy: rs_pb.RecallStrategy) -> dict[str, Any]:
    """A recall's strategy; its external reference only where the manufacturer reads it."""
    out: dict[str, Any] = {name: getattr(strategy, name) for name in STRATEGY_MEMBERS}
    if strategy.HasField("external_reference"):
        out["external_reference"] = strategy.external_reference
    out.update(contact=strategy.contact, reminder_days=list(strategy.reminder_days))
    return out


@routes.route("POST", "/v1/recalls/{id}/extend", roles=(Role.MANUFACTURER,), tag="Recalls", summary="Add lots, units, or a line and window to a recall")
async def extend_recall(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    message = rs_pb.ExtendRecallRequest(caller=caller_message(partner), recall_id=request.match_info["id"], scope=scope_from({"class": "I", "reason": "extend", **body}, partner))
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.ExtendRecall, message, timeout=RECALL_RPC_SECONDS)
    return json_response(extended_recall_json(answer))


def extended_recall_json(extended: rs_pb.ExtendRecallResponse) -> dict[str, Any]:
    """A recall after an extension, then the units it added and the unknown ones named."""
    return {**recall_json(extended.recall), "added_units": extended.added_units, "unknown_units": list(extended.unknown_units)}


@routes.route("PATCH", "/v1/recalls/{id}/strategy", roles=(Role.MANUFACTURER, Role.ADMIN), tag="Recalls", summary="Change a recall's strategy (depth, public warning, effectiveness-check level A to E and share, external reference, contact); audited")
async def update_recall_strategy(request: web.Request, partner: Partner) -> web.Response:
    changes = strategy_members({"strategy": await json_object(request)})
    message = rs_pb.UpdateRecallStrategyRequest(caller=caller_message(partner), recall_id=request.match_info["id"], changes_json=changes)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.UpdateRecallStrategy, message, timeout=RECALL_RPC_SECONDS)
    return json_response(recall_json(answer.recall))


@routes.route("POST", "/v1/recalls/{id}/close", roles=(Role.MANUFACTURER,), tag="Recalls", summary="Close a recall; its units stay recalled")
async def close_recall(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    reason = stored_text(body, "reason", "recall close reason")
    message = rs_pb.CloseRecallRequest(caller=caller_message(partner), recall_id=request.match_info["id"], reason=reason)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.CloseRecall, message, timeout=RECALL_RPC_SECONDS)
    return json_response(recall_json(answer.recall))


@routes.route(
    "GET",
    "/v1/recalls/{id}/report",
    roles=VIEWER_ROLES,
    tag="Recalls",
    summary="One row per unit, streamed: JSON {recall, rows}, or CSV with ?format=csv or Accept: text/csv",
    params=(query_param("format", "json (the default) or csv; without it, Accept: text/csv asks for CSV", False, "^(json|csv)$"),),
)
async def recall_report(request: web.Request, partner: Partner) -> web.StreamResponse:
    output = report_format(request)
    clients = request.app[CLIENTS]
    stream = clients.recall_status.StreamRecallReport(
        rs_pb.GetRecallRequest(caller=caller_message(partner), recall_id=request.match_info["id"]),
        timeout=REPORT_MAX_SECONDS,
    )
    response: web.StreamResponse | None = None
    try:
        async with asyncio.timeout(RECALL_RPC_SECONDS) as budget:
            header = await read_report_message(stream)
            if header is None:
                raise BadUpstream("The recall report ended before its recall.")
            if not header.HasField("recall"):
                raise BadUpstream("The recall report began without its recall.")
            units = header.recall.units
            budget.reschedule(asyncio.get_running_loop().time() + RECALL_RPC_SECONDS + REPORT_SECONDS_PER_UNIT * units)
            response = report_response(output, request.match_info["id"])
            await response.prepare(request)
            if output == "json":
                await write_json_report(response, stream, header.recall)
            else:
                await write_csv_report(response, stream)
            await response.write_eof()
            return response
    except TimeoutError:
        if response is None:
            raise UpstreamTimeout("Failed to get the recall report in time.") from None
        return abort_report(request, response, "the report took longer than its deadline")
    except Exception as error:
        if response is None:
            raise
        return abort_report(request, response, f"{type(error).__name__}: {error}")
    finally:
        stream.cancel()  # the client went away, or the deadline passed: recall-status stops too


@routes.route(
    "GET",
    "/v1/recalls/{id}/status-report",
    roles=(Role.MANUFACTURER, Role.ADMIN),
    tag="Recalls",
    summary="The 21 CFR 7.53 status report at a time (?at=, default now; ?from= for a reporting period ending at it): consignees notified (date, method), responding (quantity on hand), not responding, effectiveness checks, estimated completion; JSON, CSV or printable HTML (?format=json|csv|html)",
    params=(
        query_param("at", "RFC 3339 time the report is as of; default now", False),
        query_param("from", "RFC 3339 start of a reporting period ending at ?at=", False),
        query_param("format", "json (the default), csv (one row per consignee) or html (printable)", False, "^(json|csv|html)$"),
    ),
)
async def recall_status_report(request: web.Request, partner: Partner) -> web.Response:
    output = request.query.get("format", "json")
    if output not in ("json", "csv", "html"):
        raise InvalidInput(f"Failed to read format {output!r}: expected json, csv or html.", field="format")
    clients = request.app[CLIENTS]
    answer = await clients.ask(
        clients.recall_status.GetRecallStatusReport,
        rs_pb.GetRecallStatusReportRequest(
            caller=caller_message(partner), recall_id=request.match_info["id"], at=request.query.get("at", ""), period_start=request.query.get("from", "")
        ),
        timeout=RECALL_RPC_SECONDS,
    )
    report = status_report_json(answer)
    if output == "json":
        return json_response(report)
    if output == "csv":
        return web.Response(
            text=csv_report(report),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{report["recall"]["id"]}-status.csv"'},
        )
    return printable_page(html_report(report))


#: The members of a consignee each list of a status report shows, in order.
NOTIFIED_MEMBERS = ("partner", "name", "locations", "notified_at", "notified_by")
RESPONDING_MEMBERS = ("partner", "name", "locations", "responded_at", "units_held", "units_acknowledged", "quantity_on_hand", "actions", "note")
NOT_RESPONDING_MEMBERS = ("partner", "name", "locations", "units_held", "notified_at", "reminders", "overdue")


def status_report_json(report: rs_pb.GetRecallStatusReportResponse) -> dict[str, Any]:
    """A recall status report, as REST (and its CSV and printable forms) shows it: the
    consignees notified, responding and not responding are views of its consignee rows."""
    rows = [consignee_json(row) for row in report.consignee_rows]
    recall = report.recall
    checks = report.effectiveness_checks
    estimate = report.estimated_completion
    out: dict[str, Any] = {
        "recall": {
            "id": recall.id, **recall_facts_json(recall),
            **({"closed_at": recall.closed_at, "close_reason": recall.close_reason} if recall.HasField("closed_at") else {}),
        },
        "as_of": report.as_of,
        "strategy": strategy_json(report.strategy),
        "consignees": report.consignees,
        "consignees_notified": report.consignees_notified,
        "consignees_responding": report.consignees_responding,
        "consignees_not_responding": report.consignees_not_responding,
        "consignees_overdue": report.consignees_overdue,
        "units": report.units,
        "units_acknowledged": report.units_acknowledged,
        "quantity_on_hand": report.quantity_on_hand,
        "notified": [{k: r[k] for k in NOTIFIED_MEMBERS} for r in rows if r["notified_at"]],
        "responding": [{k: r[k] for k in RESPONDING_MEMBERS} for r in rows if r["status"] == "responded"],
        "not_responding": [{k: r[k] for k in NOT_RESPONDING_MEMBERS} for r in rows if r["status"] != "responded"],
        "effectiveness_checks": {
            "level": checks.level, "share": checks.share, "due": checks.due, "done": checks.done,
            "results": dict(sorted(checks.results.items())),
            "checks": [
                {"partner": c.partner, "name": c.name, "at": c.at, "checked_by": c.checked_by, "method": c.method, "result": c.result, "note": c.note}
                for c in checks.checks
            ],
        },
        "estimated_completion": {"complete": estimate.complete, "at": estimate.at if estimate.HasField("at") else None, "basis": estimate.basis},
        "consignee_rows": rows,
    }  # fmt: skip
    if report.HasField("period"):
        period = report.period
        out["period"] = {
            "from": getattr(period, "from"), "to": period.to, "consignees_notified": period.consignees_notified,
            "consignees_responding": period.consignees_responding, "effectiveness_checks": period.effectiveness_checks,
        }  # fmt: skip
    return out


def consignee_json(row: rs_pb.ReportedConsignee) -> dict[str, Any]:
    """One consignee of a status report, as REST shows it (lots and actions sorted)."""
    return {
        "partner": row.partner, "name": row.name, "glns": list(row.glns),
        "locations": [{"gln": at.gln, "name": at.name, "address": at.address} for at in row.locations],
        "units_held": row.units_held, "lots": dict(sorted(row.lots.items())),
        "notified_at": row.notified_at, "notified_by": row.notified_by, "responded_at": row.responded_at,
        "units_acknowledged": row.units_acknowledged,
        "quantity_on_hand": row.quantity_on_hand if row.HasField("quantity_on_hand") else None,
        "actions": dict(sorted(row.actions.items())), "note": row.note, "status": row.status,
        "overdue": row.overdue, "reminders": row.reminders,
    }  # fmt: skip


@routes.route(
    "GET",
    "/v1/recalls/{id}/notice",
    roles=VIEWER_ROLES,
    tag="Recalls",
    summary="A holder's recall notice as a letter (21 CFR 7.49 content, addressed to the holder, dated when it was notified): a holder reads its own, the recall's manufacturer or admin any holder's with ?partner=; JSON, or printable HTML with ?format=html",
    params=(
        query_param("partner", "the holder whose letter to read (the recall's manufacturer or admin); default the caller", False),
        query_param("format", "json (the default) or html (printable)", False, "^(json|html)$"),
    ),
)
async def recall_notice_letter(request: web.Request, partner: Partner) -> web.Response:
    output = request.query.get("format", "json")
    if output not in ("json", "html"):
        raise InvalidInput(f"Failed to read format {output!r}: expected json or html.", field="format")
    message = rs_pb.GetRecallNoticeRequest(caller=caller_message(partner), recall_id=request.match_info["id"], partner_id=request.query.get("partner", ""))
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.GetRecallNotice, message, timeout=RECALL_RPC_SECONDS)
    letter = recall_letter_json(answer)
    if output == "json":
        return json_response(letter)
    return printable_page(html_letter(letter))


def recall_letter_json(letter: rs_pb.GetRecallNoticeResponse) -> dict[str, Any]:
    """A holder's recall notice as a letter, as REST shows it, with the form of its answer."""
    recall, holder = letter.recall, letter.holder
    return {
        "recall": {
            "id": recall.id, "class": recall.recall_class, "reason": recall.reason, "depth": recall.depth,
            "status": recall.status, "mock": recall.mock, "published_at": recall.published_at,
        },
        "holder": {
            "partner": holder.partner,
            "name": holder.name,
            "locations": [{"gln": at.gln, "name": at.name, "address": at.address} for at in holder.locations],
        },
        "notified_at": letter.notified_at,
        "notified_by": letter.notified_by,
        "notice": recall_notice_json(letter.notice),
        "response_form": {
            "acknowledge": f"/v1/recalls/{recall.id}/acknowledgements",
            "fields": {
                "units": "the units you hold, each by gtin and serial",
                "lots": "or per lot: lot and quantity_on_hand (0 when none is left)",
                "action": "quarantined, returned or destroyed",
                "note": "free text, optional",
            },
        },
    }  # fmt: skip


def recall_notice_json(notice: rs_pb.RecallNotice) -> dict[str, Any]:
    """A holder's recall notice, as REST (and the printable letter) shows it."""
    return {
        "heading": notice.heading,
        "products": [{"gtin": p.gtin, "lots": list(p.lots), "units": p.units} for p in notice.products],
        "reason": notice.reason, "what_to_do": notice.what_to_do, "respond": notice.respond,
        "contact": notice.contact, "public_warning": notice.public_warning,
    }  # fmt: skip


def printable_page(page: str) -> web.Response:
    """A page of partner-supplied text: nothing in it may run or load anything."""
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


def report_format(request: web.Request) -> str:
    """json or csv: ``?format=`` when given, else the Accept header (JSON unless it names CSV)."""
    output = request.query.get("format")
    if output is None:
        return "csv" if "text/csv" in request.headers.get("Accept", "") else "json"
    if output not in ("json", "csv"):
        raise InvalidInput(f"Failed to read format {output!r}: expected json or csv.", field="format")
    return output


async def read_report_message(stream: Any) -> rs_pb.StreamRecallReportResponse | None:
    """The next message of the report stream, None at its end; gRPC errors as VerinetError."""
    try:
        message = await stream.read()
    except grpc.aio.AioRpcError as error:
        raise error_from_rpc(error) from None
    return None if message is grpc.aio.EOF else cast(rs_pb.StreamRecallReportResponse, message)


def report_response(output: str, recall_id: str) -> web.StreamResponse:
    response = web.StreamResponse()
    if output == "json":
        response.content_type = "application/json"
    else:
        response.content_type = "text/csv"
        response.charset = "utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{recall_id}.csv"'
    return response


async def write_json_report(response: web.StreamResponse, stream: Any, recall: rs_pb.Recall) -> None:
    """The documented shape, {"recall": ..., "rows": [...]}, one chunk of rows at a time."""
    await response.write(b'{"recall":' + orjson.dumps(recall_json(recall)) + b',"rows":[')
    separator = b""
    while (message := await read_report_message(stream)) is not None:
        rows = report_rows_json(message.rows)
        if rows:
            await response.write(separator + orjson.dumps(rows)[1:-1])  # the chunk's array without its brackets
            separator = b","
    await response.write(b"]}")


def report_rows_json(chunk: rs_pb.ReportRows) -> list[dict[str, str]]:
    """A chunk of report rows as REST shows each row, its members in REPORT_COLUMNS order."""
    return [dict(zip(REPORT_COLUMNS, row, strict=True)) for row in report_row_values(chunk)]


def report_row_values(chunk: rs_pb.ReportRows) -> Iterator[tuple[str, ...]]:
    """Each row of a chunk (sent column by column) as its values in REPORT_COLUMNS order."""
    return zip(
        chunk.gtins, chunk.serials, chunk.lots, chunk.states, chunk.last_locations, chunk.last_partners,
        chunk.last_seen, chunk.notified_at, chunk.acknowledged_at, chunk.actions, strict=True,
    )  # fmt: skip


async def write_csv_report(response: web.StreamResponse, stream: Any) -> None:
    """A header line, then a line per row, one chunk of rows at a time; cells a spreadsheet
    would run as formulas are neutralised (``verinet.csv_cells``)."""
    buffer = io.StringIO()
    writer = safe_writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    while True:
        await response.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
        message = await read_report_message(stream)
        if message is None:
            return
        writer.writerows(report_row_values(message.rows))


def abort_report(request: web.Request, response: web.StreamResponse, reason: str) -> web.StreamResponse:
    """Ends a report that failed after its first byte by dropping the connection: the client
    sees an incomplete transfer rather than a short document that looks whole."""
    log.warning("Recall report %s cut off: %s", request.match_info["id"], reason)
    if request.transport is not None:
        request.transport.abort()
    return response


def acknowledged_units(body: dict[str, Any]) -> list[common_pb.PackIdentifier]:
    """The units of an acknowledgement: 1 to MAX_ACKNOWLEDGED_UNITS, each once (a unit given
    twice would count twice in the recall's effectiveness)."""
    items = body.get("units")
    if isinstance(items, list) and len(items) > MAX_ACKNOWLEDGED_UNITS:
        raise InvalidInput(
            f'Failed to read "units": expected at most {MAX_ACKNOWLEDGED_UNITS} units an acknowledgement, got {len(items)}.',
            code="recall.too_many",
            field="units",
        )
    units = units_from(body)
    if not units and not body.get("lots"):
        raise InvalidInput('Failed to read "units": expected at least one unit (or "lots" with quantities on hand).', field="units")
    first_at: dict[tuple[str, str], int] = {}
    for index, unit in enumerate(units):
        seen = first_at.setdefault((unit.gtin, unit.serial), index)
        if seen != index:
            raise InvalidInput(
                f"Failed to read units[{index}]: unit {unit.gtin}|{unit.serial} is already units[{seen}]; "
                "expected each unit once.",
                code="recall.duplicate_unit",
                field=f"units[{index}]",
            )
    return units


def lot_quantities(body: dict[str, Any]) -> list[rs_pb.LotQuantity]:
    """The "lots" of a response: [{"lot": ..., "quantity_on_hand": n}, ...], n from 0 up."""
    items = body.get("lots", [])
    if not isinstance(items, list):
        raise InvalidInput('Failed to read "lots": expected a list of {"lot", "quantity_on_hand"} objects.', code="body.field_type", field="lots")
    out = []
    for index, item in enumerate(items):
        where = f"lots[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("lot"), str):
            raise InvalidInput(f'Failed to read "{where}": expected {{"lot": "...", "quantity_on_hand": n}}.', code="body.field_type", field=where)
        quantity = item.get("quantity_on_hand")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_RECALL_UNITS:
            raise InvalidInput(
                f'Failed to read "{where}.quantity_on_hand": expected a whole number from 0 to {MAX_RECALL_UNITS}, got {quantity!r}.',
                code="recall.quantity",
                field=f"{where}.quantity_on_hand",
            )
        out.append(rs_pb.LotQuantity(lot=item["lot"], quantity=quantity))
    return out


@routes.route("POST", "/v1/recalls/{id}/acknowledgements", roles=HOLDER_ROLES, tag="Recalls", summary="Respond to a recall: confirm units you hold, and/or the quantity on hand of lots you hold, as quarantined, returned or destroyed, with an optional note")
async def acknowledge_recall(request: web.Request, partner: Partner) -> web.Response:
    response = recall_response_from(await json_object(request), partner, request.match_info["id"])
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.AcknowledgeRecall, response, timeout=RECALL_RPC_SECONDS)
    results = [
        {"index": r.index, "gtin": r.pack.gtin, "serial": r.pack.serial, "ok": r.ok, "code": r.code, "message": r.message}
        for r in answer.results
    ]
    return json_response({"acknowledged": sum(1 for r in results if r["ok"]), "results": results})


def recall_response_from(body: dict[str, Any], partner: Partner, recall_id: str) -> rs_pb.AcknowledgeRecallRequest:
    """A body of POST /v1/recalls/{id}/acknowledgements as the message recording the response:
    its units, its lots' quantities on hand, an optional note and the action taken (checked in
    this order, so the first error named is the same as ever)."""
    return rs_pb.AcknowledgeRecallRequest(
        caller=caller_message(partner),
        recall_id=recall_id,
        packs=acknowledged_units(body),
        lots=lot_quantities(body),
        note=stored_text(body, "note", "recall response note", required=False),
        action=text_of(body, "action"),
    )


@routes.route("POST", "/v1/recalls/{id}/effectiveness-checks", roles=(Role.MANUFACTURER, Role.ADMIN), tag="Recalls", summary="Record an effectiveness check of a consignee: partner, checked_by, method (phone, email, visit, letter, portal), result (confirmed, received_not_acted, not_received, no_answer), note")
async def record_effectiveness_check(request: web.Request, partner: Partner) -> web.Response:
    check = effectiveness_check_from(await json_object(request), partner, request.match_info["id"])
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.RecordEffectivenessCheck, check, timeout=RECALL_RPC_SECONDS)
    return json_response(effectiveness_check_json(answer), status=201)


def effectiveness_check_from(body: dict[str, Any], partner: Partner, recall_id: str) -> rs_pb.RecordEffectivenessCheckRequest:
    """A body of POST /v1/recalls/{id}/effectiveness-checks as the message recording it;
    recall-status checks the method and result names."""
    return rs_pb.RecordEffectivenessCheckRequest(
        caller=caller_message(partner),
        recall_id=recall_id,
        partner_id=text_of(body, "partner"),
        checked_by=stored_text(body, "checked_by", "effectiveness checked by"),
        method=text_of(body, "method"),
        result=text_of(body, "result"),
        note=stored_text(body, "note", "effectiveness check note", required=False),
    )


#: A recorded effectiveness check's members as REST shows them, named as in the proto.
EFFECTIVENESS_CHECK_MEMBERS = ("partner", "at", "checked_by", "method", "result", "note")


def effectiveness_check_json(check: rs_pb.EffectivenessCheck) -> dict[str, Any]:
    """A recorded effectiveness check, as REST shows it."""
    return {name: getattr(check, name) for name in EFFECTIVENESS_CHECK_MEMBERS}


@routes.route("GET", "/v1/recall-tasks", roles=HOLDER_ROLES, tag="Recalls", summary="Your open recall tasks: units you hold that are not yet acknowledged")
async def recall_tasks(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.ListRecallTasks, rs_pb.ListRecallTasksRequest(caller=caller_message(partner)), timeout=RECALL_RPC_SECONDS)
    return json_response({"tasks": [recall_task_json(task) for task in answer.tasks]})


def recall_task_json(task: rs_pb.RecallTask) -> dict[str, Any]:
    """A holder's open recall task, as REST shows it."""
    recall, notice = task.recall, task.notice
    return {
        "recall": {
            "id": recall.id, "class": recall.recall_class, "reason": recall.reason, "depth": recall.depth,
            "mock": recall.mock, "published_at": recall.published_at,
        },
        "notice": recall_notice_json(notice),
        "units_open": [{"gtin": u.gtin, "serial": u.serial, "lot": u.lot, "gln": u.gln} for u in task.units_open],
        "units_acknowledged": task.units_acknowledged,
        "locations": {at.gln: {"name": at.name, "address": at.address} for at in task.locations},
    }  # fmt: skip


@routes.route("GET", "/v1/packs/{gtin}/{serial}/history", roles=VIEWER_ROLES, tag="Packs", summary="A pack's history: all of it for its manufacturer, their own part for partners that took part")
async def pack_history(request: web.Request, partner: Partner) -> web.Response:
    gtin = validate_gtin(request.match_info["gtin"])
    serial = validate_serial(request.match_info["serial"])
    message = rs_pb.GetPackHistoryRequest(caller=caller_message(partner), gtin=gtin, serial=serial)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.GetPackHistory, message)
    return json_response(pack_history_json(answer))


def pack_history_json(history: rs_pb.GetPackHistoryResponse) -> dict[str, Any]:
    """A pack's history, as REST shows it: each event's members, then its location when known."""
    events = []
    for event in history.events:
        shown = orjson.loads(event.entry)
        if event.HasField("location"):
            shown["location"] = location_json(event.location)
        events.append(shown)
    if history.received:  # not hosted here: told by the inbound document the caller received
        return {
            "gtin": history.gtin, "serial": history.serial, "lot": history.lot, "expiry": history.expiry,
            "hosted": False, "received": history.received, "events": events,
        }  # fmt: skip
    return {
        "gtin": history.gtin, "serial": history.serial, "lot": history.lot, "expiry": history.expiry,
        "state": history.state, "events": events,
    }  # fmt: skip


@routes.route("GET", "/v1/audit", roles=(Role.ADMIN, Role.MANUFACTURER), tag="Audit", summary="Entries of an audit chain (?gtin= or ?recall=), newest first")
async def list_audit(request: web.Request, partner: Partner) -> web.Response:
    gtin = validate_gtin(request.query["gtin"]) if request.query.get("gtin") else ""
    limit = limit_query(request, most=10_000)
    message = rs_pb.ListAuditRequest(caller=caller_message(partner), gtin=gtin, recall_id=request.query.get("recall", ""), limit=limit)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.ListAudit, message, timeout=RECALL_RPC_SECONDS)
    return json_response(audit_listing_json(answer))


def audit_listing_json(listing: rs_pb.ListAuditResponse) -> dict[str, Any]:
    """An audit chain's entries, as REST shows them: each entry's own members after its id and hash."""
    return {"chain": listing.chain, "entries": [{"id": e.id, "hash": e.hash, **orjson.loads(e.entry)} for e in listing.entries]}


@routes.route("POST", "/v1/audit/verify", roles=(Role.ADMIN,), tag="Audit", summary="Recompute every audit chain and name the first broken link")
async def verify_audit(request: web.Request, partner: Partner) -> web.Response:
    await optional_json_object(request)  # no members; a body sent anyway is read as any other
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.VerifyAudit, rs_pb.VerifyAuditRequest(caller=caller_message(partner)), timeout=RECALL_RPC_SECONDS)
    return json_response(
        {
            "ok": answer.ok,
            "chains": answer.chains,
            "broken": [chain_check_json(check) for check in answer.broken],
            "entries_checked": answer.entries_checked,
        }
    )


def chain_check_json(check: rs_pb.AuditChainCheck) -> dict[str, Any]:
    """One audit chain that does not hold, as REST shows it (``first_broken_entry`` is null
    when only the chain's head is wrong)."""
    first = check.first_broken_entry if check.HasField("first_broken_entry") else None
    return {
        "chain": check.chain,
        "ok": check.ok,
        "entries_checked": check.entries_checked,
        "first_broken_entry": first,
        "problem": check.problem,
    }


