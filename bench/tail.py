"""Where the slow answers of one connection fall: one LMS question at a time from a client of
our own that keeps each answer's start and latency, then the slowest 1% laid out in time.

    python bench/tail.py                                  # 10 s, defaults; appends
    python bench/tail.py --env PACK_EVENT_DELAY_SECONDS=1 --no-write
    python bench/tail.py --sched --no-write --seconds 5       # why each slow answer was slow
    python bench/tail.py --sched --wrk --packs 200000 --no-write   # the same, with wrk asking

wrk gives percentiles only; this says *when* the slow answers come, which tells their cause
apart: answers slow at the period of the verifier's batches of sightings
(``PACK_EVENT_DELAY_SECONDS``) wait for that batch; at one second, for something done once a
second; scattered ones, for scheduling. It also reads what Redis saw meanwhile: the record
script's calls and time (``commandstats``) and its fsync stalls (``LATENCY HISTORY
aof-fsync-always``, each second's worst stall of 1 ms or more), since with ``appendfsync
always`` every write makes Redis fsync before it serves the next command. The client is Python
(http.client, keep-alive), so its answers are about 0.2 ms slower than wrk's; the layout in
time is what this is for.

``--sched`` (root, perf) says *why*: the kernel's scheduler trace of the loop
(``sched_trace.py``) delimits each question from the client waking the gateway to the gateway
waking the client, and puts each of the trace's slowest 1% down to the longest thing inside it:
a run of one of the network's processes ("recall-status busy"), a wait of one of them for a CPU
(named by what held the CPU it was queued on; it also says how long another CPU sat idle
meanwhile), or another task's run (``kdamond.0``, someone else's benchmark).
It also gives every process's wait for a CPU at each switch over the whole loop, what each
wake-up costs. On a VM a run also holds any time the hypervisor took the vCPU away: the guest
cannot tell the two apart. The trace stays in ``bench/out/tail-sched.data`` for ``perf sched timehist``.

``--wrk`` asks with wrk (one connection, one thread) instead, as ``bench/lms.py`` does: its
answers are 0.2 ms faster and its tail is the one the issue's target is read from, but wrk keeps
percentiles only, so the run gives those and, with ``--sched``, the causes, not the layout in time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from itertools import pairwise
from pathlib import Path

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import lms
from data import commission, make_lots, make_packs
from harness import OUT, ROOT, running_network
from load import run_wrk
from report import Report, percentile
from sched_trace import (
    LONG_CPU_WAIT_SECONDS,
    LONG_RUN_SECONDS,
    Happening,
    Question,
    Recording,
    Trace,
    TraceUnavailable,
    recording,
)

#: The last scheduler trace, kept for a closer look: perf sched timehist -w -i bench/out/tail-sched.data
SCHED_DATA = OUT / "tail-sched.data"
#: How many of the slowest answers the report lists with what happened inside them.
WORST_SHOWN = 5
NOTHING = "nothing above the thresholds"


def closed_loop(
    port: int, lines: list[tuple[str, str]], seconds: float
) -> list[tuple[float, float]]:
    """(start, latency) of each answer, one question at a time for ``seconds``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answers: list[tuple[float, float]] = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        token, path = lines[n % len(lines)]
        n += 1
        started = time.monotonic()
        connection.request("GET", path, headers={"Authorization": "Bearer " + token})
        response = connection.getresponse()
        response.read()
        answers.append((started, time.monotonic() - started))
        if response.status != 200:
            raise SystemExit(f"answer {n} was {response.status}: {path}")
    connection.close()
    return answers


