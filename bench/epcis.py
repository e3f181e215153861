"""Benchmark EPCIS capture (``POST /v1/events``): events and unit-events a second through the
whole network (gateway -> recall-status -> Redis), as ``verinet up`` runs it on this machine.

    python bench/epcis.py                 # 100,000 units; print and append to bench/RESULTS.md
    python bench/epcis.py --units 20000 --no-write
    python bench/epcis.py --check         # exit 1 below 20,000 unit-events/s on the journey
    python bench/epcis.py --xml --units 20000   # the journey in JSON-LD, then in EPCIS 1.2 XML

With ``--xml`` the same journey runs twice, each on a new network: as JSON-LD (NDJSON for the
last step) and as EPCIS 1.2 XML documents (every step), and the XML figures are given as a share
of the JSON ones (the target: at least 70%).

A unit-event is one unit an event applies to, cases and pallets expanded: shipping a pallet
of 500 units is one event and 500 unit-events. The journey, one document per step, modelled on
the GS1 EPCIS 2.0 examples: the manufacturer commissions the units (events of 100), packs them
into cases of 10 and the cases onto pallets of 50 cases, ships the pallets; a wholesaler
receives them and unpacks pallets and cases; then ships every unit on by itself, a document of
one event per unit (100,000 events at the default size), which a pharmacy receives as NDJSON.
Documents are written to temporary files and streamed; peak memory (VmHWM) of the gateway and
recall-status shows that a document is not held in memory.

Two headline figures: unit-events a second over the journey, whose events carry 10 to 500 units
each as real shipments do (the 20,000 target applies to it), and events a second for the
documents of one unit per event, where the per-event cost dominates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import harness  # noqa: F401  (first: re-runs this benchmark under the project's venv when needed)
from report import cpu_model, git

from verinet.embedded_redis import free_port
from verinet.epc import Gln, Sgtin, Sscc
from verinet.network import Network, with_check_digit

ROOT = Path(__file__).resolve().parent.parent
TARGET = 20_000  # unit-events a second
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
SERVICES = ("gateway", "recall-status", "verifier", "lookup")


# -- results ------------------------------------------------------------------------------------






def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- documents ----------------------------------------------------------------------------------


def at(step: int) -> str:
    moment = dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC) + dt.timedelta(seconds=step)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def where(gln: str) -> dict[str, Any]:
    urn = Gln(gln).as_urn(7)
    return {"readPoint": {"id": urn}, "bizLocation": {"id": urn}}


def base(kind: str, action: str, step: int, gln: str, **members: Any) -> dict[str, Any]:
    return {"type": kind, "action": action, "eventTime": at(step), "eventTimeZoneOffset": "+00:00", **members, **where(gln)}


def write_document(path: Path, events: Iterator[dict[str, Any]], ndjson: bool = False) -> int:
    """Writes events one by one (never a whole document in memory); returns the event count."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        if not ndjson:
            header = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": at(0)}
            out.write(json.dumps(header)[:-1] + ', "epcisBody": {"eventList": [\n')
        for event in events:
            if count and not ndjson:
                out.write(",\n")
            out.write(json.dumps(event, separators=(",", ":")))
            if ndjson:
                out.write("\n")
            count += 1
        if not ndjson:
            out.write("\n]}}\n")
    return count


def element(name: str, content: str, **attributes: str) -> str:
    """``<name attribute="value">content</name>``; ``content`` is markup (escape text first)."""
    spelled = "".join(f" {key}={quoteattr(value)}" for key, value in attributes.items())
    return f"<{name}{spelled}>{content}</{name}>"


