"""EU FMD pack operations and alerts: verify, decommission, reactivate; list and close alerts."""

from __future__ import annotations

from typing import Any, cast

import orjson
from aiohttp import web

from verinet.callers import ALL_ROLES, HOLDER_ROLES, Role
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Forbidden, InvalidInput, VerinetError
from verinet.gateway.api import json_response
from verinet.gateway.app_keys import CLIENTS, SETTINGS
from verinet.gateway.idempotency import fingerprint, once, validate_transaction_id
from verinet.gateway.inputs import (
    json_object,
    limit_query,
    pack_fields,
    packs_body,
    read_body,
    stored_text,
    text_of,
)
from verinet.gateway.lms import caller_message
from verinet.gateway.routing import RouteTable
from verinet.identifiers import validate_gln, validate_gtin
from verinet.lifecycle import ALLOWED_OPERATIONS_BY_ROLE, ALLOWED_STATES_BY_ROLE, Operation
from verinet.packs import PackState
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import call
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.wire import PROTO_FROM_STATE, STATE_FROM_PROTO

routes = RouteTable()

STATE_NAMES = {value: state.value for value, state in STATE_FROM_PROTO.items()}
DECOMMISSION_STATES = {state.value: value for state, value in PROTO_FROM_STATE.items()}


def location_of(partner: Partner, body: dict[str, Any]) -> str:
    """The partner's GLN named in the request, else its first GLN."""
    named = text_of(body, "location_gln")
    if named:
        gln = validate_gln(str(named))
        if gln not in partner.glns:
            raise Forbidden(f"GLN {gln} is not one of your locations.", code="auth.gln", field="location_gln")
        return gln
    if not partner.glns:
        raise InvalidInput("Pack operations need a location: the partner has no GLN.", code="location.missing")
    return partner.glns[0]


def possession_attested(body: dict[str, Any]) -> bool:
    """``"possession_attested": true`` in a verify: the partner attests that it holds the packs
    (it then becomes a recall holder of them; without it, a verify is a bare sighting)."""
    value = body.get("possession_attested", False)
    if not isinstance(value, bool):
        raise InvalidInput(
            f'Failed to read "possession_attested": expected true or false, got {value!r}.',
            code="body.field_type",
            field="possession_attested",
        )
    return value


def result_json(index: int, pack: tuple[str, str, str, str], result: common_pb.PackResult) -> dict[str, Any]:
    """One pack's result; ``pack`` is the pack as the gateway read it (the verifier's
    ``result.pack`` echoes the same, and reading it back costs more than the rest)."""
    state = result.state
    out: dict[str, Any] = {
        "index": index,
        "gtin": pack[0],
        "serial": pack[1],
        "lot": pack[2],
        "expiry": pack[3],
        "ok": result.ok,
        "state": STATE_NAMES.get(state) if state else None,
        "batch_status": STATE_NAMES.get(result.batch_status) if result.batch_status else None,
        "code": result.code,
        "message": result.message,
    }
    if result.alert_id:
        out["alert_id"] = result.alert_id
    if result.warning:
        out["warning"] = True
    return out


async def pack_operation(request: web.Request, partner: Partner, operation: str) -> web.Response:
    raw = await read_body(request)
    settings = request.app[SETTINGS]
    items, body = await packs_body(request, settings.max_packs_per_request)
    transaction_id = validate_transaction_id(body.get("transaction_id"))
    location = location_of(partner, body)
    possession = possession_attested(body) if operation == "verify" else False
    state = cast(common_pb.PackState, 0)  # unset: verify and reactivate name no state
    if operation == "decommission":
        state_name = text_of(body, "state")
        if state_name not in DECOMMISSION_STATES or state_name in ("active", "expired", "recalled", "withdrawn"):
            allowed = sorted(set(DECOMMISSION_STATES) - {"active", "expired", "recalled", "withdrawn"})
            raise InvalidInput(
                f"Failed to read state {state_name!r}: expected one of {', '.join(allowed)}.",
                code="state.invalid",
                field="state",
            )
        state = DECOMMISSION_STATES[state_name]

    async def run() -> tuple[int, bytes]:
        results: list[dict[str, Any] | None] = [None] * len(items)
        valid: list[tuple[int, tuple[str, str, str, str]]] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, pack_fields(item, index, need_lot_and_expiry=False)))
            except VerinetError as error:
                results[index] = {"index": index, "ok": False, "state": None, **error.as_dict()}
        if valid:
            clients = request.app[CLIENTS]
            caller = caller_message(partner, location)
            message: Any
            if operation == "verify":
                message = verifier_pb.VerifyPacksRequest(caller=caller, possession_attested=possession)
                method = clients.verifier.VerifyPacks
            elif operation == "decommission":
                message = verifier_pb.DecommissionPacksRequest(caller=caller, state=state, transaction_id=transaction_id)
                method = clients.verifier.DecommissionPacks
            else:
                message = verifier_pb.ReactivatePacksRequest(caller=caller, transaction_id=transaction_id)
                method = clients.verifier.ReactivatePacks
            add = message.packs.add  # in place: no PackIdentifier copied into the request
            for _, (gtin, serial, lot, expiry) in valid:
                add(gtin=gtin, serial=serial, lot=lot, expiry=expiry)
            answer = await call(method, message, timeout=clients.rpc_timeout * 5)
            for (index, pack), result in zip(valid, answer.results, strict=True):
                results[index] = result_json(index, pack, result)
        done = [r for r in results if r is not None]
        summary = {
            "operation": operation,
            "location_gln": location,
            "count": len(done),
            "ok": sum(1 for r in done if r["ok"]),
            "alerts": sum(1 for r in done if r.get("alert_id")),
            "results": done,
        }
        if transaction_id:
            summary["transaction_id"] = transaction_id
        return 200, orjson.dumps(summary)

    if transaction_id:
        status, payload = await once(
            request.app[CLIENTS].redis, partner.id, transaction_id, fingerprint(request.path, raw), run
        )
    else:
        status, payload = await run()
    return web.Response(status=status, body=payload, content_type="application/json")


