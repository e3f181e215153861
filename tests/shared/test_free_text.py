"""verinet.free_text: what stored free text may hold, each refusal naming field, expected and got."""

from __future__ import annotations

import doctest

import pytest

import verinet.free_text
from verinet.errors import InvalidInput
from verinet.free_text import TEXT_LIMITS, validate_text


@pytest.mark.parametrize(
    "text",
    ["Out-of-specification dissolution", "Café Müller Apotheke", "薬局 東京", "Pharmacie\u00a0Saint-Éloi", "👩\u200d⚕️ clinic", "=1+2"],
)
def test_printable_text_in_any_script_is_stored_unchanged(text: str) -> None:
    assert validate_text(text, "name", max_length=200) == text


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("a\x00b", "U+0000 (a control character)"),
        ("tab\there", "U+0009 (a control character)"),
        ("two\nlines", "U+000A (a control character)"),
        ("cr\rhere", "U+000D (a control character)"),
        ("esc\x1b[2J", "U+001B (a control character)"),
        ("del\x7f", "U+007F (a control character)"),
        ("nel\x85", "U+0085 (a control character)"),
        ("csi\x9b", "U+009B (a control character)"),
        ("ls\u2028", "U+2028 (a line break)"),
        ("Acme\u202eamrahP", "U+202E (a bidirectional override)"),
        ("x\u2066y\u2069", "U+2066 (a bidirectional override)"),
        ("lone\ud800", "U+D800 (a lone surrogate)"),
    ],
)
def test_text_that_would_corrupt_a_screen_a_log_or_a_report_is_refused_with_what_and_where(text: str, got: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_text(text, "reason", max_length=100)
    error = caught.value
    assert (error.code, error.field, error.details["got"]) == ("text.control", "reason", got)
    assert error.details["expected"] == "text without control characters"
    assert error.details["position"] == text.index(chr(int(got[2:6], 16)))
    assert '"reason"' in error.message and got in error.message


def test_the_length_limit_counts_characters_and_says_expected_and_got() -> None:
    assert validate_text("é" * 10, "name", max_length=10) == "é" * 10
    with pytest.raises(InvalidInput) as caught:
        validate_text("é" * 11, "name", max_length=10)
    assert caught.value.code == "text.too_long"
    assert caught.value.details == {"expected": "at most 10 characters", "got": "11 characters"}


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_required_text_needs_more_than_white_space(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_text(text, "reason", max_length=10)
    assert caught.value.code == "text.empty"
    assert validate_text(text, "note", max_length=10, required=False) == text


def test_every_field_has_a_documented_limit() -> None:
    assert TEXT_LIMITS["product name"] == TEXT_LIMITS["partner name"] == 200
    assert TEXT_LIMITS["recall reason"] == 1000
    assert all(isinstance(limit, int) and limit > 0 for limit in TEXT_LIMITS.values())


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(verinet.free_text).failed == 0
