"""Recalls at unit precision, reproducing the field case: one line, one day, exactly its units."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import command_calls, sync_redis, wait_for
from tests.webhook_receiver import WebhookReceiver
from verinet.network import with_check_digit

REDIS_BACKENDS = ("standalone", "cluster")
# Webhook retries fast enough for a test.
NETWORK_ENV = {
    "NOTIFY_BACKOFF_BASE_SECONDS": "0.05",
    "NOTIFY_BACKOFF_MAX_SECONDS": "0.2",
    "NOTIFY_POLL_SECONDS": "0.05",
    "NOTIFY_DELIVERY_TIMEOUT_SECONDS": "2",
}

LINES = 5
DAYS = 3
PACKS_PER_LINE_DAY = 6667  # 100,005 packs: the field case of issue 6
PHARMACIES = 50
WHOLESALERS = 5
DAY0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
EXPIRY = "301231"


def lot_of(day: int) -> str:
    return f"LOT-D{day}"


@pytest.fixture(scope="module")
def receiver(network: Any) -> Iterator[WebhookReceiver]:
    """Partners' webhook endpoint; every second partner's first delivery fails with 500."""
    with WebhookReceiver(network.url + "/.well-known/jwks.json", lambda name, n: 500 if n == 1 and name.endswith("-retry") else 200) as server:
        yield server


@pytest.fixture(scope="module")
def field_case(network: Any, receiver: WebhookReceiver) -> dict[str, Any]:
    manufacturer, mclient = network.add_partner(["manufacturer"])
    prefix = manufacturer["company_prefixes"][0]
    gtin = with_check_digit("0" + prefix + "5".rjust(12 - len(prefix), "0"))
    assert mclient.put(f"/v1/products/{gtin}", json={"name": "Recall case"}).status_code == 201
    packs = []
    for line in range(1, LINES + 1):
        for day in range(DAYS):
            for n in range(PACKS_PER_LINE_DAY):
                at = DAY0 + dt.timedelta(days=day, hours=6, seconds=n * 5)
                packs.append(
                    {
                        "gtin": gtin,
                        "serial": f"S{line}{day}{n:05d}",
                        "lot": lot_of(day),
                        "expiry": EXPIRY,
                        "line": f"L{line}",
                        "commissioned_at": at.isoformat(),
                    }
                )
    answer = mclient.post("/v1/packs/commission", json={"packs": packs})
    assert answer.status_code == 200 and answer.json()["stored"] == len(packs), answer.text
    holders = [network.add_partner(["dispenser"]) for _ in range(PHARMACIES)]
    holders += [network.add_partner(["wholesaler"]) for _ in range(WHOLESALERS)]
    hooks: dict[str, str] = {}
    for slot, (holder, client) in enumerate(holders):
        if slot % 5 == 4:
            continue  # no webhook: this partner finds its recall tasks at /v1/recall-tasks
        hooks[holder["id"]] = f"{holder['id']}-retry" if slot % 2 else holder["id"]
        subscribed = client.put("/v1/subscriptions/recalls", json={"url": receiver.url(hooks[holder["id"]]), "events": ["recall.published", "recall.closed"]})
        assert subscribed.status_code == 201, subscribed.text
    holder_of: dict[str, int] = {}
    batches: dict[int, list[dict[str, str]]] = collections.defaultdict(list)
    for p in packs:
        slot = zlib.crc32(p["serial"].encode()) % (len(holders) + 2)
        if slot < len(holders):  # the rest stay at the manufacturer, not yet shipped
            holder_of[p["serial"]] = slot
            batches[slot].append({k: p[k] for k in ("gtin", "serial", "lot", "expiry")})
    for slot, batch in batches.items():
        for start in range(0, len(batch), 1000):
            # a verify that attests possession makes its partner a holder (README "Custody, sightings and visibility")
            body = holders[slot][1].post("/v1/packs/verify", json={"packs": batch[start : start + 1000], "possession_attested": True})
            assert body.status_code == 200, body.text
    return {
        "gtin": gtin,
        "manufacturer": mclient,
        "manufacturer_info": manufacturer,
        "packs": packs,
        "holders": holders,
        "holder_of": holder_of,
        "hooks": hooks,
    }


def write_calls(client: Any) -> collections.Counter[str]:
    """HSET, HSETNX and SADD calls served so far (scripts' calls included), over every node."""
    return collections.Counter({c: command_calls(client, c) for c in ("hset", "hsetnx", "sadd")})


def in_line3_day2(pack: dict[str, Any]) -> bool:
    return pack["line"] == "L3" and pack["lot"] == lot_of(1)


def publish_body(case: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "gtins": [case["gtin"]],
        "line": "L3",
        "window": {"start": (DAY0 + dt.timedelta(days=1)).isoformat(), "end": (DAY0 + dt.timedelta(days=2)).isoformat()},
        "class": "I",
        "reason": "Contamination traced to line 3",
        "depth": "retail",
        **extra,
    }


def publish(case: dict[str, Any], **extra: Any) -> dict[str, Any]:
    answer = case["manufacturer"].post("/v1/recalls", json=publish_body(case, **extra))
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def recall(field_case: dict[str, Any]) -> dict[str, Any]:
    return publish(field_case)


def test_a_preview_shows_the_scope_and_writes_nothing(field_case: dict[str, Any]) -> None:
    body = {
        "gtins": [field_case["gtin"]],
        "line": "L4",
        "window": {"start": DAY0.isoformat(), "end": (DAY0 + dt.timedelta(days=1)).isoformat()},
    }
    preview = field_case["manufacturer"].post("/v1/recalls/preview", json=body)
    assert preview.status_code == 200, preview.text
    assert preview.json()["units"] == PACKS_PER_LINE_DAY
    unit = next(p for p in field_case["packs"] if p["line"] == "L4" and p["lot"] == lot_of(0))
    assert lms_data(field_case, unit["serial"], unit["lot"]) == {"verified": True}


def lms_data(case: dict[str, Any], serial: str, lot: str) -> dict[str, Any]:
    holder, client = case["holders"][0]
    answer = client.get(
        f"/verify/gtin/{case['gtin']}/lot/{lot}/ser/{serial}",
        params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": holder["glns"][0]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_a_recall_of_one_line_on_one_day_targets_exactly_its_units(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    expected = [p for p in field_case["packs"] if in_line3_day2(p)]
    assert recall["units"] == len(expected) == PACKS_PER_LINE_DAY
    shipped = [p for p in expected if p["serial"] in field_case["holder_of"]]
    assert recall["units_not_yet_shipped"] == len(expected) - len(shipped)
    by_gln = collections.Counter(field_case["holders"][field_case["holder_of"][p["serial"]]][0]["glns"][0] for p in shipped)
    assert {entry["gln"]: entry["units"] for entry in recall["units_by_location"]} == dict(by_gln)


def test_exactly_the_partners_holding_units_are_notified_with_their_own_units_signed(
    field_case: dict[str, Any], recall: dict[str, Any], receiver: WebhookReceiver
) -> None:
    expected: dict[str, set[str]] = collections.defaultdict(set)
    for p in field_case["packs"]:
        if in_line3_day2(p) and p["serial"] in field_case["holder_of"]:
            holder = field_case["holders"][field_case["holder_of"][p["serial"]]][0]
            expected[holder["id"]].add(p["serial"])
    subscribed = {pid: hook for pid, hook in field_case["hooks"].items() if pid in expected}

    def delivered(hook: str) -> list[dict[str, Any]]:
        return [
            got for got in receiver.received.get(hook, [])
            if got["body"]["recall_id"] == recall["id"] and got["body"]["event"] == "recall.published"
        ]

    wait_for(lambda: all(len(delivered(hook)) >= (2 if hook.endswith("-retry") else 1) for hook in subscribed.values()))
    for partner_id, hook in subscribed.items():
        got = delivered(hook)
        assert all(g["error"] is None for g in got), [g["error"] for g in got]
        assert {u["serial"] for u in got[-1]["body"]["data"]["units"]} == expected[partner_id]
    with_units = {
        hook for hook, deliveries in receiver.received.items()
        for got in deliveries
        if got["body"]["recall_id"] == recall["id"] and got["body"]["data"]["units"]
    }
    assert with_units == set(subscribed.values())
    log = field_case["manufacturer"].get(f"/v1/recalls/{recall['id']}/deliveries").json()["deliveries"]
    retried = [d for d in log if d["outcome"] == "failed"]
    assert retried and all(d["http_status"] == 500 for d in retried)
    wait_for(lambda: field_case["manufacturer"].get(f"/v1/recalls/{recall['id']}").json()["notified"] == sum(len(expected[p]) for p in subscribed))


def test_recalled_and_untouched_units_of_the_same_lot_answer_differently(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    recalled = next(p for p in field_case["packs"] if in_line3_day2(p))
    same_lot_other_line = next(p for p in field_case["packs"] if p["lot"] == lot_of(1) and p["line"] == "L2")
    assert lms_data(field_case, recalled["serial"], recalled["lot"]) == {"verified": True, "additionalInfo": "Recalled"}
    assert lms_data(field_case, same_lot_other_line["serial"], same_lot_other_line["lot"]) == {"verified": True}
    _holder, client = field_case["holders"][1]
    fmd = client.post("/v1/packs/decommission", json={"packs": [{k: recalled[k] for k in ("gtin", "serial", "lot", "expiry")}], "state": "destroyed"}).json()
    assert (fmd["results"][0]["ok"], fmd["results"][0]["state"], fmd["results"][0]["batch_status"]) == (True, "destroyed", "recalled")
    assert lms_data(field_case, recalled["serial"], recalled["lot"]) == {
        "verified": False, "verificationFailureReason": "Not_for_re-distribution", "additionalInfo": "Recalled",
    }


def test_holders_see_their_units_as_tasks_and_acknowledgements_drive_effectiveness(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    units_of: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for p in field_case["packs"]:
        if in_line3_day2(p) and p["serial"] in field_case["holder_of"]:
            units_of[field_case["holder_of"][p["serial"]]].append(p)
    acknowledging = sorted(units_of)[: len(units_of) // 2]
    acknowledged = 0
    for slot in acknowledging:
        _holder, client = field_case["holders"][slot]
        tasks = client.get("/v1/recall-tasks").json()["tasks"]
        task = next(t for t in tasks if t["recall"]["id"] == recall["id"])
        assert sorted(u["serial"] for u in task["units_open"]) == sorted(p["serial"] for p in units_of[slot])
        answer = client.post(
            f"/v1/recalls/{recall['id']}/acknowledgements",
            json={"units": [{"gtin": p["gtin"], "serial": p["serial"]} for p in units_of[slot]], "action": "quarantined"},
        )
        assert answer.status_code == 200
        assert answer.json()["acknowledged"] == len(units_of[slot])
        acknowledged += len(units_of[slot])
        assert not [t for t in client.get("/v1/recall-tasks").json()["tasks"] if t["recall"]["id"] == recall["id"]]
    state = field_case["manufacturer"].get(f"/v1/recalls/{recall['id']}").json()
    assert state["acknowledged"] == acknowledged
    assert state["located"] == sum(len(u) for u in units_of.values())
    assert state["effectiveness"][-1]["acknowledged"] == round(acknowledged / recall["units"], 4)


def test_a_partner_cannot_acknowledge_units_it_does_not_hold(network: Any, field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    in_scope = [p for p in field_case["packs"] if in_line3_day2(p) and p["serial"] in field_case["holder_of"]]
    mine, foreign = in_scope[0], next(p for p in in_scope if field_case["holder_of"][p["serial"]] != field_case["holder_of"][in_scope[0]["serial"]])
    _, client = field_case["holders"][field_case["holder_of"][mine["serial"]]]
    answer = client.post(
        f"/v1/recalls/{recall['id']}/acknowledgements",
        json={"units": [{"gtin": foreign["gtin"], "serial": foreign["serial"]}], "action": "returned"},
    )
    assert answer.status_code == 200
    assert (answer.json()["acknowledged"], answer.json()["results"][0]["code"]) == (0, "recall.not_held")
    _, uninvolved = network.add_partner(["dispenser"])
    refused = uninvolved.post(
        f"/v1/recalls/{recall['id']}/acknowledgements",
        json={"units": [{"gtin": mine["gtin"], "serial": mine["serial"]}], "action": "returned"},
    )
    assert refused.status_code == 404


def test_the_csv_report_has_one_row_per_unit_matching_the_json(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    path = f"/v1/recalls/{recall['id']}/report"
    # Webhook deliveries may still be landing (notified_at): compare a CSV read between two
    # JSON reads that agree, so that both forms describe the same moment.
    for _ in range(100):
        report = field_case["manufacturer"].get(path).json()
        as_csv = field_case["manufacturer"].get(path, params={"format": "csv"})
        if field_case["manufacturer"].get(path).json() == report:
            break
        time.sleep(0.1)
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(report["rows"]) == recall["units"]
    assert rows == [{k: str(v) for k, v in row.items()} for row in report["rows"]]
    assert {r["state"] for r in rows} == {"recalled"}
    acked = [r for r in rows if r["acknowledged_at"]]
    assert acked and all(r["action"] == "quarantined" for r in acked)
    for row in rows:
        holder = field_case["holder_of"].get(row["serial"])
        expected_gln = field_case["holders"][holder][0]["glns"][0] if holder is not None else ""
        assert row["last_location"] == expected_gln


def line_drill(case: dict[str, Any], line: str, days: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A drill (no pack changes) of one line over ``days`` days, and the packs it should take."""
    window = {"start": DAY0.isoformat(), "end": (DAY0 + dt.timedelta(days=days)).isoformat()}
    drill = publish(case, line=line, window=window, mock=True)
    return drill, [p for p in case["packs"] if p["line"] == line and p["lot"] in {lot_of(d) for d in range(days)}]


def test_a_report_of_many_chunks_has_every_unit_once_in_order_as_json_and_csv(field_case: dict[str, Any]) -> None:
    drill, expected = line_drill(field_case, "L4", 2)  # 13,334 units: three chunks of rows
    assert drill["units"] == len(expected) == 2 * PACKS_PER_LINE_DAY
    path = f"/v1/recalls/{drill['id']}/report"
    as_json = field_case["manufacturer"].get(path)
    assert as_json.status_code == 200 and as_json.headers["Content-Type"].startswith("application/json")
    report = as_json.json()
    assert report["recall"]["id"] == drill["id"] and report["recall"]["units"] == len(expected)
    serials = [row["serial"] for row in report["rows"]]
    assert serials == sorted({p["serial"] for p in expected})
    assert {row["lot"] for row in report["rows"]} == {lot_of(0), lot_of(1)}
    for fmt in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        as_csv = field_case["manufacturer"].get(path, **fmt)
        assert as_csv.headers["Content-Type"].startswith("text/csv")
        assert as_csv.text.splitlines()[0] == "gtin,serial,lot,state,last_location,last_partner,last_seen,notified_at,acknowledged_at,action"
        assert list(csv.DictReader(io.StringIO(as_csv.text))) == [{k: str(v) for k, v in row.items()} for row in report["rows"]]


def test_a_holder_reads_a_report_of_only_its_own_units(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    holder, client = field_case["holders"][3]
    report = client.get(f"/v1/recalls/{recall['id']}/report").json()
    held = sorted(p["serial"] for p in field_case["packs"] if in_line3_day2(p) and field_case["holder_of"].get(p["serial"]) == 3)
    assert held and [row["serial"] for row in report["rows"]] == held
    assert {row["last_partner"] for row in report["rows"]} == {holder["id"]}
    assert report["recall"]["units"] == len(held)


def test_an_unknown_report_format_or_recall_is_a_problem_before_any_row(field_case: dict[str, Any]) -> None:
    refused = field_case["manufacturer"].get("/v1/recalls/rc_missing/report", params={"format": "xml"})
    assert (refused.status_code, refused.json()["field"]) == (400, "format")
    missing = field_case["manufacturer"].get("/v1/recalls/rc_missing/report", params={"format": "csv"})
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["code"] == "recall.not_found"


def test_a_report_failing_midway_ends_as_an_incomplete_transfer_not_a_short_document(network: Any, field_case: dict[str, Any]) -> None:
    drill, expected = line_drill(field_case, "L1", 2)
    located = sorted(p["serial"] for p in expected if p["serial"] in field_case["holder_of"])
    broken = f"{field_case['gtin']}|{located[-1]}"  # in the last chunk, after rows were sent
    store = sync_redis(network.network.redis_url)
    bucket = f"rcu:{{rc:{drill['id']}}}:{zlib.crc32(broken.encode()) % 256:02x}"
    row = json.loads(store.hget(bucket, broken))
    row["holders"][0]["seen"] = "yesterday"  # read only when its row is written
    store.hset(bucket, broken, json.dumps(row))
    for params in ({}, {"format": "csv"}):
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            field_case["manufacturer"].get(f"/v1/recalls/{drill['id']}/report", params=params)


def test_a_drill_changes_no_pack_and_reports_its_timings(field_case: dict[str, Any]) -> None:
    drill = publish(field_case, line="L1", mock=True)
    assert drill["mock"] is True and drill["units"] == PACKS_PER_LINE_DAY
    unit = next(p for p in field_case["packs"] if p["line"] == "L1" and p["lot"] == lot_of(1))
    assert lms_data(field_case, unit["serial"], unit["lot"]) == {"verified": True}
    state = field_case["manufacturer"].get(f"/v1/recalls/{drill['id']}").json()
    assert state["drill"]["seconds_to_scope"] is not None and state["drill"]["seconds_to_scope"] >= 0
    report = field_case["manufacturer"].get(f"/v1/recalls/{drill['id']}/report").json()
    assert {row["state"] for row in report["rows"]} == {"active"}


def test_only_the_owning_manufacturer_may_recall_and_others_cannot_read_it(network: Any, field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    _, other_manufacturer = network.add_partner(["manufacturer"])
    body = {"gtins": [field_case["gtin"]], "lots": ["LOT-D0"], "class": "II", "reason": "x"}
    assert other_manufacturer.post("/v1/recalls", json=body).status_code == 403
    _, pharmacy = field_case["holders"][0]
    assert pharmacy.post("/v1/recalls", json=body).status_code == 403
    assert network.admin.post("/v1/recalls", json=body).status_code == 403
    assert other_manufacturer.get(f"/v1/recalls/{recall['id']}").status_code == 404
    _, uninvolved = network.add_partner(["dispenser"])
    assert uninvolved.get(f"/v1/recalls/{recall['id']}").status_code == 404


def test_a_manufacturer_lists_its_own_recalls_newest_first(network: Any, field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    listed = field_case["manufacturer"].get("/v1/recalls").json()["recalls"]
    assert recall["id"] in [r["id"] for r in listed]
    assert [r["published_at"] for r in listed] == sorted((r["published_at"] for r in listed), reverse=True)
    _, other = network.add_partner(["manufacturer"])
    assert other.get("/v1/recalls").json()["recalls"] == []
    assert recall["id"] in [r["id"] for r in network.admin.get("/v1/recalls").json()["recalls"]]


def test_a_recall_without_a_scope_is_refused_precisely(field_case: dict[str, Any]) -> None:
    answer = field_case["manufacturer"].post("/v1/recalls", json={"gtins": [field_case["gtin"]], "class": "I", "reason": "x"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "recall.scope"
    answer = field_case["manufacturer"].post("/v1/recalls", json={"gtins": [field_case["gtin"]], "lots": ["X"], "class": "IV", "reason": "x"})
    assert answer.json()["code"] == "recall.class"


def test_a_lot_recall_is_a_single_write_and_covers_every_pack_of_the_lot(network: Any, field_case: dict[str, Any]) -> None:
    client = sync_redis(network.network.redis_url)
    before = write_calls(client)
    recall = field_case["manufacturer"].post(
        "/v1/recalls", json={"gtins": [field_case["gtin"]], "lots": [lot_of(2)], "class": "II", "reason": "stability"}
    ).json()
    writes = write_calls(client) - before
    assert recall["units"] == LINES * PACKS_PER_LINE_DAY
    # The lot's state is one write; the recall's own bookkeeping (its member lists, the rows of
    # located units, each holder's task list) is written a bucket or a holder at a time.
    assert writes["hset"] + writes["hsetnx"] + writes["sadd"] < recall["units"] / 50, "a lot recall must not write per pack"
    unit = next(p for p in field_case["packs"] if p["lot"] == lot_of(2))
    assert lms_data(field_case, unit["serial"], unit["lot"])["additionalInfo"] == "Recalled"


def test_pack_history_shows_commissioning_and_handling_to_the_right_partners(network: Any, field_case: dict[str, Any]) -> None:
    serial, slot = next(iter(field_case["holder_of"].items()))
    holder, client = field_case["holders"][slot]
    history = client.get(f"/v1/packs/{field_case['gtin']}/{serial}/history")
    assert history.status_code == 200
    events = history.json()["events"]
    assert any(e["partner"] == holder["id"] and e["gln"] == holder["glns"][0] for e in events)
    assert all(e["partner"] == holder["id"] for e in events), "a holder sees only its own part"
    full = field_case["manufacturer"].get(f"/v1/packs/{field_case['gtin']}/{serial}/history")
    assert full.status_code == 200
    assert full.json()["events"][0]["event"] == "commissioning" and "line" in full.json()["events"][0]["detail"]
    other_slot = (slot + 1) % len(field_case["holders"])
    assert field_case["holders"][other_slot][1].get(f"/v1/packs/{field_case['gtin']}/{serial}/history").status_code == 404


def test_tampering_with_one_audit_entry_is_detected(network: Any, field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    admin = network.admin
    assert admin.post("/v1/audit/verify").json()["ok"] is True
    entries = field_case["manufacturer"].get("/v1/audit", params={"recall": recall["id"]}).json()["entries"]
    assert entries and entries[-1]["action"] == "recall.published"
    client = sync_redis(network.network.redis_url)
    key = f"audit:{{rc:{recall['id']}}}"
    stored = client.xrange(key)
    tampered_id = stored[0][0]
    client.delete(key)
    for entry_id, fields in stored:
        if entry_id == tampered_id:
            fields = {**fields, b"entry": fields[b"entry"].replace(b'"class":"I"', b'"class":"III"')}
        client.xadd(key, fields, id=entry_id)
    verdict = admin.post("/v1/audit/verify").json()
    assert verdict["ok"] is False
    broken = [c for c in verdict["broken"] if c["chain"] == key]
    assert broken and broken[0]["first_broken_entry"] == tampered_id.decode()
    assert field_case["manufacturer"].post("/v1/audit/verify").status_code == 403
    env = {**os.environ, "VERINET_URL": network.url, "VERINET_TOKEN": network.network.info["admin_token"]}
    cli = subprocess.run([sys.executable, "-m", "verinet.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert f"BROKEN: {key} at entry {tampered_id.decode()}" in cli.stdout



def test_a_pack_commissioned_into_a_recalled_window_after_the_recall_is_not_in_it(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    late = {
        "gtin": field_case["gtin"],
        "serial": "LATE31",
        "lot": lot_of(1),
        "expiry": EXPIRY,
        "line": "L3",
        "commissioned_at": (DAY0 + dt.timedelta(days=1, hours=7)).isoformat(),
    }
    stored = field_case["manufacturer"].post("/v1/packs/commission", json={"packs": [late]})
    assert stored.status_code == 200 and stored.json()["stored"] == 1, stored.text
    assert lms_data(field_case, late["serial"], late["lot"]) == {"verified": True}
    assert field_case["manufacturer"].get(f"/v1/recalls/{recall['id']}").json()["units"] == PACKS_PER_LINE_DAY
    report = field_case["manufacturer"].get(f"/v1/recalls/{recall['id']}/report").json()
    assert late["serial"] not in {row["serial"] for row in report["rows"]}
    # the same scope published now takes it
    preview = field_case["manufacturer"].post("/v1/recalls/preview", json={k: v for k, v in publish_body(field_case).items() if k in ("gtins", "line", "window")})
    assert preview.json()["units"] == PACKS_PER_LINE_DAY + 1


def test_an_unlocated_unit_of_a_recall_is_acknowledged_by_nobody_and_a_unit_outside_it_is_not_in_scope(
    field_case: dict[str, Any], recall: dict[str, Any]
) -> None:
    unshipped = next(p for p in field_case["packs"] if in_line3_day2(p) and p["serial"] not in field_case["holder_of"])
    outside = next(p for p in field_case["packs"] if p["line"] == "L2" and p["lot"] == lot_of(1))
    _, client = field_case["holders"][0]
    answer = client.post(
        f"/v1/recalls/{recall['id']}/acknowledgements",
        json={"units": [{"gtin": p["gtin"], "serial": p["serial"]} for p in (unshipped, outside)], "action": "returned"},
    )
    assert answer.status_code == 200, answer.text
    # the same answer whether or not the unit is in the recall: a refusal reveals nothing
    results = answer.json()["results"]
    assert [r["code"] for r in results] == ["recall.not_held", "recall.not_held"]
    assert results[0]["message"].replace(unshipped["serial"], "X") == results[1]["message"].replace(outside["serial"], "X")


def test_extending_a_recall_adds_and_recalls_only_units_not_already_in_it(field_case: dict[str, Any]) -> None:
    def units_of(line: str, day: int) -> list[dict[str, Any]]:
        return [p for p in field_case["packs"] if p["line"] == line and p["lot"] == lot_of(day)]

    day0 = {"start": DAY0.isoformat(), "end": (DAY0 + dt.timedelta(days=1)).isoformat()}
    first = publish(field_case, line="L5", window=day0)
    assert first["units"] == PACKS_PER_LINE_DAY
    already, listed = units_of("L5", 0)[0], units_of("L5", 1)[0]
    untouched = units_of("L5", 1)[1]
    extended = field_case["manufacturer"].post(
        f"/v1/recalls/{first['id']}/extend",
        json={"gtins": [field_case["gtin"]], "lots": [lot_of(0)], "line": "L5",
              "units": [{"gtin": p["gtin"], "serial": p["serial"]} for p in (already, listed)]},
    )
    assert extended.status_code == 200, extended.text
    assert (extended.json()["added_units"], extended.json()["units"]) == (1, PACKS_PER_LINE_DAY + 1)
    assert lms_data(field_case, listed["serial"], listed["lot"]) == {"verified": True, "additionalInfo": "Recalled"}
    assert lms_data(field_case, untouched["serial"], untouched["lot"]) == {"verified": True}
    report = field_case["manufacturer"].get(f"/v1/recalls/{first['id']}/report").json()
    assert len(report["rows"]) == PACKS_PER_LINE_DAY + 1 and {r["state"] for r in report["rows"]} == {"recalled"}


def held_units(case: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Units of line L4, day 1 (no other test recalls them) held by partners that take
    webhooks."""
    subscribed = {slot for slot, (holder, _) in enumerate(case["holders"]) if holder["id"] in case["hooks"]}
    held = [p for p in case["packs"] if p["line"] == "L4" and p["lot"] == lot_of(1) and case["holder_of"].get(p["serial"]) in subscribed]
    return held[-count:]


def lms_question(client: Any, gln: str, pack: dict[str, Any], **params: str) -> dict[str, Any]:
    answer = client.get(
        f"/verify/gtin/{pack['gtin']}/lot/{pack['lot']}/ser/{pack['serial']}",
        params={"exp": EXPIRY, "linkType": "verificationService", "reqGLN": gln, **params},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


def own_history(client: Any, pack: dict[str, Any], entries: int) -> list[dict[str, Any]]:
    """The pack's history as ``client`` sees it, once it holds ``entries`` entries
    (verifications are recorded a few milliseconds after their answer)."""
    path = f"/v1/packs/{pack['gtin']}/{pack['serial']}/history"
    wait_for(lambda: len(client.get(path).json().get("events", [])) >= entries, 10)
    return list(client.get(path).json()["events"])


def test_a_stranger_who_verifies_a_unit_does_not_become_its_recall_holder(
    network: Any, field_case: dict[str, Any], receiver: WebhookReceiver
) -> None:
    (target,) = held_units(field_case, 1)
    holder, holder_client = field_case["holders"][field_case["holder_of"][target["serial"]]]
    stranger, client = network.add_partner(["dispenser"])
    subscribed = client.put("/v1/subscriptions/recalls", json={"url": receiver.url(stranger["id"]), "events": ["recall.published"]})
    assert subscribed.status_code == 201
    gln = stranger["glns"][0]
    pack = {k: target[k] for k in ("gtin", "serial", "lot", "expiry")}
    # every way of asking about the unit without holding it
    assert lms_question(client, gln, target)["verified"] is True
    assert lms_question(client, gln, {**target, "lot": "WRONG"}, ctrlPossessAtt="true")["verified"] is False
    assert client.post("/v1/packs/verify", json={"packs": [pack]}).json()["results"][0]["ok"]
    wrong = client.post("/v1/packs/verify", json={"packs": [{**pack, "lot": "WRONG"}], "possession_attested": True}).json()
    assert wrong["results"][0]["code"] == "NMVS_FE_LOT_13"
    events = own_history(client, target, 4)
    # LMS sightings are sent in the background, so they may land after the FMD ones
    assert sorted((e["event"], bool(e.get("attempt"))) for e in events) == [
        ("verification", False), ("verification", True), ("verify", False), ("verify", True),
    ]  # fmt: skip
    assert all(e["partner"] == stranger["id"] for e in events)

    recall = field_case["manufacturer"].post(
        "/v1/recalls", json={"units": [{"gtin": target["gtin"], "serial": target["serial"]}], "class": "II", "reason": "Stranger case", "depth": "retail"}
    )
    assert recall.status_code == 201, recall.text
    recall_id = recall.json()["id"]
    assert [e["partner"] for e in recall.json()["units_by_location"]] == [holder["id"]]
    assert not [t for t in client.get("/v1/recall-tasks").json()["tasks"] if t["recall"]["id"] == recall_id]
    assert client.get(f"/v1/recalls/{recall_id}").status_code == 404
    ack = client.post(f"/v1/recalls/{recall_id}/acknowledgements", json={"units": [{"gtin": target["gtin"], "serial": target["serial"]}], "action": "returned"})
    assert ack.status_code == 404
    task = next(t for t in holder_client.get("/v1/recall-tasks").json()["tasks"] if t["recall"]["id"] == recall_id)
    assert [u["serial"] for u in task["units_open"]] == [target["serial"]]
    # the holder is told, the stranger is not
    hook = field_case["hooks"][holder["id"]]
    wait_for(lambda: any(g["body"]["recall_id"] == recall_id and g["error"] is None for g in receiver.received.get(hook, [])))
    time.sleep(0.5)  # time enough for a wrong delivery to arrive too
    assert not [g for g in receiver.received.get(stranger["id"], []) if g["body"]["recall_id"] == recall_id]


def test_a_requestor_attesting_possession_becomes_a_holder_beside_the_one_it_was_shipped_to(
    network: Any, field_case: dict[str, Any]
) -> None:
    (target, _) = held_units(field_case, 2)  # not the unit the stranger case recalls
    holder, _ = field_case["holders"][field_case["holder_of"][target["serial"]]]
    pharmacy, client = network.add_partner(["dispenser"])
    assert lms_question(client, pharmacy["glns"][0], target, ctrlPossessAtt="true")["verified"] is True
    own_history(client, target, 1)
    recall = field_case["manufacturer"].post(
        "/v1/recalls", json={"units": [{"gtin": target["gtin"], "serial": target["serial"]}], "class": "II", "reason": "Attested case", "depth": "retail"}
    )
    assert recall.status_code == 201, recall.text
    assert {e["partner"] for e in recall.json()["units_by_location"]} == {holder["id"], pharmacy["id"]}
    recall_id = recall.json()["id"]
    task = next(t for t in client.get("/v1/recall-tasks").json()["tasks"] if t["recall"]["id"] == recall_id)
    assert [(u["serial"], u["gln"]) for u in task["units_open"]] == [(target["serial"], pharmacy["glns"][0])]
    seen = client.get(f"/v1/recalls/{recall_id}").json()
    assert holder["id"] not in json.dumps(seen) and "owner" not in seen


def test_an_acknowledgement_of_more_units_than_the_documented_limit_is_refused_whole(field_case: dict[str, Any], recall: dict[str, Any]) -> None:
    _, client = field_case["holders"][0]
    units = [{"gtin": field_case["gtin"], "serial": f"N{n:06d}"} for n in range(10_001)]
    answer = client.post(f"/v1/recalls/{recall['id']}/acknowledgements", json={"units": units, "action": "returned"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "recall.too_many" and "at most 10000 units" in answer.json()["detail"]


def test_a_pharmacy_that_dispenses_a_unit_it_was_not_shipped_becomes_a_holder_beside_the_earlier_one(
    network: Any, field_case: dict[str, Any]
) -> None:
    target = held_units(field_case, 3)[0]  # not a unit the cases above recall
    holder, _ = field_case["holders"][field_case["holder_of"][target["serial"]]]
    pharmacy, client = network.add_partner(["dispenser"])
    pack = {k: target[k] for k in ("gtin", "serial", "lot", "expiry")}
    dispensed = client.post("/v1/packs/decommission", json={"packs": [pack], "state": "supplied"}).json()
    assert dispensed["results"][0]["ok"], dispensed
    recall = field_case["manufacturer"].post(
        "/v1/recalls", json={"units": [{"gtin": target["gtin"], "serial": target["serial"]}], "class": "III", "reason": "Dispensed case", "depth": "consumer"}
    )
    assert recall.status_code == 201, recall.text
    assert {e["partner"] for e in recall.json()["units_by_location"]} == {holder["id"], pharmacy["id"]}
