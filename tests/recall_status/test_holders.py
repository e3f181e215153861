"""Custody apart from sightings, against a private Redis and a real Redis Cluster: who holds a
unit for a recall follows README "Custody, sightings and visibility", whatever other partners
do with the unit. Each test is the attack, or the mistake, the rule prevents."""

from __future__ import annotations

import doctest
import importlib

from redis.crc import key_slot

from tests.recall_status.custody_cast import GTIN, MAKER, OTHER, PHARMACY, WHOLESALER, unit
from tests.recall_status.custody_events import capture, commission, ev, run
from verinet.recall_status.holders import holders_of
from verinet.recall_status.pack_keys import bucket_key, location_key, sightings_key
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import PackEventBatchData, PackEventData, Whereabouts

SHIPPED_AT = 1_764_000_000.0  # the custody events of custody_events.ev()
LATER = SHIPPED_AT + 3600


async def at_wholesaler(repository: PackRepository, *serials: int) -> None:
    """Commissioned by the maker, shipped to the wholesaler and received there."""
    units = [unit(n) for n in serials]
    await capture(repository, MAKER, [commission(*units)])
    await capture(repository, MAKER, [ev(MAKER, "shipping", units=units, destinations=WHOLESALER.glns)])
    await capture(repository, WHOLESALER, [ev(WHOLESALER, "receiving", units=units)])


async def holders(repository: PackRepository, serial: str) -> list[str]:
    (where,) = await repository.whereabouts([(GTIN, serial)])
    return [h.partner_id for h in holders_of(where)]


def sighting(partner: str, serial: str, record: str, at: float = LATER, gln: str = PHARMACY.glns[0]) -> PackEventData:
    return PackEventData(GTIN, serial, "verification", partner, gln, at, "", record, "verified")


def test_the_sightings_of_a_unit_share_its_cluster_slot() -> None:
    assert key_slot(sightings_key(GTIN, "U1").encode()) == key_slot(bucket_key(GTIN, "U1").encode())


