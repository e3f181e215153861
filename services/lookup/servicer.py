"""gRPC face of lookup: translates messages and calls the directory and the forwarder.

One idea despite its length: it is the one servicer of LookupService, each method a
translation from messages to the domain modules (directory, forwarding, profiles, atp,
wallets) and back; the rules live in those modules.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TypedDict

from verinet.callers import Role, owns_key
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import BadUpstream, Conflict, Forbidden, InvalidInput, NotFound, VerinetError
from verinet.lookup.atp import AtpExchange
from verinet.lookup.directory import Directory, DirectoryEntry, validate_entry
from verinet.lookup.forwarding import Forwarder, ForwardSettings, RemoteAnswer
from verinet.lookup.network_messages import profile_from_message, profile_to_message
from verinet.lookup.oci import Wallet, WalletClient
from verinet.lookup.profiles import ProfileStore, RemoteProfile, default_profile, validate_profile
from verinet.lookup.remote_auth import refusal
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.lookup.wallets import AuditEntry, PartnerWallet, WalletStore
from verinet.lookup.watch import ByVersion, DirectoryWatch
from verinet.outbound import OutboundPolicy, Resolve, remembering, system_resolve
from verinet.partners import PartnerStore
from verinet.rpc import RpcContext, translate_errors
from verinet.wire import caller_of, fields_of

log = logging.getLogger(__name__)

KIND_NAME = {lookup_pb.ENTRY_KIND_GTIN: "gtin", lookup_pb.ENTRY_KIND_PREFIX: "prefix"}
KIND_ENUM = {name: value for value, name in KIND_NAME.items()}
ROUTE_NAME = {lookup_pb.ROUTE_KIND_HOSTED: "hosted", lookup_pb.ROUTE_KIND_REMOTE: "remote"}
ROUTE_ENUM = {name: value for value, name in ROUTE_NAME.items()}
#: How long a write waits for connected route caches to take the change notification: long
#: enough for a busy verifier (a write answered before its cache applied the change would let
#: the next question use the old route); writes are rare, so the wait costs little.
NOTIFY_WAIT_SECONDS = 1.0
#: Time kept back from the caller's gRPC deadline, to answer after the last HTTP attempt.
DEADLINE_RESERVE_SECONDS = 0.05
MAX_IMPORT_ENTRIES = 10_000
MAX_IMPORT_NETWORKS = 1_000


def entry_to_message(entry: DirectoryEntry) -> lookup_pb.DirectoryEntry:
    """The entry for answers: the credential never leaves lookup, only whether one is set."""
    return lookup_pb.DirectoryEntry(
        **fields_of(
            entry, "key", "owner_partner_id", "remote_base_url", "responder_gln", "expires_at", "updated_at", "network"
        ),
        kind=KIND_ENUM[entry.kind],
        route=ROUTE_ENUM.get(entry.route, lookup_pb.ROUTE_KIND_UNSPECIFIED),
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
        network=message.network,
    )


def require_may_edit(caller: common_pb.Caller, kind: str, key: str) -> None:
    """Admin edits any entry; a manufacturer only entries under its own company prefixes."""
    who = caller_of(caller)
    if who.is_admin:
        return
    if who.has_role(Role.MANUFACTURER):
        if who.owns_gtin(key) if kind == "gtin" else owns_key(who.company_prefixes, key):
            return
        raise Forbidden(
            f"Failed to edit directory entry {key!r}: it is not under your company prefixes "
            f"{list(caller.company_prefixes)!r}.",
            code="directory.foreign_prefix",
            field="key",
        )
    raise Forbidden("Only admins and manufacturers edit the directory.", code="auth.role")


def wallet_to_message(stored: PartnerWallet) -> lookup_pb.PartnerWallet:
    """A partner's wallet for answers: never its client secret."""
    w = stored.wallet
    return lookup_pb.PartnerWallet(
        partner_id=stored.partner_id, did=w.did, url=w.url, client_id=w.client_id, token_url=w.token_url,
        inbound_policy=stored.inbound_policy, secret_set=bool(w.client_secret), inbound_carriage=stored.inbound_carriage,
    )


