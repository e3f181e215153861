"""The gateway alone turns recall-status's typed answers into REST bodies: these fix the shapes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from verinet.gateway.recalls import (
    audit_listing_json,
    chain_check_json,
    created_recall_json,
    effectiveness_check_json,
    extended_recall_json,
    pack_history_json,
    recall_json,
    recall_letter_json,
    recall_preview_json,
    recall_summary_json,
    recall_task_json,
    report_rows_json,
    status_report_json,
)
from verinet.recall_status import recall_messages, status_report
from verinet.recall_status.strategy import RecallStrategy
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb


def test_an_audit_listing_shows_each_entry_as_chained_after_its_id_and_hash() -> None:
    listing = rs_pb.ListAuditResponse(
        chain="audit:{rc:R1}",
        entries=[rs_pb.AuditEntry(id="1-0", hash="ab", entry=b'{"action":"recall.published","by":"m1"}')],
    )
    assert audit_listing_json(listing) == {
        "chain": "audit:{rc:R1}",
        "entries": [{"id": "1-0", "hash": "ab", "action": "recall.published", "by": "m1"}],
    }


def test_a_chain_broken_only_at_its_head_names_no_first_broken_entry() -> None:
    at_head = rs_pb.AuditChainCheck(chain="audit:{g}", entries_checked=2, problem="the chain's last entry is missing")
    assert chain_check_json(at_head)["first_broken_entry"] is None
    in_the_middle = rs_pb.AuditChainCheck(chain="audit:{g}", entries_checked=1, first_broken_entry="5-0", problem="x")
    assert list(chain_check_json(in_the_middle).items()) == [
        ("chain", "audit:{g}"), ("ok", False), ("entries_checked", 1), ("first_broken_entry", "5-0"), ("problem", "x"),
    ]  # fmt: skip


def test_an_effectiveness_check_reads_as_it_was_recorded() -> None:
    check = rs_pb.EffectivenessCheck(partner="p1", at="2026-01-01T00:00:00+00:00", checked_by="QA", method="phone", result="confirmed")
    assert list(effectiveness_check_json(check)) == ["partner", "at", "checked_by", "method", "result", "note"]
    assert effectiveness_check_json(check)["note"] == ""


def test_a_recall_in_a_listing_keeps_its_rest_members_in_order() -> None:
    summary = rs_pb.RecallSummary(id="R1", recall_class="I", reason="r", depth="retail", status="open", published_at="t", units=3)
    assert list(recall_summary_json(summary).items()) == [
        ("id", "R1"), ("class", "I"), ("reason", "r"), ("depth", "retail"), ("mock", False),
        ("status", "open"), ("published_at", "t"), ("units", 3),
    ]  # fmt: skip


def test_a_recall_task_reads_at_rest_exactly_as_recall_status_made_it() -> None:
    made = {
        "recall": {"id": "R1", "class": "I", "reason": "glass", "depth": "retail", "mock": False, "published_at": "2026-01-01T00:00:00+00:00"},
        "notice": {
            "heading": "URGENT: DRUG RECALL (class I)",
            "products": [{"gtin": "00614141000012", "lots": ["L1", "L2"], "units": 3}],
            "reason": "glass", "what_to_do": "Stop", "respond": "POST", "contact": "", "public_warning": "",
        },
        "units_open": [{"gtin": "00614141000012", "serial": "S1", "lot": "L1", "gln": ""}],
        "units_acknowledged": 2,
        "locations": {"0614141000005": {"name": "DC 1", "address": "1 Main St, Austin"}},
    }  # fmt: skip
    shown = recall_task_json(recall_messages.recall_task(made))
    assert shown == made
    assert orjson.dumps(shown) == orjson.dumps(made)  # the same members in the same order


def test_a_preview_reads_at_rest_exactly_as_recall_status_made_it_with_only_known_location_members() -> None:
    made = {
        "preview": True,
        "units": 5,
        "units_by_location": [
            {"gln": "0614141000005", "partner": "w1", "units": 3, "location": {"name": "DC 1", "city": "Austin", "address": "Austin"}},
            {"gln": "", "partner": "p2", "units": 1},
        ],
        "units_not_yet_shipped": 2,
        "unknown_units": ["00614141000012|S9"],
    }  # fmt: skip
    shown = recall_preview_json(recall_messages.recall_preview(made))
    assert orjson.dumps(shown) == orjson.dumps(made)


def test_a_created_recall_reads_at_rest_exactly_as_recall_status_made_it() -> None:
    made = {
        "id": "rc_20260101_0a1b2c3d4e", "mock": True, "status": "open", "units": 4,
        "units_by_location": [{"gln": "0614141000005", "partner": "w1", "units": 4}],
        "units_not_yet_shipped": 0, "unknown_units": [],
    }  # fmt: skip
    created = rs_pb.CreateRecallResponse(
        recall_id=made["id"], units=4, mock=True, status="open",
        units_by_location=recall_messages.units_by_location(made["units_by_location"]),
    )  # fmt: skip
    assert orjson.dumps(created_recall_json(created)) == orjson.dumps(made)


def test_a_recall_letter_reads_at_rest_as_recall_status_made_it_with_the_gateways_answer_form() -> None:
    made = {
        "recall": {"id": "R1", "class": "II", "reason": "label", "depth": "retail", "status": "open", "mock": True, "published_at": "t0"},
        "holder": {"partner": "p1", "name": "Pharmacy", "locations": [{"gln": "0614141000005", "name": "Front", "address": "1 Main St"}]},
        "notified_at": "t1",
        "notified_by": "console task",
        "notice": {
            "heading": "RECALL DRILL", "products": [], "reason": "label", "what_to_do": "Stop",
            "respond": "POST", "contact": "qa@example.com", "public_warning": "",
        },
    }  # fmt: skip
    shown = recall_letter_json(recall_messages.recall_letter(made))
    form = shown.pop("response_form")
    assert orjson.dumps(shown) == orjson.dumps(made)
    assert form["acknowledge"] == "/v1/recalls/R1/acknowledgements"
    assert list(form["fields"]) == ["units", "lots", "action", "note"]


def test_a_pack_history_shows_each_event_as_recorded_then_its_location_when_known() -> None:
    history = rs_pb.GetPackHistoryResponse(
        gtin="00614141000012", serial="S1", lot="L1", expiry="261231", state="active",
        events=[
            rs_pb.HistoryEvent(entry=b'{"event":"shipping","partner":"m","gln":"1","at":"t","detail":"","to":["2"]}',
                               location=rs_pb.LocationDetails(name="DC", address="Austin")),
            rs_pb.HistoryEvent(entry=b'{"event":"receiving","partner":"","gln":"","at":"t","detail":""}'),
        ],
    )  # fmt: skip
    shown = pack_history_json(history)
    assert list(shown) == ["gtin", "serial", "lot", "expiry", "state", "events"]
    assert shown["events"][0] == {"event": "shipping", "partner": "m", "gln": "1", "at": "t", "detail": "", "to": ["2"], "location": {"name": "DC", "address": "Austin"}}
    assert "location" not in shown["events"][1]


def a_recall_as_its_manufacturer_reads_it() -> dict[str, object]:
    """A drill, closed, as ``Effectiveness.get`` makes it for its manufacturer."""
    return {
        "id": "rc_20260101_0a1b2c3d4e", "owner": "m1", "class": "I", "reason": "glass", "depth": "retail",
        "mock": True, "status": "closed", "published_at": "2026-01-01T00:00:00+00:00",
        "scopes": [
            {"gtins": ["00614141000012"], "lots": ["L1"]},
            {"gtins": ["00614141000012"], "units_listed": 2, "line": "L3",
             "window_start": "2026-01-01T00:00:00+00:00", "window_end": "2026-01-02T00:00:00+00:00"},
        ],
        "strategy": {
            "depth": "retail", "public_warning": True, "public_warning_by": "FDA", "check_level": "B", "check_share": 0.25,
            "external_reference": "", "contact": "qa@example.com", "reminder_days": [1.0, 3.0],
        },
        "units": 5,
        "units_by_location": [
            {"gln": "0614141000005", "partner": "w1", "units": 3, "location": {"name": "DC 1", "address": "Austin"}},
            {"gln": "", "partner": "p2", "units": 1},
        ],
        "units_not_yet_shipped": 1, "located": 4, "notified": 3, "acknowledged": 2,
        "effectiveness": [{"hours": 0, "notified": 0.0, "acknowledged": 0.0}, {"hours": 1, "notified": 0.6, "acknowledged": 0.4}],
        "holders": [
            {"partner": "p2", "units": 1, "notified_at": "", "acknowledged": 0},
            {"partner": "w1", "units": 3, "notified_at": "2026-01-01T00:00:01+00:00", "acknowledged": 2},
        ],
        "closed_at": "2026-01-02T00:00:00+00:00", "close_reason": "",
        "drill": {"seconds_to_scope": 0.125, "seconds_to_first_notification": 1.0,
                  "seconds_to_first_acknowledgement": 30.5, "seconds_to_90_percent_acknowledged": None},
    }  # fmt: skip


def test_a_recall_reads_at_rest_exactly_as_recall_status_made_it_for_its_manufacturer() -> None:
    made = a_recall_as_its_manufacturer_reads_it()
    assert orjson.dumps(recall_json(recall_messages.recall_message(made))) == orjson.dumps(made)


def test_a_holder_reads_a_recall_without_its_owner_or_the_strategys_external_reference() -> None:
    made = a_recall_as_its_manufacturer_reads_it()
    del made["owner"]
    del made["strategy"]["external_reference"]  # type: ignore[attr-defined]
    shown = recall_json(recall_messages.recall_message(made))
    assert "owner" not in shown
    assert "external_reference" not in shown["strategy"]
    assert orjson.dumps(shown) == orjson.dumps(made)


def test_an_open_real_recall_has_no_closing_and_no_drill_timings() -> None:
    made = a_recall_as_its_manufacturer_reads_it()
    del made["closed_at"], made["close_reason"], made["drill"]
    made.update(mock=False, status="open")
    assert orjson.dumps(recall_json(recall_messages.recall_message(made))) == orjson.dumps(made)


def test_an_extended_recall_reads_at_rest_with_the_units_added_and_the_unknown_ones_last() -> None:
    made = {**a_recall_as_its_manufacturer_reads_it(), "added_units": 7, "unknown_units": ["00614141000012|S9"]}
    assert orjson.dumps(extended_recall_json(recall_messages.extended_recall(made))) == orjson.dumps(made)


def test_report_rows_read_at_rest_row_by_row_as_recall_status_made_them() -> None:
    made = [
        {"gtin": "00614141000012", "serial": f"S{n}", "lot": "L1", "state": "recalled", "last_location": "0614141000005" if n else "",
         "last_partner": "w1" if n else "", "last_seen": "2026-01-01T00:00:00+00:00" if n else "", "notified_at": "",
         "acknowledged_at": "", "action": "quarantined" if n == 2 else ""}
        for n in range(3)
    ]  # fmt: skip
    assert orjson.dumps(report_rows_json(recall_messages.report_rows(made).rows)) == orjson.dumps(made)
    assert report_rows_json(recall_messages.report_rows([]).rows) == []


def a_status_reports_facts(closed: bool) -> status_report.Facts:
    """Three consignees: one responded (with a stated quantity), one notified and silent, one
    with two lots and GLNs; a check recorded."""
    t0, hour = 1_800_000_000.0, 3600.0
    recall = {"id": "rc_1", "class": "II", "reason": "Label", "depth": "retail", "mock": False, "status": "open", "published_at": "2027-01-15T08:00:00+00:00"}
    if closed:
        recall.update(status="closed", closed_at="2027-01-20T08:00:00+00:00", close_reason="")
    return status_report.Facts(
        recall=recall, published_at=t0,
        strategy=RecallStrategy().changed({"check_level": "B", "check_share": 0.5, "external_reference": "CAPA-1"}),
        holdings=[
            status_report.Holding("w1", 3, Counter({"L2": 1, "L1": 2}), Counter({"4000001000005": 2, "4000002000002": 1}), [(t0 + 2 * hour, "quarantined", "L1")], t0),
            status_report.Holding("p1", 2, Counter({"L1": 2}), Counter({"4000002000002": 2}), [], t0),
        ],
        delivered={"w1": t0 + 10},
        responses=[status_report.Response("w1", t0 + 3 * hour, "returned", lots={"L2": 0}, note="all back")],
        checks=[status_report.EffectivenessCheck("w1", t0 + 4 * hour, "QA", "phone", "confirmed")],
        reminders={"p1": [t0 + 80 * hour]},
        names={"w1": "Wholesale One"},
        locations={"4000001000005": status_report.Location("4000001000005", "North depot", "1 Dock Rd")},
    )  # fmt: skip


def with_consignee_lists(made: dict[str, Any]) -> dict[str, Any]:
    """The REST status report: recall-status's report with, after its totals, the consignees
    notified, responding and not responding (views of its consignee rows) as 21 CFR 7.53 lists them."""
    rows = made["consignee_rows"]
    lists = {
        "notified": [{k: r[k] for k in ("partner", "name", "locations", "notified_at", "notified_by")} for r in rows if r["notified_at"]],
        "responding": [
            {k: r[k] for k in ("partner", "name", "locations", "responded_at", "units_held", "units_acknowledged", "quantity_on_hand", "actions", "note")}
            for r in rows
            if r["status"] == "responded"
        ],
        "not_responding": [
            {k: r[k] for k in ("partner", "name", "locations", "units_held", "notified_at", "reminders", "overdue")} for r in rows if r["status"] != "responded"
        ],
    }
    out: dict[str, Any] = {}
    for key, value in made.items():
        if key == "effectiveness_checks":
            out.update(lists)
        out[key] = value
    return out


def test_a_status_report_reads_at_rest_exactly_as_recall_status_made_it() -> None:
    for closed in (False, True):
        facts = a_status_reports_facts(closed)
        for made in (status_report.build(facts, facts.published_at + 100 * 3600.0), status_report.build(facts, facts.published_at + 3600.0, start=facts.published_at)):
            shown = status_report_json(recall_messages.status_report_message(made))
            assert orjson.dumps(shown) == orjson.dumps(with_consignee_lists(made))


def test_a_status_report_without_a_response_has_no_estimated_time_and_no_quantity_on_hand() -> None:
    facts = a_status_reports_facts(closed=False)
    made = status_report.build(facts, facts.published_at + 60.0)
    shown = status_report_json(recall_messages.status_report_message(made))
    assert shown["estimated_completion"]["at"] is None
    assert [row["quantity_on_hand"] for row in shown["consignee_rows"]] == [None, None]
    assert orjson.dumps(shown) == orjson.dumps(with_consignee_lists(made))
