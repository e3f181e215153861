"""gRPC face of recall-status: translates messages and calls the repository."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Forbidden, VerinetError
from verinet.packs import PackRecord, PackState
from verinet.recall_status.packs import NewPack, PackRepository, require_packs
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import translate_errors

PROTO_STATE = {state: common_pb.PackState.Value(f"PACK_STATE_{state.name}") for state in PackState}


def status_message(record: PackRecord | None) -> rs_pb.PackStatus:
    if record is None:
        return rs_pb.PackStatus(found=False)
    return rs_pb.PackStatus(
        found=True,
        lot=record.lot,
        expiry=record.expiry,
        pack_state=PROTO_STATE[record.pack_state],
        lot_state=PROTO_STATE[record.lot_state],
        product_state=PROTO_STATE[record.product_state],
        owner_partner_id=record.owner_partner_id,
    )


class RecallStatusServicer(rs_grpc.RecallStatusServiceServicer):
    def __init__(
        self,
        repository: PackRepository,
        max_packs_per_request: int,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.repository = repository
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
        records = await self.repository.statuses([(p.gtin, p.serial) for p in request.packs])
        return rs_pb.GetPackStatusResponse(statuses=[status_message(r) for r in records])