def require_admin(caller: common_pb.Caller) -> None:
    if not caller_of(caller).is_admin:
        raise Forbidden("Only admins manage remote-network profiles.", code="auth.role")


class AnswerFields(TypedDict):
    """The fields ForwardVerificationResponse and ForwardConnectivityCheckResponse share."""

    http_status: int
    body: bytes
    headers: dict[str, str]
    remote: lookup_pb.DirectoryEntry
    attempts: int


def answer_fields(entry: DirectoryEntry, answer: RemoteAnswer) -> AnswerFields:
    if answer.status in (401, 403):
        # The other network refused this network's credential: not the requestor's fault.
        raise refusal(entry.network or entry.remote_base_url, answer.status, answer.body)
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
        network_wallet: Wallet | None = None,
    ) -> None:
        self.directory = directory
        self.route_cache_seconds = route_cache_seconds
        self.forwarder = forwarder
        self.watch = watch or DirectoryWatch(directory.version)
        self.partners = partners or PartnerStore(directory.redis)
        self.network_gln = network_gln
        self.outbound = outbound or OutboundPolicy()
        self.now = now
        self.profiles = ProfileStore(directory.redis)
        #: A forwarded GTIN's remote route and profile, while the directory version holds.
        self.remote_routes: ByVersion[str, tuple[DirectoryEntry, RemoteProfile]] = ByVersion(self.watch)
        self.wallets = WalletStore(directory.redis)
        # This network's own ATP identity, for questions from other networks.
        self.network_wallet = PartnerWallet("", network_wallet) if network_wallet is not None else None
        self.atp = (
            AtpExchange(self.wallets, WalletClient(forwarder.session, forwarder.auth)) if forwarder is not None else None
        )

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
        if caller_of(caller).is_admin:
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
    async def ResolveRoute(self, request: lookup_pb.ResolveRouteRequest, context: RpcContext) -> lookup_pb.ResolveRouteResponse:
        now = self.now()
        entry = await self.directory.resolve(request.gtin, now)
        answer = lookup_pb.ResolveRouteResponse(
            found=entry is not None,
            cache_seconds=0,
            forward_timeout_seconds=self.forward_settings.timeout,
            directory_version=self.watch.version,
        )
        if entry is not None:
            message = entry_to_message(entry)
            if entry.route == "remote":
                profile = await self._profile(entry)
                message.remote_base_url = profile.base_url
                message.forward_timeout_seconds = profile.timeout_seconds
            answer.entry.CopyFrom(message)
            # A cached route must not outlive its record.
            answer.cache_seconds = int(max(0.0, min(self.route_cache_seconds, math.floor(min(entry.seconds_left(now), 1e9)))))
        return answer

    @translate_errors
    async def PutDirectoryEntry(self, request: lookup_pb.PutDirectoryEntryRequest, context: RpcContext) -> lookup_pb.PutDirectoryEntryResponse:
        entry = self._with_owner(request.caller, entry_from_message(request.entry))
        entry = validate_entry(entry)
        require_may_edit(request.caller, entry.kind, entry.key)
        await self._check_owner(entry, {})
        await self._check_network(request.caller, entry)
        await self._check_outbound(entry)
        stored, created, version = await self.directory.put(entry, self.now())
        await self._changed(version)
        return lookup_pb.PutDirectoryEntryResponse(
            entry=entry_to_message(stored), created=created, directory_version=version
        )

    @translate_errors
    async def ImportDirectoryEntries(self, request: lookup_pb.ImportDirectoryEntriesRequest, context: RpcContext) -> lookup_pb.ImportDirectoryEntriesResponse:
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
                await self._check_network(request.caller, entry)
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
    async def GetDirectoryEntry(self, request: lookup_pb.GetDirectoryEntryRequest, context: RpcContext) -> lookup_pb.GetDirectoryEntryResponse:
        kind = KIND_NAME.get(request.kind, "")
        entry = await self.directory.get(kind, request.key)
        if entry is None:
            raise NotFound(f"No directory entry for {kind} {request.key!r}.", code="directory.not_found")
        return lookup_pb.GetDirectoryEntryResponse(entry=entry_to_message(entry))

    @translate_errors
    async def DeleteDirectoryEntry(self, request: lookup_pb.DeleteDirectoryEntryRequest, context: RpcContext) -> lookup_pb.DeleteDirectoryEntryResponse:
        kind = KIND_NAME.get(request.kind, "")
        require_may_edit(request.caller, kind, request.key)
        deleted, version = await self.directory.delete(kind, request.key)
        if deleted:
            await self._changed(version)
        return lookup_pb.DeleteDirectoryEntryResponse(deleted=deleted, directory_version=version)

    # -- forwarding ---------------------------------------------------------------------------

    async def _check_network(self, caller: common_pb.Caller, entry: DirectoryEntry) -> None:
        """A route naming a remote-network profile: only admins set one, and it must exist."""
        if not entry.network:
            return
        if not caller_of(caller).is_admin:
            raise Forbidden(
                f"Only admins route entries through a remote-network profile ({entry.network[:64]!r}).",
                code="directory.network_admin_only",
                field="network",
            )
        if await self.profiles.get(entry.network) is None:
            raise InvalidInput(
                f"Failed to read network {entry.network[:64]!r}: expected the name of an existing "
                "remote-network profile (PUT /v1/directory/networks/{name} first).",
                code="directory.network_unknown",
                field="network",
            )

    async def _profile(self, entry: DirectoryEntry) -> RemoteProfile:
        """The profile a remote route uses: the one it names, else one made from its own URL
        and credential with the service-wide deadline."""
        if not entry.network:
            if self.forwarder is not None:
                return self.forwarder.profile_of(entry)
            settings = self.forward_settings
            return default_profile(entry.remote_base_url, entry.remote_credential, settings.timeout, settings.max_attempts)
        profile = await self.profiles.get(entry.network)
        if profile is None:
            raise BadUpstream(
                f"The route of {entry.kind} {entry.key} names remote network {entry.network!r}, "
                "which has no profile (it was removed); an admin must fix the route.",
                code="route.network_missing",
            )
        return profile

    async def _remote_route(self, gtin: str) -> tuple[Forwarder, DirectoryEntry, RemoteProfile]:
        now = self.now()
        known = self.remote_routes.get(gtin)
        if known is not None and not known[0].is_expired(now) and self.forwarder is not None:
            return self.forwarder, *known
        version = self.remote_routes.version()
        entry = await self.directory.resolve(gtin, now)
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
        profile = await self._profile(entry)
        entry = replace(entry, remote_base_url=profile.base_url)
        self.remote_routes.put(gtin, version, (entry, profile))
        return self.forwarder, entry, profile

    def _deadline(self, context: RpcContext, profile: RemoteProfile) -> float:
        timeout = profile.timeout_seconds
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, remaining - DEADLINE_RESERVE_SECONDS)
        return max(timeout, 0.001)

    @translate_errors
    async def ForwardVerification(self, request: lookup_pb.ForwardVerificationRequest, context: RpcContext) -> lookup_pb.ForwardVerificationResponse:
        forwarder, entry, profile = await self._remote_route(request.pack.gtin)
        pack = request.pack
        timeout = self._deadline(context, profile)
        deadline = forwarder.clock() + timeout
        query = dict(request.query)
        holder = None
        audit: list[AuditEntry] = []  # the credential exchange's, stored once the question is over
        try:
            if self.atp is not None:
                profile, query, holder = await self.atp.outbound(request.caller.partner_id, profile, query, deadline, audit)
            answer = await forwarder.verify(
                entry, pack.gtin, pack.lot, pack.serial, query, max(deadline - forwarder.clock(), 0.001), profile
            )
            if holder is not None and self.atp is not None:
                await self.atp.check_answer(holder, profile, answer, query["corrUUID"], deadline, audit)
        finally:
            if self.atp is not None:
                await self.atp.record(audit)
        if answer.status == 401:
            forwarder.auth.forget(profile)  # an OAuth2 token it no longer takes: fetch anew
        return lookup_pb.ForwardVerificationResponse(
            **answer_fields(entry, answer), conformance_deviations=answer.deviations
        )

    @translate_errors
    async def ForwardConnectivityCheck(self, request: lookup_pb.ForwardConnectivityCheckRequest, context: RpcContext) -> lookup_pb.ForwardConnectivityCheckResponse:
        forwarder, entry, profile = await self._remote_route(request.gtin)
        answer = await forwarder.check_connectivity(
            entry, request.gtin, dict(request.query), self._deadline(context, profile), profile
        )
        if answer.status == 401:
            forwarder.auth.forget(profile)
        return lookup_pb.ForwardConnectivityCheckResponse(**answer_fields(entry, answer))

    @translate_errors
    async def ProbeRemoteEndpoints(self, request: lookup_pb.ProbeRemoteEndpointsRequest, context: RpcContext) -> lookup_pb.ProbeRemoteEndpointsResponse:
        if self.forwarder is None:
            return lookup_pb.ProbeRemoteEndpointsResponse()
        forwarder = self.forwarder
        # One probe per remote-network profile, and per base URL among routes naming none.
        by_target: dict[str, list[DirectoryEntry]] = {}
        for entry in await self.directory.remote_entries():
            by_target.setdefault(entry.network or entry.remote_base_url, []).append(entry)
        req_gln = request.req_gln or self.network_gln
        remaining = context.time_remaining()

        async def probe(target: str, entries: list[DirectoryEntry]) -> lookup_pb.RemoteEndpointProbe:
            # Probe with an entry that has a credential, a GTIN entry (a real product) first.
            chosen = min(entries, key=lambda e: (not e.remote_credential, e.kind != "gtin"))
            try:
                profile = await self._profile(chosen)
            except VerinetError as error:
                return lookup_pb.RemoteEndpointProbe(
                    base_url="", network=chosen.network, entries=[f"{e.kind} {e.key}" for e in entries],
                    outcome="unreachable", detail=error.message, breaker_state="closed",
                )
            timeout = profile.timeout_seconds
            if remaining is not None:
                timeout = max(0.001, min(timeout, remaining - DEADLINE_RESERVE_SECONDS))
            result = await forwarder.probe(chosen, req_gln, timeout, profile)
            return lookup_pb.RemoteEndpointProbe(
                base_url=profile.base_url,
                network=chosen.network,
                entries=[f"{e.kind} {e.key}" for e in entries],
                gtin=chosen.sample_gtin(),
                reachable=result.reachable,
                http_status=result.status,
                latency_seconds=result.seconds,
                outcome=result.outcome,
                detail=result.detail,
                breaker_state=forwarder.breaker_state(profile.base_url),
                auth_accepted=result.reachable and result.outcome != "refused",
                lms_conformant=result.deviations is not None and not result.deviations,
                conformance_deviations=result.deviations or (),
            )

        probes = await asyncio.gather(*(probe(t, es) for t, es in sorted(by_target.items())))
        return lookup_pb.ProbeRemoteEndpointsResponse(endpoints=probes)

    # -- remote-network profiles ----------------------------------------------------------------

    @translate_errors
    async def PutRemoteNetwork(self, request: lookup_pb.PutRemoteNetworkRequest, context: RpcContext) -> lookup_pb.PutRemoteNetworkResponse:
        require_admin(request.caller)
        stored, created, version = await self.profiles.put(profile_from_message(request.network), self.now())
        log.info("Remote network profile %s stored", stored.name, extra={"network": stored.name, "is_new": created})
        await self._changed(version)
        return lookup_pb.PutRemoteNetworkResponse(
            network=profile_to_message(stored), created=created, directory_version=version
        )

    @translate_errors
    async def GetRemoteNetwork(self, request: lookup_pb.GetRemoteNetworkRequest, context: RpcContext) -> lookup_pb.GetRemoteNetworkResponse:
        require_admin(request.caller)
        profile = await self.profiles.get(request.name)
        if profile is None:
            raise NotFound(f"No remote network profile {request.name[:64]!r}.", code="network.not_found", field="name")
        return lookup_pb.GetRemoteNetworkResponse(network=profile_to_message(profile))

    @translate_errors
    async def ListRemoteNetworks(self, request: lookup_pb.ListRemoteNetworksRequest, context: RpcContext) -> lookup_pb.ListRemoteNetworksResponse:
        require_admin(request.caller)
        profiles = [await self.profiles.get(name) for name in await self.profiles.names()]
        return lookup_pb.ListRemoteNetworksResponse(
            networks=[profile_to_message(p) for p in profiles if p is not None]
        )

    @translate_errors
    async def ImportRemoteNetworks(self, request: lookup_pb.ImportRemoteNetworksRequest, context: RpcContext) -> lookup_pb.ImportRemoteNetworksResponse:
        """Every profile is checked first; they are stored only when all are valid."""
        require_admin(request.caller)
        if len(request.networks) > MAX_IMPORT_NETWORKS:
            raise InvalidInput(
                f"Failed to import {len(request.networks)} profiles at once: expected at most {MAX_IMPORT_NETWORKS}.",
                code="network.import_too_large",
            )
        results: list[lookup_pb.DirectoryImportResult] = []
        valid: list[RemoteProfile] = []
        seen: set[str] = set()
        for index, message in enumerate(request.networks):
            try:
                if message.name in seen:
                    raise InvalidInput(f"Profile {message.name[:64]!r} appears twice in the import: expected each name once.", code="network.duplicate", field="name")
                seen.add(message.name)
                valid.append(validate_profile(profile_from_message(message)))
            except VerinetError as error:
                results.append(lookup_pb.DirectoryImportResult(index=index, ok=False, code=error.code, message=error.message, field=error.field or ""))
                continue
            results.append(lookup_pb.DirectoryImportResult(index=index, ok=True))
        if len(valid) < len(request.networks):
            return lookup_pb.ImportRemoteNetworksResponse(results=results, stored=False, directory_version=await self.directory.version())
        version = await self.directory.version()
        for index, profile in enumerate(valid):
            _, created, version = await self.profiles.put(profile, self.now())
            results[index].created = created
        if valid:
            log.info("%d remote network profiles imported", len(valid), extra={"networks": [p.name for p in valid]})
            await self._changed(version)
        return lookup_pb.ImportRemoteNetworksResponse(results=results, stored=True, directory_version=version)

    @translate_errors
    async def DeleteRemoteNetwork(self, request: lookup_pb.DeleteRemoteNetworkRequest, context: RpcContext) -> lookup_pb.DeleteRemoteNetworkResponse:
        require_admin(request.caller)
        users = [e for e in await self.directory.remote_entries() if e.network == request.name]
        if users:
            named = ", ".join(f"{e.kind} {e.key}" for e in users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
            raise Conflict(
                f"Remote network {request.name[:64]!r} is still named by {len(users)} directory route(s): {named}. "
                "Point them elsewhere or delete them first.",
                code="network.in_use",
                field="network",
            )
        version = await self.profiles.delete(request.name)
        if version is None:
            raise NotFound(f"No remote network profile {request.name[:64]!r}.", code="network.not_found", field="name")
        await self._changed(version)
        return lookup_pb.DeleteRemoteNetworkResponse(directory_version=version)

    # -- ATP credentials (OCI wallets) -----------------------------------------------------------

    @translate_errors
    async def PutPartnerWallet(self, request: lookup_pb.PutPartnerWalletRequest, context: RpcContext) -> lookup_pb.PutPartnerWalletResponse:
        require_admin(request.caller)
        w = request.wallet
        await self.partners.get(w.partner_id)  # NotFound for an unknown partner
        stored = await self.wallets.put(
            PartnerWallet(
                w.partner_id,
                Wallet(did=w.did, url=w.url, client_id=w.client_id, client_secret=w.client_secret, token_url=w.token_url),
                w.inbound_policy or "optional",
                w.inbound_carriage or "header",
            )
        )
        return lookup_pb.PutPartnerWalletResponse(wallet=wallet_to_message(stored))

    @translate_errors
    async def GetPartnerWallet(self, request: lookup_pb.GetPartnerWalletRequest, context: RpcContext) -> lookup_pb.GetPartnerWalletResponse:
        if not caller_of(request.caller).is_admin and request.caller.partner_id != request.partner_id:
            raise Forbidden("A partner reads only its own wallet.", code="auth.forbidden")
        stored = await self.wallets.get(request.partner_id)
        if stored is None:
            raise NotFound(f"Partner {request.partner_id[:64]!r} has no wallet.", code="wallet.not_found")
        return lookup_pb.GetPartnerWalletResponse(wallet=wallet_to_message(stored))

    @translate_errors
    async def DeletePartnerWallet(self, request: lookup_pb.DeletePartnerWalletRequest, context: RpcContext) -> lookup_pb.DeletePartnerWalletResponse:
        require_admin(request.caller)
        if not await self.wallets.delete(request.partner_id):
            raise NotFound(f"Partner {request.partner_id[:64]!r} has no wallet.", code="wallet.not_found")
        return lookup_pb.DeletePartnerWalletResponse()

    @translate_errors
    async def ListCredentialAudit(self, request: lookup_pb.ListCredentialAuditRequest, context: RpcContext) -> lookup_pb.ListCredentialAuditResponse:
        if not request.corr_uuid or len(request.corr_uuid) > 256:
            raise InvalidInput("Failed to read corrUUID: expected the corrUUID of a question.", code="query.corr_uuid", field="corrUUID")
        admin = caller_of(request.caller).is_admin
        entries = [
            e for e in await self.wallets.audit_of(request.corr_uuid) if admin or e.partner_id == request.caller.partner_id
        ]
        return lookup_pb.ListCredentialAuditResponse(
            entries=[
                lookup_pb.CredentialAuditEntry(
                    at=e.at, partner_id=e.partner_id, action=e.action, outcome=e.outcome, code=e.code,
                    corr_uuid=e.corr_uuid, counterparty=e.counterparty,
                )
                for e in entries
            ]
        )

    @translate_errors
    async def ExchangeInboundPresentation(self, request: lookup_pb.ExchangeInboundPresentationRequest, context: RpcContext) -> lookup_pb.ExchangeInboundPresentationResponse:
        if self.atp is None:
            return lookup_pb.ExchangeInboundPresentationResponse()
        remaining = context.time_remaining()
        deadline = time.monotonic() + (remaining - DEADLINE_RESERVE_SECONDS if remaining is not None else 1.0)
        presentation, carriage = await self.atp.inbound(
            request.caller.partner_id, request.corr_uuid, request.presentation, self.network_wallet, deadline,
            body_presentation=request.body_presentation,
        )
        return lookup_pb.ExchangeInboundPresentationResponse(presentation=presentation, carriage=carriage)

    async def WatchDirectory(self, requests: AsyncIterator[lookup_pb.WatchDirectoryRequest], context: RpcContext) -> AsyncIterator[lookup_pb.WatchDirectoryResponse]:
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

