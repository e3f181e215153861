"""Exclusive identities in the partner store, as a second company would try to take them:
on one Redis and on a real 3-master Redis Cluster, with concurrent writers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from verinet.errors import Conflict, Unauthenticated
from verinet.partners import NewPartner, Partner, PartnerChanges, PartnerStore
from verinet.store import connect

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
GLN_A = "0614141000005"
GLN_B = "0860000100007"


def run(redis_url: str, scenario: Callable[[Callable[[], PartnerStore]], Awaitable[None]]) -> None:
    """Runs ``scenario`` with a factory of stores, each on its own connection (as each gateway
    process has its own)."""

    async def main() -> None:
        clients: list[Any] = []

        def store() -> PartnerStore:
            clients.append(connect(redis_url))
            return PartnerStore(clients[-1])

        try:
            await scenario(store)
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(main())


def manufacturer(prefix: str, *glns: str) -> NewPartner:
    return NewPartner(name=f"Maker {prefix}", roles=["manufacturer"], glns=glns, company_prefixes=[prefix])


@pytest.mark.parametrize(
    ("held", "wanted", "relation"),
    [("0614141", "0614141", "equal"), ("0614141", "06141415", "inside"), ("06141415", "0614141", "containing"), ("0614141", "061414155555", "deep inside"), ("061414155555", "0614", "far containing")],
)
def test_a_second_manufacturer_cannot_take_a_prefix_that_overlaps_the_first(redis_url: str, held: str, wanted: str, relation: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        first, _ = await partners.create(manufacturer(held), NOW)
        with pytest.raises(Conflict) as refused:
            await partners.create(NewPartner("Rival", ["manufacturer"], company_prefixes=["0860001", wanted]), NOW)
        assert (refused.value.code, refused.value.field) == ("partner.prefix_taken", "company_prefixes[1]")
        assert first.id not in refused.value.message and first.name not in refused.value.message
        assert [p.id for p in await partners.list()] == [first.id]  # nothing half-written
        # the refused partner's other prefix was not taken either
        await partners.create(manufacturer("0860001"), NOW)

    run(redis_url, scenario)


def test_prefixes_that_only_share_leading_digits_do_not_overlap(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        await partners.create(manufacturer("0614141"), NOW)
        for sibling in ("0614142", "0614150", "0614140000"):
            await partners.create(manufacturer(sibling), NOW)
        assert len(await partners.list()) == 4

    run(redis_url, scenario)


def test_a_gln_held_by_one_partner_is_refused_to_another_on_create_and_update(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        holder, _ = await partners.create(NewPartner("Pharmacy", ["dispenser"], glns=[GLN_A]), NOW)
        with pytest.raises(Conflict) as refused:
            await partners.create(NewPartner("Rival", ["dispenser"], glns=[GLN_B, GLN_A]), NOW)
        assert (refused.value.code, refused.value.field) == ("partner.gln_taken", "glns[1]")
        assert holder.id not in refused.value.message
        rival, _ = await partners.create(NewPartner("Rival", ["dispenser"], glns=[GLN_B]), NOW)
        with pytest.raises(Conflict) as refused:
            await partners.update(rival.id, PartnerChanges(glns=[GLN_B, GLN_A]))
        assert (refused.value.code, refused.value.field) == ("partner.gln_taken", "glns[1]")
        assert (await partners.get(rival.id)).glns == (GLN_B,)

    run(redis_url, scenario)


def test_an_update_cannot_move_a_partner_onto_another_ones_prefix_but_may_keep_or_drop_its_own(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        await partners.create(manufacturer("0614141"), NOW)
        other, _ = await partners.create(manufacturer("0860001"), NOW)
        for wanted in ("0614141", "06141419", "061414"):
            with pytest.raises(Conflict) as refused:
                await partners.update(other.id, PartnerChanges(company_prefixes=["0860001", wanted]))
            assert (refused.value.code, refused.value.field) == ("partner.prefix_taken", "company_prefixes[1]")
        same = await partners.update(other.id, PartnerChanges(name="Renamed", company_prefixes=["0860001", "08600019"]))
        assert same.company_prefixes == ("0860001", "08600019") and same.name == "Renamed"
        moved = await partners.update(other.id, PartnerChanges(company_prefixes=["0870001"]))
        assert moved.company_prefixes == ("0870001",)
        await partners.create(manufacturer("0860001"), NOW)  # given back by the update

    run(redis_url, scenario)


def test_of_concurrent_creates_with_one_prefix_exactly_one_wins(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        stores = [store() for _ in range(8)]
        # pairwise overlapping: each equal to, inside or containing every other
        wanted = ["0614141", "06141415", "061414", "0614141", "061414155", "0614", "06141415", "06141"]
        results = await asyncio.gather(
            *(s.create(manufacturer(prefix), NOW) for s, prefix in zip(stores, wanted, strict=True)), return_exceptions=True
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        assert len(won) == 1, results
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))

    run(redis_url, scenario)


def test_the_last_admin_is_never_revoked_even_by_concurrent_revocations(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        admins = [(await partners.create(NewPartner(f"admin {n}", ["admin"]), NOW))[0] for n in range(3)]
        results = await asyncio.gather(*(store().revoke(a.id, NOW) for a in admins), return_exceptions=True)
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(refused) == 1 and refused[0].code == "partner.last_admin"
        active = [p for p in await partners.list() if p.status == "active"]
        assert len(active) == 1
        with pytest.raises(Conflict) as demoted:
            await partners.update(active[0].id, PartnerChanges(roles=["wholesaler"]))
        assert demoted.value.code == "partner.last_admin"

    run(redis_url, scenario)


def test_revoking_twice_changes_nothing_and_answers_the_same(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        maker, _ = await partners.create(manufacturer("0614141", GLN_A), NOW)
        first = await partners.revoke(maker.id, NOW)
        second = await partners.revoke(maker.id, NOW + dt.timedelta(hours=1))
        assert first == second and first.status == "revoked" and first.revoked_at == NOW.isoformat()
        # a revoked partner gives its identities back: the company can be onboarded again
        again, _ = await partners.create(manufacturer("0614141", GLN_A), NOW)
        assert again.id != maker.id

    run(redis_url, scenario)


def test_partners_stored_before_claims_existed_keep_their_identities(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        legacy = store()
        await legacy.redis.hset("partner:p_legacy", mapping={"name": "Old Maker", "roles": "manufacturer", "glns": GLN_A, "prefixes": "0614141", "status": "active", "created_at": NOW.isoformat(), "token": "x"})
        await legacy.redis.sadd("partners", "p_legacy")
        partners = store()
        with pytest.raises(Conflict):
            await partners.create(manufacturer("06141415"), NOW)
        with pytest.raises(Conflict):
            await partners.create(NewPartner("Rival", ["dispenser"], glns=[GLN_A]), NOW)
        kept: Partner = await partners.update("p_legacy", PartnerChanges(name="Old Maker Inc."))
        assert kept.company_prefixes == ("0614141",)

    run(redis_url, scenario)


def test_a_create_interrupted_before_activation_leaves_a_pending_partner_that_revoking_clears(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        partners = store()
        stuck, token = await partners.create(manufacturer("0614141", GLN_A), NOW)
        # as if the process died between claiming and activating
        await partners.redis.hset(f"partner:{stuck.id}", "status", "pending")
        with pytest.raises(Unauthenticated):
            await store().authenticate(token)
        with pytest.raises(Conflict):
            await partners.create(manufacturer("0614141", GLN_A), NOW)
        await partners.revoke(stuck.id, NOW)
        await partners.create(manufacturer("0614141", GLN_A), NOW)

    run(redis_url, scenario)


def test_partners_that_overlapped_before_claims_existed_can_still_be_renamed(redis_url: str) -> None:
    async def scenario(store: Callable[[], PartnerStore]) -> None:
        legacy = store()
        for pid in ("p_old1", "p_old2"):
            await legacy.redis.hset(f"partner:{pid}", mapping={"name": pid, "roles": "manufacturer", "glns": GLN_A, "prefixes": "0614141", "status": "active", "created_at": NOW.isoformat(), "token": pid})
            await legacy.redis.sadd("partners", pid)
        partners = store()
        renamed = await partners.update("p_old2", PartnerChanges(name="Second Maker"))
        assert renamed.name == "Second Maker" and renamed.company_prefixes == ("0614141",)
        with pytest.raises(Conflict):  # what it did not have is still checked
            await partners.update("p_old2", PartnerChanges(company_prefixes=["0614141", "06141419"]))
        with pytest.raises(Conflict):  # and the first holder keeps the GLN they share
            await partners.create(NewPartner("Rival", ["dispenser"], glns=[GLN_A]), NOW)
        await partners.revoke("p_old2", NOW)
        with pytest.raises(Conflict):
            await partners.create(NewPartner("Rival", ["dispenser"], glns=[GLN_A]), NOW)

    run(redis_url, scenario)
