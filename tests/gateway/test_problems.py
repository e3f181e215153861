"""Problem responses: the status, body and headers a client acts on."""

from __future__ import annotations

import doctest

import orjson

import verinet.gateway.problems
import verinet.gateway.routing
from verinet.errors import InvalidInput, RateLimited, TooLarge, Unavailable
from verinet.gateway.problems import lms_error, problem, problem_from_error


def test_a_503_from_any_service_tells_the_client_when_to_retry() -> None:
    for response in (problem_from_error(Unavailable("The data store is unavailable.")), lms_error(Unavailable("down"))):
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"


def test_a_retry_after_the_error_names_is_kept() -> None:
    response = problem_from_error(RateLimited("Too many requests.", retry_after=7))
    assert response.status == 429
    assert response.headers["Retry-After"] == "7"


def test_a_client_error_carries_no_retry_after_and_names_its_field() -> None:
    response = problem_from_error(InvalidInput("Failed to read serial.", code="serial.invalid", field="serial"))
    assert "Retry-After" not in response.headers
    assert response.status == 400
    assert orjson.loads(response.body)["field"] == "serial"


def test_a_too_large_error_is_a_413_problem() -> None:
    response = problem_from_error(TooLarge("The NDJSON line is longer than 1,024 bytes.", code="body.line_too_long", limit=1024, line=3))
    assert response.status == 413
    assert response.body is not None
    assert orjson.loads(response.body)["code"] == "body.line_too_long"
    assert orjson.loads(response.body)["line"] == 3


def test_a_problem_is_titled_with_the_status_phrase_and_rfc_9110_names_where_python_is_older() -> None:
    assert orjson.loads(problem(404, "route.not_found", "No such route.").body)["title"] == "Not Found"
    assert orjson.loads(problem(413, "body.too_large", "Too big.").body)["title"] == "Content Too Large"
    assert orjson.loads(problem(414, "uri.too_long", "Too long.").body)["title"] == "URI Too Long"


def test_the_examples_in_the_problems_and_routing_modules_hold() -> None:
    for module in (verinet.gateway.problems, verinet.gateway.routing):
        assert doctest.testmod(module).failed == 0, module.__name__
