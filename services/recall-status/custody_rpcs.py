"""gRPC methods of recall-status for EPCIS custody capture (mixin).

``RecallStatusServicer`` inherits :class:`CustodyRpcs`; ``CaptureEvents`` only translates the
streamed messages and drives a :class:`~verinet.recall_status.custody.Capture`;
``RecordReceivedDocument`` hands a buyer's received document to
:mod:`~verinet.recall_status.received_documents`. It uses, on the servicer instance, ``repository`` (a ``PackRepository``), ``custody_scripts`` (the
capture scripts, registered once) and ``now`` (the clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

from verinet.callers import HOLDER_ROLES
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Forbidden, InvalidInput
from verinet.recall_status.custody import Capture
from verinet.recall_status.custody_model import Actor, CaptureOutcome, CustodyEvent, Party
from verinet.recall_status.custody_store import CustodyScripts
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.received_documents import ReceivedDocument, record
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import RpcContext, translate_errors
from verinet.wire import caller_of, fields_of

#: Roles that may capture custody events (trading partners holding goods).
CAPTURE_ROLES = HOLDER_ROLES


def actor_from(caller: common_pb.Caller) -> Actor:
    if not any(role in CAPTURE_ROLES for role in caller.roles):
        raise Forbidden(
            f"Only partners with one of the roles {', '.join(CAPTURE_ROLES)} capture EPCIS events.",
            code="auth.role",
        )
    return caller_of(caller)


def event_from(message: rs_pb.CustodyEvent) -> CustodyEvent:
    return CustodyEvent(
        index=message.index,
        event_id=message.event_id,
        event_hash=message.event_hash,
        type=message.type,
        action=message.action,
        biz_step=message.biz_step,
        disposition=message.disposition,
        event_time=message.event_time,
        location_gln=message.location_gln,
        units=tuple(message.units),
        containers=tuple(message.containers),
        parent=message.parent,
        sources=tuple(Party(p.type, p.gln) for p in message.sources),
        destinations=tuple(Party(p.type, p.gln) for p in message.destinations),
        biz_transactions=tuple(message.biz_transactions),
        lot=message.lot,
        expiry=message.expiry,
        notes=tuple(message.notes),
    )


def outcome_message(outcome: CaptureOutcome) -> rs_pb.CaptureEventsResponse:
    counts = ("events", "duplicates", "unit_events", "commissioned", "state_changes", "refused")
    return rs_pb.CaptureEventsResponse(
        **fields_of(outcome, "applied", *counts),
        refusals=[
            rs_pb.EventRefusal(**fields_of(r, "index", "event_id", "code", "message", "kind"))
            for r in outcome.refusals
        ],
    )


class CustodyRpcs:
    """CaptureEvents and RecordReceivedDocument; see the module docstring."""

    repository: PackRepository
    custody_scripts: CustodyScripts
    now: Callable[[], dt.datetime]

    @translate_errors
    async def CaptureEvents(self, request_iterator: AsyncIterator[rs_pb.CaptureEventsRequest], context: RpcContext) -> rs_pb.CaptureEventsResponse:
        capture: Capture | None = None
        commit = False
        try:
            async for chunk in request_iterator:
                if capture is None:
                    capture = Capture(self.repository, actor_from(chunk.caller), self.now(), scripts=self.custody_scripts)
                    await capture.begin()
                await capture.add([event_from(e) for e in chunk.events])
                if chunk.commit:
                    commit = True
                    break
            if capture is None:
                raise InvalidInput("The capture stream was empty.", code="epcis.empty")
            return outcome_message(await capture.finish(commit))
        finally:
            if capture is not None:
                await capture.release()

    @translate_errors
    async def RecordReceivedDocument(self, request: rs_pb.RecordReceivedDocumentRequest, context: RpcContext) -> rs_pb.RecordReceivedDocumentResponse:
        document = ReceivedDocument(
            reference=request.reference,
            receiver_gln=request.receiver_gln,
            events=tuple(event_from(e) for e in request.events),
            units=tuple(dict.fromkeys(request.units)),
            received_at=request.received_at,
        )
        outcome = await record(self.repository, actor_from(request.caller), self.now(), document)
        return rs_pb.RecordReceivedDocumentResponse(
            duplicate=outcome.duplicate, units=outcome.units, received=outcome.received, recorded=outcome.recorded, events=outcome.events
        )
