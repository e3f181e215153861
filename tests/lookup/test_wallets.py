"""Partners' wallet records as the credential exchange reads them: from this process for a few
seconds, never older than that, and a write through this process seen at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from verinet.embedded_redis import EmbeddedRedis
from verinet.lookup.oci import Wallet
from verinet.lookup.wallets import CACHE_SECONDS, PartnerWallet, WalletStore
from verinet.store import connect


def record(partner_id: str, policy: str = "optional") -> PartnerWallet:
    wallet = Wallet(did=f"did:web:wallet.example.net:{partner_id}", url="https://wallet.example.net", client_id="id", client_secret="secret")
    return PartnerWallet(partner_id, wallet, policy)


def test_the_exchange_sees_another_replicas_wallet_change_within_the_cache_time_and_its_own_at_once(tmp_path: Path) -> None:
    async def main() -> None:
        with EmbeddedRedis(tmp_path / "redis") as server:
            redis = connect(server.url)
            now = [100.0]
            here, other = WalletStore(redis, clock=lambda: now[0]), WalletStore(redis)
            try:
                await here.put(record("p1", "optional"))
                assert (await here.current("p1")).inbound_policy == "optional"  # type: ignore[union-attr]
                assert await here.current("p2") is None

                await other.put(record("p1", "required"))
                await other.put(record("p2"))
                now[0] += CACHE_SECONDS - 0.1
                assert (await here.current("p1")).inbound_policy == "optional"  # type: ignore[union-attr]
                assert await here.current("p2") is None
                now[0] += 0.2
                assert (await here.current("p1")).inbound_policy == "required"  # type: ignore[union-attr]
                assert await here.current("p2") is not None

                await here.delete("p2")
                assert await here.current("p2") is None
                await here.put(record("p1", "off"))
                assert (await here.current("p1")).inbound_policy == "off"  # type: ignore[union-attr]
                assert (await here.get("p1")).inbound_policy == "off"  # type: ignore[union-attr]
            finally:
                await redis.aclose()

    asyncio.run(main())


class PausingStore(WalletStore):
    """A store whose Redis read, once it has its answer, waits until the test lets it go on:
    the test decides where a write lands relative to a read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_answered = asyncio.Event()
        self.go_on = asyncio.Event()

    async def get(self, partner_id: str) -> PartnerWallet | None:
        answer = await super().get(partner_id)
        self.read_answered.set()
        await self.go_on.wait()
        return answer


def test_a_read_overtaken_by_a_write_through_this_process_is_not_kept(tmp_path: Path) -> None:
    async def main() -> None:
        with EmbeddedRedis(tmp_path / "redis") as server:
            redis = connect(server.url)
            store = PausingStore(redis)
            try:
                await store.put(record("p1", "optional"))
                reading = asyncio.create_task(store.current("p1"))
                await store.read_answered.wait()  # the read has the old record in hand
                await store.put(record("p1", "required"))
                store.go_on.set()
                assert (await reading).inbound_policy == "optional"  # type: ignore[union-attr]
                # what that read saw is not kept: the next question sees the write
                assert (await store.current("p1")).inbound_policy == "required"  # type: ignore[union-attr]
            finally:
                await redis.aclose()

    asyncio.run(main())
