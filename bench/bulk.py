"""Bulk EU FMD pack operations: verify and decommission, 1,000 packs a request, from several
concurrent clients; packs per second, latency per request, CPU per pack per process.

    python bench/bulk.py                       # 400,000 packs; 1 and 4 clients; appends to RESULTS.md
    python bench/bulk.py --packs 100000 --seconds 5 --no-write

Targets: bulk verify >= 50,000 packs/s (issue 8), >= 20,000 packs/s (issue 5).
Request bodies are encoded before the clock starts; clients are threads with keep-alive
http.client connections (the GIL is released while they wait), each sending its next
request when the previous one is answered.
"""

from __future__ import annotations

import sys
import threading
import time

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import orjson
from cpu import CpuMeter, add_max_wait_option, quiet_run, set_quiet_max_wait, wait_quiet
from data import PackSet, add_pack_options, commission, commission_report, make_lots, make_packs
from harness import BenchNetwork, add_run_options, check_logs, network_bench_parser, running_network
from profiles import report_profiles, start_perf, start_profiles
from report import Report, percentile, verdict

TARGET_VERIFY = 50_000
TARGET_VERIFY_ISSUE5 = 20_000


def bodies(packs: PackSet, start: int, end: int, size: int, extra: dict | None = None) -> list[bytes]:
    out = []
    for s in range(start, end, size):
        body = {"packs": [packs.ident(i) for i in range(s, min(s + size, end))], **(extra or {})}
        out.append(orjson.dumps(body))
    return out


