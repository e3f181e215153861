"""How effective a recall is: the recall with its notified and acknowledged shares over time
(and a drill's timings), effectiveness checks of its consignees, and the facts of the
21 CFR 7.53 status report (built by :mod:`verinet.recall_status.status_report`).
"""

from __future__ import annotations

import builtins
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from verinet.errors import InvalidInput
from verinet.free_text import TEXT_LIMITS, validate_text
from verinet.recall_status.recall_model import (
    MAX_PARTNER_ID,
    UNIT_BUCKETS,
    Unit,
    checks_key,
    partners_key,
    reminders_key,
    responses_key,
    strategy_of,
    task_since_key,
)
from verinet.recall_status.recall_records import RecallRecords
from verinet.recall_status.status_report import EffectivenessCheck, Facts, Holding, Response, build
from verinet.store import reply_fields
from verinet.timestamps import utc_or_empty as iso

CHECK_METHODS = ("phone", "email", "visit", "letter", "portal")
CHECK_RESULTS = ("confirmed", "received_not_acted", "not_received", "no_answer")


class Effectiveness(RecallRecords):
    """The recall as its manufacturer (everything) or a holder (its own units) follows it."""

    async def get(self, recall_id: str, viewer: str, is_admin: bool) -> dict[str, Any]:
        """The recall with its effectiveness: every unit and holder for its manufacturer and
        admin; for a holder, its own units and holding only, and no other partner's id."""
        meta = await self._meta(recall_id, viewer, is_admin)
        units = await self.rows(recall_id)
        sees_all = is_admin or meta["owner"] == viewer
        if not sees_all:
            units = [u.seen_by(viewer) for u in units if u.holding(viewer)]
            total = len(units)
        else:
            total = int(meta.get("units", 0))
        located = [u for u in units if u.holders]
        delivered = await self.delivered_at(recall_id)
        published = float(meta["published_at"])
        # each unit once: notified when its first holder was, acknowledged when its first holder did
        notified = [min(times) for u in located if (times := [delivered[h.partner] for h in u.holders if h.partner in delivered])]
        acked = [first.ack for u in located if (first := u.first_ack) is not None]
        now = self.clock()
        hours = max(1, math.ceil((now - published) / 3600))
        points = sorted({0, *range(1, min(hours, 72) + 1), hours})

        def share(times: builtins.list[float], until: float) -> float:
            return round(sum(1 for t in times if t <= until) / total, 4) if total else 0.0

        result: dict[str, Any] = {
            "id": recall_id,
            "owner": meta["owner"],
            "class": meta["class"],
            "reason": meta["reason"],
            "depth": meta["depth"],
            "mock": bool(meta["mock"]),
            "status": meta["status"],
            "published_at": iso(published),
            "scopes": orjson.loads(meta["scopes"]),
            "strategy": strategy_of(meta).as_dict(),
            **await self._with_location_names(self.scope_summary(located, total)),
            "located": len(located),
            "notified": len(notified),
            "acknowledged": len(acked),
            "effectiveness": [
                {"hours": h, "notified": share(notified, published + h * 3600), "acknowledged": share(acked, published + h * 3600)}
                for h in points
            ],
            "holders": self.per_holder(located, delivered),
        }
        if not sees_all:
            del result["owner"]
            del result["strategy"]["external_reference"]  # the manufacturer's own QMS record
        if meta.get("closed_at"):
            result.update(closed_at=iso(float(meta["closed_at"])), close_reason=meta.get("close_reason", ""))
        if meta["mock"]:
            result["drill"] = self.drill_timings(meta, notified, acked, total)
        return result

    @staticmethod
    def per_holder(located: Sequence[Unit], delivered: Mapping[str, float]) -> builtins.list[dict[str, Any]]:
        """Effectiveness per holder: its units, when it was notified, how many it acknowledged."""
        units: Counter[str] = Counter()
        acked: Counter[str] = Counter()
        for unit in located:
            for holding in unit.holders:
                units[holding.partner] += 1
                acked[holding.partner] += 1 if holding.ack else 0
        return [
            {"partner": p, "units": n, "notified_at": iso(delivered.get(p, 0.0)), "acknowledged": acked[p]}
            for p, n in sorted(units.items())
        ]

    @staticmethod
    def drill_timings(meta: dict[str, str], notified: builtins.list[float], acked: builtins.list[float], total: int) -> dict[str, float | None]:
        published = float(meta["published_at"])

        def after(at: float | None) -> float | None:
            return round(at - published, 3) if at else None

        ordered: builtins.list[float] = sorted(acked)
        ninety = ordered[math.ceil(0.9 * total) - 1] if total and len(ordered) >= math.ceil(0.9 * total) else None
        return {
            "seconds_to_scope": after(float(meta.get("scoped_at") or 0)),
            "seconds_to_first_notification": after(min(notified)) if notified else None,
            "seconds_to_first_acknowledgement": after(ordered[0]) if ordered else None,
            "seconds_to_90_percent_acknowledged": after(ninety),
        }

    async def record_check(
        self, recall_id: str, viewer: str, is_admin: bool, partner_id: str, checked_by: str, method: str, result: str, note: str
    ) -> dict[str, Any]:
        """Records an effectiveness check of one consignee of the recall (its manufacturer or
        admin); audited."""
        await self._meta(recall_id, viewer, is_admin, manufacturer_only=True)
        if method not in CHECK_METHODS:
            raise InvalidInput(f"Failed to read method {method!r}: expected one of {', '.join(CHECK_METHODS)}.", code="recall.check_method", field="method")
        if result not in CHECK_RESULTS:
            raise InvalidInput(f"Failed to read result {result!r}: expected one of {', '.join(CHECK_RESULTS)}.", code="recall.check_result", field="result")
        validate_text(checked_by, "checked_by", max_length=TEXT_LIMITS["effectiveness checked by"])
        validate_text(note, "note", max_length=TEXT_LIMITS["effectiveness check note"], required=False)
        if not 0 < len(partner_id) <= MAX_PARTNER_ID:
            raise InvalidInput(f"Failed to read partner: expected a partner id of 1 to {MAX_PARTNER_ID} characters, got {len(partner_id)}.", field="partner")
        if not await self.redis.sismember(partners_key(recall_id), partner_id):
            raise InvalidInput(f"Partner {partner_id!r} holds no unit of recall {recall_id}; checks are of its consignees.", code="recall.not_consignee", field="partner")
        now = self.clock()
        check = {"partner": partner_id, "at": now, "checked_by": checked_by, "method": method, "result": result, "note": note}
        await self.redis.rpush(checks_key(recall_id), orjson.dumps(check))
        await self.audit(recall_id, {**check, "action": "recall.effectiveness_checked", "recall": recall_id, "by": viewer})
        return {**check, "at": iso(now)}

    async def status_report(self, recall_id: str, viewer: str, is_admin: bool, at: float | None = None, start: float | None = None) -> dict[str, Any]:
        """The 21 CFR 7.53 status report at ``at`` (default now), for the period from ``start``
        when given: for the recall's manufacturer and admin only (``recall_status.status_report``)."""
        meta = await self._meta(recall_id, viewer, is_admin, manufacturer_only=True)
        at = self.clock() if at is None else at
        if start is not None and start > at:
            raise InvalidInput("Failed to read from: the period starts after it ends.", code="report.period", field="from")
        holdings = await self._holdings(recall_id)
        for partner, since in reply_fields(await self.redis.hgetall(task_since_key(recall_id))).items():
            if (tasked := holdings.get(partner.decode())) is not None:
                tasked.task_since = float(since)
        glns = sorted({gln for h in holdings.values() for gln in h.glns if gln})
        published = float(meta["published_at"])
        recall = {"id": recall_id, "class": meta["class"], "reason": meta["reason"], "depth": meta["depth"], "mock": bool(meta["mock"]), "status": meta["status"], "published_at": iso(published)}
        if meta.get("closed_at"):
            recall.update(closed_at=iso(float(meta["closed_at"])), close_reason=meta.get("close_reason", ""))
        facts = Facts(
            recall=recall,
            published_at=published,
            strategy=strategy_of(meta),
            holdings=list(holdings.values()),
            delivered=await self.delivered_at(recall_id),
            responses=[Response(**orjson.loads(raw)) for raw in await self.redis.lrange(responses_key(recall_id), 0, -1)],
            checks=[EffectivenessCheck(**orjson.loads(raw)) for raw in await self.redis.lrange(checks_key(recall_id), 0, -1)],
            reminders={p.decode(): [float(t) for t in v.decode().split(",") if t] for p, v in reply_fields(await self.redis.hgetall(reminders_key(recall_id))).items()},
            names=await self.partner_names(sorted(holdings)),
            locations=await self._location_details(glns),
        )
        return build(facts, at, start)

    async def _holdings(self, recall_id: str) -> dict[str, Holding]:
        """Each holder's units, lots, GLNs and acknowledgements, aggregated straight from the
        stored rows and acknowledgement buckets (two pipelines of whole-bucket reads; no unit
        objects: a report of 100,000 units stays well under a second of reading)."""
        pipe = self.redis.pipeline(transaction=False)
        for bucket in range(UNIT_BUCKETS):
            pipe.hgetall(f"rcu:{{rc:{recall_id}}}:{bucket:02x}")
        holdings: dict[str, Holding] = {}
        lot_of: dict[bytes, str] = {}
        for rows in await pipe.execute():
            for key, raw in reply_fields(rows).items():
                data = orjson.loads(raw)
                lot = data.get("lot", "")
                lot_of[key] = lot
                held = data.get("holders")
                if held is None:  # a row written before units had several holders
                    held = [{"partner": data["holder"], "gln": data.get("gln", "")}] if data.get("holder") else []
                for entry in held:
                    holding = holdings.get(entry["partner"])
                    if holding is None:
                        holding = holdings[entry["partner"]] = Holding(entry["partner"])
                    holding.units += 1
                    holding.lots[lot] += 1
                    holding.glns[entry.get("gln", "")] += 1
        pipe = self.redis.pipeline(transaction=False)
        for bucket in range(UNIT_BUCKETS):
            pipe.hgetall(f"rca:{{rc:{recall_id}}}:{bucket:02x}")
        for acks in await pipe.execute():
            for name, value in reply_fields(acks).items():
                unit, _, partner = name.rpartition(b"|")
                holding = holdings.get(partner.decode())
                if holding is not None and unit in lot_of:
                    at, _, action = value.decode().partition("|")
                    holding.acknowledgements.append((float(at), action, lot_of[unit]))
        return holdings
