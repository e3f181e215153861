"""gRPC face of the verifier: asks the route and the repository, decides, signs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import NotFound
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.packs import PackRecord, PackState
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import call, translate_errors
from verinet.signing import KeyRing, ResponseSigner
from verinet.verifier.routes import RouteCache
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc
from verinet.verifier.verdicts import connectivity_body, lms_body, lms_verdict

STATE_FROM_PROTO = {
    common_pb.PackState.Value(f"PACK_STATE_{state.name}"): state for state in PackState
}


def record_from_status(gtin: str, serial: str, status: rs_pb.PackStatus) -> PackRecord | None:
    if not status.found:
        return None
    return PackRecord(
        gtin=gtin,
        serial=serial,
        lot=status.lot,
        expiry=status.expiry,
        pack_state=STATE_FROM_PROTO[status.pack_state],
        lot_state=STATE_FROM_PROTO.get(status.lot_state, PackState.ACTIVE),
        product_state=STATE_FROM_PROTO.get(status.product_state, PackState.ACTIVE),
        owner_partner_id=status.owner_partner_id,
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
    ) -> None:
        self.lookup = lookup
        self.recall_status = recall_status
        self.keys = keys
        self.signer = ResponseSigner(keys)
        self.responder_gln = responder_gln
        self.rpc_timeout = rpc_timeout
        self.now = now
        self.routes: RouteCache[lookup_pb.DirectoryEntry] = RouteCache(self._load_route)

    async def _load_route(self, gtin: str) -> tuple[lookup_pb.DirectoryEntry | None, float]:
        answer = await call(
            self.lookup.ResolveRoute,
            lookup_pb.ResolveRouteRequest(gtin=gtin),
            timeout=self.rpc_timeout,
        )
        return (answer.entry if answer.found else None), float(answer.cache_seconds)

    def _signed(self, body: bytes, status: int = 200) -> verifier_pb.SignedHttpResponse:
        headers = self.signer.sign(body, status=status)
        return verifier_pb.SignedHttpResponse(http_status=status, body=body, headers=headers)

    @translate_errors
    async def VerifyLms(
        self, request: verifier_pb.VerifyLmsRequest, context: grpc.aio.ServicerContext
    ) -> verifier_pb.VerifyLmsResponse:
        pack = request.pack
        route = await self.routes.get(pack.gtin)
        if route is None:
            raise no_route(pack.gtin)
        if route.route == lookup_pb.ROUTE_KIND_REMOTE:
            forwarded = await call(
                self.lookup.ForwardVerification,
                lookup_pb.ForwardVerificationRequest(pack=pack, query=dict(request.query)),
                timeout=self.rpc_timeout,
            )
            return verifier_pb.VerifyLmsResponse(
                response=self._signed(forwarded.body, forwarded.http_status)
            )
        statuses = await call(
            self.recall_status.GetPackStatus,
            rs_pb.GetPackStatusRequest(
                packs=[common_pb.PackIdentifier(gtin=pack.gtin, serial=pack.serial)]
            ),
            timeout=self.rpc_timeout,
        )
        now = self.now()
        record = record_from_status(pack.gtin, pack.serial, statuses.statuses[0])
        verdict = lms_verdict(record, pack.lot, pack.expiry, now.date())
        responder = route.responder_gln or self.responder_gln
        body = lms_body(verdict, responder, request.corr_uuid, now)
        return verifier_pb.VerifyLmsResponse(response=self._signed(body))

    @translate_errors
    async def CheckConnectivity(
        self, request: verifier_pb.CheckConnectivityRequest, context: grpc.aio.ServicerContext
    ) -> verifier_pb.CheckConnectivityResponse:
        route = await self.routes.get(request.gtin)
        if route is None:
            raise no_route(request.gtin)
        body = connectivity_body(route.responder_gln or self.responder_gln)
        return verifier_pb.CheckConnectivityResponse(response=self._signed(body))

    @translate_errors
    async def GetJwks(
        self, request: verifier_pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> verifier_pb.GetJwksResponse:
        return verifier_pb.GetJwksResponse(jwks_json=self.keys.jwks_json())
