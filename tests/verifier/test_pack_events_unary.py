"""The verification events reach a pack's history alike when the verifier sends their batches
as unary RecordPackEvents calls (recall-status on another machine: no call sockets) as when
it sends them on recall-status's call socket (``verinet up``, tests/verifier/test_pack_events.py)."""

from __future__ import annotations

from tests.verifier.test_pack_events import (
    test_every_lms_verification_is_recorded_where_the_pack_was_seen_within_the_event_delay as test_every_lms_verification_is_recorded_by_unary_calls_too,
)

#: No sockets to recall-status: status reads on a gRPC stream, event batches as unary calls.
NETWORK_ENV = {"RECALL_STATUS_CALL_SOCKETS": ""}

__all__ = ["test_every_lms_verification_is_recorded_by_unary_calls_too"]
