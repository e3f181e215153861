"""Recall status reports (21 CFR 7.53), computed from the network's own records at a point in
time, and optionally for a reporting period.

A consignee is a partner that held units of the recall (see ``recall_status.holders``). At a
time ``at`` the report answers:

- consignees notified, with date and method: the first webhook delivered to the partner, else
  the console task it has had since its units entered the recall;
- consignees responding (their first acknowledgement or response by ``at``) with the quantity
  each had on hand: the units the network records it holding, and the quantity it stated in its
  responses when it stated one;
- consignees not responding, and which of them are overdue (silent past the first day of the
  strategy's reminder schedule) with the reminders they were sent;
- the number and results of effectiveness checks, against those the strategy's level asks for;
- an estimated time to completion: when every consignee has responded and the checks due are
  done, the recall is complete (at the last of those records); otherwise the response rate so
  far (consignees responding per elapsed hour since publication) is projected over the
  consignees still silent. Without any response there is no estimate.

A reporting period (``start`` to ``at``) adds what happened within it: consignees first
notified, first responding, and checks recorded in the period.

Pure: facts in, a JSON-ready dict out; reading the facts is ``RecallService.status_report``'s.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verinet.recall_status.strategy import RecallStrategy
from verinet.timestamps import utc_or_empty as iso


@dataclass
class Holding:
    """What the network records of one consignee: the units it held (by lot) at its GLNs, and
    the first acknowledgement time and latest action of each unit it acknowledged."""

    partner: str
    units: int = 0
    lots: Counter[str] = field(default_factory=Counter)
    glns: Counter[str] = field(default_factory=Counter)
    acknowledgements: list[tuple[float, str, str]] = field(default_factory=list)  # (time, action, lot)
    task_since: float = 0.0


@dataclass(frozen=True)
class Response:
    """A consignee's response (its acknowledgement): the units it named, the quantities on hand
    it stated by lot, the action taken and a note."""

    partner: str
    at: float
    action: str
    units: int = 0
    lots: Mapping[str, int] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class EffectivenessCheck:
    """A check of one consignee: who checked, how, with what result."""

    partner: str
    at: float
    checked_by: str
    method: str
    result: str
    note: str = ""


@dataclass(frozen=True)
class Location:
    """A location's master data, when present."""

    gln: str
    name: str = ""
    address: str = ""


