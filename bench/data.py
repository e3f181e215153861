"""Pack data for the benchmarks: lots, serials and packs made from a seed, and loading them
into a network by commissioning (NDJSON through the API), with its report."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import string
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import orjson
from cpu import CpuMeter, cpu_rows
from harness import BenchNetwork
from report import Report, percentile, verdict

# -- pack data ----------------------------------------------------------------------------------

SERIAL_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class Lot:
    gtin: str
    lot: str
    expiry: str


def add_pack_options(parser: argparse.ArgumentParser, *, packs: int, packs_help: str, gtins: int | None = None) -> None:
    """``--packs``, ``--gtins`` and ``--lots-per-gtin``: the size and shape of a bench's packs
    (``gtins`` None: ``--packs`` alone, for a bench that shapes its products otherwise)."""
    parser.add_argument("--packs", type=int, default=packs, help=packs_help)
    if gtins is not None:
        parser.add_argument("--gtins", type=int, default=gtins)
        parser.add_argument("--lots-per-gtin", type=int, default=4)


def make_lots(gtins: Sequence[str], lots_per_gtin: int, seed: int = 7) -> list[Lot]:
    """A few lots per GTIN, each with its own expiry 2028-2030 (YYMMDD, day 00 on some)."""
    rng = random.Random(seed)
    lots = []
    for g, gtin in enumerate(gtins):
        for n in range(lots_per_gtin):
            year = 28 + rng.randrange(3)
            month = 1 + rng.randrange(12)
            day = rng.choice(["00", "28", "30" if month != 2 else "28"])
            lots.append(Lot(gtin, f"L{g:02d}{n:02d}{rng.randrange(10**6):06d}", f"{year:02d}{month:02d}{day}"))
    return lots


def random_serials(count: int, seed: int, lo: int = 12, hi: int = 20) -> list[str]:
    """Realistic serials: 12 to 20 uppercase alphanumerics (GS1 CSET 82), deterministic."""
    rng = random.Random(seed)
    alphabet = SERIAL_ALPHABET
    lengths = [rng.randint(lo, hi) for _ in range(count)]
    pool = "".join(rng.choices(alphabet, k=sum(lengths)))
    out, pos = [], 0
    for n in lengths:
        out.append(pool[pos : pos + n])
        pos += n
    return out


@dataclass
class PackSet:
    """Packs as parallel lists (cheap at a million)."""

    serials: list[str]
    lot_index: list[int]
    lots: list[Lot]
    line: str = ""
    times: list[float] | None = None  # commissioned_at, Unix seconds

    def __len__(self) -> int:
        return len(self.serials)

    def pack(self, i: int) -> dict[str, Any]:
        lot = self.lots[self.lot_index[i]]
        out: dict[str, Any] = {"gtin": lot.gtin, "serial": self.serials[i], "lot": lot.lot, "expiry": lot.expiry}
        if self.line:
            out["line"] = self.line
        if self.times is not None:
            out["commissioned_at"] = dt.datetime.fromtimestamp(self.times[i], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    def ident(self, i: int) -> dict[str, str]:
        lot = self.lots[self.lot_index[i]]
        return {"gtin": lot.gtin, "serial": self.serials[i], "lot": lot.lot, "expiry": lot.expiry}


def make_packs(lots: Sequence[Lot], count: int, seed: int = 11, line: str = "", window: tuple[float, float] | None = None) -> PackSet:
    rng = random.Random(seed + 1)
    serials = list(dict.fromkeys(random_serials(count, seed)))  # collisions are ~impossible; be exact anyway
    lot_index = [rng.randrange(len(lots)) for _ in serials]
    times = None
    if window is not None:
        start, end = window
        times = [start + (end - start) * k / len(serials) for k in range(len(serials))]
    return PackSet(serials, lot_index, list(lots), line, times)


# -- commissioning ------------------------------------------------------------------------------


def ndjson_bodies(packs: PackSet, chunk: int) -> list[tuple[int, bytes]]:
    bodies = []
    dumps = orjson.dumps
    for start in range(0, len(packs), chunk):
        end = min(start + chunk, len(packs))
        bodies.append((end - start, b"\n".join(dumps(packs.pack(i)) for i in range(start, end))))
    return bodies


@dataclass
class CommissionResult:
    packs: int
    stored: int
    unchanged: int
    refused: int
    seconds: float
    request_seconds: list[float]
    cpu: CpuMeter
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def commission(bench: BenchNetwork, token: str, packs: PackSet, chunk: int = 50_000, clients: int = 1,
               progress: bool = True) -> CommissionResult:
    """Commissions ``packs`` with NDJSON uploads of ``chunk`` packs, ``clients`` at a time. The
    bodies are encoded before the clock starts, so the timed part is the network's work."""
    bodies = ndjson_bodies(packs, chunk)
    totals = Counter()
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    queue = iter(range(len(bodies)))

    def worker() -> None:
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            count, body = bodies[index]
            status, answer, seconds = bench.request("POST", "/v1/packs/commission", token, raw=body, content_type="application/x-ndjson")
            with lock:
                times.append(seconds)
                if status != 200:
                    errors.append(f"HTTP {status}: {str(answer)[:300]}")
                    totals["refused"] += count
                    continue
                totals["stored"] += answer["stored"]
                totals["unchanged"] += answer["unchanged"]
                totals["refused"] += answer["refused"]
                if answer["refused"] and not errors:
                    errors.append(str(answer["errors"][:2]))
                done = totals["stored"] + totals["unchanged"] + totals["refused"]
            if progress:
                print(f"  commissioned {done:,}/{len(packs):,} ({seconds:.2f} s for {count:,})", flush=True)

    meter = CpuMeter(bench.pids()).start()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    meter.stop()
    return CommissionResult(len(packs), totals["stored"], totals["unchanged"], totals["refused"], elapsed, sorted(times), meter,
                            errors[0] if errors else "")




def commission_report(report: Report, result: CommissionResult, chunk: int, clients: int, target: float = 100_000) -> None:
    times = result.request_seconds
    report.add(
        f"- commissioned {result.packs:,} packs in NDJSON requests of {chunk:,}, {clients} client(s): "
        f"stored {result.stored:,}, unchanged {result.unchanged:,}, refused {result.refused:,} in {result.seconds:.1f} s",
        f"- **commission: {result.rate:,.0f} packs/s** (target 100,000/s: {verdict(result.rate, target)}); "
        f"per request p50 {percentile(times, 50):.2f} s, max {times[-1]:.2f} s; machine CPU busy {result.cpu.machine_util:.0%}",
    )
    if result.first_error:
        report.add(f"- first refusal/error: `{result.first_error[:300]}`")
    report.table(["process", "CPU s", "CPU/wall", "CPU µs per pack"], cpu_rows(result.cpu, result.stored or 1, "pack"))


