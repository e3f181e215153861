"""gRPC face of the verifier: asks the route and the repository, decides, signs.

Past 500 lines, two ideas behind one servicer: the LMS path (routes, status reads, batches,
forwarding, signing) and the FMD pack operations (``_pack_operation``: reader, writer, events,
alerts). It would be cut between them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from verinet.callers import Caller
from verinet.coalesce import Coalescer
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import BadUpstream, Conflict, InvalidInput, NotFound, UpstreamTimeout
from verinet.lifecycle import FAILED_CHECK_CODES, Decision, LastDecommission, Operation
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.pack_operations import Change, PackQuestion, ReadPack, run_operation
from verinet.packs import PackRecord, PackState
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import STREAM_RENEWAL_SECONDS, RpcContext, call, translate_errors
from verinet.signing import KeyRing, ResponseSigner
from verinet.socket_calls import SocketMethod, socket_stream_opener
from verinet.streamed_calls import CallStreamServer, StreamedCalls, set_error
from verinet.verifier.directory_watch import watch_directory
from verinet.verifier.events import EventBatcher
from verinet.verifier.routes import (
    REMOTE_CONFORMANCE_HEADER,
    RouteCache,
    connectivity_responder,
    is_relayed,
    relay_headers,
    relayed_content_type,
)
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc
from verinet.verifier.verdicts import connectivity_body, lms_body, lms_verdict
from verinet.wire import PROTO_FROM_STATE, STATE_FROM_PROTO, caller_of

#: The two call streams the verifier takes part in, by their gRPC method names (also the
#: names they go by on a Unix socket).
STREAM_VERIFY_LMS_BATCHES = "/verinet.verifier.v1.VerifierService/StreamVerifyLmsBatches"
STREAM_PACK_STATUSES = "/verinet.recall_status.v1.RecallStatusService/StreamPackStatuses"
STREAM_RECORD_PACK_EVENTS = "/verinet.recall_status.v1.RecallStatusService/StreamRecordPackEvents"

BULK_SECONDS_PER_PACK = 0.002
OPERATION_NAMES = {
    Operation.VERIFY: "verify",
    Operation.DECOMMISSION: "decommission",
    Operation.REACTIVATE: "reactivate",
}


def read_pack(gtin: str, serial: str, status: rs_pb.PackStatus) -> ReadPack:
    last = None
    if status.HasField("last_decommission"):
        d = status.last_decommission
        last = LastDecommission(
            state=STATE_FROM_PROTO[d.state],
            partner_id=d.partner_id,
            location_gln=d.location_gln,
            at=dt.datetime.fromtimestamp(d.at, dt.UTC),
        )
    return ReadPack(record_from_status(gtin, serial, status), last, status.revision, status.owner_partner_id)


def record_from_status(gtin: str, serial: str, status: rs_pb.PackStatus) -> PackRecord | None:
    if not status.found:
        return None
    # Positional: this runs for every pack of a bulk call.
    return PackRecord(
        gtin,
        serial,
        status.lot,
        status.expiry,
        STATE_FROM_PROTO[status.pack_state],
        STATE_FROM_PROTO.get(status.lot_state, PackState.ACTIVE),
        STATE_FROM_PROTO.get(status.product_state, PackState.ACTIVE),
        status.owner_partner_id,
    )


def change_parts(
    operation: Operation, actor: Caller, transaction_id: str, at: float, before: PackState, after: PackState
) -> dict[str, Any]:
    """The ``PackChange`` fields besides the pack: new state, audit entry and, unless the pack
    becomes active again, who decommissioned it."""
    parts: dict[str, Any] = {
        "new_state": PROTO_FROM_STATE[after],
        "audit": rs_pb.AuditEvent(
            action=OPERATION_NAMES[operation],
            partner_id=actor.partner_id,
            location_gln=actor.location_gln,
            previous_state=PROTO_FROM_STATE[before],
            new_state=PROTO_FROM_STATE[after],
            transaction_id=transaction_id,
            at=at,
        ),
    }
    if after is not PackState.ACTIVE:
        parts["decommission"] = rs_pb.Decommission(
            state=PROTO_FROM_STATE[after],
            partner_id=actor.partner_id,
            location_gln=actor.location_gln,
            at=at,
        )
    return parts


def result_fields(decision: Decision) -> dict[str, Any]:
    """The ``PackResult`` fields a decision sets; fields at their default are left out."""
    fields: dict[str, Any] = {"ok": decision.ok, "code": decision.code, "message": decision.message}
    if decision.state_after is not None:
        fields["state"] = PROTO_FROM_STATE[decision.state_after]
    if decision.batch_status is not None:
        fields["batch_status"] = PROTO_FROM_STATE[decision.batch_status]
    if decision.warning:
        fields["warning"] = True
    return fields


def possession_attested(query: Mapping[str, str]) -> bool:
    """LMS ``ctrlPossessAtt=true``: the requestor attests that it holds the pack."""
    return query.get("ctrlPossessAtt", "").lower() == "true"


def event_kind(operation: Operation, decision: Decision) -> rs_pb.PackEventKind:
    """What a pack operation's event proves: a failed check is an attempt, a state change made
    is a state change, anything else (a verify, a refused change of a matched pack) a sighting."""
    if decision.code in FAILED_CHECK_CODES:
        return rs_pb.PACK_EVENT_KIND_ATTEMPT
    if operation is not Operation.VERIFY and decision.ok and decision.new_pack_state is not None:
        return rs_pb.PACK_EVENT_KIND_STATE_CHANGE
    return rs_pb.PACK_EVENT_KIND_SIGHTING


#: The answer of a pack operation: each carries one ``PackResult`` a pack in ``results``.
PackResponse = TypeVar(
    "PackResponse",
    verifier_pb.VerifyPacksResponse,
    verifier_pb.DecommissionPacksResponse,
    verifier_pb.ReactivatePacksResponse,
)

#: Time the verifier allows lookup beyond its per-hop forwarding deadline, to answer.
FORWARD_MARGIN_SECONDS = 0.2


def status_timeout() -> UpstreamTimeout:
    """What a GetPackStatus call past its deadline fails with (as ``verinet.rpc.call`` says it)."""
    return UpstreamTimeout("Failed to get an answer from an internal service in time.")


def set_item_error(result: verifier_pb.VerifyLmsResult, error: Exception) -> None:
    """A batch item's error, carried as a failed VerifyLms call would carry it."""
    set_error(result, error, "VerifyLmsBatch")


