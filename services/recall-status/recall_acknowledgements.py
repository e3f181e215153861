"""A holder's side of a recall: the notice it is sent, its tasks, its acknowledgements (and
quantities on hand), the notice as a letter, and reminders to holders still silent.
"""

from __future__ import annotations

import builtins
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson

from verinet.errors import InvalidInput, NotFound
from verinet.free_text import TEXT_LIMITS, validate_text
from verinet.recall_status.recall_model import (
    MAX_EXPLICIT_UNITS,
    MAX_PARTNER_ID,
    Unit,
    ack_bucket_key,
    notice_of,
    partner_units_key,
    partners_key,
    recall_key,
    reminders_key,
    responded_key,
    responses_key,
    strategy_of,
    task_since_key,
    unit_bucket_key,
)
from verinet.recall_status.recall_records import RecallRecords
from verinet.recall_status.status_report import Location
from verinet.store import reply_bytes, reply_fields, run_script_batch
from verinet.timestamps import utc_or_empty as iso

ACTIONS = ("quarantined", "returned", "destroyed")
#: Units one acknowledgement request may name (the documented limit).
MAX_ACK_UNITS = 10_000




#: What a holder is asked to do, by the recall's depth (21 CFR 7.49: what to do, down to which level).
WHAT_TO_DO = {
    "wholesale": "Stop distributing these units at once and quarantine them. Return or destroy them as instructed, and tell the wholesale customers you supplied.",
    "retail": "Stop distributing and dispensing these units at once and quarantine them. Return or destroy them as instructed, and tell the retail customers (pharmacies, hospitals) you supplied.",
    "consumer": "Stop distributing and dispensing these units at once and quarantine them. Return or destroy them as instructed, and tell your customers down to patients and consumers.",
}


def recall_notice(meta: Mapping[str, str], units: Sequence[Unit]) -> dict[str, Any]:
    """The recall communication a holder gets (21 CFR 7.49): a clear heading, the products by
    GTIN and lot, the reason, what to do, how to respond and whom to ask."""
    products: dict[str, Counter[str]] = {}
    for unit in units:
        products.setdefault(unit.gtin, Counter())[unit.lot] += 1
    strategy = strategy_of(meta)
    drill = bool(meta.get("mock"))
    return {
        "heading": "RECALL DRILL: exercise only, no stock to act on" if drill else f"URGENT: DRUG RECALL (class {meta['class']})",
        "products": [{"gtin": gtin, "lots": sorted(lots), "units": sum(lots.values())} for gtin, lots in sorted(products.items())],
        "reason": meta["reason"],
        "what_to_do": WHAT_TO_DO.get(strategy.depth, WHAT_TO_DO["retail"]),
        "respond": "Acknowledge each unit you hold, or state the quantity on hand per lot, with the action taken "
        f"(quarantined, returned or destroyed): POST /v1/recalls/{meta['id']}/acknowledgements, or your console's recall tasks.",
        "contact": strategy.contact,
        "public_warning": strategy.public_warning_by if strategy.public_warning else "",
    }


