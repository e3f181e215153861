"""Errors stay small and sendable whatever input they echo."""

from __future__ import annotations

import grpc
import orjson

from verinet.errors import MAX_MESSAGE_CHARS, InvalidInput, RateLimited
from verinet.rpc import ERROR_METADATA_KEY, error_from_status, error_status


def test_a_message_echoing_a_long_value_is_cut_in_the_middle_with_an_ellipsis() -> None:
    error = InvalidInput(f"Failed to read depth {'x' * 50_000!r}: expected one of consumer, retail, wholesale.")
    assert len(error.message) == MAX_MESSAGE_CHARS
    assert error.message.startswith("Failed to read depth 'xxx")
    assert "…" in error.message
    assert error.message.endswith("expected one of consumer, retail, wholesale.")


def test_a_field_echoing_a_long_key_is_cut_too() -> None:
    assert len(InvalidInput("bad", field="k" * 10_000).field or "") <= 200


def test_a_message_with_a_lone_surrogate_can_still_be_sent_as_json() -> None:
    error = InvalidInput(f"Failed to read the lot a{chr(0xD800)}.")
    assert orjson.loads(orjson.dumps(error.as_dict()))["message"] == "Failed to read the lot a\\ud800."


def test_an_error_echoing_any_value_fits_grpc_trailing_metadata() -> None:
    # gRPC refuses trailing metadata over 16 KiB with RESOURCE_EXHAUSTED: the client saw
    # that, not the error, and the gateway answered it as a 429.
    _, _, metadata = error_status(InvalidInput("x" * 100_000, field="f" * 100_000, code="recall.depth"), "Test")
    assert len(ERROR_METADATA_KEY) + len(metadata) < 8 * 1024


def test_grpcs_own_resource_exhausted_is_an_internal_error_not_a_rate_limit() -> None:
    error = error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "received metadata size exceeds hard limit", b"")
    assert not isinstance(error, RateLimited)
    assert error.code == "internal"


def test_a_rate_limit_a_service_raised_stays_a_rate_limit() -> None:
    _, details, metadata = error_status(RateLimited("slow down", code="rate_limited", retry_after=2), "Test")
    error = error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, details, metadata)
    assert isinstance(error, RateLimited) and error.details["retry_after"] == 2
