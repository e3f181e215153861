"""Two verinet networks side by side, differing only in the services' environment or in
``verinet up --placement``, measured in turn (LMS closed loop at 1 and 64 connections), so that
both see the same machine:

    python bench/ab.py --b PACK_EVENT_DELAY_SECONDS=0.02
    python bench/ab.py --a STREAMED_CALLS=true --b STREAMED_CALLS=false --rounds 5
    python bench/ab.py --b-placement none --rounds 6

Both networks get the same partners, products and packs (``--packs``, 80% known serials). Each
row is one wrk run; CPU per answer is utime+stime of every process of that network (its four
services and its Redis) divided by its answers.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import lms
from data import commission, make_lots, make_packs
from harness import running_network
from load import run_wrk
from report import Report

from verinet.placement import PLACEMENTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", action="append", default=[], metavar="NAME=VALUE", help="environment of network A (repeatable)")
    parser.add_argument("--b", action="append", default=[], metavar="NAME=VALUE", help="environment of network B (repeatable)")
    parser.add_argument("--a-placement", choices=PLACEMENTS, default="auto", help="verinet up --placement of network A")
    parser.add_argument("--b-placement", choices=PLACEMENTS, default="auto", help="verinet up --placement of network B")
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    envs = {"A": dict(item.split("=", 1) for item in args.a), "B": dict(item.split("=", 1) for item in args.b)}
    report = Report("LMS A/B: two networks side by side, measured in turn")
    placements = {"A": args.a_placement, "B": args.b_placement}
    for name, env in envs.items():
        report.add(f"- {name}: {', '.join(f'{k}={v}' for k, v in env.items()) or 'defaults'}; --placement {placements[name]}")
    report.add(f"- data: {args.packs:,} packs each, 80% known serials; wrk {args.seconds:g} s a run, {args.rounds} rounds")
    rows = []
    totals: dict[tuple[str, int], list[float]] = {}
    rates: dict[tuple[str, int], list[float]] = {}
    with ExitStack() as stack:
        nets = {name: stack.enter_context(running_network(extra_env=env, placement=placements[name])) for name, env in envs.items()}
        paths = {}
        for name, bench in nets.items():
            maker = bench.add_partner(["manufacturer"])
            traders = [bench.add_partner(["wholesaler"]) for _ in range(2)] + [bench.add_partner(["dispenser"]) for _ in range(2)]
            packs = make_packs(make_lots(bench.add_products(maker, 4), 2), args.packs)
            commission(bench, maker["token"], packs, progress=False)
            written, _ = lms.write_paths(packs, traders, args.packs, 0.8)
            paths[name] = written.rename(written.with_name(f"ab-{name}.tsv"))
            run_wrk(bench, paths[name], 64, 2, 2)  # warm up
        for round_number in range(1, args.rounds + 1):
            for conns in (1, 64):
                for name, bench in nets.items():
                    run = run_wrk(bench, paths[name], conns, args.seconds, 1 if conns == 1 else 2)
                    cpu = sum(run.cpu.seconds[p] for p in bench.pids()) / max(1, run.requests)
                    totals.setdefault((name, conns), []).append(cpu)
                    rates.setdefault((name, conns), []).append(run.rate)
                    each = ", ".join(f"{p} {run.cpu.seconds[p] / max(1, run.requests) * 1e6:,.0f}" for p in bench.pids())
                    keeper = bench.network.placement_keeper
                    placed = "-" if keeper is None else f"{'spread' if keeper.spread else 'apart'} ({keeper.changes})"
                    rows.append([str(round_number), str(conns), name, f"{run.rate:,.0f}", f"{run.latency_us['p50'] / 1000:.2f}",
                                 f"{run.latency_us['p99'] / 1000:.2f}", f"{cpu * 1e6:,.0f}", each, f"{run.cpu.other_load():.2f}", placed])
                    print(" | ".join(rows[-1]), flush=True)
    report.table(["round", "conn", "network", "req/s", "p50 ms", "p99 ms", "CPU µs/answer", "by process", "other load",
                  "back end after the run (changes so far)"], rows)
    for conns in (1, 64):
        a, b = (sum(totals[(n, conns)]) / len(totals[(n, conns)]) for n in ("A", "B"))
        rate_a, rate_b = (sum(rates[(n, conns)]) / len(rates[(n, conns)]) for n in ("A", "B"))
        report.add(f"- {conns} connection(s): mean CPU per answer A {a * 1e6:,.0f} µs, B {b * 1e6:,.0f} µs (B/A {b / a:.2f}); "
                   f"mean answers/s A {rate_a:,.0f}, B {rate_b:,.0f} (B/A {rate_b / rate_a:.2f})")
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
