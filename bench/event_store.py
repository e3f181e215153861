"""Redis memory of the EPCIS query store per event, and the time to prune it.

    python bench/event_store.py                 # 50,000 shipping events of 12 units, 3 viewers each
    python bench/event_store.py --events 10000 --units 1 --no-write

Events are stored as capture stores them (``event_store.epcis_event`` then ``event_store.store``,
a chunk at a time) into a private embedded Redis; the cost is the ``used_memory`` delta per
event. Half of them are dated past the retention and then pruned (``event_store.prune``), which
gives the memory given back and the pruning rate. The bound of the store is this cost times the
events of the retention period (README "EPCIS query interface").
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
from pathlib import Path

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
from report import Report

from verinet.embedded_redis import EmbeddedRedis
from verinet.recall_status import event_store
from verinet.recall_status.custody import CustodyEvent, Party
from verinet.store import connect

GTIN = "00614141000012"
DAY = 86400.0
CHUNK = 500


def shipping(n: int, units: int, at: float) -> CustodyEvent:
    return CustodyEvent(
        index=n, event_id="", event_hash=hashlib.sha256(b"bench %d" % n).digest(), type="ObjectEvent", action="OBSERVE",
        biz_step="shipping", disposition="in_transit", event_time=at, location_gln="0614141000005",
        units=tuple(f"{GTIN}S{n:07d}{u:03d}" for u in range(units)),
        sources=(Party("owning_party", "0614141000005"), Party("location", "0614141000005")),
        destinations=(Party("owning_party", "0614141000012"), Party("location", "0614141000012")),
        biz_transactions=("po urn:epcglobal:cbv:bt:0614141000005:PO-4711", "desadv urn:epcglobal:cbv:bt:0614141000005:ASN-815"),
    )  # fmt: skip


async def measure(url: str, events: int, units: int) -> dict[str, float]:
    redis = connect(url, timeout=30)
    try:
        now = time.time()
        base = int((await redis.info("memory"))["used_memory"])
        for start in range(0, events, CHUNK):
            # the first half eight years old, past a six-year retention; the rest of this year
            entries = []
            for n in range(start, min(start + CHUNK, events)):
                at = now - (8 * 365 if n < events // 2 else n % 365) * DAY
                entries.append((event_store.epcis_event(shipping(n, units, at), "maker"), at, ("maker", "wholesaler", "pharmacy")))
            await event_store.store(redis, "maker", entries)
        stored = int((await redis.info("memory"))["used_memory"])
        started = time.perf_counter()
        removed = await event_store.prune(redis, now - 6 * 365 * DAY)
        seconds = time.perf_counter() - started
        pruned = int((await redis.info("memory"))["used_memory"])
        return {"per_event": (stored - base) / events, "removed": removed, "seconds": seconds, "freed_per_event": (stored - pruned) / max(1, removed)}
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--units", type=int, default=12, help="units named by each event")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    report = Report("EPCIS query store: memory per event and pruning")
    with tempfile.TemporaryDirectory() as directory, EmbeddedRedis(Path(directory) / "redis") as server:
        figures = asyncio.run(measure(server.url, args.events, args.units))
    report.add(f"- data: {args.events:,} shipping events of {args.units} units each (po, desadv, 2 sources, 2 destinations), "
               "3 viewers each, stored as capture stores them; half dated 8 years ago, pruned at 6 years")  # fmt: skip
    report.table(
        ["measure", "figure"],
        [
            ["used_memory per stored event", f"**{figures['per_event']:,.0f} B**"],
            ["events pruned", f"{figures['removed']:,}"],
            ["memory given back per pruned event", f"{figures['freed_per_event']:,.0f} B"],
            ["pruning rate", f"{figures['removed'] / figures['seconds']:,.0f} events/s"],
        ],
    )
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
