"""gRPC face of recall-status: translates messages and calls the repository.

Past 500 lines because it is the one servicer of RecallStatusService, already split off in part
(``notification_rpcs``, ``custody_rpcs``); what remains translates for products and packs,
alerts, recalls, and history and audit, and would be cut at its ``# --`` headings the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson

from verinet.callers import Role
from verinet.common.v1 import common_pb2 as common_pb
from verinet.cooperative import give_way
from verinet.errors import Conflict, Forbidden, InvalidInput, NotFound, VerinetError
from verinet.identifiers import validate_lot
from verinet.packs import PackState, validate_line
from verinet.partners import partner_names
from verinet.recall_status import audit, event_store, locations, received_documents
from verinet.recall_status.alerts import Alert, AlertStore
from verinet.recall_status.custody_rpcs import CustodyRpcs
from verinet.recall_status.custody_store import CustodyScripts
from verinet.recall_status.notification_rpcs import NotificationRpcs
from verinet.recall_status.notifications import RecallAudit
from verinet.recall_status.pack_store import YIELD_EVERY_EVENTS, PackRepository, require_packs
from verinet.recall_status.pack_values import (
    DecommissionRecord,
    NewPack,
    PackChange,
    PackEventBatchData,
    PackEventData,
    PackValue,
    StoredPack,
)
from verinet.recall_status.recall_messages import (
    extended_recall,
    recall_letter,
    recall_message,
    recall_preview,
    recall_task,
    report_rows,
    status_report_message,
    units_by_location,
)
from verinet.recall_status.recall_model import (
    RecallScope,
    parse_time,
    recall_key,
    require_manufacturer,
)
from verinet.recall_status.recalls import RecallService
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.recall_status.visibility import history_for, shows_pack
from verinet.recall_status.webhook_keys import WebhookKeys
from verinet.rpc import RpcContext, translate_errors
from verinet.socket_calls import SocketMethod
from verinet.store import reply_bytes
from verinet.streamed_calls import CallStreamServer
from verinet.timestamps import utc
from verinet.wire import PROTO_FROM_STATE, STATE_FROM_PROTO, caller_of

#: The status reads' call stream, by its gRPC method name (also on a Unix socket).
STREAM_PACK_STATUSES = "/verinet.recall_status.v1.RecallStatusService/StreamPackStatuses"
#: The verification events' call stream, likewise.
STREAM_RECORD_PACK_EVENTS = "/verinet.recall_status.v1.RecallStatusService/StreamRecordPackEvents"

#: How each kind of pack event is recorded (``pack_values.RECORD_CODES``); an unspecified kind is a
#: bare sighting, so an event that says nothing never moves custody.
RECORD_CODE_OF_KIND = {
    rs_pb.PACK_EVENT_KIND_UNSPECIFIED: "S",
    rs_pb.PACK_EVENT_KIND_ATTEMPT: "A",
    rs_pb.PACK_EVENT_KIND_SIGHTING: "S",
    rs_pb.PACK_EVENT_KIND_STATE_CHANGE: "C",
}


def record_code(kind: int, possession_attested: bool) -> str:
    """A sighting with attested possession is ``P``; attestation changes nothing else."""
    code = RECORD_CODE_OF_KIND.get(kind, "S")  # type: ignore[call-overload]
    return "P" if code == "S" and possession_attested else code


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
        state=PROTO_FROM_STATE[record.state],
        partner_id=record.partner_id,
        location_gln=record.location_gln,
        at=record.at,
    )


def add_status(stored: StoredPack, add: Callable[..., rs_pb.PackStatus]) -> None:
    """Appends a found pack's ``PackStatus`` with ``add`` (a response's field, built in place)."""
    record = stored.record
    add(
        found=True,
        lot=record.lot,
        expiry=record.expiry,
        pack_state=PROTO_FROM_STATE[record.pack_state],
        lot_state=PROTO_FROM_STATE[record.lot_state],
        product_state=PROTO_FROM_STATE[record.product_state],
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


def json_object_of(raw: bytes, name: str) -> dict[str, Any]:
    """A JSON object field of a request (empty: no members); anything else is InvalidInput."""
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput(f'Failed to read "{name}": expected a JSON object.', code="body.field_type", field=name)
    return value


def recall_asked(request: Any) -> tuple[str, str, bool]:
    """What each call about one recall is asked with: the recall's id, the caller's partner id,
    and whether the caller is an admin (``RecallService`` checks ownership from them)."""
    return request.recall_id, request.caller.partner_id, caller_of(request.caller).is_admin


def lot_quantities(lots: Sequence[rs_pb.LotQuantity]) -> dict[str, int]:
    """Quantities on hand by lot, each lot once (a GS1 lot)."""
    out: dict[str, int] = {}
    for index, entry in enumerate(lots):
        try:
            lot = validate_lot(entry.lot)
        except VerinetError as error:
            error.field = f"lots[{index}].lot"
            raise
        if lot in out:
            raise InvalidInput(f'Failed to read "lots[{index}]": lot {lot!r} is named twice; expected each lot once.', code="recall.duplicate_lot", field=f"lots[{index}]")
        out[lot] = entry.quantity
    return out


class RecallStatusServicer(NotificationRpcs, CustodyRpcs, rs_grpc.RecallStatusServiceServicer):
    def __init__(
        self,
        repository: PackRepository,
        alerts: AlertStore,
        max_packs_per_request: int,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        notifier: Any = None,
        subscriptions: Any = None,
        webhook_keys: WebhookKeys | None = None,
    ) -> None:
        self.repository = repository
        self.webhook_keys = webhook_keys
        self.alerts = alerts
        self.notifier = notifier
        self.subscriptions = subscriptions
        self.call_streams = CallStreamServer()
        redis = repository.redis
        self.custody_scripts = CustodyScripts(redis)
        recall_audit = RecallAudit(redis)

        async def audit_recall(recall_id: str, entry: dict[str, Any]) -> None:
            await recall_audit.append(recall_id, entry)

        async def recall_owner(recall_id: str) -> str | None:
            owner = reply_bytes(await redis.hget(recall_key(recall_id), "owner"))
            return owner.decode() if owner else None

        self.recall_owner = recall_owner

        async def nobody(*args: Any, **kwargs: Any) -> None:
            return None

        async def no_deliveries(recall_id: str) -> dict[str, float]:
            return {}

        self.recalls = RecallService(
            redis=redis,
            packs=repository,
            enqueue=notifier.enqueue if notifier is not None else nobody,
            audit=audit_recall,
            delivered_at=getattr(notifier, "delivered_at", None) or no_deliveries,
            partner_names=functools.partial(partner_names, redis),
        )
        self.max_packs = max_packs_per_request
        self.now = now

    @translate_errors
    async def RegisterProduct(self, request: rs_pb.RegisterProductRequest, context: RpcContext) -> rs_pb.RegisterProductResponse:
        if not caller_of(request.caller).has_role(Role.MANUFACTURER):
            raise Forbidden("Only manufacturers register products.", code="auth.role")
        product, created = await self.repository.register_product(
            request.gtin, request.caller.partner_id, request.name, self.now(), dict(request.attributes)
        )
        return rs_pb.RegisterProductResponse(
            gtin=product.gtin,
            owner_partner_id=product.owner_partner_id,
            name=product.name,
            created=created,
            attributes=product.attributes,
        )

    @translate_errors
    async def GetProduct(self, request: rs_pb.GetProductRequest, context: RpcContext) -> rs_pb.GetProductResponse:
        product = await self.repository.require_owned_product(
            request.gtin, request.caller.partner_id, is_admin=caller_of(request.caller).is_admin
        )
        return rs_pb.GetProductResponse(
            gtin=product.gtin,
            owner_partner_id=product.owner_partner_id,
            name=product.name,
            state=product.state.value,
            created_at=product.created_at,
            attributes=product.attributes,
        )

    @translate_errors
    async def GetWebhookKeys(self, request: rs_pb.GetWebhookKeysRequest, context: RpcContext) -> rs_pb.GetWebhookKeysResponse:
        keys = self.webhook_keys.keys.jwks()["keys"] if self.webhook_keys else []
        return rs_pb.GetWebhookKeysResponse(keys=[rs_pb.Jwk(**jwk) for jwk in keys])

    @translate_errors
    async def QueryEvents(self, request: rs_pb.QueryEventsRequest, context: RpcContext) -> rs_pb.QueryEventsResponse:
        wanted = event_store.EventQuery(
            match_epc=set(request.match_epc),
            match_any_epc=set(request.match_any_epc),
            match_parent_id=set(request.match_parent_id),
            biz_steps=set(request.eq_biz_step),
            dispositions=set(request.eq_disposition),
            biz_locations=set(request.eq_biz_location),
            read_points=set(request.eq_read_point),
            event_ids=set(request.eq_event_id),
            biz_transactions=set(request.eq_biz_transaction),
            captured_by=request.caller.partner_id if request.captured_by_caller else "",
            ge_time=request.ge_event_time if request.HasField("ge_event_time") else None,
            lt_time=request.lt_event_time if request.HasField("lt_event_time") else None,
        )
        per_page = min(max(request.per_page or 30, 1), event_store.MAX_PER_PAGE)
        events, token = await event_store.query(
            self.repository.redis, request.caller.partner_id, caller_of(request.caller).is_admin, wanted, per_page,
            request.page_token,
        )  # fmt: skip
        return rs_pb.QueryEventsResponse(events=[orjson.dumps(e) for e in events], next_page_token=token)

    @translate_errors
    async def PutLocations(self, request: rs_pb.PutLocationsRequest, context: RpcContext) -> rs_pb.PutLocationsResponse:
        own = set(request.caller.glns)
        for entry in request.locations:
            if entry.gln not in own and not caller_of(request.caller).is_admin:
                raise Forbidden(
                    f"GLN {entry.gln} is not one of your GLNs: only its partner names a location.",
                    code="location.foreign_gln",
                    field="gln",
                )
        stored = await locations.store(
            self.repository.redis,
            [
                locations.LocationData(e.gln, e.name, e.street, e.city, e.state, e.postal_code, e.country_code)
                for e in request.locations
            ],
        )
        return rs_pb.PutLocationsResponse(stored=stored)

    @translate_errors
    async def CommissionPacks(self, request: rs_pb.CommissionPacksRequest, context: RpcContext) -> rs_pb.CommissionPacksResponse:
        production = list(request.production)
        if production and len(production) != len(request.packs):
            raise InvalidInput("production must be empty or have one entry per pack.", field="production")
        now = self.now().timestamp()
        packs = [
            NewPack(
                p.gtin,
                p.serial,
                p.lot,
                p.expiry,
                validate_line(production[i].line) if production else "",
                (production[i].commissioned_at or now) if production else now,
            )
            for i, p in enumerate(request.packs)
        ]
        require_packs(packs, self.max_packs)
        is_admin = caller_of(request.caller).is_admin
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
    async def GetPackStatus(self, request: rs_pb.GetPackStatusRequest, context: RpcContext) -> rs_pb.GetPackStatusResponse:
        return await self._pack_statuses(request)

    async def StreamPackStatuses(self, request_iterator: AsyncIterator[rs_pb.GetPackStatusRequest], context: RpcContext) -> None:
        await self.call_streams.serve(context, self._pack_statuses, rs_pb.GetPackStatusResponse, "StreamPackStatuses")

    def socket_methods(self) -> dict[str, SocketMethod]:
        """The call streams also served on a Unix socket (``verinet.socket_calls``)."""

        async def statuses(context: Any) -> None:
            await self.call_streams.serve(context, self._pack_statuses, rs_pb.GetPackStatusResponse, "StreamPackStatuses")

        async def events(context: Any) -> None:
            await self.call_streams.serve(
                context, self._record_pack_events, rs_pb.RecordPackEventsResponse, "StreamRecordPackEvents"
            )

        return {
            STREAM_PACK_STATUSES: SocketMethod(rs_pb.GetPackStatusRequest.FromString, statuses),
            STREAM_RECORD_PACK_EVENTS: SocketMethod(rs_pb.RecordPackEventsRequest.FromString, events),
        }

    def drain(self) -> None:
        """Sends the verifiers' open call streams elsewhere (on SIGTERM, before the server stops)."""
        self.call_streams.drain()

    async def _pack_statuses(self, request: rs_pb.GetPackStatusRequest) -> rs_pb.GetPackStatusResponse:
        owners: dict[str, str] = {}
        records = await self.repository.statuses(
            [(p.gtin, p.serial) for p in request.packs],
            with_decommission=request.with_decommission,
            owners=owners,
        )
        response = rs_pb.GetPackStatusResponse()
        add = response.statuses.add
        for i, stored in enumerate(records):
            if stored is None:  # the product's owner still learns of scans of serials it never made
                add(owner_partner_id=owners.get(request.packs[i].gtin, ""))
            else:
                add_status(stored, add)
        return response

    @translate_errors
    async def ApplyPackChanges(self, request: rs_pb.ApplyPackChangesRequest, context: RpcContext) -> rs_pb.ApplyPackChangesResponse:
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
    async def RecordAlerts(self, request: rs_pb.RecordAlertsRequest, context: RpcContext) -> rs_pb.RecordAlertsResponse:
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
    async def ListAlerts(self, request: rs_pb.ListAlertsRequest, context: RpcContext) -> rs_pb.ListAlertsResponse:
        alerts = await self.alerts.list(
            viewer_id=request.caller.partner_id,
            is_admin=caller_of(request.caller).is_admin,
            gtin=request.gtin,
            partner_id=request.partner_id,
            code=request.code,
            status=request.status,
            limit=request.limit,
        )
        viewer, is_admin = request.caller.partner_id, caller_of(request.caller).is_admin
        messages = [alert_message(a.seen_by(viewer, is_admin)) for a in alerts]
        # the names partners gave their GLNs (EPCIS Location master data), shown beside them
        named = await locations.lookup(self.repository.redis, {m.location_gln for m in messages if m.location_gln})
        for message in messages:
            if message.location_gln in named:
                message.location_name = named[message.location_gln].name
        return rs_pb.ListAlertsResponse(alerts=messages)

    @translate_errors
    async def CloseAlert(self, request: rs_pb.CloseAlertRequest, context: RpcContext) -> rs_pb.CloseAlertResponse:
        closed = await self.alerts.close(
            request.alert_id,
            by=request.caller.partner_id,
            is_admin=caller_of(request.caller).is_admin,
            reason=request.reason,
            now=self.now(),
        )
        return rs_pb.CloseAlertResponse(
            alert=alert_message(closed.seen_by(request.caller.partner_id, caller_of(request.caller).is_admin))
        )

    @translate_errors
    async def WithdrawProduct(self, request: rs_pb.WithdrawProductRequest, context: RpcContext) -> rs_pb.WithdrawProductResponse:
        await self.repository.require_owned_product(
            request.gtin, request.caller.partner_id, is_admin=caller_of(request.caller).is_admin
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

    # -- recalls ----------------------------------------------------------------------------

    @staticmethod
    def _scope(request: rs_pb.CreateRecallRequest) -> RecallScope:
        return RecallScope(
            gtins=tuple(dict.fromkeys(request.gtins)),
            lots=tuple(dict.fromkeys(request.lots)),
            packs=tuple(dict.fromkeys((p.gtin, p.serial) for p in request.packs)),
            line=validate_line(request.line),
            window_start=parse_time(request.window_start, "window_start"),
            window_end=parse_time(request.window_end, "window_end"),
        )

    @translate_errors
    async def CreateRecall(self, request: rs_pb.CreateRecallRequest, context: RpcContext) -> rs_pb.CreateRecallResponse:
        require_manufacturer(request.caller.roles)
        recall = await self.recalls.create(
            owner=request.caller.partner_id,
            is_admin=caller_of(request.caller).is_admin,
            scope=self._scope(request),
            recall_class=request.recall_class,
            reason=request.reason,
            depth=request.depth or "retail",
            mock=request.mock,
            strategy=json_object_of(request.strategy_json, "strategy"),
        )
        return rs_pb.CreateRecallResponse(
            recall_id=recall["id"],
            units=recall["units"],
            mock=recall["mock"],
            status=recall["status"],
            units_by_location=units_by_location(recall["units_by_location"]),
            units_not_yet_shipped=recall["units_not_yet_shipped"],
            unknown_units=recall["unknown_units"],
        )

    @translate_errors
    async def PreviewRecall(self, request: rs_pb.CreateRecallRequest, context: RpcContext) -> rs_pb.PreviewRecallResponse:
        require_manufacturer(request.caller.roles)
        preview = await self.recalls.preview(request.caller.partner_id, caller_of(request.caller).is_admin, self._scope(request))
        return recall_preview(preview)

    @translate_errors
    async def ListRecalls(self, request: rs_pb.ListRecallsRequest, context: RpcContext) -> rs_pb.ListRecallsResponse:
        require_manufacturer(request.caller.roles)
        recalls = await self.recalls.list(
            request.caller.partner_id, caller_of(request.caller).is_admin, request.status, request.limit
        )
        return rs_pb.ListRecallsResponse(
            recalls=[
                rs_pb.RecallSummary(
                    id=r["id"], recall_class=r["class"], reason=r["reason"], depth=r["depth"], mock=r["mock"],
                    status=r["status"], published_at=r["published_at"], units=r["units"],
                )
                for r in recalls
            ]
        )  # fmt: skip

    @translate_errors
    async def GetRecall(self, request: rs_pb.GetRecallRequest, context: RpcContext) -> rs_pb.GetRecallResponse:
        recall = await self.recalls.get(*recall_asked(request))
        return rs_pb.GetRecallResponse(recall=recall_message(recall))

    @translate_errors
    async def ExtendRecall(self, request: rs_pb.ExtendRecallRequest, context: RpcContext) -> rs_pb.ExtendRecallResponse:
        require_manufacturer(request.caller.roles)
        recall = await self.recalls.extend(*recall_asked(request), self._scope(request.scope))
        return extended_recall(recall)

    @translate_errors
    async def CloseRecall(self, request: rs_pb.CloseRecallRequest, context: RpcContext) -> rs_pb.CloseRecallResponse:
        require_manufacturer(request.caller.roles)
        recall = await self.recalls.close(*recall_asked(request), request.reason)
        return rs_pb.CloseRecallResponse(recall=recall_message(recall))

    @translate_errors
    async def UpdateRecallStrategy(self, request: rs_pb.UpdateRecallStrategyRequest, context: RpcContext) -> rs_pb.UpdateRecallStrategyResponse:
        require_manufacturer(request.caller.roles)
        changes = json_object_of(request.changes_json, "strategy")
        recall = await self.recalls.set_strategy(*recall_asked(request), changes)
        return rs_pb.UpdateRecallStrategyResponse(recall=recall_message(recall))

    @translate_errors
    async def GetRecallStatusReport(self, request: rs_pb.GetRecallStatusReportRequest, context: RpcContext) -> rs_pb.GetRecallStatusReportResponse:
        require_manufacturer(request.caller.roles)
        report = await self.recalls.status_report(
            *recall_asked(request),
            at=parse_time(request.at, "at"),
            start=parse_time(request.period_start, "from"),
        )
        return status_report_message(report)

    @translate_errors
    async def GetRecallNotice(self, request: rs_pb.GetRecallNoticeRequest, context: RpcContext) -> rs_pb.GetRecallNoticeResponse:
        letter = await self.recalls.notice_letter(*recall_asked(request), request.partner_id)
        return recall_letter(letter)

    @translate_errors
    async def RecordEffectivenessCheck(self, request: rs_pb.RecordEffectivenessCheckRequest, context: RpcContext) -> rs_pb.EffectivenessCheck:
        require_manufacturer(request.caller.roles)
        check = await self.recalls.record_check(
            *recall_asked(request),
            partner_id=request.partner_id,
            checked_by=request.checked_by,
            method=request.method,
            result=request.result,
            note=request.note,
        )
        return rs_pb.EffectivenessCheck(**check)

    @translate_errors
    async def StreamRecallReport(self, request: rs_pb.GetRecallRequest, context: RpcContext) -> None:
        """The recall first, then its rows chunk by chunk; a failure midway ends the stream
        with an error status, never with a short report that looks complete."""
        recall, chunks = await self.recalls.report(*recall_asked(request))
        async with contextlib.aclosing(chunks):  # a cancelled call stops its reads at once
            await context.write(rs_pb.StreamRecallReportResponse(recall=recall_message(recall)))
            async for rows in chunks:
                await context.write(report_rows(rows))

    @translate_errors
    async def AcknowledgeRecall(self, request: rs_pb.AcknowledgeRecallRequest, context: RpcContext) -> rs_pb.AcknowledgeRecallResponse:
        outcomes = await self.recalls.acknowledge(
            request.recall_id,
            request.caller.partner_id,
            [(p.gtin, p.serial) for p in request.packs],
            request.action,
            note=request.note,
            lots=lot_quantities(request.lots),
        )
        return rs_pb.AcknowledgeRecallResponse(
            results=[
                common_pb.PackResult(index=i, pack=request.packs[i], ok=ok, code=code, message=message)
                for i, (ok, code, message) in enumerate(outcomes)
            ]
        )

    @translate_errors
    async def ListRecallTasks(self, request: rs_pb.ListRecallTasksRequest, context: RpcContext) -> rs_pb.ListRecallTasksResponse:
        tasks = await self.recalls.tasks(request.caller.partner_id)
        return rs_pb.ListRecallTasksResponse(tasks=[recall_task(task) for task in tasks])

    # -- locations, history, audit ----------------------------------------------------------

    @translate_errors
    async def RecordPackEvents(self, request: rs_pb.RecordPackEventsRequest, context: RpcContext) -> rs_pb.RecordPackEventsResponse:
        return await self._record_pack_events(request)

    async def StreamRecordPackEvents(self, request_iterator: AsyncIterator[rs_pb.RecordPackEventsRequest], context: RpcContext) -> None:
        await self.call_streams.serve(context, self._record_pack_events, rs_pb.RecordPackEventsResponse, "StreamRecordPackEvents")

    async def _record_pack_events(self, request: rs_pb.RecordPackEventsRequest) -> rs_pb.RecordPackEventsResponse:
        # A few (kind, attested) pairs in a batch: each pair's record code is looked up once.
        code_of: dict[tuple[int, bool], str] = {}
        events = []
        for count, e in enumerate(request.events, start=1):
            pair = (e.kind, e.possession_attested)
            code = code_of.get(pair)
            if code is None:
                code = code_of[pair] = record_code(*pair)
            events.append(PackEventData(e.gtin, e.serial, e.event, e.partner_id, e.gln, e.at, e.detail, code, e.outcome))
            if count % YIELD_EVERY_EVENTS == 0:
                # Read in slices too, like record_events formats them: a status read waiting
                # meanwhile is held up by a slice, not by the whole batch.
                await give_way()
        recorded = await self.repository.record_events(events) if events else 0
        for b in request.batches:
            codes = {kind: record_code(kind, b.possession_attested) for kind in set(b.kinds)}
            recorded += await self.repository.record_event_batch(
                PackEventBatchData(
                    b.event, b.partner_id, b.gln, b.at, list(b.gtins), list(b.serials), list(b.details),
                    [codes[kind] for kind in b.kinds],
                )
            )  # fmt: skip
        return rs_pb.RecordPackEventsResponse(recorded=recorded)

    @translate_errors
    async def GetPackHistory(self, request: rs_pb.GetPackHistoryRequest, context: RpcContext) -> rs_pb.GetPackHistoryResponse:
        caller = request.caller
        stored = (await self.repository.statuses([(request.gtin, request.serial)]))[0]
        not_found = NotFound(
            f"No history for serial {request.serial!r} of GTIN {request.gtin} that you may see.",
            code="pack.not_found",
        )
        if stored is None:
            received = await received_documents.history(self.repository.redis, caller.partner_id, request.gtin, request.serial)
            if received is None:  # not hosted here, and in no document the caller received
                raise not_found
            return rs_pb.GetPackHistoryResponse(
                gtin=request.gtin,
                serial=request.serial,
                lot=received["lot"],
                expiry=received["expiry"],
                received=received["received"],
                events=[rs_pb.HistoryEvent(entry=orjson.dumps(entry)) for entry in received["events"]],
            )
        events = await self.repository.history(request.gtin, request.serial)
        owner = stored.record.owner_partner_id
        if caller_of(caller).is_admin or owner == caller.partner_id:
            value = PackValue.decode(stored.revision)
            commissioned: dict[str, object] = {
                "event": "commissioning",
                "partner": owner,
                "gln": "",
                "at": utc(value.commissioned_at) if value.commissioned_minute else "",
                "detail": f"line {value.line}" if value.line else "",
            }
            events = [commissioned, *events]
        else:
            events = history_for(events, caller.partner_id, tuple(caller.glns))
            if not shows_pack(events):
                raise not_found
        # names and addresses of the GLNs this caller may see (Location master data)
        known = await locations.lookup(self.repository.redis, (str(e.get("gln", "")) for e in events))
        return rs_pb.GetPackHistoryResponse(
            gtin=request.gtin,
            serial=request.serial,
            lot=stored.record.lot,
            expiry=stored.record.expiry,
            state=stored.record.pack_state.value,
            events=[
                rs_pb.HistoryEvent(
                    entry=orjson.dumps(entry),
                    location=rs_pb.LocationDetails(**place.as_dict()) if (place := known.get(str(entry.get("gln", "")))) else None,
                )
                for entry in events
            ],
        )

    @translate_errors
    async def ListAudit(self, request: rs_pb.ListAuditRequest, context: RpcContext) -> rs_pb.ListAuditResponse:
        caller = request.caller
        is_admin = caller_of(caller).is_admin
        if bool(request.gtin) == bool(request.recall_id):
            raise InvalidInput("Name exactly one chain: gtin or recall.", code="audit.chain")
        if request.gtin:
            await self.repository.require_owned_product(request.gtin, caller.partner_id, is_admin=is_admin)
        else:
            recall = await self.recalls.get(request.recall_id, caller.partner_id, is_admin)
            if not is_admin and recall.get("owner") != caller.partner_id:
                raise NotFound(f"No recall with id {request.recall_id!r}.", code="recall.not_found")
        key = audit.chain_key(gtin=request.gtin, recall_id=request.recall_id)
        limit = min(request.limit or 100, 10_000)
        found = await audit.entries(self.repository.redis, key, limit)
        return rs_pb.ListAuditResponse(
            chain=key, entries=[rs_pb.AuditEntry(id=entry_id, hash=link, entry=entry) for entry_id, link, entry in found]
        )

    @translate_errors
    async def VerifyAudit(self, request: rs_pb.VerifyAuditRequest, context: RpcContext) -> rs_pb.VerifyAuditResponse:
        if not caller_of(request.caller).is_admin:
            raise Forbidden("Only admins verify the audit chains.", code="auth.role")
        verified = await audit.verify_all(self.repository.redis)
        return rs_pb.VerifyAuditResponse(
            ok=verified["ok"],
            chains=verified["chains"],
            broken=[rs_pb.AuditChainCheck(**check) for check in verified["broken"]],
            entries_checked=verified["entries_checked"],
        )
