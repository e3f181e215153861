"""Commissioning: packs stored a second through POST /v1/packs/commission (NDJSON uploads).

    python bench/commission.py                 # 1,000,000 packs, 1 client, then 2 clients; appends
    python bench/commission.py --packs 200000 --clients 1 --no-write

Target (issue 8): >= 100,000 packs/s. The bodies are encoded before the clock starts. Each
client count gets a fresh set of serials, so every pack is a new one (``stored``), and a
last run re-sends the first chunk to time the idempotent path (``unchanged``).
"""

from __future__ import annotations

import sys
import time

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
from cpu import wait_quiet
from data import PackSet, add_pack_options, commission, commission_report, make_lots, make_packs
from harness import add_run_options, check_logs, network_bench_parser, running_network
from profiles import report_profiles, start_perf, start_profiles
from report import Report, verdict

TARGET = 100_000


def main(argv: list[str] | None = None) -> int:
    parser = network_bench_parser(__doc__)
    add_pack_options(parser, packs=1_000_000, packs_help="packs per run", gtins=10)
    add_run_options(parser, clients="1,2", clients_are="uploads", profile_seconds=10.0, profiled="during a 1-client upload")
    parser.add_argument("--chunk", type=int, default=50_000, help="packs per request")
    args = parser.parse_args(argv)
    report = Report("commissioning")
    report.add(f"- data: {args.packs:,} new packs per run, {args.gtins} GTINs x {args.lots_per_gtin} lots, serials 12-20 alphanumerics, "
               f"NDJSON requests of {args.chunk:,} packs (the gateway forwards them to recall-status in chunks of its own)")
    with running_network(keep=args.keep, placement=args.placement) as bench:
        manufacturer = bench.add_partner(["manufacturer"])
        gtins = bench.add_products(manufacturer, args.gtins)
        lots = make_lots(gtins, args.lots_per_gtin)
        best = 0.0
        first = None
        for k, clients in enumerate(int(c) for c in args.clients.split(",")):
            packs = make_packs(lots, args.packs, seed=100 + k)
            first = first or packs
            wait_quiet(bench.pids().values())
            result = commission(bench, manufacturer["token"], packs, chunk=args.chunk, clients=clients)
            report.add("", f"#### {clients} client(s)")
            commission_report(report, result, args.chunk, clients)
            best = max(best, result.rate)
        assert first is not None
        again = PackSet(first.serials[: args.chunk], first.lot_index[: args.chunk], first.lots)
        result = commission(bench, manufacturer["token"], again, chunk=args.chunk, progress=False)
        report.add(f"- re-sending {len(again):,} already commissioned packs (idempotent path): unchanged {result.unchanged:,} "
                   f"in {result.seconds:.2f} s = {len(again) / result.seconds:,.0f} packs/s")
        report.add("", f"- **commission: {best:,.0f} packs/s** (target >= {TARGET:,}: {verdict(best, TARGET)})")

        if args.profile_seconds > 0:
            packs = make_packs(lots, 400_000, seed=999)
            pids = {n: p for n, p in bench.pids().items() if n in ("gateway", "recall-status")}
            running: dict = {}
            import threading

            def start() -> None:
                time.sleep(0.5)
                running.update(start_profiles(pids, args.profile_seconds, "commission"))
                running["perf"] = start_perf(bench.pids(), args.profile_seconds, "commission")

            helper = threading.Thread(target=start)
            wait_quiet(bench.pids().values())
            helper.start()
            result = commission(bench, manufacturer["token"], packs, chunk=args.chunk, progress=False)
            helper.join()
            perf_running = running.pop("perf", {})
            report_profiles(report, f"Profile of commissioning ({result.rate:,.0f} packs/s with the profilers attached)", running, perf_running)
        check_logs(bench, report)
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