def test_a_stranger_who_verifies_a_unit_does_not_become_its_recall_holder(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await at_wholesaler(repository, 1)
        # verified once, twice, in bulk, with any outcome: a bare sighting moves nothing
        await repository.record_events([sighting(OTHER.partner_id, "U1", "S"), sighting(OTHER.partner_id, "U1", "S", LATER + 1)])
        await repository.record_event_batch(PackEventBatchData("verify", OTHER.partner_id, OTHER.glns[0], LATER + 2, [GTIN], ["U1"], ["OK"]))
        assert await holders(repository, "U1") == [WHOLESALER.partner_id]
        (location,) = await repository.locations([(GTIN, "U1")])
        assert location is not None and (location.partner_id, location.event) == (WHOLESALER.partner_id, "receiving")

    run(redis_url, scenario)


def test_a_failed_check_is_recorded_as_an_attempt_and_never_as_a_location(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await capture(repository, MAKER, [commission(unit(1))])
        # even one claiming possession: a wrong lot or expiry proves nothing
        await repository.record_events([sighting(OTHER.partner_id, "U1", "A")])
        await repository.record_event_batch(
            PackEventBatchData("verify", OTHER.partner_id, OTHER.glns[0], LATER, [GTIN], ["U1"], ["NMVS_FE_LOT_13"], ["A"])
        )
        assert await repository.whereabouts([(GTIN, "U1")]) == [Whereabouts()]
        assert await holders(repository, "U1") == []
        history = await repository.history(GTIN, "U1")
        assert [(e["partner"], e.get("attempt")) for e in history] == [(OTHER.partner_id, True)] * 2

    run(redis_url, scenario)


def test_a_possession_attested_sighting_after_the_last_custody_event_adds_a_holder_after_the_custodian(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await at_wholesaler(repository, 1)
        await repository.record_events([sighting(PHARMACY.partner_id, "U1", "P")])
        assert await holders(repository, "U1") == [WHOLESALER.partner_id, PHARMACY.partner_id]
        # a sighting that happened before the receipt (sent late) adds nobody
        await repository.record_events([sighting(OTHER.partner_id, "U1", "P", SHIPPED_AT - 60)])
        assert await holders(repository, "U1") == [WHOLESALER.partner_id, PHARMACY.partner_id]

    run(redis_url, scenario)


def test_a_custody_event_ends_the_holding_of_earlier_sightings(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await at_wholesaler(repository, 1)
        await repository.record_events([sighting(OTHER.partner_id, "U1", "P", SHIPPED_AT + 10)])
        assert await holders(repository, "U1") == [WHOLESALER.partner_id, OTHER.partner_id]
        ship = ev(WHOLESALER, "shipping", units=[unit(1)], destinations=PHARMACY.glns, at=SHIPPED_AT + 20)
        await capture(repository, WHOLESALER, [ship])
        assert await holders(repository, "U1") == [WHOLESALER.partner_id]  # the shipper's, until received
        await capture(repository, PHARMACY, [ev(PHARMACY, "receiving", units=[unit(1)], at=SHIPPED_AT + 30)])
        assert await holders(repository, "U1") == [PHARMACY.partner_id]
        assert await repository.redis.hget(sightings_key(GTIN, "U1"), "U1") is None

    run(redis_url, scenario)


def test_a_state_change_moves_custody_only_when_the_custodian_makes_it(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await at_wholesaler(repository, 1, 2)
        stranger = PackEventBatchData("decommission", OTHER.partner_id, OTHER.glns[0], LATER, [GTIN], ["U1"], ["OK"], ["C"])
        await repository.record_event_batch(stranger)
        assert await holders(repository, "U1") == [WHOLESALER.partner_id, OTHER.partner_id]  # it had the unit in hand
        custodian = PackEventBatchData("decommission", WHOLESALER.partner_id, WHOLESALER.glns[0], LATER, [GTIN], ["U2"], ["OK"], ["C"])
        await repository.record_event_batch(custodian)
        (location,) = await repository.locations([(GTIN, "U2")])
        assert location is not None and (location.event, location.at) == ("decommission", LATER)
        assert await holders(repository, "U2") == [WHOLESALER.partner_id]
        # a unit never shipped is in its manufacturer's custody
        await capture(repository, MAKER, [commission(unit(3))])
        own = PackEventBatchData("decommission", MAKER.partner_id, MAKER.glns[0], LATER, [GTIN], ["U3"], ["OK"], ["C"])
        await repository.record_event_batch(own)
        assert await holders(repository, "U3") == [MAKER.partner_id]

    run(redis_url, scenario)


def test_a_partner_keeps_one_sighting_and_a_unit_at_most_eight(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await capture(repository, MAKER, [commission(unit(1))])
        await repository.record_events([sighting(f"p{n}", "U1", "P", LATER + n) for n in range(12)])
        await repository.record_events([sighting("p11", "U1", "P", LATER + 20)])
        (where,) = await repository.whereabouts([(GTIN, "U1")])
        assert [s.partner_id for s in where.sightings] == [f"p{n}" for n in range(4, 11)] + ["p11"]
        assert await repository.redis.hget(location_key(GTIN, "U1"), "U1") is None

    run(redis_url, scenario)


def test_an_epcis_state_change_by_a_partner_not_holding_the_unit_is_a_sighting(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await at_wholesaler(repository, 1)
        dispensed = await capture(repository, PHARMACY, [ev(PHARMACY, "dispensing", units=[unit(1)], at=LATER)])
        assert dispensed.applied, dispensed
        (where,) = await repository.whereabouts([(GTIN, "U1")])
        assert where.custody is not None and where.custody.partner_id == WHOLESALER.partner_id
        assert await holders(repository, "U1") == [WHOLESALER.partner_id, PHARMACY.partner_id]

    run(redis_url, scenario)


def test_the_rules_hold_as_their_modules_document_them() -> None:
    for name in ("holders", "visibility", "subscriptions"):
        result = doctest.testmod(importlib.import_module(f"verinet.recall_status.{name}"))
        assert result.attempted and not result.failed, name
