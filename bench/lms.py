"""LMS single-pack verification over HTTP: closed loop with wrk at 16, 64 and 256 connections
and at 1 connection, open loop at fixed rates, CPU per request per process, and a py-spy
profile of the services under the 64-connection load.

    python bench/lms.py                 # 1,000,000 packs, every run, profile; appends to RESULTS.md
    python bench/lms.py --packs 100000 --seconds 5 --no-write   # a quick look

It starts its own network (as ``verinet up`` does), commissions the packs through the NDJSON
API (reporting that rate too), then verifies 80% known and 20% unknown serials, spread over
8 trading partners (4 wholesalers, 4 dispensers, each with its own token and reqGLN).
Targets (issue 8): >= 5,000/s with p99 <= 10 ms at 64 connections; p99 <= 2 ms at 1 connection.

    python bench/lms.py --reference     # issue 25: verinet against the same work in one process

``--reference`` loads 200,000 packs (``--packs``), starts ``bench/reference.py`` once per core
beside the network, on the same Redis and data, and runs verinet and the reference alternately
(``--rounds`` rounds of 64 then 1 connection, each ``--seconds`` long): throughput, p50/p99 and
CPU per answer of each, and their ratios against the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
from cpu import CpuMeter, add_max_wait_option, quiet_run, set_quiet_max_wait, wait_quiet
from data import PackSet, commission, commission_report, make_lots, make_packs, random_serials
from handoff import handoff_line, handoff_price
from harness import OUT, BenchNetwork, check_logs, free_port, running_network
from load import WrkResult, require_wrk, run_wrk
from profiles import (
    PROFILE_RATE,
    finish_perf,
    finish_profiles,
    profile_tables,
    start_perf,
    start_profiles,
    summarize_profile,
)
from report import Report, fmt_ms, verdict

from verinet.placement import PLACEMENTS, usable_cpus

TARGET_RATE = 5_000
TARGET_P99_64 = 0.010
TARGET_P99_1 = 0.002
CORR_UUID = "21EC2020-3AEA-4069-A2DD-08002B30309D"


def lms_path(gtin: str, lot: str, serial: str, expiry: str, gln: str) -> str:
    q = urllib.parse.quote
    return (
        f"/verify/gtin/{gtin}/lot/{q(lot, safe='')}/ser/{q(serial, safe='')}?exp={expiry}"
        f"&linkType=verificationService&context=dscsaSaleableReturn&reqGLN={gln}&corrUUID={CORR_UUID}"
    )


def write_paths(packs: PackSet, traders: list[dict], count: int, known_share: float, seed: int = 5) -> tuple[Path, list[tuple[str, str, bool]]]:
    """A file of "<token>\\t<path>" lines: ``known_share`` of commissioned packs, the rest
    unknown serials of the same GTINs and lots."""
    rng = random.Random(seed)
    unknown_serials = random_serials(count, seed=999_983)
    lines: list[tuple[str, str, bool]] = []
    for n in range(count):
        partner = traders[n % len(traders)]
        if rng.random() < known_share:
            i = rng.randrange(len(packs))
            lot = packs.lots[packs.lot_index[i]]
            serial, known = packs.serials[i], True
        else:
            lot = packs.lots[rng.randrange(len(packs.lots))]
            serial, known = "X" + unknown_serials[n][1:], False  # known serials never start with X? they may: checked below
        lines.append((partner["token"], lms_path(lot.gtin, lot.lot, serial, lot.expiry, partner["glns"][0]), known))
    known_set = set(packs.serials)
    lines = [(t, p, k or p.split("/ser/")[1].split("?")[0] in known_set) for t, p, k in lines]
    path = OUT / "lms-paths.tsv"
    path.write_text("".join(f"{t}\t{p}\n" for t, p, _ in lines))
    return path, lines


def check_answers(bench: BenchNetwork, lines: list[tuple[str, str, bool]], sample: int = 300) -> tuple[int, int, list[str]]:
    """Asks a sample of the paths one by one: known must verify, unknown must be No_match."""
    bad: list[str] = []
    known = unknown = 0
    for token, path, is_known in lines[:sample]:
        status, body, _ = bench.request("GET", path, token)
        data = body.get("data", {}) if isinstance(body, dict) else {}
        if status != 200:
            bad.append(f"{status} {str(body)[:200]} for {path}")
        elif is_known and data != {"verified": True}:
            bad.append(f"known pack answered {data} for {path}")
        elif not is_known and data.get("verificationFailureReason") != "No_match_GTIN_Serial":
            bad.append(f"unknown pack answered {data} for {path}")
        known += is_known
        unknown += not is_known
    return known, unknown, bad


def coalesced(bench: BenchNetwork) -> tuple[float, float]:
    """(calls, questions) the gateway has sent to the verifier so far, from its
    ``verinet_coalesced_batch_size`` histogram (0, 0 when it does not coalesce)."""
    import urllib.request

    with urllib.request.urlopen(bench.url + "/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = {"count": 0.0, "sum": 0.0}
    for line in text.splitlines():
        for kind in found:
            if line.startswith(f"verinet_coalesced_batch_size_{kind}{{") and 'call="VerifyLmsBatch"' in line:
                found[kind] = float(line.rsplit(" ", 1)[1])
    return found["count"], found["sum"]


def redis_commandstats(bench: BenchNetwork) -> dict[str, int]:
    stats = bench.redis().info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def cpu_cells(meter: CpuMeter, requests: int) -> list[str]:
    names = ["gateway", "verifier", "lookup", "recall-status", "redis"]
    cells = [f"{meter.seconds[n] / requests * 1e6:,.0f}" for n in names]
    total = sum(meter.seconds[n] for n in names)
    cells.append(f"**{total / requests * 1e6:,.0f}**")
    gen = meter.seconds.get("wrk (load generator)", meter.seconds.get("open-loop generator", 0.0))
    cells.append(f"{gen / requests * 1e6:,.0f}")
    cells.append(f"{meter.machine_util:.0%}")
    cells.append(f"{meter.other_load():.2f}")
    return cells


CPU_HEAD = ["gateway µs", "verifier µs", "lookup µs", "recall-status µs", "redis µs", "network µs", "load gen µs", "machine busy", "other load (cores)"]


def run_open_loop(bench: BenchNetwork, paths: Path, rate: float, seconds: float, offset: int) -> tuple[dict, CpuMeter]:
    import os

    command = [sys.executable, str(Path(__file__).with_name("openloop.py")), "--port", str(bench.port), "--paths", str(paths),
               "--rate", f"{rate:g}", "--seconds", f"{seconds:g}", "--offset", str(offset)]
    meter = CpuMeter(bench.pids()).start()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    meter.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.communicate()
    line = next((x for x in out.splitlines() if x.startswith("OPENLOOP_JSON ")), None)
    if line is None:
        raise RuntimeError(f"openloop failed ({process.returncode}): {out[-1500:]} {err[-1500:]}")
    result = json.loads(line[len("OPENLOOP_JSON "):])
    meter.seconds["open-loop generator"] = usage.ru_utime + usage.ru_stime
    return result, meter


def profile_section(report: Report, profiles: dict[str, Path], meter: CpuMeter, requests: int,
                    perf: dict[str, list[tuple[str, float]]] | None = None, where: str = "the 64-connection closed loop",
                    rate: int = PROFILE_RATE) -> None:
    report.add("", f"### Profile under {where}", "",
               f"py-spy 0.4 `record --nonblocking --rate {rate} --format raw`, one per process, during a separate wrk run "
               "(the figures above were measured without the profiler). Shares are of the samples in which the "
               "process's Python threads were running (idle excluded); the CPU column is what /proc says the whole "
               "process used, all threads, per request. A leaf `Runner.run` is time in C code called from the "
               "event loop with no Python frame above it (uvloop, grpc's cython callbacks, socket syscalls); a leaf "
               "`Thread.run` is grpc's aio poller thread. `perf` (cpu-clock, 499 Hz, all threads) splits each "
               "process's CPU by shared object: libpython is the interpreter running Python code, cygrpc is grpc "
               "C-core and its cython layer, [kernel] is syscalls and loopback TCP.")
    for name, path in profiles.items():
        total = summarize_profile(path)["samples"]
        cpu = meter.seconds.get(name, 0.0)
        threads = getattr(meter, "thread_seconds", {}).get(name, {})
        thread_text = ", ".join(f"{t} {s / requests * 1e6:.0f} µs" for t, s in sorted(threads.items(), key=lambda kv: -kv[1]) if s > 0.05 * cpu) if threads else ""
        report.add("", f"#### {name}: {cpu / requests * 1e6:,.0f} µs CPU per request; {total:,} samples"
                   + (f"; by thread: {thread_text}" if thread_text else ""), "")
        profile_tables(report, path, top=14)
        if perf and perf.get(name):
            report.add("perf, CPU by shared object: " + ", ".join(f"{dso} {share:.1f}%" for dso, share in perf[name]),
                       "", "perf, top symbols: " + ", ".join(f"`{sym}` {share:.1f}%" for sym, share in perf.get(name + " symbols", [])[:8]))


# -- issue 25: verinet against the same work in one process per core -----------------------------


REFERENCE_SERVER = Path(__file__).with_name("reference.py")
#: The issue's targets, each against the reference measured in the same run.
TARGET_RATE_RATIO_64 = 0.85
TARGET_CPU_1 = 0.0015
TARGET_CPU_RATIO_1 = 2.0


class ReferenceServers:
    """``bench/reference.py`` once per core on one port (SO_REUSEPORT), on the network's Redis
    and signing key; what ``run_wrk`` needs of a target (``url``, ``pids``)."""

    def __init__(self, bench: BenchNetwork, responder_gln: str, processes: int) -> None:
        self.port = free_port()
        self.redis_pid = bench.pids()["redis"]
        command = [sys.executable, str(REFERENCE_SERVER), "--port", str(self.port), "--redis-url", bench.network.redis_url or "",
                   "--key-dir", str(bench.network.key_dir), "--responder-gln", responder_gln]
        # Each process on a core of its own, as verinet places its processes (verinet.placement).
        cpus = usable_cpus() if bench.network.placed is not None else []
        self.log = (OUT / "reference.log").open("ab")
        self.processes = [
            subprocess.Popen(command + (["--cpu", str(cpus[n % len(cpus)])] if cpus else []), stdout=self.log, stderr=self.log)
            for n in range(processes)
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> dict[str, int]:
        pids = {f"reference {n + 1}": p.pid for n, p in enumerate(self.processes)}
        pids["redis"] = self.redis_pid
        return pids

    def request(self, path: str, token: str) -> tuple[int, bytes, dict[str, str]]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            answer = conn.getresponse()
            return answer.status, answer.read(), dict(answer.getheaders())
        finally:
            conn.close()

    def wait_ready(self, token: str, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"a reference process exited with {p.returncode}; see {OUT / 'reference.log'}")
            try:
                # ready once it answers and every process has said in the log that it listens
                listening = (OUT / "reference.log").read_text(errors="replace").count(f"listening on {self.port}")
                if listening >= len(self.processes) and self.request(path, token)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the reference did not answer within {timeout:g} s; see {OUT / 'reference.log'}")
            time.sleep(0.2)

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()


def same_answers(bench: BenchNetwork, reference: ReferenceServers, lines: list[tuple[str, str, bool]], sample: int = 200) -> list[str]:
    """Asks both the same questions: the same status and verdict (``data``), the same responder
    and correlation id, and both signed (RFC 9421 headers and a content digest)."""
    differences: list[str] = []
    for token, path, _ in lines[:sample]:
        status, body, _ = bench.request("GET", path, token)
        ref_status, ref_raw, ref_headers = reference.request(path, token)
        ref_body = json.loads(ref_raw) if ref_status == 200 else ref_raw.decode(errors="replace")
        if not {"Signature", "Signature-Input", "Content-Digest"} <= ref_headers.keys():
            differences.append(f"the reference did not sign {path}: {sorted(ref_headers)}")
        drop = ("verificationTimestamp",)
        mine = {k: v for k, v in body.items() if k not in drop} if isinstance(body, dict) else body
        theirs = {k: v for k, v in ref_body.items() if k not in drop} if isinstance(ref_body, dict) else ref_body
        if status != ref_status or mine != theirs:
            differences.append(f"{path}: verinet {status} {mine}, reference {ref_status} {theirs}")
    return differences


def cpu_per_answer(run: WrkResult, target_pids: dict[str, int]) -> float:
    """CPU seconds per answer: utime+stime of every process of the target (Redis included)."""
    return sum(run.cpu.seconds[name] for name in target_pids) / max(1, run.requests)


def cpu_split(runs: Sequence[WrkResult], pids: dict[str, int]) -> str:
    """CPU per answer of each process over ``runs``, as user space + kernel µs, then the
    kernel's part of the whole: how much of a target's CPU went to system calls and to waking
    other processes, and how much to the code each process ran."""
    answers = max(1, sum(run.requests for run in runs))
    parts, kernel_all, total_all = [], 0.0, 0.0
    for name in pids:
        total = sum(run.cpu.seconds[name] for run in runs) / answers
        kernel = sum(run.cpu.kernel_seconds[name] for run in runs) / answers
        parts.append(f"{name} {(total - kernel) * 1e6:,.0f} + {kernel * 1e6:,.0f}")
        kernel_all, total_all = kernel_all + kernel, total_all + total
    return f"{', '.join(parts)}; in the kernel {kernel_all * 1e6:,.0f} of {total_all * 1e6:,.0f}"


#: A round's pair of 1-connection runs counts as made on a quiet machine when neither saw more
#: than this much other load or steal (cores): the p99 target is for a quiet machine.
QUIET_ROUND_LOAD = 0.05


def disturbance(run: WrkResult) -> float:
    """Cores others took from a run: other processes, or the hypervisor (whichever shows more)."""
    return max(run.cpu.other_load(), run.cpu.steal_load())


def quiet_rounds_summary(runs: dict[tuple[str, int], list[WrkResult]], pids: dict[str, int], ref_pids: dict[str, int]) -> str:
    """The 1-connection figures over the rounds in which both runs had the machine to
    themselves (``QUIET_ROUND_LOAD``), beside those over all rounds."""
    pairs = list(zip(runs[("verinet", 1)], runs[("reference", 1)], strict=True))
    quiet = [(mine, theirs) for mine, theirs in pairs
             if max(disturbance(mine), disturbance(theirs)) <= QUIET_ROUND_LOAD]
    counted = (f"- quiet rounds at 1 connection (other load and steal at most {QUIET_ROUND_LOAD} cores in both runs of the round): "
               f"{len(quiet)} of {len(pairs)}")
    if not quiet:
        return counted + "; the p99 target (a quiet machine) is not judged by this run"
    cpu = sum(sum(m.cpu.seconds[n] for n in pids) for m, _ in quiet) / sum(m.requests for m, _ in quiet)
    ref_cpu = sum(sum(t.cpu.seconds[n] for n in ref_pids) for _, t in quiet) / sum(t.requests for _, t in quiet)
    p99 = statistics.median(m.latency_us["p99"] for m, _ in quiet) / 1e6
    ref_p99 = statistics.median(t.latency_us["p99"] for _, t in quiet) / 1e6
    return (counted + f"; over those: CPU {cpu * 1e6:,.0f} against {ref_cpu * 1e6:,.0f} µs per answer, **{cpu / ref_cpu:.2f}x** (target <= 2x: "
            f"{verdict(cpu / ref_cpu, TARGET_CPU_RATIO_1, False)}); p99 **{p99 * 1000:.2f} ms** against {ref_p99 * 1000:.2f} "
            f"(median of the rounds; target <= 2 ms on a quiet machine: {verdict(p99, TARGET_P99_1, False)})")


def reference_comparison(args: argparse.Namespace) -> int:
    require_wrk()
    cores = os.cpu_count() or 1
    report = Report("LMS: verinet against the same work in one process per core (issue 25)")
    report.add(f"- data: {args.packs:,} packs, {args.gtins} GTINs x {args.lots_per_gtin} lots; {args.paths:,} distinct requests, "
               f"{args.known:.0%} known / {1 - args.known:.0%} unknown serials, 8 partners; wrk 4.1.0 closed loop, keep-alive",
               f"- reference: `bench/reference.py`, {cores} processes (one per core) on one port (SO_REUSEPORT), uvloop; per question "
               "aiohttp routing, bearer-token authentication (PartnerStore, cached), the gateway's strict query/path parsing and "
               "validation, one Redis read (PackRepository.statuses, the same Lua script), lms_verdict, lms_body, ResponseSigner.sign "
               "(Content-Digest, Ed25519, RFC 9421) with the network's key. It skips what verinet also does: admission limits, "
               "metrics, the verification event (where a pack was seen), the route lookup (cached in verinet)")
    # What waking a sleeping process costs here, to read runs on different VMs together.
    report.add(handoff_line(handoff_price()))
    extra_env = dict(item.split("=", 1) for item in args.env)
    if extra_env:
        report.add(f"- service environment: {', '.join(f'{k}={v}' for k, v in extra_env.items())}")
    if args.workers > 1:
        report.add(f"- verinet: {args.workers} processes per service (`verinet up --workers {args.workers}`)")
    with running_network(keep=args.keep, extra_env=extra_env, workers=args.workers, placement=args.placement) as bench:
        placed = bench.network.placed
        report.add(f"- placement (`--placement {args.placement}`): verinet's {placed.describe() if placed else 'processes where the kernel puts them'}; "
                   f"{'each reference process on a core of its own' if placed else 'the reference processes where the kernel puts them'}")
        manufacturer = bench.add_partner(["manufacturer"])
        traders = [bench.add_partner(["wholesaler"]) for _ in range(4)] + [bench.add_partner(["dispenser"]) for _ in range(4)]
        gtins = bench.add_products(manufacturer, args.gtins)
        packs = make_packs(make_lots(gtins, args.lots_per_gtin), args.packs)
        print(f"commissioning {len(packs):,} packs", flush=True)
        result = commission(bench, manufacturer["token"], packs, chunk=args.chunk, progress=False)
        report.add(f"- commissioned {result.stored:,} packs ({result.rate:,.0f}/s)")
        paths, lines = write_paths(packs, traders, args.paths, args.known)
        known, unknown, bad = check_answers(bench, lines)
        report.add(f"- verinet's answers checked before the load: {known} known verified, {unknown} unknown No_match_GTIN_Serial, {len(bad)} wrong"
                   + (f"; first: `{bad[0]}`" if bad else ""))
        first = bench.request("GET", lines[0][1], lines[0][0])[1]
        reference = ReferenceServers(bench, first.get("responderGLN", ""), cores)
        try:
            reference.wait_ready(lines[0][0], lines[0][1])
            differences = same_answers(bench, reference, lines)
            report.add(f"- the same 200 questions asked of both: {len(differences)} answers differ (status, verdict, responder, corrUUID; "
                       "timestamps aside); the reference signed each" + (f"; first: `{differences[0][:300]}`" if differences else ""))
            print("warming up both (5 s at 64 connections each)", flush=True)
            for target in (bench, reference):
                run_wrk(target, paths, 64, 5, args.threads, offset=7)
            runs: dict[tuple[str, int], list[WrkResult]] = {}
            rows = []
            for round_number in range(1, args.rounds + 1):
                for conns in (64, 1):
                    for name, target in (("verinet", bench), ("reference", reference)):
                        load = os.getloadavg()[0]
                        # A run other processes disturbed is made again (quiet_run): one such run
                        # moved the 1-connection CPU ratio by a tenth on its own.
                        run = quiet_run(
                            lambda target=target, conns=conns, round_number=round_number: run_wrk(
                                target, paths, conns, args.seconds, args.threads if conns > 1 else 1, offset=round_number * 10 + conns),
                            list(bench.pids().values()) + list(reference.pids().values()), lambda result: result.cpu)
                        runs.setdefault((name, conns), []).append(run)
                        cpu = cpu_per_answer(run, target.pids())
                        lat = run.latency_us
                        print(f"  round {round_number}, {conns} conn, {name}: {run.rate:,.0f}/s p50 {lat['p50'] / 1000:.2f} ms "
                              f"p99 {lat['p99'] / 1000:.2f} ms, CPU {cpu * 1e6:,.0f} µs/answer, other load {run.cpu.other_load():.2f}", flush=True)
                        rows.append([str(round_number), str(conns), name, f"{run.rate:,.0f}", f"{lat['p50'] / 1000:.2f}", f"{lat['p99'] / 1000:.2f}",
                                     f"{cpu * 1e6:,.0f}", str(run.error_count), f"{run.cpu.other_load():.2f}", f"{run.cpu.steal_load():.2f}", f"{load:.2f}"])
            report.add("", "Runs in the order made (each target in turn, so both see the same machine). CPU per answer is utime+stime "
                       "from /proc of every process of the target (verinet: its four services and Redis; the reference: its processes "
                       "and Redis), divided by the answers; wrk's own CPU is not counted. 'other load' is CPU (cores) used meanwhile by "
                       "processes outside the benchmark or taken by the hypervisor; 'steal' is what the hypervisor took (cores other VMs "
                       "ran on while this VM wanted them); 'load avg' is the 1-minute load average when the run began.")
            report.table(["round", "conn", "target", "req/s", "p50 ms", "p99 ms", "CPU µs/answer", "errors", "other load", "steal", "load avg"], rows)
            summary_rows = []
            verdicts = []
            for conns in (64, 1):
                mine, theirs = runs[("verinet", conns)], runs[("reference", conns)]
                rate = sum(r.requests for r in mine) / sum(r.seconds for r in mine)
                ref_rate = sum(r.requests for r in theirs) / sum(r.seconds for r in theirs)
                p99 = statistics.median(r.latency_us["p99"] for r in mine) / 1e6
                ref_p99 = statistics.median(r.latency_us["p99"] for r in theirs) / 1e6
                cpu = sum(sum(r.cpu.seconds[n] for n in bench.pids()) for r in mine) / sum(r.requests for r in mine)
                ref_cpu = sum(sum(r.cpu.seconds[n] for n in reference.pids()) for r in theirs) / sum(r.requests for r in theirs)
                summary_rows.append([str(conns), f"{rate:,.0f}", f"{ref_rate:,.0f}", f"**{rate / ref_rate:.2f}**", f"{p99 * 1000:.2f}",
                                     f"{ref_p99 * 1000:.2f}", f"**{p99 / ref_p99:.2f}**", f"{cpu * 1e6:,.0f}", f"{ref_cpu * 1e6:,.0f}", f"**{cpu / ref_cpu:.2f}**"])
                if conns == 64:
                    verdicts.append(f"- 64 connections: throughput {rate / ref_rate:.2f} of the reference's (target >= {TARGET_RATE_RATIO_64}: "
                                    f"{verdict(rate / ref_rate, TARGET_RATE_RATIO_64)}); p99 {p99 * 1000:.2f} ms vs {ref_p99 * 1000:.2f} ms "
                                    f"(target <= the reference's: {verdict(p99, ref_p99, False)})")
                else:
                    verdicts.append(f"- 1 connection: CPU {cpu * 1e6:,.0f} µs per answer (target <= 1,500 µs: {verdict(cpu, TARGET_CPU_1, False)}), "
                                    f"{cpu / ref_cpu:.2f}x the reference's (target <= 2x: {verdict(cpu / ref_cpu, TARGET_CPU_RATIO_1, False)}); "
                                    f"p99 {p99 * 1000:.2f} ms (target <= 2 ms on a quiet machine: {verdict(p99, TARGET_P99_1, False)})")
            report.add("Over all rounds (throughput: answers / seconds summed; p99: median of the rounds; CPU: summed over the rounds):")
            report.table(["conn", "verinet req/s", "reference req/s", "ratio", "verinet p99", "reference p99", "ratio", "verinet CPU µs", "reference CPU µs", "ratio"], summary_rows)
            report.add(*verdicts)
            report.add(quiet_rounds_summary(runs, bench.pids(), reference.pids()))
            keeper = bench.network.placement_keeper
            if keeper is not None:
                report.add(f"- verinet's back end spread over every CPU or brought back {keeper.changes} times during the runs "
                           f"(verinet.placement.AdaptivePlacement; spread at the end: {'yes' if keeper.spread else 'no'})")
            report.add(f"- 1 connection, CPU per answer by process over all rounds, user space + kernel µs: verinet: "
                       f"{cpu_split(runs[('verinet', 1)], bench.pids())}; reference: {cpu_split(runs[('reference', 1)], reference.pids())}")
            if not args.no_profile:
                profile_verinet(report, bench, paths, args)
        finally:
            reference.stop()
        check_logs(bench, report)
    report.write(enabled=not args.no_write)
    return 0


def profile_verinet(report: Report, bench: BenchNetwork, paths: Path, args: argparse.Namespace) -> None:
    """py-spy of every verinet process at ``--profile-connections`` (a separate run)."""
    conns = args.profile_connections
    tag = f"ref{conns}"
    pids = {n: p for n, p in bench.pids().items() if n != "redis"}
    meter_run = run_wrk(bench, paths, conns, args.seconds, args.threads if conns > 1 else 1, offset=77, thread_cpu_detail=True)
    running: dict = {}

    def start() -> None:
        time.sleep(1.0)
        running.update(start_profiles(pids, args.profile_seconds - 2, tag, rate=args.profile_rate))
        running["perf"] = start_perf(bench.pids(), args.profile_seconds - 3, tag)

    print(f"profiling verinet for {args.profile_seconds:g} s at {conns} connections", flush=True)
    prof = run_wrk(bench, paths, conns, args.profile_seconds, args.threads if conns > 1 else 1, offset=90, during=start)
    perf = finish_perf(running.pop("perf", {}))
    profiles = finish_profiles(running)
    report.add(f"- profile run: {prof.rate:,.0f} req/s, p99 {prof.latency_us['p99'] / 1000:.2f} ms (profilers attached); "
               f"the CPU figures below are from a run without them ({meter_run.rate:,.0f} req/s)")
    profile_section(report, profiles, meter_run.cpu, meter_run.requests, perf, f"the {conns}-connection closed loop",
                    args.profile_rate)
    if perf.get("redis"):
        report.add("", "redis, perf by shared object: " + ", ".join(f"{d} {v:.1f}%" for d, v in perf["redis"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", type=int, default=None, help="default 1,000,000 (200,000 with --reference)")
    parser.add_argument("--gtins", type=int, default=10)
    parser.add_argument("--lots-per-gtin", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=50_000, help="packs per commission request")
    parser.add_argument("--paths", type=int, default=200_000, help="distinct LMS requests cycled through")
    parser.add_argument("--known", type=float, default=0.8)
    parser.add_argument("--seconds", type=float, default=None, help="each closed-loop run (default 15; 10 with --reference)")
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--open-rates", default="auto", help="requests/s, comma-separated, or auto: 25,50,80%% of the 64-connection rate; 0 for none")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument("--profile-rate", type=int, default=PROFILE_RATE, help="py-spy samples per second (more: finer, and a slower run)")
    parser.add_argument("--profile-connections", type=int, default=64, help="closed-loop connections during the profile (one of --connections)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the network's data directory")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the services, e.g. LMS_BATCH_IN_FLIGHT=1 (repeatable)")
    parser.add_argument("--reference", action="store_true", help="issue 25: verinet and the one-process reference, alternately")
    parser.add_argument("--workers", type=int, default=1, help="with --reference: processes per verinet service (verinet up --workers)")
    parser.add_argument("--rounds", type=int, default=2, help="with --reference: rounds of (64, 1 connections) x (verinet, reference)")
    parser.add_argument("--placement", choices=PLACEMENTS, default="auto",
                        help="verinet up --placement: auto (default) or none (the kernel places every process, the reference's too)")
    add_max_wait_option(parser)
    args = parser.parse_args(argv)
    set_quiet_max_wait(args.max_wait)
    if args.reference:
        args.packs = args.packs or 200_000
        args.seconds = args.seconds or 10.0
        return reference_comparison(args)
    args.packs = args.packs or 1_000_000
    args.seconds = args.seconds or 15.0
    if args.profile_connections not in [int(c) for c in args.connections.split(",")] + [1]:
        parser.error(f"--profile-connections {args.profile_connections} is not one of the runs (--connections {args.connections}, and 1)")
    require_wrk()
    report = Report("LMS single-pack verification")
    report.add(f"- data: {args.packs:,} packs, {args.gtins} GTINs x {args.lots_per_gtin} lots, serials 12-20 alphanumerics; "
               f"{args.paths:,} distinct requests, {args.known:.0%} known / {1 - args.known:.0%} unknown serials, "
               "8 partners (4 wholesalers, 4 dispensers); wrk 4.1.0 (Debian), closed loop, keep-alive")
    extra_env = dict(item.split("=", 1) for item in args.env)
    if extra_env:
        report.add(f"- service environment: {', '.join(f'{k}={v}' for k, v in extra_env.items())}")
    with running_network(keep=args.keep, extra_env=extra_env, placement=args.placement) as bench:
        manufacturer = bench.add_partner(["manufacturer"])
        traders = [bench.add_partner(["wholesaler"]) for _ in range(4)] + [bench.add_partner(["dispenser"]) for _ in range(4)]
        gtins = bench.add_products(manufacturer, args.gtins)
        lots = make_lots(gtins, args.lots_per_gtin)
        packs = make_packs(lots, args.packs)
        print(f"commissioning {len(packs):,} packs", flush=True)
        wait_quiet(bench.pids().values())
        result = commission(bench, manufacturer["token"], packs, chunk=args.chunk)
        commission_report(report, result, args.chunk, 1)

        paths, lines = write_paths(packs, traders, args.paths, args.known)
        known, unknown, bad = check_answers(bench, lines)
        report.add(f"- answers checked before the load: {known} known verified, {unknown} unknown answered No_match_GTIN_Serial, "
                   f"{len(bad)} wrong" + (f"; first: `{bad[0]}`" if bad else ""))
        print("warming up (5 s at 64 connections)", flush=True)
        run_wrk(bench, paths, 64, 5, args.threads, offset=7)

        rows = []
        closed: dict[int, WrkResult] = {}
        redis_per_request = ""
        batch_means: list[str] = []
        for k, conns in enumerate([int(c) for c in args.connections.split(",")] + [1]):
            def closed_run(conns: int = conns, k: int = k) -> tuple[WrkResult, dict[str, int]]:
                before, sent = redis_commandstats(bench), coalesced(bench)
                run = run_wrk(bench, paths, conns, args.seconds, args.threads if conns > 1 else 1, offset=k + 1, thread_cpu_detail=conns == 64)
                after, sent_after = redis_commandstats(bench), coalesced(bench)
                calls = {c: after[c] - before.get(c, 0) for c in after if after[c] - before.get(c, 0) > 0}
                calls["(gateway->verifier calls)"] = int(sent_after[0] - sent[0])
                calls["(questions in them)"] = int(sent_after[1] - sent[1])
                return run, calls

            run, calls = quiet_run(closed_run, list(bench.pids().values()), lambda r: r[0].cpu)
            batches, questions = calls.pop("(gateway->verifier calls)"), calls.pop("(questions in them)")
            if batches:
                batch_means.append(f"{conns} connections {questions / batches:.1f}")
            if conns == 64:
                redis_per_request = ", ".join(f"{c} {n / run.requests:.2f}" for c, n in sorted(calls.items(), key=lambda kv: -kv[1]))
            closed[conns] = run
            lat = run.latency_us
            print(f"  {conns} connections: {run.rate:,.0f}/s p50 {lat['p50'] / 1000:.2f} ms p99 {lat['p99'] / 1000:.2f} ms errors {run.errors}", flush=True)
            rows.append([f"closed, {conns} conn", f"{run.rate:,.0f}", f"{lat['p50'] / 1000:.2f}", f"{lat['p99'] / 1000:.2f}",
                         f"{lat['p999'] / 1000:.2f}", f"{lat['max'] / 1000:.1f}",
                         f"{run.error_count}" + (f" ({', '.join(f'{k2} {v}' for k2, v in run.errors.items() if v)})" if run.error_count else ""),
                         *cpu_cells(run.cpu, max(1, run.requests))])

        # Open-loop rates from the 64-connection run, or the busiest one measured (``--connections 1``).
        best = closed[64].rate if 64 in closed else max(run.rate for run in closed.values())
        rates = ([round(best * f / 50) * 50 for f in (0.25, 0.5, 0.8)] if args.open_rates == "auto"
                 else [rate for rate in map(float, args.open_rates.split(",")) if rate > 0])  # 0: none
        open_results = []
        for n, rate in enumerate(rates):
            result_ol, meter = quiet_run(lambda rate=rate, n=n: run_open_loop(bench, paths, rate, args.seconds, offset=50_000 + n * 20_000),
                                                list(bench.pids().values()), lambda r: r[1])
            open_results.append(result_ol)
            lat = result_ol["latency"]
            answered = max(1, result_ol["answered"])
            errors = result_ol["answered"] - result_ol["ok"] + result_ol["lost"] + result_ol["unanswered"]
            achieved = result_ol["answered"] / result_ol["seconds"]
            print(f"  open loop {rate:g}/s: achieved {achieved:,.0f}/s p50 {fmt_ms(lat['50'])} ms p99 {fmt_ms(lat['99'])} ms", flush=True)
            rows.append([f"open, {rate:g}/s scheduled", f"{achieved:,.0f}", fmt_ms(lat["50"]), fmt_ms(lat["99"]), fmt_ms(lat["99.9"]),
                         f"{(lat['max'] or 0) * 1000:.1f}", str(errors), *cpu_cells(meter, answered)])

        report.add("", "Latency in ms; CPU in µs per request, per process (utime+stime from /proc, all threads); "
                   "'other load' is CPU used meanwhile by processes outside this benchmark (others' tests share the machine).")
        report.table(["run", "req/s", "p50", "p99", "p99.9", "max", "errors", *CPU_HEAD], rows)
        if redis_per_request:
            report.add(f"- Redis commands per request at 64 connections: {redis_per_request}")
        if batch_means:
            report.add(f"- questions per gateway->verifier call (coalesced, mean): {', '.join(batch_means)}")
        for r, result_ol in zip(rates, open_results, strict=True):
            s, lag = result_ol["service"], result_ol["send_lag"]
            report.add(f"- open loop {r:g}/s: {result_ol['connections_used']} connections used; latency from the scheduled send; "
                       f"service time (from the actual send) p50 {fmt_ms(s['50'])} / p99 {fmt_ms(s['99'])} ms; "
                       f"generator send lag p99 {fmt_ms(lag['99'])} ms; generator CPU {result_ol['cpu_seconds']:.2f} s "
                       f"= {result_ol['cpu_seconds'] / result_ol['cpu_wall_seconds']:.1%} of a core")
        c1 = closed[1]
        report.add("")
        if 64 in closed:  # not measured with --connections lacking 64
            c64 = closed[64]
            report.add(
                f"- **64 connections: {c64.rate:,.0f} req/s** (target >= {TARGET_RATE:,}: {verdict(c64.rate, TARGET_RATE)}; aim 8,000), "
                f"**p99 {c64.latency_us['p99'] / 1000:.2f} ms** (target <= 10 ms: {verdict(c64.latency_us['p99'] / 1e6, TARGET_P99_64, False)})"
            )
        report.add(
            f"- **1 connection: p99 {c1.latency_us['p99'] / 1000:.2f} ms** (target <= 2 ms: {verdict(c1.latency_us['p99'] / 1e6, TARGET_P99_1, False)}), "
            f"{c1.rate:,.0f} req/s",
        )

        if not args.no_profile:
            conns = args.profile_connections
            tag = f"lms{conns}"
            print(f"profiling for {args.profile_seconds:g} s at {conns} connections", flush=True)
            pids = {n: p for n, p in bench.pids().items() if n != "redis"}
            wait_quiet(bench.pids().values())
            running: dict = {}

            def start() -> None:
                time.sleep(1.0)  # let wrk ramp up
                running.update(start_profiles(pids, args.profile_seconds - 2, tag, rate=args.profile_rate))
                running["perf"] = start_perf(bench.pids(), args.profile_seconds - 3, tag)

            prof = run_wrk(bench, paths, conns, args.profile_seconds, args.threads, offset=90, during=start, thread_cpu_detail=True)
            perf_run = running.pop("perf", {})
            profiles = finish_profiles(running)
            perf = finish_perf(perf_run)
            report.add(f"- during the profile: {prof.rate:,.0f} req/s, p99 {prof.latency_us['p99'] / 1000:.2f} ms (profiler attached)")
            where = f"the {conns}-connection closed loop"
            profile_section(report, profiles, closed[conns].cpu, closed[conns].requests, perf, where, args.profile_rate)
            if perf.get("redis"):
                report.add("", "redis, perf by shared object: " + ", ".join(f"{d} {v:.1f}%" for d, v in perf["redis"]),
                           "", "redis, top symbols: " + ", ".join(f"`{sym}` {v:.1f}%" for sym, v in perf.get("redis symbols", [])[:8]))
            report.add(f"- raw profiles: bench/out/profile-{tag}-<service>.txt (git-ignored; `py-spy` raw collapsed stacks)")
        check_logs(bench, report)
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
