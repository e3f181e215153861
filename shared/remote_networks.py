"""Rules about remote-network profiles that more than one service needs (ARCHITECTURE.md,
trust model): the bounds of the per-hop deadline. The profiles themselves live in lookup."""

from __future__ import annotations

#: The per-hop deadline of a profile that sets none: LMS round trips aim at under a second.
DEFAULT_HOP_SECONDS = 0.6
#: The longest per-hop deadline a profile may set; callers of lookup allow this much.
MAX_HOP_SECONDS = 5.0
#: The header that carries an OCI ATP presentation (a VP JWT) by default, both ways; a remote
#: profile may name another. Questions to this network carry it under this name.
ATP_HEADER = "ATP-Presentation"