class Acknowledgements(RecallRecords):
    """What a recall asks of its holders, and their answers."""

    async def acknowledge(
        self,
        recall_id: str,
        partner_id: str,
        units: Sequence[tuple[str, str]],
        action: str,
        note: str = "",
        lots: Mapping[str, int] | None = None,
    ) -> builtins.list[tuple[bool, str, str]]:
        """Records ``partner_id``'s acknowledgement of the units it holds in the recall. A unit
        it does not hold is refused alike whether or not it is in the recall; a unit named
        twice counts once. The acknowledgement is also the holder's response: with a note and,
        for holders that count rather than name units, the quantity on hand of lots it holds
        (recorded whole, or refused whole when it names a lot it does not hold)."""
        lots = dict(lots or {})
        validate_text(note, "note", max_length=TEXT_LIMITS["recall response note"], required=False)
        if not units and not lots:
            raise InvalidInput('Failed to read "units": expected at least one unit, or "lots" with quantities on hand.', field="units")
        if action not in ACTIONS:
            raise InvalidInput(f"Failed to read action {action!r}: expected quarantined, returned or destroyed.", code="recall.action", field="action")
        if len(units) > MAX_ACK_UNITS:
            raise InvalidInput(
                f"Failed to read units: expected at most {MAX_ACK_UNITS} units an acknowledgement, got {len(units)}.",
                code="recall.too_many",
                field="units",
            )
        meta = await self._meta(recall_id, partner_id, False)  # not found unless the partner is involved
        now = self.clock()
        if lots:
            await self._require_held_lots(recall_id, partner_id, lots)
        keys = [f"{g}|{s}" for g, s in units]
        distinct = list(dict.fromkeys(keys))
        pipe = self.redis.pipeline(transaction=False)
        for key in distinct:
            pipe.hget(unit_bucket_key(recall_id, key), key)
        stored = {key: raw for key, raw in zip(distinct, await pipe.execute(), strict=True)}
        results: builtins.list[tuple[bool, str, str]] = []
        fields: dict[str, builtins.list[str]] = {}
        answered: set[str] = set()
        for key in keys:
            if key in answered:
                results.append((False, "recall.unit_repeated", f"Unit {key} is named more than once; it is counted once."))
                continue
            answered.add(key)
            raw = stored[key]
            if raw is None or Unit.from_row(key, reply_bytes(raw)).holding(partner_id) is None:
                results.append((False, "recall.not_held", f"Unit {key} is not one you hold in recall {recall_id}; only its holders acknowledge it."))
                continue
            fields.setdefault(ack_bucket_key(recall_id, key), []).append(f"{key}|{partner_id}")
            results.append((True, "OK", f"Unit {key} recorded as {action}."))
        if fields:
            await run_script_batch(self.redis, self.scripts.acknowledge, [([bucket], [*names, f"{now:.3f}", action]) for bucket, names in fields.items()])
        acknowledged = sum(len(names) for names in fields.values())
        if acknowledged or lots:
            response = {"partner": partner_id, "at": now, "action": action, "note": note, "lots": lots, "units": acknowledged}
            await self.redis.rpush(responses_key(recall_id), orjson.dumps(response))
            await self.redis.sadd(responded_key(recall_id), partner_id)
            await self._tell_owner(recall_id, meta, "recall.responded", {"response": {**response, "at": iso(now)}})
            await self.audit(
                recall_id,
                {"at": now, "action": "recall.acknowledged", "recall": recall_id, "partner": partner_id, "units_action": action, "units": acknowledged, "lots": lots, "note": note},
            )
        return results

    async def _require_held_lots(self, recall_id: str, partner_id: str, lots: Mapping[str, int]) -> None:
        """Refuses a lot quantity for a lot of which ``partner_id`` holds no unit in the recall."""
        held = {unit.lot for unit in await self._held_units(recall_id, partner_id)}
        for lot, quantity in lots.items():
            if lot not in held:
                raise InvalidInput(
                    f'Failed to read "lots": lot {lot!r} is not a lot you hold in recall {recall_id}; only its holders state quantities of it.',
                    code="recall.lot_not_held",
                    field="lots",
                )
            if not 0 <= quantity <= MAX_EXPLICIT_UNITS:
                raise InvalidInput(
                    f'Failed to read "lots": expected a quantity of 0 to {MAX_EXPLICIT_UNITS} for lot {lot!r}, got {quantity}.', code="recall.quantity", field="lots"
                )

    async def tasks(self, partner_id: str) -> builtins.list[dict[str, Any]]:
        out = []
        for recall_id in sorted(reply_bytes(m).decode() for m in await self.redis.smembers(f"rctasks:{partner_id}")):
            meta = await self._meta(recall_id, partner_id, False)
            units = await self._held_units(recall_id, partner_id)
            open_units = [u for u in units if not u.holders[0].ack]
            if meta["status"] != "open" or not open_units:
                continue
            places = await self._location_details(sorted({u.holders[0].gln for u in open_units if u.holders[0].gln}))
            out.append(
                {
                    "recall": {k: meta[k] for k in ("id", "class", "reason", "depth")} | {"mock": bool(meta["mock"]), "published_at": iso(float(meta["published_at"]))},
                    "notice": recall_notice(meta, units),
                    "units_open": [{"gtin": u.gtin, "serial": u.serial, "lot": u.lot, "gln": u.holders[0].gln} for u in open_units],
                    "units_acknowledged": len(units) - len(open_units),
                    # names and addresses the holder gave its GLNs (EPCIS Location master data)
                    "locations": {g: {"name": p.name, "address": p.address} for g, p in places.items() if p.name},
                }
            )
        return out

    async def notice_letter(self, recall_id: str, viewer: str, is_admin: bool, partner_id: str = "") -> dict[str, Any]:
        """One holder's recall notice as a letter: the notice its webhook and console task carry,
        addressed to the holder by name and locations, dated when it was notified. A holder reads
        its own; the recall's manufacturer and admin read any holder's. Anyone else, and a partner
        holding nothing of the recall, gets the answer of a recall that does not exist."""
        holder = partner_id or viewer
        if len(holder) > MAX_PARTNER_ID:
            raise InvalidInput(f"Failed to read partner: expected a partner id of 1 to {MAX_PARTNER_ID} characters, got {len(holder)}.", field="partner")
        meta = await self._meta(recall_id, viewer, is_admin, manufacturer_only=holder != viewer)
        units = await self._held_units(recall_id, holder)
        if not units:
            if holder == viewer and not (is_admin or meta["owner"] == viewer):
                raise NotFound(f"No recall with id {recall_id!r}.", code="recall.not_found")
            raise NotFound(f"Partner {holder!r} holds no unit of recall {recall_id}; a notice goes to its consignees.", code="recall.not_consignee")
        # the notice of record: the first delivered webhook, else the console task
        delivered = (await self.delivered_at(recall_id)).get(holder)
        since = await self.redis.hget(task_since_key(recall_id), holder)
        notified, method = (delivered, "webhook") if delivered else (float(since) if since else float(meta["published_at"]), "console task")
        glns = sorted({u.holders[0].gln for u in units if u.holders[0].gln})
        places = await self._location_details(glns)
        return {
            "recall": {k: meta[k] for k in ("id", "class", "reason", "depth", "status")} | {"mock": bool(meta["mock"]), "published_at": iso(float(meta["published_at"]))},
            "holder": {
                "partner": holder,
                "name": (await self.partner_names([holder])).get(holder, ""),
                "locations": [{"gln": g, "name": places.get(g, Location(g)).name, "address": places.get(g, Location(g)).address} for g in glns],
            },
            "notified_at": iso(notified),
            "notified_by": method,
            "notice": recall_notice(meta, units),
        }  # the gateway adds how to answer it (its REST route)

    async def follow_up(self, now: float | None = None) -> builtins.list[tuple[str, str, int]]:
        """Reminds every consignee still silent whose next reminder is due, in every open
        recall: a ``recall.reminder`` to it, one ``recall.overdue`` to the manufacturer naming
        the consignees reminded. Answers (recall, partner, step) of the reminders sent."""
        now = self.clock() if now is None else now
        sent: builtins.list[tuple[str, str, int]] = []
        for member in cast("builtins.list[bytes]", await self.redis.zrange("recalls:all", 0, -1)):
            sent += await self.remind(member.decode(), now)
        return sent

    async def remind(self, recall_id: str, now: float) -> builtins.list[tuple[str, str, int]]:
        """Reminders of one recall due at ``now`` (see ``follow_up``)."""
        raw = reply_fields(await self.redis.hgetall(recall_key(recall_id)))
        meta = {k.decode(): v.decode() for k, v in raw.items()}
        if not meta or meta.get("status") != "open":
            return []
        schedule = strategy_of(meta).reminder_days
        partners = {reply_bytes(m).decode() for m in await self.redis.smembers(partners_key(recall_id))}
        partners -= {reply_bytes(m).decode() for m in await self.redis.smembers(responded_key(recall_id))}
        if not partners or not schedule:
            return []
        since = {k.decode(): float(v) for k, v in reply_fields(await self.redis.hgetall(task_since_key(recall_id))).items()}
        delivered = await self.delivered_at(recall_id)
        published = float(meta["published_at"])
        reminded: builtins.list[tuple[str, str, int]] = []
        for partner in sorted(partners):
            notice = min(since.get(partner, published), delivered.get(partner, math.inf))
            step = sum(1 for days in schedule if notice + days * 86400 <= now)
            if not step or not await self.scripts.remind(keys=[reminders_key(recall_id)], args=[partner, step, f"{now:.3f}"]):
                continue
            units = await self.redis.scard(partner_units_key(recall_id, partner))
            payload = {
                "recall": notice_of(meta),
                "reminder": {"step": step, "of": len(schedule), "notified_at": iso(notice), "units": units},
                "acknowledge": f"/v1/recalls/{recall_id}/acknowledgements",
            }
            await self.enqueue(recall_id, partner, "recall.reminder", payload, drill=bool(meta["mock"]))
            reminded.append((recall_id, partner, step))
        if reminded:
            names = await self.partner_names([p for _, p, _ in reminded])
            overdue = [{"partner": p, "name": names.get(p, ""), "reminder": step} for _, p, step in reminded]
            await self._tell_owner(recall_id, meta, "recall.overdue", {"overdue": overdue})
            await self.audit(recall_id, {"at": now, "action": "recall.reminded", "recall": recall_id, "partners": overdue})
        return reminded
