"""How recall-status spells a family of Redis keys: a prefix, a hash tag, and for data spread
over many small hashes, the bucket of a member.

The tag stands in braces (``prod:{<gtin>}``, ``recall:{rc:<recall id>}``), so every key that a
script or a pipeline touches for one GTIN, one recall or one partner lands in one Redis Cluster
slot. Written once here, each family is one line in the module that lays its keys out
(``pack_keys``, ``recall_model``, ``custody_store``, ``event_store``, ``locations``, ``notifications``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable


def tagged(prefix: str, tag_prefix: str = "") -> Callable[[str], str]:
    """The keys ``<prefix>:{<tag_prefix><tag>}``, one a tag.

    >>> tagged("prod")("09506000134352")
    'prod:{09506000134352}'
    >>> tagged("recall", tag_prefix="rc:")("R-1")
    'recall:{rc:R-1}'
    """

    def key(tag: str) -> str:
        return f"{prefix}:{{{tag_prefix}{tag}}}"

    return key


def bucketed(prefix: str, buckets: int, tag_prefix: str = "") -> Callable[[str, str], str]:
    """The keys ``<prefix>:{<tag_prefix><tag>}:<bucket>``: a tag's members spread over
    ``buckets`` hashes by the CRC-32 of the member, the bucket in hex of one width, so that
    each hash stays small enough for Redis's compact encoding.

    >>> bucketed("pk", 16384)("09506000134352", "S1")
    'pk:{09506000134352}:1c52'
    >>> bucketed("rcu", 256, tag_prefix="rc:")("R-1", "09506000134352S1")
    'rcu:{rc:R-1}:ed'
    """
    width = len(f"{buckets - 1:x}")

    def key(tag: str, member: str) -> str:
        return f"{prefix}:{{{tag_prefix}{tag}}}:{zlib.crc32(member.encode()) % buckets:0{width}x}"

    return key
