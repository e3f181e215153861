"""Errors stay small and sendable whatever input they echo."""

from __future__ import annotations

import doctest

import grpc
import orjson
from google.rpc import error_details_pb2

import verinet.errors
from verinet.errors import (
    MAX_MESSAGE_CHARS,
    IdentifierError,
    InvalidInput,
    NotFound,
    RateLimited,
    unexpected,
)
from verinet.rpc import ERROR_DOMAIN, error_from_status, error_status


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
    _, _, rich = error_status(InvalidInput("x" * 100_000, field="f" * 100_000, code="recall.depth"), "Test")
    assert rich is not None
    assert len("grpc-status-details-bin") + len(rich.SerializeToString()) < 8 * 1024


def test_grpcs_own_resource_exhausted_is_an_internal_error_not_a_rate_limit() -> None:
    error = error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "received metadata size exceeds hard limit", None)
    assert not isinstance(error, RateLimited)
    assert error.code == "internal"


def test_a_rate_limit_a_service_raised_stays_a_rate_limit() -> None:
    _, details, rich = error_status(RateLimited("slow down", code="rate_limited", retry_after=2), "Test")
    error = error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, details, rich)
    assert isinstance(error, RateLimited) and error.details["retry_after"] == 2


def test_an_error_travels_as_an_error_info_naming_its_code_in_the_verinet_domain() -> None:
    status, details, rich = error_status(NotFound("No recall 'R9'.", code="recall.not_found", field="id"), "Test")
    assert rich is not None
    info = error_details_pb2.ErrorInfo()
    assert rich.details[0].Unpack(info)
    assert (status, details, rich.code, rich.message) == (grpc.StatusCode.NOT_FOUND, "No recall 'R9'.", 5, details)
    assert (info.reason, info.domain, dict(info.metadata)) == ("recall.not_found", ERROR_DOMAIN, {"field": "id"})


def test_an_identifier_error_comes_back_with_its_position_as_a_number_and_its_hint() -> None:
    raised = IdentifierError("Failed to parse '0950600013435' as GTIN.", code="gtin.check_digit", ai="01", position=13, hint="retype it")
    status, details, rich = error_status(raised, "Test")
    rebuilt = error_from_status(status, details, rich)
    assert isinstance(rebuilt, IdentifierError)
    assert rebuilt.as_dict() == raised.as_dict()
    assert rebuilt.as_dict()["position"] == 13


def test_an_error_info_of_another_domain_is_not_read_as_a_verinet_code() -> None:
    _, details, rich = error_status(InvalidInput("bad", code="recall.depth"), "Test")
    assert rich is not None
    info = error_details_pb2.ErrorInfo(reason="SOMETHING", domain="example.com")
    rich.details[0].Pack(info)
    assert error_from_status(grpc.StatusCode.INVALID_ARGUMENT, details, rich).code == "invalid"


def test_a_value_that_does_not_fit_reads_failed_to_what_value_expected() -> None:
    assert doctest.testmod(verinet.errors).failed == 0
    error = unexpected("read depth", "deep", "wholesale or retail", code="recall.depth", field="depth")
    assert isinstance(error, InvalidInput)
    assert error.as_dict() == {
        "code": "recall.depth",
        "message": "Failed to read depth 'deep': expected wholesale or retail.",
        "field": "depth",
    }