def wrk_thread(pid: int) -> int:
    """The thread of a just started ``wrk -t 1`` that asks every question (its main thread
    only waits), once it is there."""
    tasks = Path(f"/proc/{pid}/task")
    deadline = time.monotonic() + 5
    while (
        len(threads := [int(tid) for tid in os.listdir(tasks)]) < 2 and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    return max(threads)


def at_fraction(sorted_values: Sequence[float], fraction: float) -> float:
    """``report.percentile`` of values there are (0.99: p99)."""
    value = percentile(sorted_values, fraction * 100)
    assert value is not None, "a percentile of no values"
    return value


def read_trace(recorder: Recording, pids: dict[str, int], client_pid: int) -> Trace | str:
    """The recording read, with the network's processes and the client named; or why not."""
    names = {pid: "Redis" if name == "redis" else name for name, pid in pids.items()}
    names[client_pid] = "client"
    try:
        return Trace(recorder.read(), names)
    except TraceUnavailable as error:
        return str(error)


def explain_slow_answers(
    report: Report,
    trace: Trace,
    client: int,
    latencies: Sequence[float],
    pids: dict[str, int],
    perf_pid: int,
) -> None:
    """The trace's questions against the client's answers (none from wrk), the slowest 1% of
    them each put down to the longest run or wait for a CPU inside it, and what the network's
    processes waited for a CPU at every switch. ``client`` is the thread that asks."""
    questions = trace.questions(client=client, gateway=pids["gateway"])
    if not questions:
        report.add(
            "- scheduler trace: no question found in it, so the slow answers are not attributed"
        )
        return
    durations = sorted(question.seconds for question in questions)
    first, last = questions[0].start, questions[-1].end
    asleep = sum(not question.woke_gateway for question in questions)
    report.add(
        f"- scheduler trace (`perf sched`, kept in {SCHED_DATA.relative_to(ROOT)}): {len(questions):,} "
        + (f"of the {len(latencies):,} " if latencies else "")
        + "answers found, each from the client waking the gateway to the gateway waking the client "
        f"({asleep:,} from the client going to sleep having asked: the gateway was still awake), ms: {spread(durations)}; "
        + (
            f"the client's own: {spread(latencies)} (it adds its send, its read and its own wake-up); "
            if latencies
            else ""
        )
        + f"perf itself used {trace.busy_seconds(perf_pid, first, last) / (last - first):.1%} of a core"
    )
    p99 = at_fraction(durations, 0.99)
    slow = [
        (question, trace.happenings(question)) for question in questions if question.seconds >= p99
    ]
    report_causes(report, slow, p50=at_fraction(durations, 0.5))
    worst = sorted(slow, key=lambda pair: -pair[0].seconds)[:WORST_SHOWN]
    report.add(
        f"- the {len(worst)} slowest (second into the run: ms: what happened inside):",
        *(
            f"  - {question.start - first:.3f}: {question.seconds * 1e3:.2f} ms: "
            + ("; ".join(happening.describe() for happening in happenings) or NOTHING)
            for question, happenings in worst
        ),
    )
    report_scheduling(report, trace.scheduling(first, last))


def spread(sorted_values: Sequence[float]) -> str:
    """p50, p90, p99 and max in ms."""
    return ", ".join(
        f"{label} {at_fraction(sorted_values, fraction) * 1e3:.2f}"
        for label, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
    )


def report_causes(
    report: Report, slow: Sequence[tuple[Question, list[Happening]]], p50: float
) -> None:
    """The slow answers counted by main cause, the longest of what happened inside each."""
    extra_by_cause: dict[str, list[float]] = defaultdict(list)
    for question, happenings in slow:
        main = max(happenings, key=lambda happening: happening.seconds, default=None)
        extra_by_cause[main.cause() if main else NOTHING].append(question.seconds - p50)
    report.add(
        f"- the slowest 1% in the trace ({len(slow)} answers of {min(q.seconds for q, _ in slow) * 1e3:.2f} ms or more) "
        f"by main cause: the longest, inside the answer, of any task's run of {LONG_RUN_SECONDS * 1e3:g} ms or more "
        f"and the network's waits for a CPU of {LONG_CPU_WAIT_SECONDS * 1e3:g} ms or more; extra: above the trace's p50"
    )
    by_count = sorted(extra_by_cause.items(), key=lambda item: (-len(item[1]), item[0]))
    report.table(
        ["main cause", "answers", "share", "median extra ms"],
        [
            (
                cause,
                len(extras),
                f"{len(extras) / len(slow):.0%}",
                f"{statistics.median(extras) * 1e3:.2f}",
            )
            for cause, extras in by_count
        ],
    )
    waits = [
        happening
        for _, happenings in slow
        for happening in happenings
        if happening.kind == "waited"
    ]
    if waits:
        queued = sum(wait.idle_elsewhere >= wait.whole / 2 for wait in waits)
        report.add(
            f"- waits for a CPU inside the slow answers: {len(waits)}, {queued} of them while another CPU was idle "
            "for half the wait or more"
        )


def report_scheduling(
    report: Report, scheduling: dict[str, tuple[list[float], list[float]]]
) -> None:
    """Per process, the wait for a CPU at each switch and the run after it."""
    report.add(
        "- every switch of the network's processes during the loop: its wait for a CPU (sch delay) "
        "and the run after it, ms:"
    )
    report.table(
        ["process", "switches", "sch delay p50", "p90", "p99", "max", "median run"],
        [
            (
                name,
                f"{len(delays):,}",
                *(
                    f"{at_fraction(delays, fraction) * 1e3:.3f}"
                    for fraction in (0.5, 0.9, 0.99, 1.0)
                ),
                f"{at_fraction(runs, 0.5) * 1e3:.3f}",
            )
            for name, (delays, runs) in scheduling.items()
            if delays
        ],
    )


def report_layout(
    report: Report, answers: list[tuple[float, float]], latencies: Sequence[float], seconds: float
) -> None:
    """The client's percentiles, and when in the run its slowest 1% came."""
    count = len(latencies)
    p99 = at_fraction(latencies, 0.99)
    first = answers[0][0]
    slow = [(started - first, latency) for started, latency in answers if latency >= p99]
    gaps = Counter(round(b[0] - a[0], 2) for a, b in pairwise(slow))
    report.add(
        f"- {count:,} answers ({count / seconds:,.0f}/s): p50 {statistics.median(latencies) * 1e3:.2f} ms, "
        f"p90 {at_fraction(latencies, 0.9) * 1e3:.2f}, p99 {p99 * 1e3:.2f}, max {latencies[-1] * 1e3:.2f}"
    )
    report.add(
        "- the slowest 1% (second into the run: ms), first 40: "
        + " ".join(f"{at:.3f}:{latency * 1e3:.1f}" for at, latency in slow[:40])
    )
    report.add(
        "- seconds between consecutive slow answers, most common (gap: times): "
        + ", ".join(f"{gap:.2f}: {times}" for gap, times in gaps.most_common(8))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the services' environment (repeatable)",
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--wrk", action="store_true", help="ask with wrk (one connection), as bench/lms.py does"
    )
    parser.add_argument(
        "--sched",
        action="store_true",
        help="put each slow answer down to a cause from the kernel's scheduler trace (perf sched; root)",
    )
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    report = Report("where the slow answers of one connection fall in time (issue 25)")
    report.add(
        f"- services' environment: {', '.join(f'{k}={v}' for k, v in env.items()) or 'defaults'}",
        f"- data: {args.packs:,} packs, 80% known serials; {args.seconds:g} s, one question at a time",
    )
    with running_network(extra_env=env) as bench:
        maker = bench.add_partner(["manufacturer"])
        traders = [bench.add_partner(["wholesaler"]) for _ in range(2)] + [
            bench.add_partner(["dispenser"]) for _ in range(2)
        ]
        packs = make_packs(make_lots(bench.add_products(maker, 4), 2), args.packs)
        commission(bench, maker["token"], packs, progress=False)
        written, _ = lms.write_paths(packs, traders, args.packs, 0.8)
        run_wrk(bench, written, 64, 2, 2)  # warm up
        lines = [
            (token, path)
            for token, path in (line.split("\t")[:2] for line in written.read_text().splitlines())
        ]
        redis = bench.redis()
        redis.config_set("latency-monitor-threshold", 1)
        redis.execute_command("LATENCY", "RESET")
        redis.config_resetstat()
        pids = bench.pids()
        client = {"pid": os.getpid(), "thread": os.getpid()}  # wrk's, when wrk asks

        def wrk_started(pid: int) -> None:
            client.update(pid=pid, thread=wrk_thread(pid))

        answers: list[tuple[float, float]] = []
        with recording(args.seconds, SCHED_DATA) if args.sched else nullcontext() as recorder:
            if args.wrk:
                run = run_wrk(bench, written, 1, args.seconds, 1, started=wrk_started)
                if run.error_count:
                    raise SystemExit(f"wrk had errors: {run.errors}")
            else:
                answers = closed_loop(bench.port, lines, args.seconds)
            stats = redis.info("commandstats")
            fsyncs = redis.execute_command("LATENCY", "HISTORY", "aof-fsync-always")
            trace = read_trace(recorder, pids, client["pid"]) if recorder is not None else None
            perf_pid = recorder.process.pid if recorder is not None and recorder.process else 0
    latencies = sorted(latency for _, latency in answers)
    if args.wrk:
        latency = run.latency_us
        report.add(
            f"- {run.requests:,} answers ({run.rate:,.0f}/s), wrk: p50 {latency['p50'] / 1e3:.2f} ms, "
            f"p90 {latency['p90'] / 1e3:.2f}, p99 {latency['p99'] / 1e3:.2f}, p99.9 {latency['p999'] / 1e3:.2f}, "
            f"max {latency['max'] / 1e3:.2f}"
        )
    else:
        report_layout(report, answers, latencies, args.seconds)
    for name, stat in sorted(stats.items()):
        if name.startswith("cmdstat_eval"):
            report.add(
                f"- Redis `{name[8:]}` (status reads and sightings' records alike): {stat['calls']:,} calls, "
                f"{stat['usec_per_call']:.1f} µs each"
            )
    stalls = [int(ms) for _, ms in fsyncs]
    report.add(
        f"- Redis fsync stalls of 1 ms or more (each second's worst): in {len(stalls)} seconds"
        + (f", median {statistics.median(stalls)} ms, max {max(stalls)} ms" if stalls else "")
    )
    if isinstance(trace, str):
        report.add(f"- scheduler trace skipped, so the slow answers are not attributed: {trace}")
    elif trace is not None:
        explain_slow_answers(report, trace, client["thread"], latencies, pids, perf_pid)
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
