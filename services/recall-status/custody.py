"""Chain of custody from EPCIS events: aggregation into cases and pallets, custody moves
(shipping, receiving) and the pack-state changes events carry (decommissioning, destroying,
dispensing), validated against stored state as a whole before anything is written.

A :class:`Capture` reads a document's events in chunks (``add``), checks each one against what
is stored plus the effects of the events before it (an overlay kept in memory: one small
entry per unit and case touched, never the document), and writes everything at the end
(``finish``) only if no event was refused. An event on a case or pallet applies to every
unit inside it, recursively.

Custody events and history use the encodings of :meth:`PackRepository.record_events`, so a
pack's history shows custody events beside verifications and decommissions. Shipping,
receiving and the custodian's state changes are custody events (they set the last custody
event and clear the sightings before it); a state change by another partner is recorded as a
possession-attested sighting; packing and unpacking only add to the history (they do not move
a unit). History entries keep other partners apart from the text: a shipment's destinations
in ``to``, a receipt's senders in ``from`` and ``from_partners``, so that a history can be
shown to each partner without them (README "Custody, sightings and visibility"). Refusals
never name another partner or its GLN. Commissioning writes the pack only, as ``/v1/packs/commission``
does: a unit the manufacturer never shipped stays "not yet shipped" for a recall.
State changes are decided by :func:`verinet.lifecycle.decide` and applied by
:func:`verinet.pack_operations.run_operation`, the functions of the pack API.

The rules are here (:class:`Capture`: ``_process`` and the steps it calls); the model is
:mod:`verinet.recall_status.custody_model`, what a capture reads
:mod:`verinet.recall_status.custody_store`, what it writes
:mod:`verinet.recall_status.custody_writes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from verinet.epc import describe_container, is_case_container
from verinet.lifecycle import LastDecommission, Operation, decide
from verinet.packs import PackRecord, PackState
from verinet.recall_status.custody_model import (
    Actor,
    CaptureOutcome,
    Custody,
    CustodyEvent,
    HistoryEntry,
    Party,
    Refusal,
    Refused,
    split_unit,
    target_state,
)
from verinet.recall_status.custody_store import LOCK_MILLISECONDS, CustodyScripts, lock_key
from verinet.recall_status.custody_writes import CaptureWriter
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import NewPack, PackValue

MAX_REFUSALS = 100


def _describe(key: str) -> str:
    gtin, serial = split_unit(key)
    return f"serial {serial!r} of GTIN {gtin}"


def _already_packed(what: str, container: str) -> Refused:
    """Packing refused: ``what`` (a unit or a case) is packed in ``container`` already."""
    return Refused("aggregation.already_packed", f"{what} is packed in SSCC {container}: unpack it first.")


def _glns(parties: Iterable[Party]) -> list[str]:
    return list(dict.fromkeys(p.gln for p in parties))


class Capture(CaptureWriter):
    """One document's capture: ``begin``, ``add`` chunks in order, then ``finish``."""

    def __init__(
        self,
        repository: PackRepository,
        actor: Actor,
        now: dt.datetime,
        *,
        max_refusals: int = MAX_REFUSALS,
        scripts: CustodyScripts | None = None,
    ) -> None:
        super().__init__(repository, actor, now, scripts)
        self.max_refusals = max_refusals

    async def add(self, events: Sequence[CustodyEvent]) -> None:
        """Checks a chunk of events, in order, against stored state and the events before."""
        if not events:
            return
        if self._lock_token:
            await self.redis.pexpire(lock_key(self.actor.partner_id), LOCK_MILLISECONDS)
        self.outcome.events += len(events)
        fresh = await self._drop_duplicates(events)
        await self._load(fresh)
        for event in fresh:
            viewers = self._viewers(event)
            try:
                self._process(event)
            except Refused as refusal:
                self._refuse(event, refusal)
            else:
                self.queryable.append((event, viewers))

    async def finish(self, commit: bool) -> CaptureOutcome:
        """Writes everything if ``commit`` and no event was refused; else writes nothing."""
        if not commit or self.outcome.refused:
            return self.outcome
        await self._write()
        self.outcome.applied = True
        return self.outcome

    def _refuse(self, event: CustodyEvent, refusal: Refused) -> None:
        self.outcome.refused += 1
        if len(self.outcome.refusals) < self.max_refusals:
            self.outcome.refusals.append(
                Refusal(event.index, event.event_id, refusal.code, refusal.message, refusal.kind.value)
            )

    # -- expansion ----------------------------------------------------------------------------

    def _expand(self, event: CustodyEvent) -> list[str]:
        """Every unit the event applies to, each once; all must be commissioned here."""
        units, containers = self._event_epcs(event)
        found = dict.fromkeys(units)
        for sscc in containers:
            inside = self._units_inside(sscc)
            if not inside and not is_case_container(sscc):  # an empty case is the case alone
                raise Refused(
                    "aggregation.unknown_container",
                    f"SSCC {sscc} holds no unit known here: pack units into it (an "
                    "AggregationEvent with action ADD) before naming it in an event.",
                )
            found.update(dict.fromkeys(inside))
        self._require_commissioned(found)
        return list(found)

    def _require_commissioned(self, units: Iterable[str]) -> None:
        unknown = [u for u in units if self.values.get(u) is None]
        if unknown:
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise Refused(
                "pack.not_commissioned",
                f"{_describe(unknown[0])}{more} is not commissioned in this network: "
                "commission it first (commissioning event or POST /v1/packs/commission).",
            )

    # -- rules --------------------------------------------------------------------------------

    def _process(self, event: CustodyEvent) -> None:
        if not event.location_gln:
            raise Refused("epcis.location", "The event names no location (readPoint or bizLocation).", "invalid")
        if event.type == "AggregationEvent" and event.action == "ADD":
            self._pack(event)
        elif event.type == "AggregationEvent" and event.action == "DELETE":
            self._unpack(event)
        elif event.biz_step == "commissioning":
            self._commission(event)
        elif event.biz_step == "shipping":
            self._ship(event)
        elif event.biz_step == "receiving":
            self._receive(event)
        else:
            target = target_state(event.biz_step, event.disposition)
            if target is None:
                raise Refused(
                    "epcis.biz_step",
                    f"bizStep {event.biz_step!r} with disposition {event.disposition!r} is not "
                    "one verinet applies.",
                    "invalid",
                )
            self._change_state(event, target)

    def _value(self, key: str) -> PackValue | None:
        value = self.values.get(key)
        if isinstance(value, bytes):
            value = self.values[key] = PackValue.decode(value)
        return value

    def _holder(self, key: str) -> Custody:
        custody = self.custody.get(key)
        if custody is not None:
            return custody
        return Custody("H", self.owners.get(key[:14], ""), "")

    def _require_held(self, units: Iterable[str]) -> None:
        for key in units:
            custody = self._holder(key)
            if custody.status == "T":
                raise Refused(
                    "custody.in_transit",
                    f"{_describe(key)} is in transit and not yet received.",
                )
            if custody.partner_id != self.actor.partner_id:
                raise Refused("custody.not_held", f"{_describe(key)} is not held by you.")

    def _commission(self, event: CustodyEvent) -> None:
        if event.action != "ADD":
            raise Refused("epcis.action", "A commissioning event has action ADD.", "invalid")
        for gtin in sorted({u[:14] for u in event.units}):
            owner = self.owners.get(gtin, "")
            if not owner:
                raise Refused(
                    "product.not_registered",
                    f"GTIN {gtin} is not a hosted product: register it with PUT "
                    f"/v1/products/{gtin} first.",
                )
            if owner != self.actor.partner_id and not self.actor.is_admin:
                raise Refused(
                    "product.foreign_owner",
                    f"GTIN {gtin} belongs to another manufacturer.",
                    "forbidden",
                )
        fresh = []
        for key in event.units:
            stored = self._value(key)
            if stored is None:
                fresh.append(key)
            elif stored.lot != event.lot or stored.expiry != event.expiry:
                raise Refused(
                    "pack.conflict",
                    f"{_describe(key)} is already commissioned with lot {stored.lot!r} and expiry "
                    f"{stored.expiry!r}, got lot {event.lot!r} and expiry {event.expiry!r}.",
                )
        minute = int(event.event_time // 60)
        for key in fresh:
            gtin, serial = split_unit(key)
            self.values[key] = PackValue(PackState.ACTIVE, event.expiry, event.lot, "", minute)
            self.new_packs.append(NewPack(gtin, serial, event.lot, event.expiry, "", event.event_time))
        self.outcome.commissioned += len(event.units)
        self.outcome.unit_events += len(event.units)

    def _ancestors(self, sscc: str) -> list[str]:
        chain = []
        while sscc and sscc not in chain:
            chain.append(sscc)
            sscc = self.container_parent.get(sscc, "")
        return chain

    def _pack(self, event: CustodyEvent) -> None:
        parent = event.parent
        if not event.units and not event.containers:
            raise Refused("aggregation.empty", "Packing needs childEPCs.", "invalid")
        above = self._ancestors(parent)
        for child in event.containers:
            if child in above:
                raise Refused(
                    "aggregation.cycle",
                    f"SSCC {child} cannot be packed into SSCC {parent}: it is {parent} or holds it.",
                    "invalid",
                )
            current = self.container_parent.get(child, "")
            if current not in ("", parent):
                raise _already_packed(f"SSCC {child}", current)
        self._require_commissioned(event.units)
        for key in event.units:
            current = self.unit_parent.get(key, "")
            if current not in ("", parent):
                raise _already_packed(_describe(key), current)
        self._require_held(event.units)
        members = self.children.setdefault(parent, set())
        for key in event.units:
            members.add("u" + key)
            self.unit_parent[key] = parent
        self.dirty_unit_parent.update(event.units)
        for child in event.containers:
            members.add("c" + child)
            self.container_parent[child] = parent
        self.dirty_container_parent.update(event.containers)
        self.dirty_children.add(parent)
        units = list(dict.fromkeys([*event.units, *(u for c in event.containers for u in self._units_inside(c))]))
        self._record(event, "packing", units, f"packed into {describe_container(parent)}", "S")

    def _unpack(self, event: CustodyEvent) -> None:
        parent = event.parent
        members = self.children.get(parent, set())
        if not members:
            raise Refused(
                "aggregation.unknown_container",
                f"SSCC {parent} holds nothing known here: there is nothing to unpack.",
            )
        named = [f"u{u}" for u in event.units] + [f"c{c}" for c in event.containers]
        for member in named:
            if member not in members:
                what = _describe(member[1:]) if member[0] == "u" else f"SSCC {member[1:]}"
                raise Refused(
                    "aggregation.not_packed", f"{what} is not packed in SSCC {parent}."
                )
        removed = named or sorted(members)
        units: list[str] = []
        for member in removed:
            members.discard(member)
            if member[0] == "u":
                self.unit_parent[member[1:]] = ""
                self.dirty_unit_parent.add(member[1:])
                units.append(member[1:])
            else:
                self.container_parent[member[1:]] = ""
                self.dirty_container_parent.add(member[1:])
                units.extend(self._units_inside(member[1:]))
        self.dirty_children.add(parent)
        self._record(event, "unpacking", units, f"unpacked from {describe_container(parent)}", "S")

    def _ship(self, event: CustodyEvent) -> None:
        units = self._expand(event)
        self._require_held(units)
        destinations = tuple(_glns(event.destinations))
        moved = Custody("T", self.actor.partner_id, event.location_gln, destinations)
        for key in units:
            self.custody[key] = moved
        self.dirty_custody.update(units)
        self._record(event, "shipping", units, "", "L", {"to": list(destinations)})

    def _receive(self, event: CustodyEvent) -> None:
        units = self._expand(event)
        mine = set(self.actor.glns)
        senders: dict[tuple[str, str], None] = {}
        for key in units:
            custody = self._holder(key)
            if custody.status != "T":
                raise Refused(
                    "custody.not_shipped",
                    f"{_describe(key)} is not in transit (it was never shipped, or was received "
                    "already): no shipping event precedes this receiving.",
                )
            if custody.destinations and not mine.intersection(custody.destinations):
                raise Refused(
                    "custody.foreign_destination",
                    f"{_describe(key)} was not shipped to one of your GLNs.",
                    "forbidden",
                )
            senders[(custody.partner_id, custody.gln)] = None
        held = Custody("H", self.actor.partner_id, event.location_gln)
        for key in units:
            self.custody[key] = held
        self.dirty_custody.update(units)
        sources = {"from": list(dict.fromkeys(g for _, g in senders)), "from_partners": list(dict.fromkeys(p for p, _ in senders))}
        self._record(event, "receiving", units, "", "L", sources)

    def _record_of(self, key: str) -> tuple[PackRecord, LastDecommission | None]:
        known = self.records.get(key)
        if known is not None:
            return known
        value = self._value(key)
        assert value is not None
        gtin, serial = split_unit(key)
        product_state, lots = self.gtin_states.get(key[:14], (PackState.ACTIVE, {}))
        record = PackRecord(
            gtin=gtin,
            serial=serial,
            lot=value.lot,
            expiry=value.expiry,
            pack_state=value.state,
            lot_state=lots.get(value.lot, PackState.ACTIVE),
            product_state=product_state,
            owner_partner_id=self.owners.get(gtin, ""),
        )
        return record, None

    def _change_state(self, event: CustodyEvent, target: PackState) -> None:
        units = self._expand(event)
        caller = replace(self.actor, location_gln=event.location_gln)
        decided = []
        for key in units:
            record, last = self._record_of(key)
            decision = decide(
                Operation.DECOMMISSION,
                record=record,
                caller=caller,
                now=self.now,
                target=target,
                last_decommission=last,
            )
            if not decision.ok:
                kind = "forbidden" if decision.code.startswith("VERINET_ROLE") else "conflict"
                raise Refused(decision.code, f"{_describe(key)}: {decision.message}", kind)
            decided.append((key, record, decision.new_pack_state))
        changed = []
        for key, record, new_state in decided:
            if new_state is None:  # a repeated scan: nothing changes
                continue
            changed.append(key)
            self.records[key] = (
                PackRecord(
                    record.gtin,
                    record.serial,
                    record.lot,
                    record.expiry,
                    new_state,
                    record.lot_state,
                    record.product_state,
                    record.owner_partner_id,
                ),
                LastDecommission(new_state, self.actor.partner_id, event.location_gln, self.now),
            )
        group = (target, event.location_gln, event.event_id or f"epcis event {event.index}")
        self.state_changes.setdefault(group, []).extend(changed)
        self.outcome.state_changes += len(changed)
        # The custodian's state change is a custody event; anyone else's an attested sighting.
        held = [k for k in units if self._holder(k).partner_id == self.actor.partner_id]
        others = [k for k in units if self._holder(k).partner_id != self.actor.partner_id]
        for keys, code in ((held, "L"), (others, "P")):
            if keys:
                self._record(event, event.biz_step, keys, f"state {target.value}", code)

    def _record(self, event: CustodyEvent, name: str, units: list[str], detail: str, code: str, extra: dict[str, Any] | None = None) -> None:
        parts = [detail, *event.biz_transactions, *event.notes]
        if event.event_id:
            parts.append(f"eventID {event.event_id}")
        text = "; ".join(p for p in parts if p)
        self.history.append(
            HistoryEntry(name, self.actor.partner_id, event.location_gln, event.event_time, text[:500], units, code, extra or {})
        )
        self.outcome.unit_events += len(units)

    def _viewers(self, event: CustodyEvent) -> set[str]:
        """Who may query the event: its capturer, the manufacturers of its units, and whoever
        holds them as it happens (before it changes custody)."""
        units = self._expand_quietly(event)
        viewers = {self.actor.partner_id}
        viewers.update(self.owners.get(key[:14], "") for key in units)
        viewers.update(self._holder(key).partner_id for key in units)
        return viewers