#: Where a verification saw a pack: the fields of its ``PackEvent`` (gtin, serial, partner_id,
#: gln, at, detail, kind, possession_attested, outcome).
Sighting = tuple[str, str, str, str, float, str, rs_pb.PackEventKind, bool, str]


def add_sighting(request: rs_pb.RecordPackEventsRequest, sighting: Sighting) -> None:
    """Builds ``sighting`` in place in the batch's request (built once, not copied in)."""
    gtin, serial, partner_id, gln, at, detail, kind, possession, outcome = sighting
    request.events.add(
        gtin=gtin, serial=serial, event="verification", partner_id=partner_id, gln=gln, at=at,
        detail=detail, kind=kind, possession_attested=possession, outcome=outcome,
    )  # fmt: skip


#: A batch's question for a hosted pack: the question, its pack, its route and its result.
Hosted = tuple[
    verifier_pb.VerifyLmsRequest, common_pb.PackIdentifier, lookup_pb.DirectoryEntry, verifier_pb.VerifyLmsResult
]


def not_hosted(gtin: str) -> NotFound:
    return NotFound(
        f"GTIN {gtin} is not hosted by this network, and questions from other networks are "
        "answered only for hosted GTINs (they are not forwarded again, so networks cannot loop).",
        code="route.not_hosted",
        field="gtin",
    )