def xml_event(event: dict[str, Any]) -> str:
    """One of the benchmark's events as EPCIS 1.2 XML (sources, destinations and ilmd in the
    event's extension element, CBV values as URNs)."""
    cbv = "urn:epcglobal:cbv:"
    members = [element("eventTime", event["eventTime"]), element("eventTimeZoneOffset", event["eventTimeZoneOffset"])]
    if "parentID" in event:
        members.append(element("parentID", escape(event["parentID"])))
    members += [element(name, "".join(element("epc", escape(e)) for e in event[name]))
                for name in ("epcList", "childEPCs") if name in event]  # fmt: skip
    members.append(element("action", event["action"]))
    members += [element(name, f"{cbv}{vocabulary}:{event[name]}")
                for name, vocabulary in (("bizStep", "bizstep"), ("disposition", "disp")) if name in event]  # fmt: skip
    members += [element(name, element("id", escape(event[name]["id"]))) for name in ("readPoint", "bizLocation")]
    if "bizTransactionList" in event:
        transactions = (element("bizTransaction", escape(t["bizTransaction"]), type=f"{cbv}btt:{t['type']}")
                        for t in event["bizTransactionList"])  # fmt: skip
        members.append(element("bizTransactionList", "".join(transactions)))
    # EPCIS 1.2 keeps sources, destinations and ILMD in the event's extension element.
    extension = [element(name, "".join(element(member, escape(p[member]), type=f"{cbv}sdt:{p['type']}") for p in event[name]))
                 for name, member in (("sourceList", "source"), ("destinationList", "destination")) if name in event]  # fmt: skip
    if "ilmd" in event:
        extension.append(element("ilmd", "".join(element(key, escape(value)) for key, value in event["ilmd"].items())))
    if extension:
        members.append(element("extension", "".join(extension)))
    return element(event["type"], "".join(members))


