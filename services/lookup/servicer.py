"""gRPC face of lookup: translates messages and calls the directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Forbidden, InvalidInput, NotFound
from verinet.lookup.directory import Directory, DirectoryEntry
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.rpc import translate_errors

KIND_NAME = {lookup_pb.ENTRY_KIND_GTIN: "gtin", lookup_pb.ENTRY_KIND_PREFIX: "prefix"}
KIND_ENUM = {name: value for value, name in KIND_NAME.items()}
ROUTE_NAME = {lookup_pb.ROUTE_KIND_HOSTED: "hosted", lookup_pb.ROUTE_KIND_REMOTE: "remote"}
ROUTE_ENUM = {name: value for value, name in ROUTE_NAME.items()}


def entry_to_message(entry: DirectoryEntry) -> lookup_pb.DirectoryEntry:
    return lookup_pb.DirectoryEntry(
        kind=KIND_ENUM[entry.kind],
        key=entry.key,
        owner_partner_id=entry.owner_partner_id,
        route=ROUTE_ENUM.get(entry.route, lookup_pb.ROUTE_KIND_UNSPECIFIED),
        remote_base_url=entry.remote_base_url,
        responder_gln=entry.responder_gln,
        remote_credential=entry.remote_credential,
        expires_at=entry.expires_at,
        updated_at=entry.updated_at,
    )


def entry_from_message(message: lookup_pb.DirectoryEntry) -> DirectoryEntry:
    if message.kind not in KIND_NAME:
        raise InvalidInput("Directory entry kind is missing: expected GTIN or PREFIX.")
    return DirectoryEntry(
        kind=KIND_NAME[message.kind],
        key=message.key,
        owner_partner_id=message.owner_partner_id,
        route=ROUTE_NAME.get(message.route, ""),
        remote_base_url=message.remote_base_url,
        responder_gln=message.responder_gln,
        remote_credential=message.remote_credential,
        expires_at=message.expires_at,
    )


def require_may_edit(caller: common_pb.Caller, kind: str, key: str) -> None:
    """Admin edits any entry; a manufacturer only entries under its own company prefixes."""
    if "admin" in caller.roles:
        return
    if "manufacturer" in caller.roles:
        digits = key[1:] if kind == "gtin" else key
        if any(digits.startswith(prefix) for prefix in caller.company_prefixes):
            return
        raise Forbidden(
            f"Failed to edit directory entry {key!r}: it is not under your company prefixes "
            f"{list(caller.company_prefixes)!r}.",
            code="directory.foreign_prefix",
            field="key",
        )
    raise Forbidden("Only admins and manufacturers edit the directory.", code="auth.role")


class LookupServicer(lookup_grpc.LookupServiceServicer):
    def __init__(
        self,
        directory: Directory,
        route_cache_seconds: int,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.directory = directory
        self.route_cache_seconds = route_cache_seconds
        self.now = now

    @translate_errors
    async def ResolveRoute(
        self, request: lookup_pb.ResolveRouteRequest, context: grpc.aio.ServicerContext
    ) -> lookup_pb.ResolveRouteResponse:
        entry = await self.directory.resolve(request.gtin, self.now())
        if entry is None:
            return lookup_pb.ResolveRouteResponse(
                found=False, cache_seconds=self.route_cache_seconds
            )
        return lookup_pb.ResolveRouteResponse(
            found=True, entry=entry_to_message(entry), cache_seconds=self.route_cache_seconds
        )

    @translate_errors
    async def PutDirectoryEntry(
        self, request: lookup_pb.PutDirectoryEntryRequest, context: grpc.aio.ServicerContext
    ) -> lookup_pb.PutDirectoryEntryResponse:
        entry = entry_from_message(request.entry)
        require_may_edit(request.caller, entry.kind, entry.key)
        if not entry.owner_partner_id:
            entry = DirectoryEntry(**{**entry.__dict__, "owner_partner_id": request.caller.partner_id})
        stored, created = await self.directory.put(entry, self.now())
        return lookup_pb.PutDirectoryEntryResponse(
            entry=entry_to_message(stored.public()), created=created
        )

    @translate_errors
    async def GetDirectoryEntry(
        self, request: lookup_pb.GetDirectoryEntryRequest, context: grpc.aio.ServicerContext
    ) -> lookup_pb.GetDirectoryEntryResponse:
        kind = KIND_NAME.get(request.kind, "")
        entry = await self.directory.get(kind, request.key)
        if entry is None:
            raise NotFound(f"No directory entry for {kind} {request.key!r}.", code="directory.not_found")
        return lookup_pb.GetDirectoryEntryResponse(entry=entry_to_message(entry.public()))

    @translate_errors
    async def DeleteDirectoryEntry(
        self, request: lookup_pb.DeleteDirectoryEntryRequest, context: grpc.aio.ServicerContext
    ) -> lookup_pb.DeleteDirectoryEntryResponse:
        kind = KIND_NAME.get(request.kind, "")
        require_may_edit(request.caller, kind, request.key)
        deleted = await self.directory.delete(kind, request.key)
        return lookup_pb.DeleteDirectoryEntryResponse(deleted=deleted)
