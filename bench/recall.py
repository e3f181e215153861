"""Recalls: (a) time from publishing a recall (its HTTP 201) to the first LMS verification
answering Recalled for a unit in scope; (b) time to compute the scope and the last known
locations of a recall of 1,000,000 units.

    python bench/recall.py                          # both parts, 1,000,000 units; appends
    python bench/recall.py --units 100000 --trials 3 --no-write

(a) For each trial a recall is published (by lot, then by line and time window: a rule and
member lists) while a background client verifies a unit of it in a tight loop; right after the 201
the main client also verifies another unit in scope in a tight loop until it reads Recalled.
Target (issue 6): under 100 ms.
(b) 1,000,000 packs are commissioned on one line within one day, 100,000 of them are
"located" by bulk FMD verifications of 5 partners, then the recall of that line and day is
previewed (scope only, nothing written) and published (POST /v1/recalls); both are timed,
and recall-status and Redis are profiled during the publish. Target (issue 6): under 10 s.
"""

from __future__ import annotations

import datetime as dt
import http.client
import statistics
import sys
import threading
import time
from typing import Any

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import orjson
from cpu import CpuMeter, cpu_rows, wait_quiet
from data import Lot, commission, commission_report, make_packs
from harness import BenchNetwork, check_logs, network_bench_parser, running_network
from lms import lms_path
from profiles import interrupt, report_profiles, start_perf, start_profiles
from report import Report, verdict

TARGET_VISIBLE = 0.100
TARGET_SCOPE = 10.0
DAY = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)


def recalled(body: object) -> bool:
    return isinstance(body, dict) and body.get("data", {}).get("additionalInfo") == "Recalled"


