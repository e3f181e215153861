"""Recall follow-up over test-controlled time: reminders on the strategy's schedule to the
consignees still silent only, each step once, the manufacturer told who is overdue, and every
recall event's body valid against the documented schema (docs/webhooks/recall-events.schema.json)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from tests.recall_status.custody_cast import GTIN, MAKER, PHARMACY, WHOLESALER
from tests.recall_status.test_recalls import Case, run
from tests.recall_status.test_status_report import view
from verinet.recall_status.notifications import Notification, new_notification_id
from verinet.recall_status.recall_model import recall_key

DAY = 86400.0
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "webhooks" / "recall-events.schema.json").read_text())


async def published_at(case: Case) -> float:
    return float(await case.recalls.redis.hget(recall_key(case.recall_id), "published_at"))  # type: ignore[arg-type]



def events(case: Case, event: str) -> list[tuple[str, dict[str, Any]]]:
    return [(partner, payload) for partner, name, payload in case.queued.calls if name == event]


def test_reminders_go_on_schedule_to_the_silent_holders_only_and_each_step_once(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        start = await published_at(case)
        recalls = case.recalls
        assert (await recalls.get(case.recall_id, MAKER.partner_id, False))["strategy"]["reminder_days"] == [1.0, 3.0]  # class I
        assert await recalls.follow_up(now=start + 0.9 * DAY) == []
        recalls.clock = lambda: start + 0.5 * DAY
        await recalls.acknowledge(case.recall_id, PHARMACY.partner_id, [(GTIN, "U2")], "quarantined")
        assert await recalls.follow_up(now=start + 1.1 * DAY) == [(case.recall_id, WHOLESALER.partner_id, 1)]
        assert await recalls.follow_up(now=start + 1.2 * DAY) == []  # once per step
        reminders = events(case, "recall.reminder")
        assert [(p, d["reminder"]["step"], d["reminder"]["units"]) for p, d in reminders] == [(WHOLESALER.partner_id, 1, 4)]
        overdue = events(case, "recall.overdue")
        assert [(p, [o["partner"] for o in d["overdue"]]) for p, d in overdue] == [(MAKER.partner_id, [WHOLESALER.partner_id])]
        report = await recalls.status_report(case.recall_id, MAKER.partner_id, False, at=start + 1.2 * DAY)
        assert (report["consignees_overdue"], report["consignees_responding"]) == (1, 1)
        assert [(r["partner"], r["reminders"], r["overdue"]) for r in view(report, "not_responding")] == [(WHOLESALER.partner_id, 1, True)]
        assert await recalls.follow_up(now=start + 3.5 * DAY) == [(case.recall_id, WHOLESALER.partner_id, 2)]
        assert await recalls.follow_up(now=start + 30 * DAY) == []  # the schedule has two steps
        recalls.clock = lambda: start + 31 * DAY
        await recalls.acknowledge(case.recall_id, WHOLESALER.partner_id, [(GTIN, "U1")], "returned")
        assert await recalls.follow_up(now=start + 40 * DAY) == []
        assert {p for p, _ in events(case, "recall.reminder")} == {WHOLESALER.partner_id}

    run(redis_url, scenario)


def test_a_poller_that_missed_steps_sends_one_reminder_for_the_latest_step(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        start = await published_at(case)
        sent = await case.recalls.follow_up(now=start + 5 * DAY)
        assert sorted(sent) == sorted([(case.recall_id, WHOLESALER.partner_id, 2), (case.recall_id, PHARMACY.partner_id, 2)])
        assert len(events(case, "recall.reminder")) == 2 and len(events(case, "recall.overdue")) == 1
        report = await case.recalls.status_report(case.recall_id, MAKER.partner_id, False, at=start + 5 * DAY)
        assert {r["partner"]: r["reminders"] for r in view(report, "not_responding")} == {WHOLESALER.partner_id: 2, PHARMACY.partner_id: 2}

    run(redis_url, scenario)


def test_a_closed_recall_reminds_nobody_and_its_manufacturer_hears_of_each_status_change(redis_url: str) -> None:
    async def scenario(case: Case) -> None:
        start = await published_at(case)
        await case.recalls.acknowledge(case.recall_id, PHARMACY.partner_id, [(GTIN, "U2")], "destroyed", note="Destroyed on site")
        await case.recalls.close(case.recall_id, MAKER.partner_id, False, "Effectiveness checks complete")
        assert await case.recalls.follow_up(now=start + 10 * DAY) == []
        told_maker = [name for partner, name, _ in case.queued.calls if partner == MAKER.partner_id]
        assert told_maker == ["recall.published", "recall.responded", "recall.closed"]
        response = events(case, "recall.responded")[0][1]["response"]
        assert (response["partner"], response["units"], response["note"]) == (PHARMACY.partner_id, 1, "Destroyed on site")
        # holders hear of the recall and its closing, never of another holder's response
        for partner, name, payload in case.queued.calls:
            if partner != MAKER.partner_id:
                assert name in ("recall.published", "recall.closed") and "response" not in payload

    run(redis_url, scenario)


def test_every_recall_event_body_is_valid_against_the_documented_schema(redis_url: str) -> None:
    validator = jsonschema_rs.validator_for(SCHEMA)

    async def scenario(case: Case) -> None:
        start = await published_at(case)
        await case.recalls.acknowledge(case.recall_id, PHARMACY.partner_id, [(GTIN, "U2")], "returned", note="Sent back")
        await case.recalls.follow_up(now=start + 2 * DAY)
        await case.recalls.close(case.recall_id, MAKER.partner_id, False, "Done")
        seen = {name for _, name, _ in case.queued.calls}
        assert seen == {"recall.published", "recall.responded", "recall.reminder", "recall.overdue", "recall.closed"}
        for partner, name, payload in case.queued.calls:
            now = dt.datetime.fromtimestamp(start, dt.UTC)
            notice = Notification(new_notification_id(now), case.recall_id, partner, "https://hooks.example/x", name, orjson.dumps(payload), False)
            body = orjson.loads(notice.body(now))
            errors = [str(e) for e in validator.iter_errors(body)]
            assert not errors, (name, payload, errors)
        # and the schema is not a blank cheque: a holder's event naming another's response fails it
        leaked = {"id": "nt_20261206000000_0123456789ab", "event": "recall.reminder", "recall_id": "r", "drill": False, "sent_at": "2026-12-06T00:00:00Z", "data": {"recall": {"id": "r", "class": "I", "reason": "x", "depth": "retail"}}}
        assert not validator.is_valid(leaked)

    run(redis_url, scenario)
