"""The ATP credential exchange around a forwarded question (OCI).

When the requestor has a wallet: its presentation for this question (nonce = corrUUID) goes
along as the remote profile says (a header, or a query parameter for ``body`` carriage), and
the answer must carry the responder's presentation (the same header, or a JSON member of the
answer), verified through the requestor's wallet. Any refusal is a 403 with the OCI error
code, never a verdict. Every generate and verify is audited: logged when it ends, and stored
with the others of the same question in one Redis write (``record``) before the question is
answered, refused or failed. A requestor without a wallet is forwarded as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import orjson

from verinet.errors import VerinetError
from verinet.lookup.forwarding import RemoteAnswer
from verinet.lookup.oci import AtpRefused, WalletClient
from verinet.lookup.profiles import RemoteProfile
from verinet.lookup.wallets import AuditEntry, PartnerWallet, WalletStore

log = logging.getLogger(__name__)


class AtpExchange:
    def __init__(self, wallets: WalletStore, client: WalletClient, wall_clock: Callable[[], float] = time.time) -> None:
        self.wallets = wallets
        self.client = client
        self.wall_clock = wall_clock

    async def outbound(
        self, partner_id: str, profile: RemoteProfile, query: dict[str, str], deadline: float, audit: list[AuditEntry]
    ) -> tuple[RemoteProfile, dict[str, str], PartnerWallet | None]:
        """The profile and query to send with: the requestor's presentation attached. What was
        done goes to ``audit``, for the caller to ``record`` when the question is over."""
        holder = await self.wallets.current(partner_id) if partner_id else None
        if holder is None:
            return profile, query, None
        query = dict(query)
        corr_uuid = query.get("corrUUID") or str(uuid.uuid4())  # the presentation's nonce
        query["corrUUID"] = corr_uuid
        presentation = await self._audited(
            audit, "generate", holder, corr_uuid, profile.base_url, self.client.generate(holder.wallet, corr_uuid, deadline)
        )
        if profile.atp_carriage == "header":
            profile = replace(profile, headers=(*profile.headers, (profile.atp_name, presentation)))
        else:
            query[profile.atp_name] = presentation
        return profile, query, holder

    async def check_answer(
        self, holder: PartnerWallet, profile: RemoteProfile, answer: RemoteAnswer, corr_uuid: str, deadline: float,
        audit: list[AuditEntry],
    ) -> None:
        """Verifies the responder's presentation in a 200 answer through the requestor's wallet."""
        if answer.status != 200:
            return
        presentation = responder_presentation(profile, answer)
        if not presentation:
            refused = AtpRefused(
                "vc_not_found",
                f"Remote network {profile.name or profile.base_url} answered without its ATP presentation "
                f"({'header' if profile.atp_carriage == 'header' else 'member'} {profile.atp_name}).",
            )
            self._audit(audit, "verify", holder, corr_uuid, profile.base_url, "refused", refused.oci_code)
            raise refused
        await self._audited(
            audit, "verify", holder, corr_uuid, profile.base_url,
            self.client.verify(holder.wallet, presentation, corr_uuid, deadline),
        )

    async def inbound(
        self, sender: str, corr_uuid: str, presentation: str, own: PartnerWallet | None, deadline: float,
        body_presentation: str = "",
    ) -> tuple[str, str]:
        """A question from network partner ``sender``: its presentation verified through this
        network's wallet as its inbound policy says; this network's presentation to answer with,
        and where (``header`` or ``body``). The sender's inbound carriage says where its
        presentation is read: the header ``presentation`` (the default) or, for ``body``, the
        query parameter ``body_presentation``; one elsewhere is not seen."""
        if own is None or not sender:
            return "", "header"
        record = await self.wallets.current(sender)
        policy = record.inbound_policy if record is not None else "off"
        carriage = record.inbound_carriage if record is not None else "header"
        if policy == "off":
            return "", carriage
        audited_as = replace(own, partner_id=sender)  # the sender lists what was done for its question
        audit: list[AuditEntry] = []
        sent = body_presentation if carriage == "body" else presentation
        try:
            return await self._inbound(audited_as, sender, policy, corr_uuid, sent, own, deadline, audit), carriage
        finally:
            await self.record(audit)

    async def _inbound(
        self, audited_as: PartnerWallet, sender: str, policy: str, corr_uuid: str, presentation: str, own: PartnerWallet,
        deadline: float, audit: list[AuditEntry],
    ) -> str:
        if not presentation:
            if policy == "required":
                refused = AtpRefused("vc_not_found", "This network requires an ATP presentation with every question from your network.")
                self._audit(audit, "verify", audited_as, corr_uuid, sender, "refused", refused.oci_code)
                raise refused
            return ""
        # Both wallet calls at once: the answer waits for the slower one, not for their sum.
        verified, generated = await asyncio.gather(
            self._audited(audit, "verify", audited_as, corr_uuid, sender, self.client.verify(own.wallet, presentation, corr_uuid, deadline)),
            self._audited(audit, "generate", audited_as, corr_uuid, sender, self.client.generate(own.wallet, corr_uuid, deadline)),
            return_exceptions=True,
        )
        for outcome in (verified, generated):  # a refused presentation first, then a failed generate
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(generated, str)
        return generated

    async def record(self, audit: list[AuditEntry]) -> None:
        """Stores the audit entries of one question (one Redis write)."""
        if audit:
            await self.wallets.audit(*audit)

    async def _audited(
        self, audit: list[AuditEntry], action: str, holder: PartnerWallet, corr_uuid: str, counterparty: str, call: object
    ) -> str:
        try:
            result: str = await call  # type: ignore[misc]
        except AtpRefused as refused:
            self._audit(audit, action, holder, corr_uuid, counterparty, "refused", refused.oci_code)
            raise
        except VerinetError as error:
            self._audit(audit, action, holder, corr_uuid, counterparty, "error", error.code)
            raise
        self._audit(audit, action, holder, corr_uuid, counterparty, "ok", "")
        return result

    def _audit(
        self, audit: list[AuditEntry], action: str, holder: PartnerWallet, corr_uuid: str, counterparty: str, outcome: str, code: str
    ) -> None:
        audit.append(AuditEntry(self.wall_clock(), holder.partner_id, action, outcome, code, corr_uuid, counterparty))
        log.info(
            "ATP %s for %s: %s %s", action, holder.partner_id, outcome, code,
            extra={"corr_uuid": corr_uuid, "partner": holder.partner_id, "action": action, "outcome": outcome, "oci_code": code},
        )


def responder_presentation(profile: RemoteProfile, answer: RemoteAnswer) -> str:
    if profile.atp_carriage == "header":
        return answer.headers.get(profile.atp_name.lower(), "")
    try:
        doc = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return ""
    value = doc.get(profile.atp_name) if isinstance(doc, dict) else None
    return value if isinstance(value, str) else ""