@routes.route("POST", "/v1/packs/verify", roles=HOLDER_ROLES, tag="Packs", summary="EU FMD verify of 1 to 1,000 packs")
async def verify_packs(request: web.Request, partner: Partner) -> web.Response:
    return await pack_operation(request, partner, "verify")


@routes.route("POST", "/v1/packs/decommission", roles=HOLDER_ROLES, tag="Packs", summary="Decommission 1 to 1,000 packs to a state (supplied, destroyed, ...)")
async def decommission_packs(request: web.Request, partner: Partner) -> web.Response:
    return await pack_operation(request, partner, "decommission")


@routes.route("POST", "/v1/packs/reactivate", roles=HOLDER_ROLES, tag="Packs", summary="Undo a decommission (Art. 13 rules)")
async def reactivate_packs(request: web.Request, partner: Partner) -> web.Response:
    return await pack_operation(request, partner, "reactivate")


def role_rules() -> dict[str, Any]:
    """The FMD role matrix the verifier enforces, by role: the pack operations it may run and
    the states it may decommission a pack to (in the order ``PackState`` lists them)."""
    return {
        "roles": {
            str(role): {
                "operations": [op.value for op in Operation if op in ALLOWED_OPERATIONS_BY_ROLE.get(role, ())],
                "states": [state.value for state in PackState if state in ALLOWED_STATES_BY_ROLE.get(role, ())],
            }
            for role in ALL_ROLES
        }
    }


@routes.route("GET", "/v1/packs/roles", roles=ALL_ROLES, tag="Packs", summary="Which pack operations and decommission states each role may use (the table the verifier enforces)")
async def pack_roles(request: web.Request, partner: Partner) -> web.Response:
    return json_response(role_rules())


def alert_json(alert: rs_pb.Alert) -> dict[str, Any]:
    out = {
        "id": alert.id,
        "gtin": alert.pack.gtin,
        "serial": alert.pack.serial,
        "lot": alert.pack.lot,
        "expiry": alert.pack.expiry,
        "code": alert.code,
        "message": alert.message,
        "partner": alert.partner_id,
        "location_gln": alert.location_gln,
        "owner": alert.owner_partner_id,
        "operation": alert.operation,
        "status": alert.status,
        "raised_at": alert.raised_at,
    }
    if alert.location_name:
        out["location_name"] = alert.location_name
    if alert.status == "closed":
        out.update(close_reason=alert.close_reason, closed_at=alert.closed_at, closed_by=alert.closed_by)
    return out


@routes.route("GET", "/v1/alerts", roles=(Role.ADMIN, *HOLDER_ROLES), tag="Alerts", summary="Alerts raised by you or on your products (filters: gtin, partner, code, status, limit)")
async def list_alerts(request: web.Request, partner: Partner) -> web.Response:
    query = request.query
    gtin = validate_gtin(query["gtin"]) if query.get("gtin") else ""
    limit = limit_query(request, most=1000, refuse_outside=True)
    clients = request.app[CLIENTS]
    answer = await clients.ask(
        clients.recall_status.ListAlerts,
        rs_pb.ListAlertsRequest(
            caller=caller_message(partner),
            gtin=gtin,
            partner_id=query.get("partner", ""),
            code=query.get("code", ""),
            status=query.get("status", ""),
            limit=limit,
        ),
    )
    return json_response({"alerts": [alert_json(a) for a in answer.alerts]})


@routes.route("POST", "/v1/alerts/{id}/close", roles=(Role.ADMIN, *HOLDER_ROLES), tag="Alerts", summary="Close an alert with a reason")
async def close_alert(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    reason = stored_text(body, "reason", "alert close reason")
    message = rs_pb.CloseAlertRequest(caller=caller_message(partner), alert_id=request.match_info["id"], reason=reason)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.CloseAlert, message)
    return json_response(alert_json(answer.alert))
