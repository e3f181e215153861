"""EU FMD pack operations: read each pack, decide with the lifecycle rules, write back safely.

A decision is applied only if the pack is unchanged since it was read (compare-and-set in
recall-status); a pack that changed in between is read and decided again, so two concurrent
dispenses of one pack yield one state change and one refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from verinet.callers import Caller
from verinet.errors import Conflict
from verinet.lifecycle import Decision, LastDecommission, Operation, decide
from verinet.packs import PackRecord, PackState

MAX_ATTEMPTS = 5


# Named tuples, not frozen dataclasses: a bulk call makes one of each per pack, and a tuple
# is several times cheaper to create.
class PackQuestion(NamedTuple):
    gtin: str
    serial: str
    lot: str
    expiry: str


class ReadPack(NamedTuple):
    record: PackRecord | None
    last_decommission: LastDecommission | None
    revision: bytes
    owner_partner_id: str = ""  # the product's owner, known even when the serial is not


@dataclass(frozen=True, slots=True)
class Change:
    index: int
    question: PackQuestion
    read: ReadPack
    decision: Decision


Reader = Callable[[Sequence[PackQuestion]], Awaitable[list[ReadPack]]]
Writer = Callable[[Sequence[Change]], Awaitable[list[bool]]]


async def run_operation(
    operation: Operation,
    questions: Sequence[PackQuestion],
    caller: Caller,
    now: dt.datetime,
    read: Reader,
    write: Writer,
    target: PackState | None = None,
) -> list[tuple[Decision, ReadPack]]:
    """Decides every pack and applies the state changes; returns decisions in order."""
    outcomes: list[tuple[Decision, ReadPack] | None] = [None] * len(questions)
    pending = list(range(len(questions)))
    # A decision depends on the pack's record but not on its GTIN or serial, and a bulk call
    # asks about few distinct (lot, expiry, states) combinations: each is decided once.
    decided: dict[tuple[object, ...], Decision] = {}
    for _ in range(MAX_ATTEMPTS):
        reads = await read([questions[i] for i in pending])
        changes: list[Change] = []
        for i, stored in zip(pending, reads, strict=True):
            q = questions[i]
            record = stored.record
            key = (
                None
                if record is None
                else (record.lot, record.expiry, record.pack_state, record.lot_state,
                      record.product_state, record.owner_partner_id),
                q.lot,
                q.expiry,
                stored.last_decommission,
            )
            decision = decided.get(key)
            if decision is None:
                decision = decided[key] = decide(
                    operation,
                    record=record,
                    caller=caller,
                    now=now,
                    target=target,
                    lot=q.lot,
                    expiry=q.expiry,
                    last_decommission=stored.last_decommission,
                )
            outcomes[i] = (decision, stored)
            if decision.new_pack_state is not None and stored.record is not None:
                changes.append(Change(i, q, stored, decision))
        if not changes:
            break
        applied = await write(changes)
        pending = [c.index for c, ok in zip(changes, applied, strict=True) if not ok]
        if not pending:
            break
    else:
        raise Conflict(
            "Packs kept changing while being updated; retry the request.", code="pack.contention"
        )
    return [o for o in outcomes if o is not None]
