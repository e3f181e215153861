"""Recall tasks, acknowledgements and what each partner sees of a recall, against a private
Redis and a real Redis Cluster; each test is the attack it prevents. Units are placed with
the custody capture and the event recording the services use; notifications are collected
by the function the recall service is given to queue them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from tests.recall_status.custody_cast import GTIN, MAKER, OTHER, PHARMACY, WHOLESALER, unit
from tests.recall_status.custody_events import capture, commission, ev, repository_with_product
from verinet.errors import InvalidInput, NotFound
from verinet.recall_status.notifications import RecallAudit
from verinet.recall_status.pack_values import PackEventData
from verinet.recall_status.recall_acknowledgements import MAX_ACK_UNITS
from verinet.recall_status.recall_model import RecallScope
from verinet.recall_status.recalls import RecallService

LATER = 1_764_000_000.0 + 3600


@dataclass
class Queued:
    """Notifications the recall service queued: (partner, event, payload)."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    async def enqueue(self, recall_id: str, partner_id: str, event: str, payload: dict[str, Any], *, drill: bool) -> str:
        self.calls.append((partner_id, event, payload))
        return f"nt_{len(self.calls)}"


@dataclass
class Case:
    recalls: RecallService
    queued: Queued
    recall_id: str


def run(redis_url: str, scenario: Callable[[Case], Awaitable[None]]) -> None:
    """Units 1 to 4 at the wholesaler, unit 2 also seen in the pharmacy's hands (attested),
    unit 3 verified by a stranger without attesting, unit 5 never shipped; unit 6 outside the
    recall. The recall takes units 1 to 5."""

    async def main() -> None:
        async with repository_with_product(redis_url, "Recall case") as repository:
            client = repository.redis
            units = [unit(n) for n in range(1, 7)]
            await capture(repository, MAKER, [commission(*units)])
            shipped = units[:4] + units[5:]
            await capture(repository, MAKER, [ev(MAKER, "shipping", units=shipped, destinations=WHOLESALER.glns)])
            await capture(repository, WHOLESALER, [ev(WHOLESALER, "receiving", units=shipped)])
            await repository.record_events(
                [
                    PackEventData(GTIN, "U2", "verification", PHARMACY.partner_id, PHARMACY.glns[0], LATER, "", "P"),
                    PackEventData(GTIN, "U3", "verification", OTHER.partner_id, OTHER.glns[0], LATER, "", "S"),
                    PackEventData(GTIN, "U6", "verification", OTHER.partner_id, OTHER.glns[0], LATER, "", "P"),
                ]
            )
            queued = Queued()

            recall_audit = RecallAudit(client)

            async def audit(recall_id: str, entry: dict[str, Any]) -> None:
                await recall_audit.append(recall_id, entry)

            async def delivered_at(recall_id: str) -> dict[str, float]:
                return {}

            recalls = RecallService(client, repository, queued.enqueue, audit, delivered_at)
            scope = RecallScope(packs=tuple((GTIN, f"U{n}") for n in range(1, 6)))
            created = await recalls.create(MAKER.partner_id, False, scope, "I", "Contamination", "retail", False)
            await scenario(Case(recalls, queued, created["id"]))

    asyncio.run(main())


