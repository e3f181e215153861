"""Custody events as the EPCIS capture hands them to recall-status, and their capture into a
real repository whose product is registered: the building blocks of the custody, holders and
recall tests."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from tests.recall_status.custody_cast import GTIN, MAKER, NOW
from verinet.recall_status.custody import Capture
from verinet.recall_status.custody_model import Actor, CaptureOutcome, CustodyEvent, Party
from verinet.recall_status.pack_store import PackRepository
from verinet.store import connect

_index = itertools.count()


@asynccontextmanager
async def repository_with_product(
    redis_url: str, product_name: str = "Custody case"
) -> AsyncIterator[PackRepository]:
    """A repository on ``redis_url`` where the maker has registered the product."""
    client = connect(redis_url)
    try:
        repository = PackRepository(client)
        await repository.register_product(GTIN, MAKER.partner_id, product_name, NOW)
        yield repository
    finally:
        await client.aclose()


def run(redis_url: str, scenario: Callable[[PackRepository], Awaitable[None]]) -> None:
    async def main() -> None:
        async with repository_with_product(redis_url) as repository:
            await scenario(repository)

    asyncio.run(main())


def ev(
    actor: Actor,
    step: str,
    *,
    units: Sequence[str] = (),
    containers: Sequence[str] = (),
    parent: str = "",
    kind: str = "ObjectEvent",
    action: str = "OBSERVE",
    disposition: str = "",
    destinations: Sequence[str] = (),
    event_id: str = "",
    at: float = 1_764_000_000.0,
) -> CustodyEvent:
    index = next(_index)
    fingerprint = repr((index, step, units, containers, parent, kind, action, at)).encode()
    commissioning = step == "commissioning"  # the one step that carries a lot and expiry
    # One line per part of the event: which, what happened, where and when, what it names.
    return CustodyEvent(
        index=index, event_id=event_id, event_hash=hashlib.sha256(fingerprint).digest(),
        type=kind, action=action, biz_step=step, disposition=disposition,
        event_time=at, location_gln=actor.glns[0],
        units=tuple(units), containers=tuple(containers), parent=parent,
        destinations=tuple(Party("location", gln) for gln in destinations), biz_transactions=("po PO-1",),
        lot="L1" if commissioning else "", expiry="301231" if commissioning else "",
    )  # fmt: skip


def commission(*units: str) -> CustodyEvent:
    return ev(MAKER, "commissioning", units=units, action="ADD")


async def capture(
    repository: PackRepository, actor: Actor, *chunks: Sequence[CustodyEvent], commit: bool = True, **options: Any
) -> CaptureOutcome:
    run_ = Capture(repository, actor, NOW, **options)
    await run_.begin()
    try:
        for chunk in chunks:
            await run_.add(chunk)
        return await run_.finish(commit)
    finally:
        await run_.release()