@dataclass(frozen=True)
class Facts:
    recall: Mapping[str, Any]
    published_at: float
    strategy: RecallStrategy
    holdings: Sequence[Holding]
    delivered: Mapping[str, float]
    responses: Sequence[Response] = ()
    checks: Sequence[EffectivenessCheck] = ()
    reminders: Mapping[str, Sequence[float]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    locations: Mapping[str, Location] = field(default_factory=dict)


def build(facts: Facts, at: float, start: float | None = None) -> dict[str, Any]:
    """The status report at ``at`` (and for the period from ``start`` to ``at`` when given)."""
    rows = [_consignee(facts, holding, at) for holding in sorted(facts.holdings, key=lambda h: h.partner)]
    rows = [row for row in rows if row["units_held"]]
    notified = [r for r in rows if r["notified_at"]]
    responding = [r for r in rows if r["status"] == "responded"]
    silent = [r for r in rows if r["status"] != "responded"]
    checks = [c for c in facts.checks if c.at <= at]
    due = facts.strategy.checks_due(len(rows))
    report: dict[str, Any] = {
        "recall": dict(facts.recall),
        "as_of": iso(at),
        "strategy": facts.strategy.as_dict(),
        "consignees": len(rows),
        "consignees_notified": len(notified),
        "consignees_responding": len(responding),
        "consignees_not_responding": len(silent),
        "consignees_overdue": sum(1 for r in silent if r["overdue"]),
        "units": sum(r["units_held"] for r in rows),
        "units_acknowledged": sum(r["units_acknowledged"] for r in rows),
        "quantity_on_hand": sum(r["quantity_on_hand"] or 0 for r in rows),
        "effectiveness_checks": {
            "level": facts.strategy.check_level,
            "share": facts.strategy.check_share,
            "due": due,
            "done": len({c.partner for c in checks}),
            "results": dict(sorted(Counter(c.result for c in checks).items())),
            "checks": [_check(c, facts) for c in sorted(checks, key=lambda c: (c.at, c.partner))],
        },
        "estimated_completion": _estimate(facts, rows, len({c.partner for c in checks}), due, checks, at),
        "consignee_rows": rows,
    }
    if start is not None:
        report["period"] = {
            "from": iso(start),
            "to": iso(at),
            "consignees_notified": sum(1 for r in notified if start <= r["_notified"] <= at),
            "consignees_responding": sum(1 for r in responding if start <= r["_responded"] <= at),
            "effectiveness_checks": sum(1 for c in checks if start <= c.at <= at),
        }
    for row in rows:
        del row["_notified"], row["_responded"]
    return report


def _locations(facts: Facts, glns: Counter[str]) -> list[dict[str, str]]:
    out = []
    for gln in sorted(glns):
        known = facts.locations.get(gln, Location(gln))
        out.append({"gln": gln, "name": known.name, "address": known.address})
    return out


def _consignee(facts: Facts, holding: Holding, at: float) -> dict[str, Any]:
    webhook = facts.delivered.get(holding.partner, 0.0)
    task = holding.task_since or facts.published_at
    # a delivered webhook is the notice of record; without one, the console task is
    if webhook and webhook <= at:
        notified, method = webhook, "webhook"
    elif task <= at:
        notified, method = task, "console task"
    else:
        notified, method = 0.0, ""
    acked = [(t, action, lot) for t, action, lot in holding.acknowledgements if t <= at]
    responses = sorted((r for r in facts.responses if r.partner == holding.partner and r.at <= at), key=lambda r: r.at)
    first = min([t for t, _, _ in acked] + [r.at for r in responses], default=0.0)
    # on hand: per lot, the latest quantity stated for it (with that response's action), else
    # the units acknowledged of it
    stated: dict[str, tuple[int, str]] = {}
    for response in responses:
        stated.update((lot, (n, response.action)) for lot, n in response.lots.items())
    actions = Counter(action for _, action, lot in acked if lot not in stated)
    for n, action in stated.values():
        actions[action] += n
    quantity = sum(actions.values()) if first else None
    notes = [r.note for r in responses if r.note]
    reminders = [t for t in facts.reminders.get(holding.partner, ()) if t <= at]
    return {
        "partner": holding.partner,
        "name": facts.names.get(holding.partner, ""),
        "glns": sorted(holding.glns),
        "locations": _locations(facts, holding.glns),
        "units_held": holding.units,
        "lots": dict(sorted(holding.lots.items())),
        "notified_at": iso(notified),
        "notified_by": method,
        "responded_at": iso(first),
        "units_acknowledged": len(acked),
        "quantity_on_hand": quantity,
        "actions": dict(sorted(actions.items())),
        "note": notes[-1] if notes else "",
        "status": "responded" if first else "notified" if notified else "not notified",
        "overdue": bool(notified and not first and facts.strategy.reminder_days and notified + facts.strategy.reminder_days[0] * 86400 <= at),
        "reminders": len(reminders),
        "_notified": notified,
        "_responded": first,
    }


def _check(check: EffectivenessCheck, facts: Facts) -> dict[str, Any]:
    return {
        "partner": check.partner,
        "name": facts.names.get(check.partner, ""),
        "at": iso(check.at),
        "checked_by": check.checked_by,
        "method": check.method,
        "result": check.result,
        "note": check.note,
    }


def _estimate(facts: Facts, rows: Sequence[Mapping[str, Any]], checked: int, due: int, checks: Sequence[EffectivenessCheck], at: float) -> dict[str, Any]:
    responded = sorted(r["_responded"] for r in rows if r["_responded"])
    silent = len(rows) - len(responded)
    if not silent and checked >= due:
        done = max([*responded, *(c.at for c in checks), facts.published_at])
        return {"complete": True, "at": iso(done), "basis": "every consignee has responded and the effectiveness checks due are done"}
    if not responded:
        return {"complete": False, "at": None, "basis": "no consignee has responded yet"}
    elapsed_hours = max((at - facts.published_at) / 3600, 1 / 60)
    rate = len(responded) / elapsed_hours
    hours = math.ceil(silent / rate) if silent else 0
    return {
        "complete": False,
        "at": iso(at + hours * 3600),
        "basis": f"{len(responded)} of {len(rows)} consignees responded in {elapsed_hours:.1f} h; the {silent} still silent at that rate"
        + ("" if checked >= due else f"; {due - checked} effectiveness checks still due"),
    }
