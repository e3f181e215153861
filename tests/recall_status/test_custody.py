"""Custody capture against a private Redis and a real Redis Cluster: aggregation stored and
expanded recursively across documents, custody moves, the pack API's rules for state changes,
whole refusals that write nothing, repeats ignored, one capture at a time per partner."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson
import pytest
from redis.crc import key_slot

from tests.recall_status.custody_cast import (
    GTIN,
    MAKER,
    NOW,
    OTHER,
    PHARMACY,
    WHOLESALER,
    sscc,
    unit,
)
from tests.recall_status.custody_events import capture, commission, ev, run
from verinet.errors import Conflict
from verinet.packs import PackState
from verinet.recall_status.custody import Capture
from verinet.recall_status.custody_model import Actor, CaptureOutcome, CustodyEvent
from verinet.recall_status.custody_store import (
    aggregation_key,
    container_parent_key,
    custody_key,
    lock_key,
    seen_key,
    unit_parent_key,
)
from verinet.recall_status.pack_keys import (
    audit_key,
    bucket_key,
    decommission_key,
    history_key,
    location_key,
)
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import PackEventData


def pack(actor: Actor, parent: str, units: Sequence[str] = (), containers: Sequence[str] = ()) -> CustodyEvent:
    return ev(actor, "packing", units=units, containers=containers, parent=parent, kind="AggregationEvent", action="ADD")


def codes(outcome: CaptureOutcome) -> list[str]:
    return [r.code for r in outcome.refusals]


# -- layout ---------------------------------------------------------------------------------------


def test_keys_of_one_unit_and_of_one_case_share_a_cluster_slot() -> None:
    serial = "U1"
    unit_keys = [
        bucket_key(GTIN, serial), custody_key(GTIN, serial), unit_parent_key(GTIN, serial),
        location_key(GTIN, serial), history_key(GTIN, serial),
    ]  # fmt: skip
    assert len({key_slot(k.encode()) for k in unit_keys}) == 1
    case = sscc(1)
    assert key_slot(aggregation_key(case).encode()) == key_slot(container_parent_key(case).encode())
    digest = hashlib.sha256(b"x").digest()
    assert seen_key("p1", digest).startswith("epcisseen:{p1:")
    assert lock_key("p1") == "epcislock:{p1}"


# -- aggregation and custody ----------------------------------------------------------------------


def test_a_pallet_packed_in_one_document_is_shipped_and_received_whole_in_later_ones(redis_url: str) -> None:
    units = [unit(n) for n in range(6)]
    case_a, case_b, pallet = sscc(1), sscc(2), sscc(3)

    async def scenario(repository: PackRepository) -> None:
        packed = await capture(
            repository,
            MAKER,
            [commission(*units), pack(MAKER, case_a, units[:3])],  # two chunks: the overlay
            [pack(MAKER, case_b, units[3:]), pack(MAKER, pallet, containers=[case_a, case_b])],  # spans them
        )
        assert packed.applied and packed.unit_events == 6 + 3 + 3 + 6, packed
        # Later documents know the pallet only from Redis: it expands to every unit inside.
        shipped = await capture(repository, MAKER, [ev(MAKER, "shipping", containers=[pallet], destinations=WHOLESALER.glns)])
        assert shipped.applied and shipped.unit_events == 6, shipped
        received = await capture(repository, WHOLESALER, [ev(WHOLESALER, "receiving", containers=[pallet])])
        assert received.applied and received.unit_events == 6, received
        locations = await repository.locations([(GTIN, u[14:]) for u in units])
        assert {(loc.gln, loc.partner_id, loc.event) for loc in locations if loc} == {
            (WHOLESALER.glns[0], WHOLESALER.partner_id, "receiving")
        }
        assert all(loc is not None for loc in locations)
        events = [e["event"] for e in await repository.history(GTIN, "U0")]
        assert events == ["packing", "packing", "shipping", "receiving"]
        # Unpacking the pallet leaves the cases whole; the wholesaler ships one case on.
        unpacked = await capture(repository, WHOLESALER, [ev(WHOLESALER, "unpacking", parent=pallet, kind="AggregationEvent", action="DELETE")])
        assert unpacked.applied and unpacked.unit_events == 6
        onward = await capture(repository, WHOLESALER, [ev(WHOLESALER, "shipping", containers=[case_a], destinations=PHARMACY.glns)])
        assert onward.applied and onward.unit_events == 3
        refused = await capture(repository, WHOLESALER, [ev(WHOLESALER, "shipping", containers=[pallet])])
        assert codes(refused) == ["aggregation.unknown_container"]

    run(redis_url, scenario)


def test_receiving_needs_a_shipment_to_one_of_the_receivers_glns(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await capture(repository, MAKER, [commission(unit(1), unit(2))])
        never = await capture(repository, WHOLESALER, [ev(WHOLESALER, "receiving", units=[unit(1)])])
        assert codes(never) == ["custody.not_shipped"] and MAKER.partner_id not in never.refusals[0].message
        await capture(repository, MAKER, [ev(MAKER, "shipping", units=[unit(1)], destinations=WHOLESALER.glns)])
        elsewhere = await capture(repository, OTHER, [ev(OTHER, "receiving", units=[unit(1)])])
        assert codes(elsewhere) == ["custody.foreign_destination"] and elsewhere.refusals[0].kind == "forbidden"
        twice = await capture(repository, MAKER, [ev(MAKER, "shipping", units=[unit(1)])])
        assert codes(twice) == ["custody.in_transit"]
        stranger = await capture(repository, OTHER, [ev(OTHER, "shipping", units=[unit(2)])])
        assert codes(stranger) == ["custody.not_held"]
        unknown = await capture(repository, MAKER, [ev(MAKER, "shipping", units=[unit(99)])])
        assert codes(unknown) == ["pack.not_commissioned"]

    run(redis_url, scenario)


def test_cases_cannot_be_packed_into_themselves_or_twice(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        outcome = await capture(
            repository,
            MAKER,
            [
                commission(unit(1), unit(2)),
                pack(MAKER, sscc(1), [unit(1)]),
                pack(MAKER, sscc(2), containers=[sscc(1)]),
                pack(MAKER, sscc(1), containers=[sscc(2)]),  # the pallet into its own case
                pack(MAKER, sscc(3), [unit(1)]),  # already in case 1
                pack(MAKER, sscc(3), containers=[sscc(3)]),
            ],
        )
        assert codes(outcome) == ["aggregation.cycle", "aggregation.already_packed", "aggregation.cycle"]
        assert [r.index for r in outcome.refusals] == sorted(r.index for r in outcome.refusals)

    run(redis_url, scenario)


# -- all or nothing, repeats, the lock -----------------------------------------------------------


def test_a_refused_document_writes_nothing_at_all(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        client = repository.redis
        good = [
            commission(unit(1)),
            pack(MAKER, sscc(1), [unit(1)]),
            ev(MAKER, "shipping", containers=[sscc(1)], destinations=WHOLESALER.glns),
        ]
        outcome = await capture(repository, MAKER, good, [ev(MAKER, "receiving", units=[unit(1)])])
        assert not outcome.applied and codes(outcome) == ["custody.foreign_destination"]
        written = [
            bucket_key(GTIN, "U1"), aggregation_key(sscc(1)), unit_parent_key(GTIN, "U1"),
            custody_key(GTIN, "U1"), location_key(GTIN, "U1"), history_key(GTIN, "U1"),
        ]  # fmt: skip
        assert [await client.exists(k) for k in written] == [0] * len(written)
        for event in good:
            for digest in Capture.digests(event):
                assert not await client.exists(seen_key(MAKER.partner_id, digest))
        assert not await client.exists(lock_key(MAKER.partner_id))
        # A stream that ends without its commit chunk writes nothing either.
        cut = await capture(repository, MAKER, good, commit=False)
        assert not cut.applied and await client.exists(bucket_key(GTIN, "U1")) == 0
        applied = await capture(repository, MAKER, good)
        assert applied.applied and await client.hget(bucket_key(GTIN, "U1"), "U1") is not None

    run(redis_url, scenario)


def test_repeated_events_are_ignored_within_and_across_documents(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        first = commission(unit(1))
        shipped = ev(MAKER, "shipping", units=[unit(1)], event_id="urn:uuid:1")
        outcome = await capture(repository, MAKER, [first, first, shipped])
        assert (outcome.applied, outcome.events, outcome.duplicates) == (True, 3, 1)
        again = ev(MAKER, "shipping", units=[unit(1)], event_id="urn:uuid:1", at=1_764_100_000.0)
        repeat = await capture(repository, MAKER, [first, again])
        assert (repeat.applied, repeat.duplicates, repeat.unit_events) == (True, 2, 0)
        # Seen events are the partner's own: another partner's identical id is its own event.
        assert len(await repository.history(GTIN, "U1")) == 1

    run(redis_url, scenario)


def test_one_capture_at_a_time_per_partner(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        running = Capture(repository, MAKER, NOW)
        await running.begin()
        with pytest.raises(Conflict) as caught:
            await Capture(repository, MAKER, NOW).begin()
        assert caught.value.code == "epcis.capture_in_progress"
        other = Capture(repository, WHOLESALER, NOW)
        await other.begin()
        await other.release()
        await running.release()
        after = Capture(repository, MAKER, NOW)
        await after.begin()
        await after.release()

    run(redis_url, scenario)


def test_refusals_are_listed_up_to_a_bound_and_all_counted(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        bad = [ev(MAKER, "shipping", units=[unit(90 + n)]) for n in range(5)]
        outcome = await capture(repository, MAKER, bad, max_refusals=2)
        assert outcome.refused == 5 and len(outcome.refusals) == 2

    run(redis_url, scenario)


# -- state changes: the pack API's rules ---------------------------------------------------------


def test_state_changes_are_decided_and_applied_as_by_the_pack_api(redis_url: str) -> None:
    async def scenario(repository: PackRepository) -> None:
        await capture(repository, MAKER, [commission(unit(1), unit(2), unit(3))])
        chain_before = await repository.redis.xlen(audit_key(GTIN))
        stolen = await capture(repository, PHARMACY, [ev(PHARMACY, "decommissioning", units=[unit(1)], disposition="stolen")])
        assert codes(stolen) == ["VERINET_ROLE_STATE"] and stolen.refusals[0].kind == "forbidden"
        destroyed = await capture(
            repository,
            WHOLESALER,
            [
                ev(WHOLESALER, "destroying", units=[unit(1)]),
                ev(WHOLESALER, "dispensing", units=[unit(2)], disposition="dispensed"),
            ],
        )
        assert destroyed.applied and destroyed.state_changes == 2, destroyed
        records = await repository.statuses([(GTIN, "U1"), (GTIN, "U2"), (GTIN, "U3")], with_decommission=True)
        assert [r.record.pack_state for r in records if r] == [PackState.DESTROYED, PackState.SUPPLIED, PackState.ACTIVE]
        last = records[0].last_decommission if records[0] else None
        assert last is not None and (last.partner_id, last.location_gln) == (WHOLESALER.partner_id, WHOLESALER.glns[0])
        assert await repository.redis.hexists(decommission_key(GTIN, "U1"), "U1")
        assert await repository.redis.xlen(audit_key(GTIN)) == chain_before + 2
        # Within one document the second change sees the first: destroyed, then supplied.
        both = await capture(
            repository,
            WHOLESALER,
            [ev(WHOLESALER, "destroying", units=[unit(3)]), ev(WHOLESALER, "dispensing", units=[unit(3)])],
        )
        assert codes(both) == ["NMVS_NC_PCK_22"]
        # The wholesaler never received U1: its state change is an attested sighting, and the
        # unit's custody stays where it was.
        (where,) = await repository.whereabouts([(GTIN, "U1")])
        assert where.custody is None
        assert [(s.partner_id, s.event) for s in where.sightings] == [(WHOLESALER.partner_id, "destroying")]

    run(redis_url, scenario)


def test_custody_history_and_locations_are_encoded_exactly_as_record_events_does(redis_url: str) -> None:
    """Capture writes a chunk's entries by script; what it stores must stay byte for byte what
    PackRepository.record_events stores, which recalls and GET .../history read."""

    async def scenario(repository: PackRepository) -> None:
        await capture(repository, MAKER, [commission(unit(1), unit(2))])
        shipped = ev(MAKER, "shipping", units=[unit(1)], destinations=WHOLESALER.glns, event_id="urn:uuid:9")
        outcome = await capture(repository, MAKER, [shipped])
        assert outcome.applied
        client = repository.redis
        stored_location = await client.hget(location_key(GTIN, "U1"), "U1")
        stored_history = await client.lrange(history_key(GTIN, "U1"), 0, -1)
        entry = orjson.loads(stored_history[-1])
        await repository.record_events(
            [PackEventData(GTIN, "U2", entry["event"], MAKER.partner_id, MAKER.glns[0], shipped.event_time, entry["detail"], "L")]
        )
        assert await client.hget(location_key(GTIN, "U2"), "U2") == stored_location
        # the same entry, plus the destinations kept apart from the text (visibility)
        (one,) = [orjson.loads(raw) for raw in await client.lrange(history_key(GTIN, "U2"), 0, -1)]
        assert [orjson.loads(raw) for raw in stored_history] == [one | {"to": [WHOLESALER.glns[0]]}]
        assert entry["detail"] == "po PO-1; eventID urn:uuid:9"

    run(redis_url, scenario)
