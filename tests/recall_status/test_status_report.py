"""The 21 CFR 7.53 status report as a pure function of the network's records."""

from __future__ import annotations

from collections import Counter

from verinet.recall_status.status_report import (
    EffectivenessCheck,
    Facts,
    Holding,
    Location,
    Response,
    build,
)
from verinet.recall_status.strategy import RecallStrategy

T0 = 1_800_000_000.0
HOUR = 3600.0
RECALL = {"id": "rc_1", "class": "II", "reason": "Label mix-up", "depth": "retail"}



def view(report: dict, name: str) -> list:
    """The consignees notified, responding or not responding: the rows the gateway shows in
    each list of the status report."""
    rows = report["consignee_rows"]
    if name == "notified":
        return [r for r in rows if r["notified_at"]]
    return [r for r in rows if (r["status"] == "responded") == (name == "responding")]

def holding(partner: str, units: int, lot: str = "L1", gln: str = "4000001000005", acks: list[tuple[float, str]] = ()) -> Holding:  # type: ignore[assignment]
    return Holding(partner, units, Counter({lot: units}), Counter({gln: units}), [(t, a, lot) for t, a in acks], T0)


def facts(**extra: object) -> Facts:
    base: dict[str, object] = {
        "recall": RECALL,
        "published_at": T0,
        "strategy": RecallStrategy().changed({"check_level": "B", "check_share": 0.5}),
        "holdings": [
            holding("w1", 3, acks=[(T0 + 2 * HOUR, "quarantined")] * 3),
            holding("p1", 2, gln="4000002000002"),
            holding("p2", 4, acks=[(T0 + 5 * HOUR, "returned")]),
        ],
        "delivered": {"w1": T0 + 10},
        "names": {"w1": "Wholesale One", "p1": "Pharmacy One"},
        "locations": {"4000001000005": Location("4000001000005", "North depot", "1 Dock Rd")},
    }
    base.update(extra)
    return Facts(**base)  # type: ignore[arg-type]


def test_each_consignee_is_notified_by_webhook_when_delivered_else_by_its_console_task() -> None:
    report = build(facts(), T0 + HOUR)
    methods = {r["partner"]: r["notified_by"] for r in view(report, "notified")}
    assert methods == {"w1": "webhook", "p1": "console task", "p2": "console task"}
    before_delivery = build(facts(), T0 + 5)
    assert {r["partner"]: r["notified_by"] for r in view(before_delivery, "notified")}["w1"] == "console task"


def test_responses_and_silence_are_counted_as_of_the_reports_time() -> None:
    early, late = build(facts(), T0 + 3 * HOUR), build(facts(), T0 + 6 * HOUR)
    assert [r["partner"] for r in view(early, "responding")] == ["w1"]
    assert sorted(r["partner"] for r in view(early, "not_responding")) == ["p1", "p2"]
    assert sorted(r["partner"] for r in view(late, "responding")) == ["p2", "w1"]
    assert (late["units"], late["units_acknowledged"], late["quantity_on_hand"]) == (9, 4, 4)


def test_a_stated_lot_quantity_replaces_the_units_named_for_that_lot_and_the_latest_statement_counts() -> None:
    responses = [
        Response("p1", T0 + HOUR, "quarantined", lots={"L1": 5}, note="first count"),
        Response("p1", T0 + 2 * HOUR, "returned", lots={"L1": 2}, note="recounted"),
    ]
    row = next(r for r in view(build(facts(responses=responses), T0 + 3 * HOUR), "responding") if r["partner"] == "p1")
    assert (row["quantity_on_hand"], row["actions"], row["note"]) == (2, {"returned": 2}, "recounted")


def test_consignees_are_named_with_their_locations_master_data_when_present() -> None:
    rows = {r["partner"]: r for r in build(facts(), T0)["consignee_rows"]}
    assert rows["w1"]["name"] == "Wholesale One"
    assert rows["w1"]["locations"] == [{"gln": "4000001000005", "name": "North depot", "address": "1 Dock Rd"}]
    assert rows["p2"]["name"] == "" and rows["p2"]["locations"] == [{"gln": "4000001000005", "name": "North depot", "address": "1 Dock Rd"}]
    assert rows["p1"]["locations"] == [{"gln": "4000002000002", "name": "", "address": ""}]


def test_completion_is_projected_from_the_response_rate_and_complete_once_all_responded_and_checked() -> None:
    report = build(facts(), T0 + 6 * HOUR)
    # two of three responded in 6 h: the last one at that rate in 3 h
    assert report["estimated_completion"]["at"] == build(facts(), T0 + 9 * HOUR)["as_of"]
    assert "2 effectiveness checks still due" in report["estimated_completion"]["basis"]
    checks = [EffectivenessCheck(p, T0 + 7 * HOUR, "QA", "phone", "confirmed") for p in ("w1", "p2")]
    everyone = facts(checks=checks, responses=[Response("p1", T0 + 8 * HOUR, "destroyed", lots={"L1": 2})])
    done = build(everyone, T0 + 9 * HOUR)["estimated_completion"]
    assert done["complete"] is True and done["at"] == build(facts(), T0 + 8 * HOUR)["as_of"]
    assert build(facts(), T0 + 1)["estimated_completion"] == {"complete": False, "at": None, "basis": "no consignee has responded yet"}


def test_effectiveness_checks_count_consignees_once_and_results_each_time() -> None:
    checks = [EffectivenessCheck("w1", T0 + HOUR, "QA", "phone", "confirmed"), EffectivenessCheck("w1", T0 + 2 * HOUR, "QA", "visit", "confirmed"), EffectivenessCheck("p1", T0 + 9 * HOUR, "QA", "email", "no_answer")]
    at_three = build(facts(checks=checks), T0 + 3 * HOUR)["effectiveness_checks"]
    assert (at_three["due"], at_three["done"], at_three["results"]) == (2, 1, {"confirmed": 2})


def test_a_reporting_period_counts_what_happened_within_it() -> None:
    period = build(facts(), T0 + 6 * HOUR, start=T0 + 4 * HOUR)["period"]
    assert (period["consignees_notified"], period["consignees_responding"], period["effectiveness_checks"]) == (0, 1, 0)


def test_a_consignee_silent_past_the_first_reminder_day_is_overdue() -> None:
    report = build(facts(), T0 + 3.5 * 24 * HOUR)  # default schedule: 3 and 7 days
    assert report["consignees_overdue"] == 1
    assert [(r["partner"], r["overdue"]) for r in view(report, "not_responding")] == [("p1", True)]
    assert build(facts(), T0 + 2 * 24 * HOUR)["consignees_overdue"] == 0
