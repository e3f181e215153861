"""What a partner may see of a pack's history (README "Custody, sightings and visibility").

The product's manufacturer and admins see every entry. Any other partner sees only the
entries it took part in, and nothing in them that names another partner:

- its own checks and operations (its own GLNs stay; the senders of what it received, and
  destinations that are not its own GLNs, are removed);
- shipments to it: that a shipment to one of its GLNs happened, and when, without the shipper;
- receipts of its shipments: that they were received, and when, without the receiver.

A partner whose only entries are failed checks (attempts) sees nothing: a wrong guess must
not reveal the lot and expiry it failed to match.

>>> mine = {"event": "receiving", "partner": "w", "gln": "1", "at": "t", "detail": "",
...         "from": ["9"], "from_partners": ["m"]}
>>> history_for([mine], "w", ("1",))
[{'event': 'receiving', 'partner': 'w', 'gln': '1', 'at': 't', 'detail': ''}]
>>> shipped = {"event": "shipping", "partner": "m", "gln": "9", "at": "t", "detail": "PO 7",
...            "to": ["1", "2"]}
>>> history_for([shipped], "w", ("1",))
[{'event': 'shipping', 'partner': '', 'gln': '', 'at': 't', 'detail': '', 'to': ['1']}]
>>> history_for([shipped], "stranger", ("5",))
[]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

__all__ = ["history_for", "shows_pack"]

#: Entry fields that name other partners; removed from a partner's own entries.
_OTHERS = ("from", "from_partners")


def _entry_for(entry: dict[str, Any], viewer_id: str, viewer_glns: Collection[str]) -> dict[str, Any] | None:
    if entry.get("partner") == viewer_id:
        own = {k: v for k, v in entry.items() if k not in _OTHERS}
        if "to" in own:
            own["to"] = [g for g in own["to"] if g in viewer_glns]
        return own
    anonymous = {"event": entry.get("event", ""), "partner": "", "gln": "", "at": entry.get("at", ""), "detail": ""}
    if entry.get("event") == "shipping":
        to_me = [g for g in entry.get("to", ()) if g in viewer_glns]
        if to_me:
            return anonymous | {"to": to_me}
    if entry.get("event") == "receiving" and viewer_id in entry.get("from_partners", ()):
        return anonymous | {"from": [g for g in entry.get("from", ()) if g in viewer_glns]}
    return None


def history_for(entries: Sequence[dict[str, Any]], viewer_id: str, viewer_glns: Collection[str]) -> list[dict[str, Any]]:
    """The entries of a pack's history a partner other than its manufacturer may see."""
    return [seen for entry in entries if (seen := _entry_for(entry, viewer_id, viewer_glns)) is not None]


def shows_pack(visible: Sequence[dict[str, Any]]) -> bool:
    """Whether a partner's visible entries let it see the pack at all: one that is more than
    a failed check."""
    return any(not entry.get("attempt") for entry in visible)
