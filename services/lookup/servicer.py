"""gRPC face of lookup: translates messages and calls the directory and the forwarder."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, TypedDict

import grpc

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Conflict, Forbidden, InvalidInput, NotFound, VerinetError
from verinet.lookup.directory import Directory, DirectoryEntry, validate_entry
from verinet.lookup.forwarding import Forwarder, ForwardSettings, RemoteAnswer
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.lookup.watch import DirectoryWatch
from verinet.outbound import OutboundPolicy, Resolve, remembering, system_resolve
from verinet.partners import PartnerStore
from verinet.rpc import translate_errors

log = logging.getLogger(__name__)

KIND_NAME = {lookup_pb.ENTRY_KIND_GTIN: "gtin", lookup_pb.ENTRY_KIND_PREFIX: "prefix"}
KIND_ENUM = {name: value for value, name in KIND_NAME.items()}
ROUTE_NAME = {lookup_pb.ROUTE_KIND_HOSTED: "hosted", lookup_pb.ROUTE_KIND_REMOTE: "remote"}
ROUTE_ENUM = {name: value for value, name in ROUTE_NAME.items()}
#: How long a write waits for connected route caches to take the change notification.
NOTIFY_WAIT_SECONDS = 0.2
#: Time kept back from the caller's gRPC deadline, to answer after the last HTTP attempt.
DEADLINE_RESERVE_SECONDS = 0.05
MAX_IMPORT_ENTRIES = 10_000


def entry_to_message(entry: DirectoryEntry) -> lookup_pb.DirectoryEntry:
    """The entry for answers: the credential never leaves lookup, only whether one is set."""
    return lookup_pb.DirectoryEntry(
        kind=KIND_ENUM[entry.kind],
        key=entry.key,
        owner_partner_id=entry.owner_partner_id,
        route=ROUTE_ENUM.get(entry.route, lookup_pb.ROUTE_KIND_UNSPECIFIED),
        remote_base_url=entry.remote_base_url,
        responder_gln=entry.responder_gln,
        expires_at=entry.expires_at,
        updated_at=entry.updated_at,
        has_credential=bool(entry.remote_credential),
    )


def entry_from_message(message: lookup_pb.DirectoryEntry) -> DirectoryEntry:
    if message.kind not in KIND_NAME:
        raise InvalidInput(
            "Directory entry kind is missing: expected GTIN or PREFIX.",
            code="directory.kind",
            field="kind",
        )
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


class AnswerFields(TypedDict):
    """The fields ForwardVerificationResponse and ForwardConnectivityCheckResponse share."""

    http_status: int
    body: bytes
    headers: dict[str, str]
    remote: lookup_pb.DirectoryEntry
    attempts: int


def answer_fields(entry: DirectoryEntry, answer: RemoteAnswer) -> AnswerFields:
    return {
        "http_status": answer.status,
        "body": answer.body,
        "headers": answer.headers,
        "remote": entry_to_message(entry),
        "attempts": answer.attempts,
    }


class LookupServicer(lookup_grpc.LookupServiceServicer):
    def __init__(
        self,
        directory: Directory,
        route_cache_seconds: int,
        *,
        forwarder: Forwarder | None = None,
        watch: DirectoryWatch | None = None,
        partners: PartnerStore | None = None,
        network_gln: str = "",
        outbound: OutboundPolicy | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.directory = directory
        self.route_cache_seconds = route_cache_seconds
        self.forwarder = forwarder
        self.watch = watch or DirectoryWatch(directory.version)
        self.partners = partners or PartnerStore(directory.redis)
        self.network_gln = network_gln
        self.outbound = outbound or OutboundPolicy()
        self.now = now

    @property
    def forward_settings(self) -> ForwardSettings:
        return self.forwarder.settings if self.forwarder else ForwardSettings()

    async def _changed(self, version: int) -> None:
        """Tells connected route caches, and waits (bounded) until they applied the change."""
        sequence = self.watch.publish(version)
        if not await self.watch.applied(sequence, NOTIFY_WAIT_SECONDS):
            log.warning("A route cache did not confirm directory change %d in time", sequence)

    async def _check_owner(self, entry: DirectoryEntry, known: dict[str, bool]) -> None:
        owner = entry.owner_partner_id
        if owner not in known:
            try:
                await self.partners.get(owner)
                known[owner] = True
            except NotFound:
                known[owner] = False
        if not known[owner]:
            raise InvalidInput(
                f"Failed to read owner {owner[:80]!r}: expected the id of an existing partner.",
                code="directory.owner",
                field="owner",
            )

    def _with_owner(self, caller: common_pb.Caller, entry: DirectoryEntry) -> DirectoryEntry:
        """The entry as the caller may write it: admins' entries are trusted (their URLs may
        point anywhere) and may name an owner; anyone else's entry is its own, untrusted."""
        if "admin" in caller.roles:
            return replace(entry, owner_partner_id=entry.owner_partner_id or caller.partner_id, trusted=True)
        return replace(entry, owner_partner_id=caller.partner_id, trusted=False)

    async def _check_outbound(self, entry: DirectoryEntry, resolve: Resolve = system_resolve) -> None:
        """A URL a manufacturer sets must reach public addresses only (checked again at every
        connection, since a name may resolve elsewhere later)."""
        if entry.route == "remote" and not entry.trusted:
            await self.outbound.check_url(
                entry.remote_base_url, field="url", code="route.url_not_public", resolve=resolve
            )

    @translate_errors
    async def ResolveRoute(
        self,
        request: lookup_pb.ResolveRouteRequest,
        context: grpc.aio.ServicerContext[lookup_pb.ResolveRouteRequest, lookup_pb.ResolveRouteResponse],
    ) -> lookup_pb.ResolveRouteResponse:
        now = self.now()
        entry = await self.directory.resolve(request.gtin, now)
        answer = lookup_pb.ResolveRouteResponse(
            found=entry is not None,
            cache_seconds=0,
            forward_timeout_seconds=self.forward_settings.timeout,
            directory_version=self.watch.version,
        )
        if entry is not None:
            answer.entry.CopyFrom(entry_to_message(entry))
            # A cached route must not outlive its record.
            answer.cache_seconds = int(max(0.0, min(self.route_cache_seconds, math.floor(min(entry.seconds_left(now), 1e9)))))
        return answer

    @translate_errors
    async def PutDirectoryEntry(
        self,
        request: lookup_pb.PutDirectoryEntryRequest,
        context: grpc.aio.ServicerContext[lookup_pb.PutDirectoryEntryRequest, lookup_pb.PutDirectoryEntryResponse],
    ) -> lookup_pb.PutDirectoryEntryResponse:
        entry = self._with_owner(request.caller, entry_from_message(request.entry))
        entry = validate_entry(entry)
        require_may_edit(request.caller, entry.kind, entry.key)
        await self._check_owner(entry, {})
        await self._check_outbound(entry)
        stored, created, version = await self.directory.put(entry, self.now())
        await self._changed(version)
        return lookup_pb.PutDirectoryEntryResponse(
            entry=entry_to_message(stored), created=created, directory_version=version
        )

    @translate_errors
    async def ImportDirectoryEntries(
        self,
        request: lookup_pb.ImportDirectoryEntriesRequest,
        context: grpc.aio.ServicerContext[lookup_pb.ImportDirectoryEntriesRequest, lookup_pb.ImportDirectoryEntriesResponse],
    ) -> lookup_pb.ImportDirectoryEntriesResponse:
        if len(request.entries) > MAX_IMPORT_ENTRIES:
            raise InvalidInput(
                f"Failed to import {len(request.entries)} entries at once: expected at most "
                f"{MAX_IMPORT_ENTRIES} (send the file in chunks).",
                code="directory.import_too_large",
            )
        results: list[lookup_pb.DirectoryImportResult] = []
        valid: list[tuple[int, DirectoryEntry]] = []
        owners: dict[str, bool] = {}
        resolve = remembering(system_resolve)
        for index, message in enumerate(request.entries):
            try:
                entry = validate_entry(self._with_owner(request.caller, entry_from_message(message)))
                require_may_edit(request.caller, entry.kind, entry.key)
                await self._check_owner(entry, owners)
                await self._check_outbound(entry, resolve)
            except VerinetError as error:
                results.append(
                    lookup_pb.DirectoryImportResult(
                        index=index, ok=False, code=error.code, message=error.message, field=error.field or ""
                    )
                )
                continue
            valid.append((index, entry))
        version = await self.directory.version()
        if valid:
            stored, version = await self.directory.put_many([e for _, e in valid], self.now())
            for (index, _), (_, created) in zip(valid, stored, strict=True):
                results.append(lookup_pb.DirectoryImportResult(index=index, ok=True, created=created))
            await self._changed(version)
        results.sort(key=lambda r: r.index)
        return lookup_pb.ImportDirectoryEntriesResponse(results=results, directory_version=version)

    @translate_errors
    async def GetDirectoryEntry(
        self,
        request: lookup_pb.GetDirectoryEntryRequest,
        context: grpc.aio.ServicerContext[lookup_pb.GetDirectoryEntryRequest, lookup_pb.GetDirectoryEntryResponse],
    ) -> lookup_pb.GetDirectoryEntryResponse:
        kind = KIND_NAME.get(request.kind, "")
        entry = await self.directory.get(kind, request.key)
        if entry is None:
            raise NotFound(f"No directory entry for {kind} {request.key!r}.", code="directory.not_found")
        return lookup_pb.GetDirectoryEntryResponse(entry=entry_to_message(entry))

    @translate_errors
    async def DeleteDirectoryEntry(
        self,
        request: lookup_pb.DeleteDirectoryEntryRequest,
        context: grpc.aio.ServicerContext[lookup_pb.DeleteDirectoryEntryRequest, lookup_pb.DeleteDirectoryEntryResponse],
    ) -> lookup_pb.DeleteDirectoryEntryResponse:
        kind = KIND_NAME.get(request.kind, "")
        require_may_edit(request.caller, kind, request.key)
        deleted, version = await self.directory.delete(kind, request.key)
        if deleted:
            await self._changed(version)
        return lookup_pb.DeleteDirectoryEntryResponse(deleted=deleted, directory_version=version)

    # -- forwarding ---------------------------------------------------------------------------

    async def _remote_route(self, gtin: str) -> tuple[Forwarder, DirectoryEntry]:
        entry = await self.directory.resolve(gtin, self.now())
        if entry is None or entry.route != "remote":
            # The caller's cached route is stale: it drops it and asks again.
            raise Conflict(
                f"The route of GTIN {gtin} changed: it is now "
                f"{'absent' if entry is None else entry.route}, not remote.",
                code="route.changed",
                field="gtin",
            )
        if self.forwarder is None:
            raise NotFound("This lookup does not forward to other networks.", code="route.no_forwarding")
        return self.forwarder, entry

    def _deadline(self, context: grpc.aio.ServicerContext[Any, Any]) -> float:
        timeout = self.forward_settings.timeout
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, remaining - DEADLINE_RESERVE_SECONDS)
        return max(timeout, 0.001)

    @translate_errors
    async def ForwardVerification(
        self,
        request: lookup_pb.ForwardVerificationRequest,
        context: grpc.aio.ServicerContext[lookup_pb.ForwardVerificationRequest, lookup_pb.ForwardVerificationResponse],
    ) -> lookup_pb.ForwardVerificationResponse:
        forwarder, entry = await self._remote_route(request.pack.gtin)
        pack = request.pack
        answer = await forwarder.verify(
            entry, pack.gtin, pack.lot, pack.serial, dict(request.query), self._deadline(context)
        )
        return lookup_pb.ForwardVerificationResponse(**answer_fields(entry, answer))

    @translate_errors
    async def ForwardConnectivityCheck(
        self,
        request: lookup_pb.ForwardConnectivityCheckRequest,
        context: grpc.aio.ServicerContext[lookup_pb.ForwardConnectivityCheckRequest, lookup_pb.ForwardConnectivityCheckResponse],
    ) -> lookup_pb.ForwardConnectivityCheckResponse:
        forwarder, entry = await self._remote_route(request.gtin)
        answer = await forwarder.check_connectivity(
            entry, request.gtin, dict(request.query), self._deadline(context)
        )
        return lookup_pb.ForwardConnectivityCheckResponse(**answer_fields(entry, answer))

    @translate_errors
    async def ProbeRemoteEndpoints(
        self,
        request: lookup_pb.ProbeRemoteEndpointsRequest,
        context: grpc.aio.ServicerContext[lookup_pb.ProbeRemoteEndpointsRequest, lookup_pb.ProbeRemoteEndpointsResponse],
    ) -> lookup_pb.ProbeRemoteEndpointsResponse:
        if self.forwarder is None:
            return lookup_pb.ProbeRemoteEndpointsResponse()
        forwarder = self.forwarder
        by_endpoint: dict[str, list[DirectoryEntry]] = {}
        for entry in await self.directory.remote_entries():
            by_endpoint.setdefault(entry.remote_base_url, []).append(entry)
        req_gln = request.req_gln or self.network_gln
        timeout = forwarder.settings.timeout
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = max(0.001, min(timeout, remaining - DEADLINE_RESERVE_SECONDS))

        async def probe(endpoint: str, entries: list[DirectoryEntry]) -> lookup_pb.RemoteEndpointProbe:
            # Probe with an entry that has a credential, a GTIN entry (a real product) first.
            chosen = min(entries, key=lambda e: (not e.remote_credential, e.kind != "gtin"))
            result = await forwarder.probe(chosen, req_gln, timeout)
            return lookup_pb.RemoteEndpointProbe(
                base_url=endpoint,
                entries=[f"{e.kind} {e.key}" for e in entries],
                gtin=chosen.sample_gtin(),
                reachable=result.reachable,
                http_status=result.status,
                latency_seconds=result.seconds,
                outcome=result.outcome,
                detail=result.detail,
                breaker_state=forwarder.breaker_state(endpoint),
            )

        probes = await asyncio.gather(*(probe(url, es) for url, es in sorted(by_endpoint.items())))
        return lookup_pb.ProbeRemoteEndpointsResponse(endpoints=probes)

    async def WatchDirectory(
        self,
        requests: AsyncIterator[lookup_pb.WatchDirectoryRequest],
        context: grpc.aio.ServicerContext[lookup_pb.WatchDirectoryRequest, lookup_pb.WatchDirectoryResponse],
    ) -> AsyncIterator[lookup_pb.WatchDirectoryResponse]:
        watcher = self.watch.subscribe()

        async def read_acknowledgements() -> None:
            async for message in requests:
                self.watch.ack(watcher, message.applied_sequence)

        reader = asyncio.create_task(read_acknowledgements())
        try:
            async for sequence, version in self.watch.updates(watcher):
                yield lookup_pb.WatchDirectoryResponse(version=version, sequence=sequence)
        finally:
            reader.cancel()
            self.watch.unsubscribe(watcher)

