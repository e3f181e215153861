"""Where the pack store keeps a GTIN's products and packs in Redis.

Key layout (every key of a GTIN carries the hash tag ``{gtin}`` so scripts and pipelines
that touch one GTIN stay in one Redis Cluster slot):

``prod:{G}``           hash  owner, name, state (A or W), created_at, withdrawn_at
``lotstate:{G}``       hash  lot -> state code (R when the whole lot is recalled)
``pk:{G}:<bucket>``    hash  serial -> 16 x context number + state number (an integer, see below)
``ctx:{G}``            hash  context -> its number, ``ctxid:{G}`` number -> context: the
                             GTIN's interned "<expiry YYMMDD><lot>[US<line>US<minute>]"
``pr:{G}:<bucket>``    hash  serial -> recall id, for units recalled one by one
``rcrule:{G}``         hash  "<recall id>:<n>" -> a recall's filter (lots, line, window), see ``lua/pack_scope.lua``
``rcs:{G}:<recall id>`` hash  span of 16 buckets -> serials (newline-joined) the recall took when published
``loc:{G}:<bucket>``   hash  serial -> last custody event "<unix time>|<event>|<partner>|<gln>"
                             (shipping, receiving, a state change by the custodian)
``sgt:{G}:<bucket>``   hash  serial -> possession-attested sightings since that custody event,
                             newline-joined, in the same form, one per partner, at most
                             ``MAX_SIGHTINGS`` (the oldest goes first)
``hist:{G}:<serial>``  list  the pack's events (JSON), newest last, capped
``pd:{G}:<bucket>``    hash  serial -> last decommission "<state>|<unix time>|<partner>|<gln>"
``audit:{G}``          stream the tamper-evident chain of state changes of the GTIN's packs
``audithead:{G}``      string hash of the chain's last entry

Packs are spread over ``BUCKETS`` hashes per GTIN by a CRC of the serial, so each hash stays
small enough for Redis's compact listpack/ziplist encoding (see ``embedded_redis``).
"""

from __future__ import annotations

import zlib

from verinet.recall_status.key_families import bucketed, tagged

BUCKETS = 16384
BUCKET_MASK = BUCKETS - 1


# Master data attributes live in the product's hash under this prefix (``md:ndc``, ...).
MASTER_DATA_FIELD = "md:"

HISTORY_LIMIT = 200

# Keys of a GTIN (see the layout above).
product_key = tagged("prod")
lot_state_key = tagged("lotstate")
recall_rules_key = tagged("rcrule")
audit_key = tagged("audit")
audit_head_key = tagged("audithead")

# Keys of a GTIN's packs, in BUCKETS hashes by serial.
bucket_key = bucketed("pk", BUCKETS)
decommission_key = bucketed("pd", BUCKETS)
pack_recall_key = bucketed("pr", BUCKETS)
location_key = bucketed("loc", BUCKETS)
sightings_key = bucketed("sgt", BUCKETS)


def bucket_of(serial: str) -> int:
    return zlib.crc32(serial.encode()) & BUCKET_MASK


# Bucket suffixes of keys as bytes, for loops over every pack of a bulk call: Redis clients
# pass bytes on as they are, and encode every str argument again.
BUCKET_SUFFIXES = tuple(b"%04x" % bucket for bucket in range(BUCKETS))


def bucket_key_at(gtin: str, bucket: int) -> str:
    return f"pk:{{{gtin}}}:{bucket:04x}"


def recall_members_key(gtin: str, recall_id: str) -> str:
    return f"rcs:{{{gtin}}}:{recall_id}"


def history_key(gtin: str, serial: str) -> str:
    return f"hist:{{{gtin}}}:{serial}"
