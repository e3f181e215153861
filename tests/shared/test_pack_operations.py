"""Pack operations in memory: read, decide, compare-and-set, and read again when a pack changed.

The store here is a dict with a revision per pack, the same contract recall-status keeps in
Redis: a change is applied only when the pack's revision is still the one that was read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from verinet.callers import Caller
from verinet.errors import Conflict
from verinet.lifecycle import Operation
from verinet.pack_operations import MAX_ATTEMPTS, Change, PackQuestion, ReadPack, run_operation
from verinet.packs import PackRecord, PackState

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
GTIN = "09506000134352"
PHARMACY = Caller("pharmacy", roles=("dispenser",), location_gln="0950600013430")


class MemoryPacks:
    """Packs by (gtin, serial), each with a revision that every applied change bumps."""

    def __init__(self, *serials: str) -> None:
        self.packs = {
            (GTIN, serial): PackRecord(GTIN, serial, "LOT-A1", "281231", PackState.ACTIVE)
            for serial in serials
        }
        self.revisions = dict.fromkeys(self.packs, 0)
        self.reads = 0
        #: Called after each read, before the write: a concurrent writer's chance to step in.
        self.between_read_and_write: list[tuple[str, PackState]] = []

    async def read(self, questions: Sequence[PackQuestion]) -> list[ReadPack]:
        self.reads += 1
        answers = [
            ReadPack(
                self.packs.get((q.gtin, q.serial)),
                None,
                str(self.revisions.get((q.gtin, q.serial), -1)).encode(),
            )
            for q in questions
        ]
        for serial, state in self.between_read_and_write:
            self._set((GTIN, serial), state)
        await asyncio.sleep(0)  # a concurrent operation may read the same packs now
        return answers

    async def write(self, changes: Sequence[Change]) -> list[bool]:
        applied = []
        for change in changes:
            key = (change.question.gtin, change.question.serial)
            fresh = str(self.revisions[key]).encode() == change.read.revision
            if fresh and change.decision.new_pack_state is not None:
                self._set(key, change.decision.new_pack_state)
            applied.append(fresh)
        return applied

    def _set(self, key: tuple[str, str], state: PackState) -> None:
        self.packs[key] = self.packs[key]._replace(pack_state=state)
        self.revisions[key] += 1


def ask(*serials: str) -> list[PackQuestion]:
    return [PackQuestion(GTIN, serial, "LOT-A1", "281231") for serial in serials]


async def dispense(store: MemoryPacks, questions: Sequence[PackQuestion]) -> list[str]:
    outcomes = await run_operation(
        Operation.DECOMMISSION,
        questions,
        PHARMACY,
        NOW,
        store.read,
        store.write,
        target=PackState.SUPPLIED,
    )
    return [decision.code for decision, _ in outcomes]


def test_a_decommission_is_written_and_answered_in_the_order_asked() -> None:
    store = MemoryPacks("SN1", "SN2")
    codes = asyncio.run(dispense(store, ask("SN2", "UNKNOWN", "SN1")))
    assert codes == ["OK", "NMVS_NC_PC_02", "OK"]
    assert {record.pack_state for record in store.packs.values()} == {PackState.SUPPLIED}


def test_a_verify_writes_nothing() -> None:
    store = MemoryPacks("SN1")
    outcomes = asyncio.run(
        run_operation(Operation.VERIFY, ask("SN1"), PHARMACY, NOW, store.read, store.write)
    )
    assert [decision.code for decision, _ in outcomes] == ["OK"]
    assert store.revisions[(GTIN, "SN1")] == 0


def test_two_dispenses_of_one_pack_make_one_change_and_one_refusal() -> None:
    store = MemoryPacks("SN1")

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(dispense(store, ask("SN1")), dispense(store, ask("SN1"))))

    first, second = asyncio.run(both())
    assert sorted(first + second) == ["NMVS_NC_PCK_22", "OK"]
    assert store.revisions[(GTIN, "SN1")] == 1


def test_a_pack_changed_between_read_and_write_is_read_and_decided_again() -> None:
    store = MemoryPacks("SN1")
    store.between_read_and_write = [("SN1", PackState.STOLEN)]
    codes = asyncio.run(dispense(store, ask("SN1")))
    # The second read sees the pack stolen (and steps in once more, harmlessly): it is
    # already inactive, so nothing is written and the dispense is refused.
    assert codes == ["NMVS_NC_PCK_22"]
    assert store.reads == 2
    assert store.packs[(GTIN, "SN1")].pack_state is PackState.STOLEN


def test_packs_that_keep_changing_end_in_a_conflict_after_a_few_attempts() -> None:
    store = MemoryPacks("SN1")

    async def always_stale(changes: Sequence[Change]) -> list[bool]:
        return [False] * len(changes)

    with pytest.raises(Conflict) as raised:
        asyncio.run(
            run_operation(
                Operation.DECOMMISSION,
                ask("SN1"),
                PHARMACY,
                NOW,
                store.read,
                always_stale,
                target=PackState.SUPPLIED,
            )
        )
    assert raised.value.code == "pack.contention"
    assert store.reads == MAX_ATTEMPTS