def no_route(gtin: str) -> NotFound:
    return NotFound(
        f"No route for GTIN {gtin}: it is not in the lookup directory of this network.",
        code="route.not_found",
        field="gtin",
    )


class VerifierServicer(verifier_grpc.VerifierServiceServicer):
    def __init__(
        self,
        lookup: lookup_grpc.LookupServiceStub,
        recall_status: rs_grpc.RecallStatusServiceStub,
        keys: KeyRing,
        responder_gln: str,
        rpc_timeout: float,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        *,
        status_batch_in_flight: int = 2,
        status_batch_max: int = 256,
        streamed_calls: bool = True,
        status_sockets: Sequence[str] = (),
        watch_renew_seconds: float = STREAM_RENEWAL_SECONDS,
        pack_event_delay: float = 1.0,
    ) -> None:
        self.lookup = lookup
        self.recall_status = recall_status
        self.use_keys(keys)
        self.responder_gln = responder_gln
        self.rpc_timeout = rpc_timeout
        self.now = now
        self.routes: RouteCache[lookup_pb.DirectoryEntry] = RouteCache(
            self._load_route, watch=lambda: watch_directory(lookup, watch_renew_seconds)
        )
        # Lookup's per-hop forwarding deadline, learnt from its route answers.
        self.forward_timeout = rpc_timeout
        # Each sighting is built into the batch's request as its answer is made: sending a
        # batch then holds up no question (verinet.verifier.events).
        self.events: EventBatcher[Sighting, rs_pb.RecordPackEventsRequest] = EventBatcher(
            self._send_events, rs_pb.RecordPackEventsRequest, add_sighting, max_delay=pack_event_delay
        )
        # Status reads of LMS questions travel on one stream (False: unary GetPackStatus calls).
        # With ``status_sockets`` (recall-status's processes on this machine) that stream is a
        # Unix socket (verinet.socket_calls), else gRPC.
        open_status_stream: Callable[[], Any] = (
            socket_stream_opener(status_sockets, STREAM_PACK_STATUSES, rs_pb.GetPackStatusResponse.FromString)
            if status_sockets
            else recall_status.StreamPackStatuses
        )
        self.status_stream: StreamedCalls[rs_pb.GetPackStatusRequest, rs_pb.GetPackStatusResponse] | None = (
            StreamedCalls(open_status_stream, name="StreamPackStatuses") if streamed_calls else None
        )
        # The verification events' batches too, on recall-status's sockets when it shares the
        # machine (no gRPC call, and so none of gRPC's threads woken, for each batch); else
        # a unary RecordPackEvents call each.
        self.event_stream: StreamedCalls[rs_pb.RecordPackEventsRequest, rs_pb.RecordPackEventsResponse] | None = (
            StreamedCalls(
                socket_stream_opener(status_sockets, STREAM_RECORD_PACK_EVENTS, rs_pb.RecordPackEventsResponse.FromString),
                name="StreamRecordPackEvents",
            )
            if status_sockets
            else None
        )
        self.call_streams = CallStreamServer()
        # Pack status reads of LMS questions: concurrent ones share one GetPackStatus call
        # (0 in flight: one call each).
        self.statuses: Coalescer[tuple[str, str], rs_pb.PackStatus] | None = (
            Coalescer(
                self._send_status_batch, name="GetPackStatus", timeout_error=status_timeout,
                max_in_flight=status_batch_in_flight, max_batch=status_batch_max,
            )
            if status_batch_in_flight > 0
            else None
        )  # fmt: skip

    async def _send_status_batch(
        self, keys: list[tuple[str, str]], timeout: float
    ) -> Sequence[rs_pb.PackStatus]:
        # Packs added in place and the answer's statuses handed on as they are: no message
        # built to be copied, no list copied (a microsecond a question).
        request = rs_pb.GetPackStatusRequest()
        add = request.packs.add
        for gtin, serial in keys:
            add(gtin=gtin, serial=serial)
        if self.status_stream is not None:
            answer = await self.status_stream.call(request, timeout)
        else:
            answer = await call(self.recall_status.GetPackStatus, request, timeout=timeout)
        return answer.statuses

    async def _pack_statuses(self, keys: list[tuple[str, str]]) -> Sequence[rs_pb.PackStatus]:
        """Stored statuses of LMS questions' packs, read together with concurrent questions'."""
        if self.statuses is None:
            return await self._send_status_batch(keys, self.rpc_timeout)
        if len(keys) == 1:
            return [await self.statuses.submit(keys[0], self.rpc_timeout)]
        return await self.statuses.submit_many(keys, self.rpc_timeout)

    def use_keys(self, keys: KeyRing) -> None:
        """Sign with ``keys`` from now on (its newest key) and publish all of them: the key
        directory changed under the running service."""
        self.keys = keys
        self.signer = ResponseSigner(keys)

    async def aclose(self) -> None:
        """Waits for the reads in flight, then sends the pending events (on SIGTERM)."""
        if self.statuses is not None:
            await self.statuses.aclose()
        if self.status_stream is not None:
            await self.status_stream.aclose()
        await self.events.close()
        if self.event_stream is not None:
            await self.event_stream.aclose()

    async def _send_events(self, request: rs_pb.RecordPackEventsRequest, count: int) -> None:
        timeout = self.rpc_timeout + BULK_SECONDS_PER_PACK * count
        if self.event_stream is not None:
            await self.event_stream.call(request, timeout)
        else:
            await call(self.recall_status.RecordPackEvents, request, timeout=timeout)

    async def _load_route(self, gtin: str) -> tuple[lookup_pb.DirectoryEntry | None, float]:
        answer = await call(
            self.lookup.ResolveRoute,
            lookup_pb.ResolveRouteRequest(gtin=gtin),
            timeout=self.rpc_timeout,
        )
        if answer.forward_timeout_seconds > 0:
            self.forward_timeout = answer.forward_timeout_seconds
        return (answer.entry if answer.found else None), float(answer.cache_seconds)

    async def _route(self, gtin: str, *, fresh: bool = False) -> lookup_pb.DirectoryEntry:
        if fresh:
            self.routes.drop(gtin)
        route = await self.routes.get(gtin)
        if route is None:
            raise no_route(gtin)
        return route

    def _signed_relay(
        self,
        status: int,
        body: bytes,
        remote_headers: dict[str, str],
        remote: lookup_pb.DirectoryEntry,
        *,
        unchanged: bool = True,
        deviations: Sequence[str] = (),
    ) -> verifier_pb.SignedHttpResponse:
        """Signs a remote network's answer as the routing network, naming the remote party
        and carrying its own signature along (when the body is its own, unchanged)."""
        extra = relay_headers(
            remote.remote_base_url, remote.responder_gln, remote_headers, with_remote_signature=unchanged
        )
        if deviations:
            # A lenient profile relayed an answer that departs from LMS 1.3: say how, signed.
            extra[REMOTE_CONFORMANCE_HEADER] = ", ".join(deviations)
        content_type = relayed_content_type(remote_headers) if unchanged else "application/json"
        try:
            headers = self.signer.sign(body, status=status, content_type=content_type, extra_headers=extra)
        except InvalidInput as error:
            raise BadUpstream(
                f"Remote network {remote.remote_base_url} answered with headers that cannot be "
                f"signed on: {error.message}",
                code="upstream.bad_response",
            ) from None
        return verifier_pb.SignedHttpResponse(http_status=status, body=body, headers=headers)

    async def _forward_verification(
        self, request: verifier_pb.VerifyLmsRequest, route: lookup_pb.DirectoryEntry
    ) -> verifier_pb.SignedHttpResponse:
        forwarded = await call(
            self.lookup.ForwardVerification,
            lookup_pb.ForwardVerificationRequest(pack=request.pack, query=dict(request.query), caller=request.caller),
            timeout=self._forward_timeout(route) + FORWARD_MARGIN_SECONDS,
        )
        return self._signed_relay(
            forwarded.http_status,
            forwarded.body,
            dict(forwarded.headers),
            forwarded.remote,
            deviations=list(forwarded.conformance_deviations),
        )

    async def _route_or_forwarded(
        self,
        gtin: str,
        caller: common_pb.Caller,
        forward: Callable[[lookup_pb.DirectoryEntry], Awaitable[verifier_pb.SignedHttpResponse]],
    ) -> tuple[lookup_pb.DirectoryEntry, verifier_pb.SignedHttpResponse | None]:
        """The route of ``gtin``, and the answer ``forward`` brings back when that route leads to
        another network (None when the GTIN is hosted here). When lookup says a cached route
        has changed, the route is looked up once more, fresh, and followed."""
        route = await self._route(gtin)
        if route.route != lookup_pb.ROUTE_KIND_REMOTE:
            return route, None
        if is_relayed(caller.roles):
            raise not_hosted(gtin)
        try:
            return route, await forward(route)
        except Conflict as error:
            if error.code != "route.changed":
                raise
        route = await self._route(gtin, fresh=True)  # the cached route was stale
        if route.route != lookup_pb.ROUTE_KIND_REMOTE:
            return route, None
        return route, await forward(route)

    def _forward_timeout(self, route: lookup_pb.DirectoryEntry) -> float:
        """Lookup's per-hop deadline for this route (its remote-network profile's)."""
        if route.forward_timeout_seconds > 0:
            return route.forward_timeout_seconds
        return self.forward_timeout

    async def _forward_connectivity(
        self, request: verifier_pb.CheckConnectivityRequest, route: lookup_pb.DirectoryEntry
    ) -> verifier_pb.SignedHttpResponse:
        forwarded = await call(
            self.lookup.ForwardConnectivityCheck,
            lookup_pb.ForwardConnectivityCheckRequest(gtin=request.gtin, query=dict(request.query)),
            timeout=self._forward_timeout(route) + FORWARD_MARGIN_SECONDS,
        )
        headers = dict(forwarded.headers)
        if forwarded.http_status == 200 and connectivity_responder(forwarded.body) is None:
            # Reachable, but no responderGLN in the answer (LMS gives checkConnectivity no
            # body): report the responder the directory names for that network.
            body = connectivity_body(forwarded.remote.responder_gln)
            return self._signed_relay(200, body, headers, forwarded.remote, unchanged=False)
        return self._signed_relay(forwarded.http_status, forwarded.body, headers, forwarded.remote)

    def _signed(self, body: bytes, status: int = 200) -> verifier_pb.SignedHttpResponse:
        headers = self.signer.sign(body, status=status)
        return verifier_pb.SignedHttpResponse(http_status=status, body=body, headers=headers)

    def _hosted_answer(
        self,
        request: verifier_pb.VerifyLmsRequest,
        pack: common_pb.PackIdentifier,
        route: lookup_pb.DirectoryEntry,
        status: rs_pb.PackStatus,
        now: dt.datetime,
        into: verifier_pb.SignedHttpResponse,
    ) -> None:
        """Writes the signed verdict for a hosted pack (``request.pack``, read once by the
        caller), from its stored status, into ``into`` (untouched if it fails); records where
        the pack was seen."""
        gtin, serial = pack.gtin, pack.serial
        record = record_from_status(gtin, serial, status)
        verdict = lms_verdict(record, pack.lot, pack.expiry, now.date())
        responder = route.responder_gln or self.responder_gln
        body = lms_body(verdict, responder, request.corr_uuid, now, request.answer_members)
        headers = self.signer.sign(body, status=200)
        into.http_status = 200
        into.body = body
        into_headers = into.headers
        for name, value in headers.items():  # a message map's update() is Python's generic one
            into_headers[name] = value
        if record is not None:  # an unknown serial has no history to record it in
            self.events.add(
                (
                    gtin,
                    serial,
                    request.caller.partner_id,
                    request.req_gln,
                    now.timestamp(),
                    request.context,
                    rs_pb.PACK_EVENT_KIND_ATTEMPT if verdict.failed_check else rs_pb.PACK_EVENT_KIND_SIGHTING,
                    possession_attested(request.query),
                    verdict.outcome,
                )
            )

    @translate_errors
    async def VerifyLms(self, request: verifier_pb.VerifyLmsRequest, context: RpcContext) -> verifier_pb.VerifyLmsResponse:
        pack = request.pack
        route, forwarded = await self._route_or_forwarded(
            pack.gtin, request.caller, lambda remote: self._forward_verification(request, remote)
        )
        if forwarded is not None:
            return verifier_pb.VerifyLmsResponse(response=forwarded)
        (status,) = await self._pack_statuses([(pack.gtin, pack.serial)])
        answer = verifier_pb.VerifyLmsResponse()
        self._hosted_answer(request, pack, route, status, self.now(), answer.response)
        return answer

    async def _routes_of(self, gtins: set[str]) -> dict[str, lookup_pb.DirectoryEntry | Exception]:
        """The route of each GTIN from the cache, loading the missing ones concurrently; a
        GTIN whose route cannot be had maps to the error VerifyLms would raise for it."""
        routes: dict[str, lookup_pb.DirectoryEntry | Exception] = {}
        missing = []
        for gtin in gtins:
            cached = self.routes.cached(gtin)
            if cached is None:
                missing.append(gtin)
            else:
                routes[gtin] = cached
        if missing:
            loaded = await asyncio.gather(*(self._route(gtin) for gtin in missing), return_exceptions=True)
            for gtin, route in zip(missing, loaded, strict=True):
                if isinstance(route, BaseException) and not isinstance(route, Exception):
                    raise route  # cancelled
                routes[gtin] = route
        return routes

    @translate_errors
    async def VerifyLmsBatch(self, request: verifier_pb.VerifyLmsBatchRequest, context: RpcContext) -> verifier_pb.VerifyLmsBatchResponse:
        return await self._answer_batch(request)

    async def StreamVerifyLmsBatches(self, request_iterator: AsyncIterator[verifier_pb.VerifyLmsBatchRequest], context: RpcContext) -> None:
        await self.call_streams.serve(
            context, self._answer_batch, verifier_pb.VerifyLmsBatchResponse, "StreamVerifyLmsBatches"
        )

    def drain(self) -> None:
        """Sends the gateways' open call streams elsewhere (on SIGTERM, before the server stops)."""
        self.call_streams.drain()

    def socket_methods(self) -> dict[str, SocketMethod]:
        """The call streams also served on a Unix socket (``verinet.socket_calls``)."""

        async def batches(context: Any) -> None:
            await self.call_streams.serve(
                context, self._answer_batch, verifier_pb.VerifyLmsBatchResponse, "StreamVerifyLmsBatches"
            )

        return {STREAM_VERIFY_LMS_BATCHES: SocketMethod(verifier_pb.VerifyLmsBatchRequest.FromString, batches)}

    async def _answer_batch(self, request: verifier_pb.VerifyLmsBatchRequest) -> verifier_pb.VerifyLmsBatchResponse:
        """Each question gets what VerifyLms would answer it, except that questions for
        GTINs routed to another network are answered ``remote`` (the caller asks VerifyLms
        for those), so no answer waits for a remote network. Hosted packs are read in one
        GetPackStatus call, shared with concurrent questions."""
        questions = request.requests
        # Each question's pack read once: reading a message field is a lookup in C each time.
        packs = [question.pack for question in questions]
        routes = await self._routes_of({pack.gtin for pack in packs})
        answer = verifier_pb.VerifyLmsBatchResponse()
        add_result = answer.results.add  # filled in place: no copies
        hosted: list[Hosted] = []
        for question, pack in zip(questions, packs, strict=True):
            result = add_result()
            route = routes[pack.gtin]
            if isinstance(route, Exception):
                set_item_error(result, route)
            elif route.route != lookup_pb.ROUTE_KIND_REMOTE:
                hosted.append((question, pack, route, result))
            elif is_relayed(question.caller.roles):
                set_item_error(result, not_hosted(pack.gtin))
            else:
                result.remote = True
        if hosted:
            try:
                statuses = await self._pack_statuses([(pack.gtin, pack.serial) for _, pack, _, _ in hosted])
            except Exception as error:  # noqa: BLE001 - each hosted question fails with it
                for _, _, _, result in hosted:
                    set_item_error(result, error)
            else:
                now = self.now()
                for (question, pack, route, result), status in zip(hosted, statuses, strict=True):
                    try:
                        self._hosted_answer(question, pack, route, status, now, result.response)
                    except Exception as error:  # noqa: BLE001 - one question's fault stays its own
                        set_item_error(result, error)
        return answer

    @translate_errors
    async def CheckConnectivity(self, request: verifier_pb.CheckConnectivityRequest, context: RpcContext) -> verifier_pb.CheckConnectivityResponse:
        route, forwarded = await self._route_or_forwarded(
            request.gtin, request.caller, lambda remote: self._forward_connectivity(request, remote)
        )
        if forwarded is not None:
            return verifier_pb.CheckConnectivityResponse(response=forwarded)
        body = connectivity_body(route.responder_gln or self.responder_gln)
        return verifier_pb.CheckConnectivityResponse(response=self._signed(body))

    async def _pack_operation(
        self,
        operation: Operation,
        caller: common_pb.Caller,
        packs: Sequence[common_pb.PackIdentifier],
        response: PackResponse,
        target: PackState | None = None,
        transaction_id: str = "",
        possession: bool = False,
    ) -> PackResponse:
        """Decides ``packs`` and returns ``response`` with one ``PackResult`` each in its ``results``."""
        now = self.now()
        actor = caller_of(caller)
        questions = [PackQuestion(p.gtin, p.serial, p.lot, p.expiry) for p in packs]
        # A bulk call moves more data: its deadlines grow with the number of packs.
        timeout = self.rpc_timeout + BULK_SECONDS_PER_PACK * len(packs)

        async def read(batch: Sequence[PackQuestion]) -> list[ReadPack]:
            request = rs_pb.GetPackStatusRequest(
                # A verify never looks at who decommissioned a pack.
                with_decommission=operation is not Operation.VERIFY
            )
            add = request.packs.add
            for q in batch:
                add(gtin=q.gtin, serial=q.serial)
            answer = await call(self.recall_status.GetPackStatus, request, timeout=timeout)
            return [read_pack(q.gtin, q.serial, s) for q, s in zip(batch, answer.statuses, strict=True)]

        async def write(changes: Sequence[Change]) -> list[bool]:
            request = rs_pb.ApplyPackChangesRequest()
            add = request.changes.add
            at = now.timestamp()
            # The changes of one call share all but the pack and its previous state: their
            # audit and decommission messages are built once per pair of states and copied.
            parts: dict[tuple[PackState, PackState], dict[str, Any]] = {}
            for change in changes:
                record = change.read.record
                assert record is not None and change.decision.new_pack_state is not None
                states = (record.pack_state, change.decision.new_pack_state)
                shared = parts.get(states)
                if shared is None:
                    shared = parts[states] = change_parts(operation, actor, transaction_id, at, *states)
                add(
                    gtin=change.question.gtin,
                    serial=change.question.serial,
                    expected_revision=change.read.revision,
                    **shared,
                )
            answer = await call(self.recall_status.ApplyPackChanges, request, timeout=timeout)
            return list(answer.applied)

        outcomes = await run_operation(operation, questions, actor, now, read, write, target)
        gtins, serials, details, kinds = [], [], [], []
        for q, (decision, stored) in zip(questions, outcomes, strict=True):
            if stored.record is not None:
                gtins.append(q.gtin)
                serials.append(q.serial)
                details.append(decision.code)
                kinds.append(event_kind(operation, decision))
        if gtins:
            await call(
                self.recall_status.RecordPackEvents,
                rs_pb.RecordPackEventsRequest(
                    batches=[
                        rs_pb.PackEventBatch(
                            event=OPERATION_NAMES[operation],
                            partner_id=actor.partner_id,
                            gln=actor.location_gln,
                            at=now.timestamp(),
                            gtins=gtins,
                            serials=serials,
                            details=details,
                            kinds=kinds,
                            possession_attested=possession,
                        )
                    ]
                ),
                timeout=timeout,
            )
        alerts = [
            rs_pb.Alert(
                pack=packs[i],
                code=decision.code,
                message=decision.message,
                partner_id=actor.partner_id,
                location_gln=actor.location_gln,
                owner_partner_id=stored.owner_partner_id,
                operation=OPERATION_NAMES[operation],
            )
            for i, (decision, stored) in enumerate(outcomes)
            if decision.alert
        ]
        alert_ids: list[str] = []
        if alerts:
            recorded = await call(
                self.recall_status.RecordAlerts,
                rs_pb.RecordAlertsRequest(alerts=alerts),
                timeout=timeout,
            )
            alert_ids = list(recorded.ids)
        next_alert = iter(alert_ids)
        add = response.results.add
        # run_operation hands out one Decision object per distinct decision: a bulk call
        # repeats a few, so their fields are worked out once each.
        fields_of: dict[int, dict[str, Any]] = {}
        for i, (decision, _) in enumerate(outcomes):
            fields = fields_of.get(id(decision))
            if fields is None:
                fields = fields_of[id(decision)] = result_fields(decision)
            if decision.alert:
                fields = {**fields, "alert_id": next(next_alert)}
            add(index=i, **fields)  # no copy of the pack: the caller sent it (common.proto)
        return response

    @translate_errors
    async def VerifyPacks(self, request: verifier_pb.VerifyPacksRequest, context: RpcContext) -> verifier_pb.VerifyPacksResponse:
        return await self._pack_operation(
            Operation.VERIFY, request.caller, request.packs, verifier_pb.VerifyPacksResponse(), possession=request.possession_attested
        )

    @translate_errors
    async def DecommissionPacks(self, request: verifier_pb.DecommissionPacksRequest, context: RpcContext) -> verifier_pb.DecommissionPacksResponse:
        target = STATE_FROM_PROTO.get(request.state)
        if target is None or target is PackState.ACTIVE:
            raise InvalidInput("Decommissioning needs a target state such as supplied.", code="state.invalid", field="state")
        return await self._pack_operation(
            Operation.DECOMMISSION, request.caller, request.packs, verifier_pb.DecommissionPacksResponse(), target, request.transaction_id
        )

    @translate_errors
    async def ReactivatePacks(self, request: verifier_pb.ReactivatePacksRequest, context: RpcContext) -> verifier_pb.ReactivatePacksResponse:
        return await self._pack_operation(
            Operation.REACTIVATE, request.caller, request.packs, verifier_pb.ReactivatePacksResponse(), None, request.transaction_id
        )

    @translate_errors
    async def GetJwks(self, request: verifier_pb.GetJwksRequest, context: RpcContext) -> verifier_pb.GetJwksResponse:
        return verifier_pb.GetJwksResponse(jwks_json=self.keys.jwks_json())