def visibility_trial(bench: BenchNetwork, manufacturer: dict, holder: dict, recall_body: dict,
                     watched: dict, probe: dict) -> dict[str, float | int | None]:
    """Publishes one recall; returns times relative to the moment its 201 arrived."""
    token, gln = holder["token"], holder["glns"][0]
    watch_path = lms_path(watched["gtin"], watched["lot"], watched["serial"], watched["expiry"], gln)
    probe_path = lms_path(probe["gtin"], probe["lot"], probe["serial"], probe["expiry"], gln)
    status, body, _ = bench.request("GET", probe_path, token)
    assert status == 200 and body["data"] == {"verified": True}, (status, body)
    stop = threading.Event()
    seen: list[tuple[float, float, bool]] = []  # (sent, answered, recalled)

    def poll() -> None:
        while not stop.is_set():
            sent = time.perf_counter()
            _, answer, _ = bench.request("GET", watch_path, token)
            seen.append((sent, time.perf_counter(), recalled(answer)))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.05)
    sent = time.perf_counter()
    status, created, _ = bench.request("POST", "/v1/recalls", manufacturer["token"], recall_body)
    t201 = time.perf_counter()
    if status != 201:
        stop.set()
        poller.join()
        raise RuntimeError(f"POST /v1/recalls answered {status}: {str(created)[:300]}")
    polls = 0
    first = None
    while time.perf_counter() - t201 < 5.0:
        _, answer, _ = bench.request("GET", probe_path, token)
        polls += 1
        if recalled(answer):
            first = time.perf_counter()
            break
    time.sleep(0.02)
    stop.set()
    poller.join()
    poller_first = next(((s, a) for s, a, r in seen if r), None)
    return {
        "publish_seconds": t201 - sent,
        "after_201": None if first is None else first - t201,
        "polls": polls,
        "poller_first_answer": None if poller_first is None else poller_first[1] - t201,
        "poller_first_sent": None if poller_first is None else poller_first[0] - t201,
        "poller_last_not_recalled_sent": max((s - t201 for s, _, r in seen if not r), default=None),
        "units": created.get("units"),
    }


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed_report(bench: BenchNetwork, path: str, token: str, output: str) -> dict[str, Any]:
    """Reads a streamed report chunk by chunk (never holding it): status, rows, bytes, seconds
    to the first byte and to the end, and the resident memory of the gateway and recall-status
    before and at their peak while it streamed (sampled every 50 ms)."""
    pids = {name: pid for name, pid in bench.pids().items() if name in ("gateway", "recall-status")}
    before = {name: rss_mb(pid) for name, pid in pids.items()}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            for name, pid in pids.items():
                peak[name] = max(peak[name], rss_mb(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    # a row is a line of CSV (less the header), or an object starting {"gtin": in the JSON rows
    marker = b"\n" if output == "csv" else b'{"gtin":'
    first_byte, size, rows, tail = 0.0, 0, -1 if output == "csv" else 0, b""
    while chunk := answer.read1(1 << 20):
        first_byte = first_byte or time.perf_counter() - started
        size += len(chunk)
        joined = tail + chunk
        rows += joined.count(marker)
        tail = joined[-(len(marker) - 1):] if len(marker) > 1 else b""
        complete = joined.endswith(b"]}") if output == "json" else joined.endswith(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    conn.close()
    if size and not complete:
        rows = -1  # an incomplete document
    return {"status": answer.status, "rows": rows, "bytes": size, "first_byte": first_byte, "seconds": seconds,
            "rss": {name: (before[name], peak[name]) for name in pids}}


def main(argv: list[str] | None = None) -> int:
    parser = network_bench_parser(__doc__)
    parser.add_argument("--units", type=int, default=1_000_000, help="packs in the big recall's scope")
    parser.add_argument("--located", type=int, default=100_000, help="of them, verified by partners first")
    parser.add_argument("--holders", type=int, default=5)
    parser.add_argument("--trials", type=int, default=5, help="publish-to-Recalled trials per recall kind")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--report", action="store_true", help="also time the big recall's report, streamed as JSON and as CSV")
    args = parser.parse_args(argv)
    report = Report("recalls: publish to Recalled, scope of 1,000,000 units")
    with running_network(keep=args.keep, placement=args.placement) as bench:
        manufacturer = bench.add_partner(["manufacturer"])
        holders = [bench.add_partner(["wholesaler"]) for _ in range(2)] + [bench.add_partner(["dispenser"]) for _ in range(max(0, args.holders - 2))]
        gtin_small, gtin_big = bench.add_products(manufacturer, 2)

        # (a) publish -> first Recalled
        trials = args.trials
        lots = [Lot(gtin_small, f"RL{n:03d}", "291231") for n in range(trials * 2)]
        small = make_packs(lots, 400 * len(lots), seed=5)
        # each trial's units: by lot (trial t uses lot t) or by line and window (trial t: line U<t>, one hour)
        small.line = ""
        packs_by_lot: dict[int, list[int]] = {}
        for i, li in enumerate(small.lot_index):
            packs_by_lot.setdefault(li, []).append(i)
        body_lines = []
        for i in range(len(small)):
            pack = small.pack(i)
            li = small.lot_index[i]
            if li >= trials:  # line/window trials: lots >= trials carry a line and a time
                pack["line"] = f"U{li}"
                pack["commissioned_at"] = (DAY + dt.timedelta(hours=1, seconds=i % 3000)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body_lines.append(orjson.dumps(pack))
        bench.must("POST", "/v1/packs/commission", manufacturer["token"], raw=b"\n".join(body_lines), content_type="application/x-ndjson")
        results: dict[str, list[dict]] = {"lot": [], "line and window (rule + member lists)": []}
        wait_quiet(bench.pids().values())
        for t in range(trials * 2):
            members = packs_by_lot[t]
            watched, probe = small.ident(members[0]), small.ident(members[1])
            if t < trials:
                kind = "lot"
                body = {"gtins": [gtin_small], "lots": [lots[t].lot], "class": "II", "reason": "bench: lot recall", "depth": "retail"}
            else:
                kind = "line and window (rule + member lists)"
                body = {"gtins": [gtin_small], "line": f"U{t}", "window": {"start": DAY.isoformat(), "end": (DAY + dt.timedelta(days=1)).isoformat()},
                        "class": "I", "reason": "bench: line recall", "depth": "retail"}
            result = visibility_trial(bench, manufacturer, holders[0], body, watched, probe)
            results[kind].append(result)
            print(f"  {kind}: {result}", flush=True)
        rows = []
        worst = 0.0
        for kind, runs in results.items():
            after = [r["after_201"] for r in runs if r["after_201"] is not None]
            missing = sum(1 for r in runs if r["after_201"] is None)
            worst = max([worst, *after]) if after else float("inf")
            pf = [r["poller_first_answer"] for r in runs if r["poller_first_answer"] is not None]
            rows.append([kind, len(runs), f"{runs[0]['units']:,}", f"{statistics.median(r['publish_seconds'] for r in runs) * 1000:.0f}",
                         f"{statistics.median(after) * 1000:.1f}" if after else "n/a", f"{max(after) * 1000:.1f}" if after else "n/a",
                         str(max(r["polls"] for r in runs)), f"{min(pf) * 1000:+.1f} / {max(pf) * 1000:+.1f}" if pf else "n/a",
                         str(missing)])
        report.add("", "#### (a) from the publish's 201 to the first LMS answer `Recalled`", "",
                   "'after 201' is when the first LMS verification sent after the 201 was answered Recalled (it includes that "
                   "request's own latency); 'background poller' is when a client verifying a unit in a tight loop since before the publish "
                   "first received Recalled, relative to the 201 (negative: before the 201 reached the manufacturer).")
        report.table(["recall by", "trials", "units each", "publish ms (median)", "after 201 ms, median", "after 201 ms, max",
                      "polls needed (max)", "background poller first Recalled ms (min / max)", "never Recalled within 5 s"], rows)
        report.add(f"- **publish to first Recalled: at most {worst * 1000:.1f} ms** (target < 100 ms: {verdict(worst, TARGET_VISIBLE, False)})")

        # (b) a recall of 1,000,000 units
        big_lots = [Lot(gtin_big, f"BIG{n:02d}", "300630") for n in range(4)]
        window = (DAY.timestamp() + 60, DAY.timestamp() + 86_340)
        big = make_packs(big_lots, args.units, seed=77, line="L3", window=window)
        print(f"commissioning {len(big):,} packs on line L3 within {DAY:%Y-%m-%d}", flush=True)
        wait_quiet(bench.pids().values())
        commissioned = commission(bench, manufacturer["token"], big, chunk=50_000)
        report.add("", f"#### (b) a recall of {len(big):,} units (line L3, one day)", "")
        commission_report(report, commissioned, 50_000, 1)
        located = min(args.located, len(big))
        started = time.perf_counter()
        for start in range(0, located, 1000):
            holder = holders[(start // 1000) % len(holders)]
            body = orjson.dumps({"packs": [big.ident(i) for i in range(start, min(start + 1000, located))], "possession_attested": True})
            bench.must("POST", "/v1/packs/verify", holder["token"], raw=body)
        report.add(f"- located {located:,} units: bulk FMD verify attesting possession by {len(holders)} partners in {time.perf_counter() - started:.1f} s")
        scope = {"gtins": [gtin_big], "line": "L3", "window": {"start": DAY.isoformat(), "end": (DAY + dt.timedelta(days=1)).isoformat()}}
        wait_quiet(bench.pids().values())
        status, preview, preview_seconds = bench.request("POST", "/v1/recalls/preview", manufacturer["token"], scope)
        if status != 200:
            report.add(f"- preview FAILED: HTTP {status} after {preview_seconds:.1f} s: `{str(preview)[:300]}`")
        else:
            report.add(f"- preview (scope and locations, nothing written): **{preview_seconds:.2f} s**, units {preview['units']:,}, "
                       f"located {sum(x['units'] for x in preview['units_by_location']):,} at {len(preview['units_by_location'])} locations")
        wait_quiet(bench.pids().values())
        running: dict = {}
        if not args.no_profile:
            pids = {n: p for n, p in bench.pids().items() if n == "recall-status"}
            running.update(start_profiles(pids, None, "recall1m"))
            perf_running = start_perf({n: p for n, p in bench.pids().items() if n in ("recall-status", "redis")}, None, "recall1m")
            time.sleep(0.5)
        meter = CpuMeter(bench.pids()).start()
        status, created, publish_seconds = bench.request(
            "POST", "/v1/recalls", manufacturer["token"], {**scope, "class": "I", "reason": "bench: 1M-unit line recall", "depth": "retail"})
        meter.stop()
        if status != 201:
            report.add(f"- publish FAILED: HTTP {status} after {publish_seconds:.1f} s: `{str(created)[:300]}`")
        else:
            located_found = sum(x["units"] for x in created["units_by_location"])
            report.add(f"- **publish (POST /v1/recalls, scope + locations + unit writes + notifications): {publish_seconds:.2f} s** "
                       f"(target < {TARGET_SCOPE:g} s: {verdict(publish_seconds, TARGET_SCOPE, False)}); units {created['units']:,}, "
                       f"located {located_found:,} at {len(created['units_by_location'])} locations")
            # the first LMS answer after it
            unit = big.ident(len(big) - 1)
            _, answer, seconds = bench.request("GET", lms_path(unit["gtin"], unit["lot"], unit["serial"], unit["expiry"], holders[0]["glns"][0]), holders[0]["token"])
            report.add(f"- a verification of one of its units right after: {answer.get('data') if isinstance(answer, dict) else answer} in {seconds * 1000:.1f} ms")
            status, _, seconds = bench.request("GET", f"/v1/recalls/{created['id']}", manufacturer["token"])
            report.add(f"- GET /v1/recalls/{{id}} (summary and effectiveness): HTTP {status} in {seconds:.2f} s")
            if args.report:
                wait_quiet(bench.pids().values())
                for output in ("json", "csv"):
                    report_meter = CpuMeter(bench.pids()).start()
                    timed = timed_report(bench, f"/v1/recalls/{created['id']}/report?format={output}", manufacturer["token"], output)
                    report_meter.stop()
                    report.add(f"- CPU during the {output.upper()} report: " + ", ".join(
                        f"{row[0]} {row[1]} s ({row[2]})" for row in cpu_rows(report_meter, timed["rows"], "row")))
                    report.add(f"- GET /v1/recalls/{{id}}/report ({output.upper()}, streamed): HTTP {timed['status']}, {timed['rows']:,} rows, "
                               f"{timed['bytes'] / 1e6:.0f} MB, first byte after {timed['first_byte']:.2f} s, **all in {timed['seconds']:.2f} s**; "
                               f"resident memory before / peak during: " + ", ".join(
                                   f"{name} {before:.0f} / {peak:.0f} MB" for name, (before, peak) in timed["rss"].items()))
        report.table(["process", "CPU s", "CPU/wall", "CPU µs per unit"], cpu_rows(meter, len(big), "unit"))
        if running:
            interrupt(running)
            interrupt(perf_running)
            report_profiles(report, "Profile of the 1,000,000-unit publish", running, perf_running)
        check_logs(bench, report)
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