def test_a_recall_is_delivered_only_to_holders_of_units_in_scope(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        told = {partner: sorted(u["serial"] for u in payload["units"]) for partner, _, payload in case.queued.calls if partner != MAKER.partner_id}
        # its manufacturer hears of its own recall, with counts and no holder's units
        assert [("units" in payload, payload["summary"]) for partner, _, payload in case.queued.calls if partner == MAKER.partner_id] == [(False, {"units": 4, "holders": 2})]
        # not the stranger that verified unit 3, nor the one that holds only unit 6 (outside)
        assert told == {WHOLESALER.partner_id: ["U1", "U2", "U3", "U4"], PHARMACY.partner_id: ["U2"]}

    run(redis_url, scenario)


def test_a_stranger_who_verifies_a_unit_gets_no_task_and_cannot_acknowledge_it(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        assert await case.recalls.tasks(OTHER.partner_id) == []
        with pytest.raises(NotFound):
            await case.recalls.acknowledge(case.recall_id, OTHER.partner_id, [(GTIN, "U3")], "returned")
        with pytest.raises(NotFound):
            await case.recalls.get(case.recall_id, OTHER.partner_id, False)

    run(redis_url, scenario)


def test_a_partner_acknowledges_only_units_it_holds_and_a_refusal_reveals_nothing(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        results = await case.recalls.acknowledge(
            case.recall_id, PHARMACY.partner_id, [(GTIN, "U2"), (GTIN, "U1"), (GTIN, "U6"), (GTIN, "U404")], "quarantined"
        )
        assert [(ok, code) for ok, code, _ in results] == [(True, "OK")] + [(False, "recall.not_held")] * 3
        # held by another partner, outside the recall, or unknown: the same words
        assert len({message.split(" is not one you hold")[1] for _, _, message in results[1:]}) == 1
        assert WHOLESALER.partner_id not in str(results)

    run(redis_url, scenario)


def test_acknowledgements_count_each_unit_once_and_effectiveness_counts_per_holder(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        twice = await case.recalls.acknowledge(case.recall_id, PHARMACY.partner_id, [(GTIN, "U2"), (GTIN, "U2")], "quarantined")
        assert [code for _, code, _ in twice] == ["OK", "recall.unit_repeated"]
        await case.recalls.acknowledge(case.recall_id, PHARMACY.partner_id, [(GTIN, "U2")], "returned")
        await case.recalls.acknowledge(case.recall_id, WHOLESALER.partner_id, [(GTIN, "U2"), (GTIN, "U1")], "quarantined")
        recall = await case.recalls.get(case.recall_id, MAKER.partner_id, False)
        assert (recall["units"], recall["located"], recall["acknowledged"]) == (5, 4, 2)  # U2 once
        assert {h["partner"]: (h["units"], h["acknowledged"]) for h in recall["holders"]} == {
            WHOLESALER.partner_id: (4, 2),
            PHARMACY.partner_id: (1, 1),
        }
        pharmacy_task = await case.recalls.tasks(PHARMACY.partner_id)
        assert pharmacy_task == []  # its one unit is acknowledged, whatever the wholesaler does
        open_units = (await case.recalls.tasks(WHOLESALER.partner_id))[0]["units_open"]
        assert sorted(u["serial"] for u in open_units) == ["U3", "U4"]

    run(redis_url, scenario)


def test_an_acknowledgement_names_at_most_the_documented_number_of_units(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        many = [(GTIN, f"U{n}") for n in range(MAX_ACK_UNITS + 1)]
        with pytest.raises(InvalidInput, match=f"at most {MAX_ACK_UNITS} units"):
            await case.recalls.acknowledge(case.recall_id, WHOLESALER.partner_id, many, "returned")

    run(redis_url, scenario)


def test_a_holder_sees_its_own_holding_and_no_other_partner_in_a_recall(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        seen = await case.recalls.get(case.recall_id, PHARMACY.partner_id, False)
        assert seen["units"] == 1 and [h["partner"] for h in seen["holders"]] == [PHARMACY.partner_id]
        assert [(e["gln"], e["units"]) for e in seen["units_by_location"]] == [(PHARMACY.glns[0], 1)]
        recall, chunks = await case.recalls.report(case.recall_id, PHARMACY.partner_id, False)
        rows = [row async for chunk in chunks for row in chunk]
        assert [(r["serial"], r["last_partner"], r["last_location"]) for r in rows] == [("U2", PHARMACY.partner_id, PHARMACY.glns[0])]
        text = orjson.dumps([seen, recall, rows]).decode()
        for other in (WHOLESALER.partner_id, MAKER.partner_id, *WHOLESALER.glns, *MAKER.glns):
            assert other not in text
        # the manufacturer sees every holder
        full = await case.recalls.get(case.recall_id, MAKER.partner_id, False)
        assert {e["partner"] for e in full["units_by_location"]} == {WHOLESALER.partner_id, PHARMACY.partner_id}

    run(redis_url, scenario)


def test_the_last_known_location_is_the_custodians_however_recently_another_holder_saw_the_unit(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        _, chunks = await case.recalls.report(case.recall_id, MAKER.partner_id, False)
        rows = {row["serial"]: row async for chunk in chunks for row in chunk}
        assert (rows["U2"]["last_partner"], rows["U2"]["last_location"]) == (WHOLESALER.partner_id, WHOLESALER.glns[0])
        assert (rows["U3"]["last_partner"], rows["U5"]["last_partner"]) == (WHOLESALER.partner_id, "")

    run(redis_url, scenario)
