"""gRPC methods of recall-status for EPCIS custody capture (mixin)."""

from __future__ import annotations


class CustodyRpcs:
    """Filled in by the EPCIS work."""
