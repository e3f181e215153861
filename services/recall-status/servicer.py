"""gRPC face of recall-status: translates messages and calls the repository."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc
import orjson

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Conflict, Forbidden, VerinetError
from verinet.packs import PackState
from verinet.recall_status.alerts import Alert, AlertStore
from verinet.recall_status.notification_rpcs import NotificationRpcs
from verinet.recall_status.packs import (
    DecommissionRecord,
    NewPack,
    PackChange,
    PackRepository,
    StoredPack,
    require_packs,
)
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import translate_errors

PROTO_STATE = {state: common_pb.PackState.Value(f"PACK_STATE_{state.name}") for state in PackState}
STATE_FROM_PROTO = {value: state for state, value in PROTO_STATE.items()}


def audit_entry_json(change: rs_pb.PackChange) -> bytes:
    event = change.audit
    return orjson.dumps(
        {
            "at": event.at,
            "action": event.action,
            "gtin": change.gtin,
            "serial": change.serial,
            "partner": event.partner_id,
            "location": event.location_gln,
            "from": STATE_FROM_PROTO[event.previous_state].value,
            "to": STATE_FROM_PROTO[event.new_state].value,
            "transaction_id": event.transaction_id,
        }
    )


def decommission_message(record: DecommissionRecord | None) -> rs_pb.Decommission | None:
    if record is None:
        return None
    return rs_pb.Decommission(
        state=PROTO_STATE[record.state],
        partner_id=record.partner_id,
        location_gln=record.location_gln,
        at=record.at,
    )


def status_message(stored: StoredPack | None) -> rs_pb.PackStatus:
    if stored is None:
        return rs_pb.PackStatus(found=False)
    record = stored.record
    return rs_pb.PackStatus(
        found=True,
        lot=record.lot,
        expiry=record.expiry,
        pack_state=PROTO_STATE[record.pack_state],
        lot_state=PROTO_STATE[record.lot_state],
        product_state=PROTO_STATE[record.product_state],
        owner_partner_id=record.owner_partner_id,
        last_decommission=decommission_message(stored.last_decommission),
        revision=stored.revision,
    )


def alert_message(alert: Alert) -> rs_pb.Alert:
    return rs_pb.Alert(
        id=alert.id,
        pack=common_pb.PackIdentifier(gtin=alert.gtin, serial=alert.serial, lot=alert.lot, expiry=alert.expiry),
        code=alert.code,
        message=alert.message,
        partner_id=alert.partner_id,
        location_gln=alert.location_gln,
        owner_partner_id=alert.owner_partner_id,
        operation=alert.operation,
        status=alert.status,
        raised_at=alert.raised_at,
        close_reason=alert.close_reason,
        closed_at=alert.closed_at,
        closed_by=alert.closed_by,
    )


class RecallStatusServicer(NotificationRpcs, rs_grpc.RecallStatusServiceServicer):
    def __init__(
        self,
        repository: PackRepository,
        alerts: AlertStore,
        max_packs_per_request: int,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.repository = repository
        self.alerts = alerts
        self.max_packs = max_packs_per_request
        self.now = now

    @translate_errors
    async def RegisterProduct(
        self, request: rs_pb.RegisterProductRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.RegisterProductResponse:
        if "manufacturer" not in request.caller.roles:
            raise Forbidden("Only manufacturers register products.", code="auth.role")
        product, created = await self.repository.register_product(
            request.gtin, request.caller.partner_id, request.name, self.now()
        )
        return rs_pb.RegisterProductResponse(
            gtin=product.gtin,
            owner_partner_id=product.owner_partner_id,
            name=product.name,
            created=created,
        )

    @translate_errors
    async def CommissionPacks(
        self, request: rs_pb.CommissionPacksRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.CommissionPacksResponse:
        packs = [NewPack(p.gtin, p.serial, p.lot, p.expiry) for p in request.packs]
        require_packs(packs, self.max_packs)
        is_admin = "admin" in request.caller.roles
        refusals: dict[int, tuple[str, str]] = {}
        for gtin in sorted({p.gtin for p in packs}):
            try:
                await self.repository.require_owned_product(
                    gtin, request.caller.partner_id, is_admin=is_admin
                )
            except VerinetError as error:  # refused per pack, the batch goes on
                for i, pack in enumerate(packs):
                    if pack.gtin == gtin:
                        refusals[i] = (error.code, error.message)
        accepted = [i for i in range(len(packs)) if i not in refusals]
        outcomes = await self.repository.commission([packs[i] for i in accepted])
        response = rs_pb.CommissionPacksResponse()
        results: dict[int, common_pb.PackResult] = {}
        for i, outcome in zip(accepted, outcomes, strict=True):
            pack = packs[i]
            if outcome.status == "stored":
                response.stored += 1
            elif outcome.status == "unchanged":
                response.unchanged += 1
            else:
                refusals[i] = (
                    "pack.conflict",
                    f"Failed to commission serial {pack.serial!r} of GTIN {pack.gtin}: it is "
                    f"already commissioned with lot {outcome.existing_lot!r} and expiry "
                    f"{outcome.existing_expiry!r}, got lot {pack.lot!r} and expiry {pack.expiry!r}.",
                )
        for i, (code, message) in sorted(refusals.items()):
            pack = packs[i]
            results[i] = common_pb.PackResult(
                index=i,
                pack=common_pb.PackIdentifier(
                    gtin=pack.gtin, serial=pack.serial, lot=pack.lot, expiry=pack.expiry
                ),
                ok=False,
                code=code,
                message=message,
            )
        response.refused = len(refusals)
        response.results.extend(results[i] for i in sorted(results))
        return response

    @translate_errors
    async def GetPackStatus(
        self, request: rs_pb.GetPackStatusRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.GetPackStatusResponse:
        records = await self.repository.statuses(
            [(p.gtin, p.serial) for p in request.packs],
            with_decommission=request.with_decommission,
        )
        return rs_pb.GetPackStatusResponse(statuses=[status_message(r) for r in records])

    @translate_errors
    async def ApplyPackChanges(
        self, request: rs_pb.ApplyPackChangesRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.ApplyPackChangesResponse:
        changes = [
            PackChange(
                gtin=c.gtin,
                serial=c.serial,
                expected_revision=c.expected_revision,
                new_state=STATE_FROM_PROTO[c.new_state],
                decommission=DecommissionRecord(
                    STATE_FROM_PROTO[c.decommission.state],
                    c.decommission.at,
                    c.decommission.partner_id,
                    c.decommission.location_gln,
                )
                if c.HasField("decommission")
                else None,
                audit_entry=audit_entry_json(c),
            )
            for c in request.changes
        ]
        return rs_pb.ApplyPackChangesResponse(applied=await self.repository.apply(changes))

    @translate_errors
    async def RecordAlerts(
        self, request: rs_pb.RecordAlertsRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.RecordAlertsResponse:
        alerts = [
            Alert(
                id="",
                gtin=a.pack.gtin,
                serial=a.pack.serial,
                lot=a.pack.lot,
                expiry=a.pack.expiry,
                code=a.code,
                message=a.message,
                partner_id=a.partner_id,
                location_gln=a.location_gln,
                owner_partner_id=a.owner_partner_id,
                operation=a.operation,
            )
            for a in request.alerts
        ]
        return rs_pb.RecordAlertsResponse(ids=await self.alerts.record(alerts, self.now()))

    @translate_errors
    async def ListAlerts(
        self, request: rs_pb.ListAlertsRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.ListAlertsResponse:
        alerts = await self.alerts.list(
            viewer_id=request.caller.partner_id,
            is_admin="admin" in request.caller.roles,
            gtin=request.gtin,
            partner_id=request.partner_id,
            code=request.code,
            status=request.status,
            limit=request.limit,
        )
        return rs_pb.ListAlertsResponse(alerts=[alert_message(a) for a in alerts])

    @translate_errors
    async def CloseAlert(
        self, request: rs_pb.CloseAlertRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.CloseAlertResponse:
        closed = await self.alerts.close(
            request.alert_id,
            by=request.caller.partner_id,
            is_admin="admin" in request.caller.roles,
            reason=request.reason,
            now=self.now(),
        )
        return rs_pb.CloseAlertResponse(alert=alert_message(closed))

    @translate_errors
    async def WithdrawProduct(
        self, request: rs_pb.WithdrawProductRequest, context: grpc.aio.ServicerContext
    ) -> rs_pb.WithdrawProductResponse:
        await self.repository.require_owned_product(
            request.gtin, request.caller.partner_id, is_admin="admin" in request.caller.roles
        )
        now = self.now()
        entry = orjson.dumps(
            {
                "at": now.timestamp(),
                "action": "withdraw",
                "gtin": request.gtin,
                "partner": request.caller.partner_id,
                "reason": request.reason,
                "from": PackState.ACTIVE.value,
                "to": PackState.WITHDRAWN.value,
            }
        )
        if not await self.repository.withdraw_product(request.gtin, entry):
            raise Conflict(f"Product {request.gtin} is already withdrawn.", code="product.withdrawn")
        return rs_pb.WithdrawProductResponse(gtin=request.gtin, withdrawn_at=now.isoformat())