class Run:
    def __init__(self, bench: BenchNetwork, operation: str, tokens: list[str], requests: list[bytes],
                 clients: int, seconds: float, cycle: bool) -> None:
        self.bench, self.operation, self.tokens = bench, operation, tokens
        self.requests, self.clients, self.seconds, self.cycle = requests, clients, seconds, cycle
        self.lock = threading.Lock()
        self.next = 0
        self.latencies: list[float] = []
        self.packs = self.ok = self.errors = 0
        self.codes: dict[str, int] = {}
        self.first_error = ""

    def take(self) -> bytes | None:
        with self.lock:
            if time.perf_counter() > self.deadline:
                return None
            if self.next >= len(self.requests):
                if not self.cycle:
                    return None
                self.next = 0
            body = self.requests[self.next]
            self.next += 1
            return body

    def worker(self, n: int) -> None:
        token = self.tokens[n % len(self.tokens)]
        while (body := self.take()) is not None:
            status, answer, seconds = self.bench.request("POST", f"/v1/packs/{self.operation}", token, raw=body)
            with self.lock:
                self.latencies.append(seconds)
                if status != 200 or not isinstance(answer, dict):
                    self.errors += 1
                    self.first_error = self.first_error or f"HTTP {status}: {str(answer)[:300]}"
                    continue
                self.packs += answer["count"]
                self.ok += answer["ok"]
                if answer["ok"] != answer["count"]:
                    for r in answer["results"]:
                        if not r["ok"]:
                            self.codes[r["code"]] = self.codes.get(r["code"], 0) + 1

    def go(self) -> Run:
        self.meter = CpuMeter(self.bench.pids()).start()
        self.deadline = time.perf_counter() + self.seconds
        started = time.perf_counter()
        threads = [threading.Thread(target=self.worker, args=(n,)) for n in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.wall = time.perf_counter() - started
        self.meter.stop()
        self.latencies.sort()
        return self

    @property
    def rate(self) -> float:
        return self.packs / self.wall if self.wall else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = network_bench_parser(__doc__)
    add_pack_options(parser, packs=400_000, packs_help="packs commissioned (decommission uses each once)", gtins=4)
    add_run_options(parser, clients="1,4", clients_are="clients", profile_seconds=12.0, profiled="of bulk verify at the most clients")
    parser.add_argument("--size", type=int, default=1000, help="packs per request")
    parser.add_argument("--seconds", type=float, default=20.0, help="each run (decommission also stops when packs run out)")
    add_max_wait_option(parser)
    args = parser.parse_args(argv)
    client_counts = [int(c) for c in args.clients.split(",")]
    set_quiet_max_wait(args.max_wait)
    report = Report("bulk verify and decommission (EU FMD)")
    report.add(f"- data: {args.packs:,} packs, {args.gtins} GTINs x {args.lots_per_gtin} lots, serials 12-20 alphanumerics; "
               f"{args.size:,} packs a request, all packs known and active; clients: {args.clients}; {args.seconds:g} s a run")
    with running_network(keep=args.keep, placement=args.placement) as bench:
        manufacturer = bench.add_partner(["manufacturer"])
        wholesalers = [bench.add_partner(["wholesaler"]) for _ in range(max(client_counts))]
        tokens = [w["token"] for w in wholesalers]
        gtins = bench.add_products(manufacturer, args.gtins)
        packs = make_packs(make_lots(gtins, args.lots_per_gtin), args.packs, seed=23)
        wait_quiet(bench.pids().values())
        commissioned = commission(bench, manufacturer["token"], packs)
        commission_report(report, commissioned, 50_000, 1)

        half = len(packs) // 2
        verify_bodies = bodies(packs, 0, half, args.size)
        rows = []
        results: dict[tuple[str, int], Run] = {}
        # warm-up: a few requests
        Run(bench, "verify", tokens, verify_bodies[:4], 1, 30, cycle=False).go()
        own = list(bench.pids().values())
        for clients in client_counts:
            run = quiet_run(lambda clients=clients: Run(bench, "verify", tokens, verify_bodies, clients, args.seconds, cycle=True).go(),
                                   own, lambda r: r.meter)
            results[("verify", clients)] = run
        decommission_bodies = bodies(packs, half, len(packs), args.size, {"state": "supplied"})
        per_run = len(decommission_bodies) // len(client_counts)
        for k, clients in enumerate(client_counts):
            wait_quiet(own)
            chunk = decommission_bodies[k * per_run : (k + 1) * per_run]
            run = Run(bench, "decommission", tokens, chunk, clients, args.seconds, cycle=False).go()
            results[("decommission", clients)] = run
            if run.next >= len(chunk):
                report.add(f"- decommission with {clients} client(s) ran out of packs after {run.wall:.1f} s ({len(chunk):,} requests)")

        for (operation, clients), run in results.items():
            lat = run.latencies
            net = sum(v for k2, v in run.meter.seconds.items() if not k2.startswith("bench driver"))
            rows.append([
                operation, clients, f"{len(lat):,}", f"**{run.rate:,.0f}**", f"{percentile(lat, 50) * 1000:.0f}",
                f"{percentile(lat, 99) * 1000:.0f}", f"{lat[-1] * 1000:.0f}",
                f"{run.errors}" + (f" ({run.first_error[:80]})" if run.errors else ""),
                f"{run.ok:,}/{run.packs:,}",
                *(f"{run.meter.seconds[n] / max(1, run.packs) * 1e6:.1f}" for n in ("gateway", "verifier", "recall-status", "redis")),
                f"{net / max(1, run.packs) * 1e6:.1f}",
                f"{run.meter.seconds['bench driver (this python)'] / max(1, run.packs) * 1e6:.1f}",
                f"{run.meter.machine_util:.0%}", f"{run.meter.other_load():.2f}",
            ])
            if run.codes:
                report.add(f"- {operation}, {clients} client(s): refusals by code {run.codes}")
        report.add("", "Latency per 1,000-pack request in ms; CPU in µs per pack per process (/proc utime+stime); "
                   "'clients' is the number of concurrent keep-alive clients; 'other load' is CPU used by processes outside this benchmark.")
        report.table(["operation", "clients", "requests", "packs/s", "p50 ms", "p99 ms", "max ms", "errors", "ok/packs",
                      "gateway µs", "verifier µs", "recall-status µs", "redis µs", "network µs", "client µs", "machine busy", "other load"], rows)
        best_verify = max(r.rate for (op, _), r in results.items() if op == "verify")
        best_decommission = max(r.rate for (op, _), r in results.items() if op == "decommission")
        report.add(
            f"- **bulk verify: {best_verify:,.0f} packs/s** (target >= {TARGET_VERIFY:,} issue 8: {verdict(best_verify, TARGET_VERIFY)}; "
            f">= {TARGET_VERIFY_ISSUE5:,} issue 5: {verdict(best_verify, TARGET_VERIFY_ISSUE5)})",
            f"- **bulk decommission: {best_decommission:,.0f} packs/s** (no target)",
        )

        if args.profile_seconds > 0:
            clients = max(client_counts)
            pids = {n: p for n, p in bench.pids().items() if n in ("gateway", "verifier", "recall-status")}
            running: dict = {}

            def start() -> None:
                time.sleep(1.0)
                running.update(start_profiles(pids, args.profile_seconds - 2, "bulkverify"))
                running["perf"] = start_perf(bench.pids(), args.profile_seconds - 3, "bulkverify")

            wait_quiet(bench.pids().values())
            helper = threading.Thread(target=start)
            helper.start()
            prof = Run(bench, "verify", tokens, verify_bodies, clients, args.profile_seconds, cycle=True).go()
            helper.join()
            perf_running = running.pop("perf", {})
            verify = results[("verify", clients)]
            report_profiles(
                report, f"Profile of bulk verify, {clients} clients ({prof.rate:,.0f} packs/s with the profilers attached)",
                running, perf_running, top=10,
                heading=lambda name: f"#### {name}: {verify.meter.seconds[name] / max(1, verify.packs) * 1e6:.1f} µs CPU per pack",
            )  # fmt: skip
        check_logs(bench, report)
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
