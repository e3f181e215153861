"""ATP presentations through real wallets: the reference OCI wallet (tests/lookup/oci_wallet.py)
over HTTP. Each OCI error code comes from a real bad presentation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import pytest

from tests.lookup.oci_wallet import (
    WRONG_CASES,
    Identity,
    ReferenceWallet,
    wallet_serving,
    wrong_presentation,
)
from verinet.lookup.oci import AtpRefused, Wallet, WalletClient
from verinet.lookup.remote_auth import RemoteAuth

CORR = "8d5b0c1e-2f4a-4d8e-9c1b-0a1b2c3d4e5f"


@dataclass
class World:
    issuer_wallet: ReferenceWallet
    verifier_wallet: ReferenceWallet
    issuer: Identity
    holder: Identity
    client: WalletClient

    def wallet_of(self, wallet: ReferenceWallet, did: str) -> Wallet:
        return Wallet(did=did, url=wallet.url, client_id=wallet.client_id, client_secret=wallet.client_secret)

    @property
    def holders_wallet(self) -> Wallet:
        return self.wallet_of(self.issuer_wallet, self.holder.did)

    @property
    def verifiers_wallet(self) -> Wallet:
        return self.wallet_of(self.verifier_wallet, "did:web:verifier.example")

    async def verify(self, presentation: str, corr: str = CORR) -> str:
        return await self.client.verify(self.verifiers_wallet, presentation, corr, time.monotonic() + 5)


def run(scenario: Callable[[World], Awaitable[None]]) -> None:
    async def main() -> None:
        async with wallet_serving() as issuer_wallet, wallet_serving() as verifier_wallet:
            issuer = issuer_wallet.identity("issuer")
            holder = issuer_wallet.identity("wholesaler")
            holder.credential = issuer_wallet.credential(issuer, holder.did)
            verifier_wallet.trusted_issuers.add(issuer.did)
            async with aiohttp.ClientSession() as session:
                await scenario(World(issuer_wallet, verifier_wallet, issuer, holder, WalletClient(session, RemoteAuth(session))))

    asyncio.run(main())


def test_a_presentation_generated_by_the_holders_wallet_is_verified_by_another_wallet() -> None:
    async def scenario(world: World) -> None:
        presentation = await world.client.generate(world.holders_wallet, CORR, time.monotonic() + 5)
        assert await world.verify(presentation) == world.holder.did
        assert [name for name, _ in world.issuer_wallet.calls] == ["generate"]
        assert world.issuer_wallet.calls[0][1] == {"corrUUID": CORR, "holderDID": world.holder.did, "credentialType": "DSCSAATPCredential"}

    run(scenario)


def bad_presentation(world: World, case: str) -> str:
    return wrong_presentation(world.issuer_wallet, world.holder, world.issuer, case, CORR)


@pytest.mark.parametrize(
    "code",
    WRONG_CASES,
)
def test_each_bad_presentation_is_refused_with_its_oci_error_code(code: str) -> None:
    async def scenario(world: World) -> None:
        with pytest.raises(AtpRefused) as refused:
            await world.verify(bad_presentation(world, code))
        assert refused.value.oci_code == code
        assert refused.value.code == f"atp.{code}"
        assert refused.value.details["oci_error"] == code

    run(scenario)


def test_a_holder_without_a_credential_gets_no_presentation() -> None:
    async def scenario(world: World) -> None:
        newcomer = world.issuer_wallet.identity("newcomer")
        with pytest.raises(AtpRefused) as refused:
            await world.client.generate(world.wallet_of(world.issuer_wallet, newcomer.did), CORR, time.monotonic() + 5)
        assert refused.value.oci_code == "vc_not_found"

    run(scenario)


def test_a_wallet_token_is_fetched_once_and_reused(monkeypatch: Any) -> None:
    async def scenario(world: World) -> None:
        for _ in range(3):
            await world.client.generate(world.holders_wallet, CORR, time.monotonic() + 5)
        assert len(world.issuer_wallet.tokens) == 1

    run(scenario)


@pytest.mark.parametrize("code", WRONG_CASES)
def test_each_bad_presentation_is_refused_even_after_the_holders_credential_was_verified(code: str) -> None:
    """The verifier's wallet remembers a credential whose signature it checked; the
    presentation around it (signature, iat, nonce) and the credential's status are checked
    on every question all the same."""

    async def scenario(world: World) -> None:
        good = await world.client.generate(world.holders_wallet, CORR, time.monotonic() + 5)
        assert await world.verify(good) == world.holder.did
        assert world.holder.credential in world.verifier_wallet.proven
        bad = bad_presentation(world, code)
        world.verifier_wallet.fetched.clear()  # a revocation list read before vc_revoked's revocation (the next test times that)
        with pytest.raises(AtpRefused) as refused:
            await world.verify(bad)
        assert refused.value.oci_code == code

    run(scenario)


def test_a_revoked_credential_is_refused_once_the_wallets_cache_time_has_passed() -> None:
    """A wallet reads revocation lists (and remembers checked credentials) for cache_seconds:
    a credential revoked after it was verified is refused on the first question after that."""

    async def scenario(world: World) -> None:
        world.verifier_wallet.cache_seconds = 0.3
        first = await world.client.generate(world.holders_wallet, CORR, time.monotonic() + 5)
        assert await world.verify(first) == world.holder.did
        world.issuer_wallet.revoked.add(jwt.decode(world.holder.credential, options={"verify_signature": False})["jti"])
        await asyncio.sleep(0.35)
        later = await world.client.generate(world.holders_wallet, CORR, time.monotonic() + 5)
        with pytest.raises(AtpRefused) as refused:
            await world.verify(later)
        assert refused.value.oci_code == "vc_revoked"

    run(scenario)
