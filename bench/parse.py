"""Benchmark verinet.identifiers.parse: scans per second per input form, on one CPU core.

Run from the repository root with the project's environment:

    python bench/parse.py            # measure, print, append a section to bench/RESULTS.md
    python bench/parse.py --no-write # measure and print only
    python bench/parse.py --check    # exit 1 if the pharma scan is below 100,000 scans/s

The process pins itself to one core. Each figure is the best of several timed runs of about
``--seconds`` each (best, because on a shared machine noise only ever slows a run down).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import platform
import shlex
import sys
import timeit
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import harness  # noqa: F401  (first: re-runs this benchmark under the project's venv when needed)
from report import cpu_model, git

from verinet.identifiers import parse

GTIN = "09506000134352"
TARGET = 100_000
ROOT = Path(__file__).resolve().parent.parent

# (label, input). The first is the common pharmaceutical Data Matrix scan the target applies to.
CASES = [
    ("element string ]d2 (01)(17)(10)(21)", f"]d201{GTIN}1726123110ABC123\x1d21SN0001A2B3C4D5"),
    ("element string, no symbology id", f"01{GTIN}1726123110ABC123\x1d21SN0001A2B3C4D5"),
    (
        "element string + NHRN (714), general path",
        f"]d201{GTIN}1726123110ABC123\x1d21SN0001A2B3C4D5\x1d7141234567",
    ),
    ("element string, GS spelled `<GS>`", f"01{GTIN}1726123110ABC123<GS>21SN0001A2B3C4D5"),
    ("HRI", f"(01){GTIN}(17)261231(10)ABC123(21)SN0001A2B3C4D5"),
    ("Digital Link, numeric", f"https://id.gs1.org/01/{GTIN}/10/ABC123/21/SN0001A2B3C4D5?17=261231"),
    (
        "Digital Link, LMS alphas + query",
        (
            f"https://vrs.example.com/verify/gtin/{GTIN}/lot/ABC123/ser/SN0001A2B3C4D5?exp=261231"
            "&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0614141000012"
            "&corrUUID=21EC2020-3AEA-4069-A2DD-08002B30309D"
        ),
    ),
    ("bare GTIN-14", GTIN),
]  # fmt: skip


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def scans_per_second(call: Callable[[], object], seconds: float, repeats: int = 5) -> float:
    timer = timeit.Timer(call)
    number, elapsed = timer.autorange()
    number = max(1, int(number * seconds / max(elapsed, 1e-9)))
    best = min(timer.repeat(repeat=repeats, number=number))
    return number / best






def biip_baseline() -> Callable[[], object] | None:
    try:
        from biip.gs1_messages import GS1Message
    except ImportError:  # pragma: no cover - biip is a dependency
        return None
    scan = CASES[0][1][3:]
    return lambda: GS1Message.parse(scan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one timed run")
    parser.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {TARGET:,}/s")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)

    pinning = pin_to_one_core()
    for _, text in CASES:  # every input must parse before it is timed
        parse(text)

    rows: list[tuple[str, float]] = []
    print(f"verinet.identifiers.parse, {pinning}")
    for label, text in CASES:
        rate = scans_per_second(functools.partial(parse, text), args.seconds)
        rows.append((label, rate))
        print(f"  {label:45s} {rate:12,.0f} scans/s")
    baseline = biip_baseline()
    if baseline is not None:
        rate = scans_per_second(baseline, args.seconds)
        rows.append(("reference: biip GS1Message.parse, first input", rate))
        print(f"  {rows[-1][0]:45s} {rate:12,.0f} scans/s")

    pharma = rows[0][1]
    verdict = "met" if pharma >= TARGET else "NOT met"
    print(f"target {TARGET:,} scans/s for the pharma scan: {verdict}")

    if not args.no_write:
        write_results(args.results, rows, pinning, verdict)
        print(f"appended to {args.results}")
    return 1 if args.check and pharma < TARGET else 0


def write_results(path: Path, rows: list[tuple[str, float]], pinning: str, verdict: str) -> None:
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain"):
        commit += " (with uncommitted changes)"
    command = "python " + shlex.join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now}: identifier parsing",
        "",
        f"- commit: `{commit}`",
        f"- machine: {platform.machine()}, {cpu_model()}, {os.cpu_count()} CPUs, {pinning}",
        f"- Python {platform.python_version()}, biip {version('biip')}",
        f"- command: `{command}`",
        f"- target {TARGET:,} scans/s for the pharma scan (first row): {verdict}",
        "",
        "| input form | scans/s |",
        "|---|---:|",
        *(f"| {label} | {rate:,.0f} |" for label, rate in rows),
        "",
    ]
    if not path.exists():
        path.write_text(
            "# Benchmark results\n\nNewest last. Appended by the scripts in bench/.\n\n"
        )
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
