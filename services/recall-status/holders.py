"""Who holds a unit for a recall: the rule of README "Custody, sightings and visibility".

1. The **custodian** comes first: the partner of the unit's last custody event (EPCIS
   shipping or receiving, or a state change the custodian made). A unit without a custody
   event is still with its manufacturer: "not yet shipped", and no recall task.
2. A **possession-attested sighting** recorded after that custody event adds its partner as
   a holder (each partner once, its latest sighting).
3. A bare sighting (no attestation) and a failed check (an attempt) add none: they are never
   stored where this rule reads.

>>> from verinet.recall_status.pack_values import Location, Whereabouts
>>> shipped = Location(100.0, "receiving", "wholesaler", "0614141000012")
>>> seen = Location(200.0, "verification", "pharmacy", "0614141000029")
>>> [h.partner_id for h in holders_of(Whereabouts(shipped, (seen,)))]
['wholesaler', 'pharmacy']
>>> stale = Location(50.0, "verification", "pharmacy", "0614141000029")
>>> [h.partner_id for h in holders_of(Whereabouts(shipped, (stale,)))]
['wholesaler']
>>> holders_of(Whereabouts())
[]
"""

from __future__ import annotations

from dataclasses import dataclass

from verinet.recall_status.pack_values import Whereabouts

__all__ = ["Holding", "holders_of"]


@dataclass(frozen=True, slots=True)
class Holding:
    """One holder of a unit: the partner, where and when it last had it, by which event."""

    partner_id: str
    gln: str
    at: float
    event: str
    custodian: bool


def holders_of(where: Whereabouts) -> list[Holding]:
    """The holders of a unit, custodian first, then attested sightings newest first."""
    found: list[Holding] = []
    since = 0.0
    if where.custody is not None and where.custody.partner_id:
        custody = where.custody
        found.append(Holding(custody.partner_id, custody.gln, custody.at, custody.event, True))
        since = custody.at
    named = {h.partner_id for h in found}
    for sighting in sorted(where.sightings, key=lambda s: s.at, reverse=True):
        if sighting.at < since or not sighting.partner_id or sighting.partner_id in named:
            continue
        named.add(sighting.partner_id)
        found.append(Holding(sighting.partner_id, sighting.gln, sighting.at, sighting.event, False))
    return found
