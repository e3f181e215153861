"""Names and addresses of GLNs, from EPCIS Location master data, shown where the GLN is shown.

One hash per GLN, ``locmd:{<GLN>}``, with the fields of ``LocationData``. Only the partner a GLN
belongs to (or an admin) stores its name: a trading partner cannot rename another's site.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from verinet.recall_status.key_families import tagged
from verinet.store import reply_text_fields

FIELDS = ("name", "street", "city", "state", "postal_code", "country_code")


location_key = tagged("locmd")  # by GLN


@dataclass(frozen=True, slots=True)
class LocationData:
    """A GLN's name and address; empty fields are unknown."""

    gln: str
    name: str = ""
    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country_code: str = ""

    def as_dict(self) -> dict[str, str]:
        """The known fields, and ``address`` as one line (``street, city, state postal_code, CC``)."""
        known = {k: v for k, v in asdict(self).items() if v and k != "gln"}
        region = " ".join(p for p in (self.state, self.postal_code) if p)
        address = ", ".join(p for p in (self.street, self.city, region, self.country_code) if p)
        if address:
            known["address"] = address
        return known


async def store(redis: Any, locations: Sequence[LocationData]) -> int:
    """Writes the given fields of each location (empty ones keep what is stored)."""
    pipe = redis.pipeline(transaction=False)
    stored = 0
    for location in locations:
        mapping = {k: getattr(location, k) for k in FIELDS if getattr(location, k)}
        if mapping:
            pipe.hset(location_key(location.gln), mapping=mapping)
            stored += 1
    if stored:
        await pipe.execute()
    return stored


async def lookup(redis: Any, glns: Iterable[str]) -> dict[str, LocationData]:
    """The stored name and address of each GLN that has one."""
    wanted = sorted({g for g in glns if g})
    if not wanted:
        return {}
    pipe = redis.pipeline(transaction=False)
    for gln in wanted:
        pipe.hgetall(location_key(gln))
    found = {}
    for gln, raw in zip(wanted, await pipe.execute(), strict=True):
        if raw:
            fields = reply_text_fields(raw)
            found[gln] = LocationData(gln, **{k: fields.get(k, "") for k in FIELDS})
    return found
