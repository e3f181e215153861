"""Answers from other networks are judged against LMS 1.3 before they are relayed."""

from __future__ import annotations

import orjson
import pytest

from verinet.lookup.conformance import judge, lms_deviations

GLN = "0614141999996"


def answer(**changes: object) -> bytes:
    body: dict[str, object] = {
        "verificationTimestamp": "2026-11-25T10:00:00.000Z",
        "responderGLN": GLN,
        "data": {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"},
        "corrUUID": "c-1",
    }
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return orjson.dumps(body)


def codes(body: bytes, corr_uuid: str = "c-1", expected: str = GLN) -> list[str]:
    return [d.code for d in lms_deviations(body, corr_uuid, expected)]


def test_an_lms_answer_with_every_vocabulary_value_conforms() -> None:
    assert codes(answer()) == []
    assert codes(answer(data={"verified": True, "additionalInfo": "Recalled"})) == []
    assert codes(answer(data={"verified": False, "verificationFailureReason": "Not_for_re-distribution", "additionalInfo": "Suspect"})) == []


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (b"<html>", "body.not_json", "not JSON"),
        (b"[1]", "body.not_object", "JSON list"),
        (answer(data={"verified": "yes"}), "verified.not_boolean", "data.verified is 'yes'"),
        (answer(data=None), "data.missing", "data.verified is missing"),
        (answer(responderGLN=""), "responder_gln.invalid", "responderGLN '' is not a GLN-13"),
        (answer(responderGLN="0614141999997"), "responder_gln.invalid", "check digit"),
        (answer(responderGLN="0614141999989"), "responder_gln.mismatch", "differs from the directory's responder GLN '0614141999996'"),
        (answer(data={"verified": False, "verificationFailureReason": "GTIN_not_found"}), "failure_reason.unknown", "'GTIN_not_found' is not in LMS 1.3"),
        (answer(data={"verified": False}), "failure_reason.missing", "false without a verificationFailureReason"),
        (answer(data={"verified": True, "verificationFailureReason": "No_match_GTIN_Serial"}), "failure_reason.unexpected", "true with"),
        (answer(data={"verified": True, "additionalInfo": "recalled"}), "additional_info.unknown", "'recalled' is not in LMS 1.3"),
        (answer(corrUUID=None), "corr_uuid.not_echoed", "expected the question's 'c-1' echoed"),
        (answer(corrUUID="other"), "corr_uuid.not_echoed", "corrUUID is 'other'"),
        (answer(verificationTimestamp=None), "timestamp.missing", "verificationTimestamp"),
    ],
)
def test_each_deviation_from_lms_is_named_with_its_code(body: bytes, code: str, needle: str) -> None:
    deviations = lms_deviations(body, "c-1", GLN)
    assert [d.code for d in deviations] == [code]
    assert needle in deviations[0].message


def test_nothing_is_echoed_or_compared_when_the_question_had_no_corr_uuid_and_no_responder_is_known() -> None:
    assert codes(answer(corrUUID=None), corr_uuid="", expected="") == []
    assert codes(answer(responderGLN="0614141999989"), expected="") == []


def test_a_strict_profile_stops_a_nonconforming_answer_naming_every_deviation() -> None:
    judged = judge(answer(responderGLN="", data={"verified": False, "verificationFailureReason": "GTIN_not_found"}), "c-1", GLN, lenient=False)
    assert judged.problem is not None and not judged.fatal and judged.relayed == ()
    assert "responderGLN ''" in judged.problem and "'GTIN_not_found'" in judged.problem


def test_a_lenient_profile_relays_it_with_the_deviation_codes() -> None:
    judged = judge(answer(responderGLN="", data={"verified": False, "verificationFailureReason": "GTIN_not_found"}), "c-1", GLN, lenient=True)
    assert judged.problem is None
    assert judged.relayed == ("responder_gln.invalid", "failure_reason.unknown")


def test_even_a_lenient_profile_never_relays_a_body_without_a_verdict() -> None:
    for body in (b"<html>", answer(data={"verified": "yes"})):
        judged = judge(body, "c-1", GLN, lenient=True)
        assert judged.problem is not None and judged.fatal