def write_xml_document(path: Path, events: Iterator[dict[str, Any]]) -> int:
    """An EPCIS 1.2 XML document of the events, written one by one; returns the event count."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" '
            f'xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="{at(0)}">\n<EPCISBody><EventList>\n'
        )
        for event in events:
            out.write(xml_event(event) + "\n")
            count += 1
        out.write("</EventList></EPCISBody></epcis:EPCISDocument>\n")
    return count


# -- the run ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, network: Network) -> None:
        self.network = network
        self.admin = network.info["admin_token"]
        self.port = network.ports["gateway"]
        self.pids = {name: network.processes[name].pid for name in SERVICES}
        assert network.redis is not None and network.redis.process is not None
        self.pids["redis"] = network.redis.process.pid

    def call(self, method: str, path: str, token: str, body: Any = None, *, file: Path | None = None,
             content_type: str = "application/json") -> tuple[int, Any, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        started = time.perf_counter()
        if file is not None:
            headers["Transfer-Encoding"] = "chunked"  # as `verinet events import` streams
            with file.open("rb") as data:
                conn.request(method, path, body=data, headers=headers, encode_chunked=True)
                answer = conn.getresponse()
        else:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            answer = conn.getresponse()
        payload = answer.read()
        elapsed = time.perf_counter() - started
        conn.close()
        return answer.status, json.loads(payload or b"null"), elapsed

    def partner(self, roles: list[str], n: int) -> dict[str, Any]:
        body: dict[str, Any] = {"name": f"bench {roles[0]} {n}", "roles": roles, "glns": [with_check_digit(f"09{n:05d}00001")]}
        if "manufacturer" in roles:
            body["company_prefixes"] = [f"08{n:05d}"]
        status, created, _ = self.call("POST", "/v1/partners", self.admin, body)
        assert status == 201, created
        return created


def run(units: int, per_case: int, cases_per_pallet: int, workdir: Path, xml: bool = False) -> tuple[list[list[Any]], dict[str, Any]]:
    data_dir = workdir / "network"
    network = Network(data_dir, gateway_port=free_port(), extra_env={"LOG_LEVEL": "WARNING"})
    network.start()
    try:
        bench = Bench(network)
        maker = bench.partner(["manufacturer"], 1)
        wholesaler = bench.partner(["wholesaler"], 2)
        pharmacy = bench.partner(["dispenser"], 3)
        prefix = maker["company_prefixes"][0]
        gtin = with_check_digit("0" + prefix + "1".rjust(12 - len(prefix), "0"))
        status, answer, _ = bench.call("PUT", f"/v1/products/{gtin}", maker["token"], {"name": "Bench EPCIS"})
        assert status in (200, 201), answer
        m_gln, w_gln, p_gln = maker["glns"][0], wholesaler["glns"][0], pharmacy["glns"][0]
        serial = [Sgtin(gtin, f"B{n:09d}", 7).as_urn() for n in range(units)]
        per_pallet = per_case * cases_per_pallet
        cases = [Sscc(with_check_digit("3" + prefix + f"{n:09d}"), 7).as_urn() for n in range(units // per_case)]
        pallets = [Sscc(with_check_digit("4" + prefix + f"{n:09d}"), 7).as_urn() for n in range(units // per_pallet)]
        ilmd = {"cbvmda:lotNumber": "BENCH1", "cbvmda:itemExpirationDate": "2030-12-31"}
        ship_to = {
            "sourceList": [{"type": "owning_party", "source": Gln(m_gln, party=True).as_urn(7)}],
            "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"}],
        }

        def dest(gln: str) -> dict[str, Any]:
            return {"destinationList": [{"type": "location", "destination": Gln(gln).as_urn(7)}]}

        steps: list[tuple[str, dict[str, Any], str, Iterator[dict[str, Any]], bool]] = [
            ("commission (events of 100 units)", maker, "commission", (
                base("ObjectEvent", "ADD", 1, m_gln, epcList=serial[i : i + 100], bizStep="commissioning", disposition="active", ilmd=ilmd)
                for i in range(0, units, 100)), False),
            (f"pack into cases of {per_case}, cases onto pallets of {per_pallet}", maker, "pack", iter([
                *(base("AggregationEvent", "ADD", 2, m_gln, parentID=cases[c], childEPCs=serial[c * per_case : (c + 1) * per_case], bizStep="packing")
                  for c in range(len(cases))),
                *(base("AggregationEvent", "ADD", 3, m_gln, parentID=pallets[p], childEPCs=cases[p * cases_per_pallet : (p + 1) * cases_per_pallet], bizStep="packing")
                  for p in range(len(pallets))),
            ]), False),
            ("ship pallets", maker, "ship", (
                base("ObjectEvent", "OBSERVE", 4, m_gln, epcList=[p], bizStep="shipping", disposition="in_transit", **ship_to, **dest(w_gln))
                for p in pallets), False),
            ("receive pallets", wholesaler, "receive", (
                base("ObjectEvent", "OBSERVE", 5, w_gln, epcList=[p], bizStep="receiving", disposition="in_progress", **dest(w_gln))
                for p in pallets), False),
            ("unpack pallets and cases", wholesaler, "unpack", iter([
                *(base("AggregationEvent", "DELETE", 6, w_gln, parentID=p, bizStep="unpacking") for p in pallets),
                *(base("AggregationEvent", "DELETE", 7, w_gln, parentID=c, bizStep="unpacking") for c in cases),
            ]), False),
            ("ship each unit (one event a unit)", wholesaler, "ship-units", (
                base("ObjectEvent", "OBSERVE", 8, w_gln, epcList=[s], bizStep="shipping", disposition="in_transit", **dest(p_gln))
                for s in serial), False),
            ("receive each unit, NDJSON", pharmacy, "receive-units", (
                base("ObjectEvent", "OBSERVE", 9, p_gln, epcList=[s], bizStep="receiving", disposition="in_progress")
                for s in serial), True),
        ]  # fmt: skip
        rows: list[list[Any]] = []
        totals: dict[str, Any] = {"events": 0, "unit_events": 0, "seconds": 0.0, "bytes": 0, "largest_events": 0}
        journey = {"events": 0, "unit_events": 0, "seconds": 0.0}
        single = {"events": 0, "unit_events": 0, "seconds": 0.0}
        for label, party, name, events, ndjson in steps:
            if xml:
                label = label.replace(", NDJSON", "")
                path = workdir / f"{name}.xml"
                count = write_xml_document(path, events)
                content_type = "application/xml"
            else:
                path = workdir / f"{name}.{'ndjson' if ndjson else 'jsonld'}"
                count = write_document(path, events, ndjson)
                content_type = "application/x-ndjson" if ndjson else "application/ld+json"
            size = path.stat().st_size
            cpu_before = {k: cpu_seconds(pid) for k, pid in bench.pids.items()}
            status, answer, seconds = bench.call(
                "POST", "/v1/events", party["token"], file=path, content_type=content_type
            )
            cpu = {k: cpu_seconds(pid) - cpu_before[k] for k, pid in bench.pids.items()}
            if status != 200 or not answer.get("applied"):
                raise SystemExit(f"{label}: HTTP {status}: {json.dumps(answer)[:800]}")
            path.unlink()
            unit_events = answer["unit_events"]
            rows.append([
                label, f"{count:,}", f"{unit_events:,}", f"{size / 1e6:.1f}", f"{seconds:.2f}",
                f"{count / seconds:,.0f}", f"{unit_events / seconds:,.0f}",
                f"{cpu['gateway']:.1f} / {cpu['recall-status']:.1f} / {cpu['redis']:.1f}",
            ])  # fmt: skip
            print(" | ".join(rows[-1]), flush=True)
            for process, seconds_used in cpu.items():
                totals.setdefault("cpu", {}).setdefault(process, 0.0)
                totals["cpu"][process] += seconds_used
            for bucket in (totals, single if name.endswith("-units") else journey):
                bucket["events"] += count
                bucket["unit_events"] += unit_events
                bucket["seconds"] += seconds
            totals["bytes"] += size
            totals["largest_events"] = max(totals["largest_events"], count)
        totals["peak_rss"] = {k: peak_rss_mb(bench.pids[k]) for k in ("gateway", "recall-status", "redis")}
        totals["journey"], totals["single"] = journey, single
        return rows, totals
    finally:
        network.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000, help="units in the journey (default 100,000)")
    parser.add_argument("--per-case", type=int, default=10)
    parser.add_argument("--cases-per-pallet", type=int, default=50)
    parser.add_argument("--no-write", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {TARGET:,} unit-events/s")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--xml", action="store_true", help="run the journey as JSON, then as EPCIS 1.2 XML, and compare")
    args = parser.parse_args(argv)
    if args.units % (args.per_case * args.cases_per_pallet) or args.units % 100:
        parser.error("--units must be a multiple of 100 and of per-case x cases-per-pallet")

    started = dt.datetime.now(dt.UTC)
    if args.xml:
        return compare_xml(args, started)
    workdir = Path(tempfile.mkdtemp(prefix="verinet-bench-epcis-"))
    try:
        rows, totals = run(args.units, args.per_case, args.cases_per_pallet, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    journey, single = totals["journey"], totals["single"]
    rate = journey["unit_events"] / journey["seconds"]
    verdict = "met" if rate >= TARGET else f"NOT met ({rate / TARGET:.0%} of target)"
    rss = totals["peak_rss"]
    summary = [
        f"- the journey (events of 10 to 500 units: commission, pack, ship, receive, unpack): "
        f"{journey['events']:,} events, {journey['unit_events']:,} unit-events in {journey['seconds']:.1f} s: "
        f"**{rate:,.0f} unit-events/s** ({journey['events'] / journey['seconds']:,.0f} events/s); "
        f"target {TARGET:,} unit-events/s: {verdict}",
        f"- documents of {single['events'] // 2:,} events of one unit each (JSON-LD, then NDJSON): "
        f"**{single['events'] / single['seconds']:,.0f} events/s** (= unit-events/s)",
        f"- everything: {totals['events']:,} events, {totals['unit_events']:,} unit-events in "
        f"{totals['seconds']:.1f} s: {totals['unit_events'] / totals['seconds']:,.0f} unit-events/s",
        f"- peak memory (VmHWM) after the run: gateway {rss['gateway']:.0f} MB, recall-status "
        f"{rss['recall-status']:.0f} MB, Redis {rss['redis']:.0f} MB; largest document "
        f"{totals['largest_events']:,} events; {totals['bytes'] / 1e6:.0f} MB of documents in all",
    ]
    print("\n".join(summary))
    if not args.no_write:
        write_results(args.results, started, rows, summary)
    return 1 if args.check and rate < TARGET else 0


XML_TARGET = 0.70  # XML capture throughput as a share of JSON capture


def compare_xml(args: argparse.Namespace, started: dt.datetime) -> int:
    """The journey as JSON and as EPCIS 1.2 XML, each on its own network, twice in the order
    JSON, XML, XML, JSON (the machine's other load drifts); the better run of each form counts.
    XML as a share of JSON, by the CPU the network spent (the mean of each form's runs) and by
    elapsed time."""
    runs: dict[str, list[tuple[list[list[Any]], dict[str, Any]]]] = {"json": [], "xml": []}
    for form in ("json", "xml", "xml", "json"):
        print(f"-- {form}", flush=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"verinet-bench-epcis-{form}-"))
        try:
            runs[form].append(run(args.units, args.per_case, args.cases_per_pallet, workdir, xml=form == "xml"))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def rates(totals: dict[str, Any]) -> tuple[float, float]:
        journey, single = totals["journey"], totals["single"]
        return journey["unit_events"] / journey["seconds"], single["events"] / single["seconds"]

    best = {form: max(found, key=lambda r: sum(rates(r[1]))) for form, found in runs.items()}
    rate = {form: rates(totals) for form, (_, totals) in best.items()}
    # CPU varies little from run to run: the mean of each form's runs.
    cpu = {form: sum(sum(t["cpu"].values()) for _, t in found) / len(found) for form, found in runs.items()}
    gateway = {form: sum(t["cpu"]["gateway"] for _, t in found) / len(found) for form, found in runs.items()}
    shares = [rate["xml"][n] / rate["json"][n] for n in (0, 1)]
    by_cpu = cpu["json"] / cpu["xml"]
    verdict = "met" if by_cpu >= XML_TARGET else "NOT met"
    summary = [
        f"- **by CPU** (what the network spent on the same documents, which other load on the machine "
        f"does not change): JSON {cpu['json']:.1f} s, XML {cpu['xml']:.1f} s (gateway "
        f"{gateway['json']:.1f} s and {gateway['xml']:.1f} s, where the "
        f"parsing differs): XML capture throughput at **{by_cpu:.0%}** of JSON; target {XML_TARGET:.0%}: {verdict}",
        f"- elapsed, the journey (events of 10 to 500 units): JSON-LD {rate['json'][0]:,.0f}, EPCIS 1.2 XML "
        f"{rate['xml'][0]:,.0f} unit-events/s: XML at {shares[0]:.0%} of JSON",
        f"- elapsed, documents of one unit per event: JSON-LD then NDJSON {rate['json'][1]:,.0f}, EPCIS 1.2 XML "
        f"{rate['xml'][1]:,.0f} events/s: XML at {shares[1]:.0%} of JSON",
        "- elapsed figures are the better of two runs of each form (JSON, XML, XML, JSON); on a machine "
        "shared with other work they vary by tens of percent from run to run, so the verdict is by CPU",
    ]
    print("\n".join(summary))
    if not args.no_write:
        rows = [[f"{form}: {row[0]}", *row[1:]] for form in ("json", "xml") for row in best[form][0]]
        write_results(args.results, started, rows, summary, "EPCIS capture, XML against JSON")
    return 1 if args.check and by_cpu < XML_TARGET else 0


def write_results(path: Path, started: dt.datetime, rows: list[list[Any]], summary: list[str], title: str = "EPCIS capture throughput") -> None:
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    command = "python " + shlex.join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    lines = [
        f"## {started:%Y-%m-%d %H:%M} UTC: {title}",
        "",
        f"- commit: `{commit}`",
        f"- machine: {platform.machine()}, {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- command: `{command}`",
        "- whole network on this machine (embedded Redis, appendfsync always); each document one "
        "POST /v1/events, timed from the first byte sent to the answer (the network checks the "
        "whole document, then writes it)",
        *summary,
        "",
        "| document | events | unit-events | MB | seconds | events/s | unit-events/s | CPU s gateway / recall-status / Redis |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
        "",
    ]
    if not path.exists():
        path.write_text("# Benchmark results\n\nNewest last. Appended by the scripts in bench/.\n\n")
    with path.open("a", encoding="utf-8") as out:
        if not path.read_text(encoding="utf-8").endswith("\n\n"):
            out.write("\n")
        out.write("\n".join(lines) + "\n")
    print(f"appended to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
