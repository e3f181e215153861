"""The JSON pre-scan: what it refuses, where it says the fault is, and that the way a body is
cut into chunks never changes its verdict."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

import orjson
import pytest

from verinet.errors import InvalidInput, TooLarge, VerinetError
from verinet.gateway.jsonscan import BodyLimits, JsonScanner

LIMITS = BodyLimits(max_bytes=1 << 20, max_depth=8, max_line_bytes=64, max_values=50)


def scan(data: bytes, chunk: int | None = None, limits: BodyLimits = LIMITS, **options: Any) -> JsonScanner:
    scanner = JsonScanner(limits, **options)
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        scanner.feed(data[start : start + step])
    scanner.finish()
    return scanner


def refusal(data: bytes, chunk: int | None = None, **options: Any) -> VerinetError:
    with pytest.raises(VerinetError) as refused:
        scan(data, chunk, **options)
    return refused.value


def verdicts(data: bytes, **options: Any) -> set[tuple[str, object]]:
    """(code, byte offset) for every way of cutting ``data`` into equal chunks."""
    out = set()
    for chunk in range(1, len(data) + 1):
        try:
            scan(data, chunk, **options)
            out.add(("ok", None))
        except VerinetError as error:
            out.add((error.code, error.details.get("position")))
    return out


def random_value(rng: random.Random, depth: int = 0) -> Any:
    # Strings full of what a scanner could mistake for structure: quotes, backslashes,
    # brackets, line breaks (escaped by the encoder), non-ASCII and astral characters.
    alphabet = 'ab"\\[]{},:\n\u00e9\U0001f600\u001d'
    roll = rng.random()
    if depth < 6 and roll < 0.3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 6 and roll < 0.5:
        return {"".join(rng.choices(alphabet, k=rng.randint(0, 3))): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if roll < 0.85:
        return "".join(rng.choices(alphabet, k=rng.randint(0, 6)))
    return rng.choice([0, -2.5e10, True, False, None])


def test_valid_json_passes_however_it_is_cut_into_chunks() -> None:
    rng = random.Random(21)
    limits = BodyLimits(1 << 20, 64, 1 << 20, 1 << 20)
    for n in range(400):
        value = random_value(rng)
        data = json.dumps(value, ensure_ascii=n % 2 == 0).encode()
        for chunk in (1, 2, 3, 5, 7, len(data)):
            scan(data, chunk, limits=limits)


#: Faulty bodies by the code they are refused with: (body, byte offset of the fault).
FAULTS: dict[str, list[tuple[bytes, int]]] = {
    "body.too_deep": [
        (b"[" * 9 + b"]" * 9, 8),
        (b'{"a":' * 9 + b"1" + b"}" * 9, 40),
        (b'["[[[[[[[[[[", {"b": [[[[[[[[[[]]]]]]]]]]}]', 27),
    ],
    "body.surrogate": [
        (b'["a\\ud800"]', 3),
        (b'["a\\udc00"]', 3),
        (b'["\\ud83d\\u0041"]', 2),
        (b'["\\ud83d\\\\udc00"]', 2),
    ],
    "body.nul": [(b'["a\\u0000"]', 3), (b'["a\x00"]', 3)],
    "body.encoding": [
        (b'["\xff"]', 2),
        (b'["\xed\xa0\x80"]', 2),  # a surrogate encoded as UTF-8
        (b'["\xc3', 2),  # cut inside a character
        (b"\xef\xbb\xbf[]", 0),  # a byte order mark
        (b"\xff\xfe[\x00]\x00", 0),  # UTF-16
    ],
    "body.json": [
        (b'["a\nb"]', 3),
        (b'["a\\qb"]', 3),
        (b'["a\x1fb"]', 3),
        (b"[1]]", 3),
        (b'{"a": "no end', 13),
    ],
}


@pytest.mark.parametrize(
    ("body", "code", "position"),
    [(body, code, position) for code, faults in FAULTS.items() for body, position in faults],
)
def test_a_fault_is_refused_at_the_same_byte_however_the_body_is_cut(body: bytes, code: str, position: int) -> None:
    assert verdicts(body) == {(code, position)}


def test_a_surrogate_pair_and_an_escaped_backslash_before_u_pass_however_they_are_cut() -> None:
    assert verdicts(b'["\\ud83d\\ude00", "\\\\ud800", "\\\\\\ud83d\\udE00"]') == {("ok", None)}


def test_a_refusal_names_line_and_column_across_chunks() -> None:
    body = b'{\n  "packs": [\n    {"serial": "A\\udc00"}\n  ]\n}'
    for chunk in (1, 4, len(body)):
        error = refusal(body, chunk)
        assert isinstance(error, InvalidInput)
        assert (error.details["line"], error.details["column"]) == (3, 18)
        assert "line 3, column 18 (byte 32)" in error.message


def test_an_ndjson_line_longer_than_the_limit_is_a_413_naming_where_it_starts() -> None:
    body = b'{"a": 1}\n\n{"b": "' + b"x" * 80 + b'"}\n{}\n'
    for chunk in (1, 7, len(body)):
        error = refusal(body, chunk, ndjson=True)
        assert isinstance(error, TooLarge) and error.code == "body.line_too_long"
        assert (error.details["position"], error.details["line"]) == (10, 3)
    scan(body.replace(b"x" * 80, b"x" * 40), ndjson=True)  # at the limit: fine
    scan(body)  # the same text as one JSON document has no line limit


def test_values_count_for_the_whole_body_when_it_is_built_whole() -> None:
    scan(orjson.dumps(list(range(49))))
    error = refusal(orjson.dumps([{"k": str(n)} for n in range(20)]))
    assert isinstance(error, TooLarge) and error.code == "body.too_many_values"
    # NDJSON uploads keep every line: their values count together.
    lines = b"\n".join(orjson.dumps({"k": n}) for n in range(30))
    assert refusal(lines, ndjson=True).code == "body.too_many_values"


def test_values_count_per_streamed_unit_when_units_are_built_one_at_a_time() -> None:
    # An EPCIS document builds one event (depth 4) at a time: many small events pass, ...
    events = [{"type": "ObjectEvent", "epcList": ["a", "b"]}] * 500
    document = orjson.dumps({"@context": "x", "epcisBody": {"eventList": events}})
    for chunk in (3, 1000, len(document)):
        scan(document, chunk, unit_depth=4)
    # ... one event wider than the limit does not, however it is cut.
    wide = orjson.dumps({"epcisBody": {"eventList": [{"epcList": ["e"] * 60}]}})
    for chunk in (3, 1000, len(wide)):
        error = refusal(wide, chunk, unit_depth=4)
        assert error.code == "body.too_many_values" and error.message.startswith("One event holds")
    # NDJSON events: one line each.
    long_lines = BodyLimits(max_bytes=1 << 20, max_depth=8, max_line_bytes=1000, max_values=50)
    error = refusal(b'{"a": 1}\n' + orjson.dumps(["e"] * 60), ndjson=True, unit_depth=1, limits=long_lines)
    assert error.code == "body.too_many_values" and error.message.startswith("One line holds")
    scan(b"\n".join([orjson.dumps(["e"] * 40)] * 10), ndjson=True, unit_depth=1, limits=long_lines)


def test_a_body_larger_than_the_limit_is_a_413() -> None:
    limits = BodyLimits(max_bytes=1024, max_depth=8, max_line_bytes=64, max_values=1 << 20)
    error = refusal(b"[" + b"0," * 600 + b"0]", 100, limits=limits)
    assert isinstance(error, TooLarge) and error.code == "body.too_large"


def test_a_value_counts_once_however_the_body_is_cut() -> None:
    body = orjson.dumps({"scan": "\U0001f600\u001d" * 3, "n": [1, 22, 333, True, None]}, option=orjson.OPT_APPEND_NEWLINE)
    body = body.replace("\U0001f600".encode(), b"\\ud83d\\ude00").replace(b"\x1d", b"\\u001d")
    counts = {scan(body, chunk).values for chunk in range(1, len(body) + 1)}
    assert counts == {10}  # an object, two keys, a string, an array and its five members


def test_strings_that_look_like_structure_never_count_as_structure() -> None:
    # Brackets, quotes and commas inside strings: depth 1 and one value each, however cut.
    body = orjson.dumps(["[[[[[[[[[[{{{{{{{{{{", '\\"[[[[[[[[[[', ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"])
    assert verdicts(body) == {("ok", None)}


def test_a_string_or_key_longer_than_the_limit_is_a_413_at_its_opening_quote_however_cut() -> None:
    limits = BodyLimits(max_bytes=1 << 20, max_depth=8, max_line_bytes=1 << 20, max_values=1 << 20, max_string_bytes=16)
    for body, at in ((b'["short", "' + b"s" * 17 + b'"]', 10), (b'{"' + b"k" * 20 + b'": 1}', 1), (b'["' + b'\\"' * 9 + b'"]', 1)):
        assert verdicts(body, limits=limits) == {("body.string_too_long", at)}
    assert verdicts(b'["' + b"s" * 16 + b'", "' + b"t" * 16 + b'"]', limits=limits) == {("ok", None)}


@pytest.mark.parametrize("body", [b"d} ", b"]", b"{}}", b'"a"]', b"[1]]"])
def test_a_stray_closing_bracket_or_brace_is_refused_with_its_place_not_a_crash(body: bytes) -> None:
    refused = refusal(body)
    assert refused.code == "body.json" and "with nothing open" in refused.message


def test_any_bytes_at_all_are_passed_or_refused_with_a_verinet_error_however_cut() -> None:
    """Whatever a client sends, the scan answers (no other exception, so never a 500)."""
    rng = random.Random(7)
    pieces = [b"{", b"}", b"[", b"]", b'"', b"\\", b"u", b"d8", b"00", b",", b":", b"\x05", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\n", b"1", b"\x00", b"\xef\xbb\xbf", b"{where}", b"%s"]
    for _ in range(20_000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        for ndjson in (False, True):
            with contextlib.suppress(VerinetError):
                scan(data, rng.randint(1, max(len(data), 1)), ndjson=ndjson)
