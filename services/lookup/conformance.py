"""Is another network's verification answer an LMS 1.3 answer? (ARCHITECTURE.md, trust model)

An answer relayed under this network's signature must say what LMS lets it say. Each
deviation has a stable code (listed in the ``Verinet-Remote-Conformance`` header when a lenient
profile relays the answer anyway) and a message naming the field, the value and what LMS
expects. A body that carries no boolean ``data.verified`` is no verdict at all: it is never
relayed, lenient or not (``fatal``).

>>> body = b'{"verificationTimestamp":"2026-01-01T00:00:00Z","responderGLN":"",'
>>> body += b'"data":{"verified":false,"verificationFailureReason":"GTIN_not_found"},"corrUUID":"c1"}'
>>> [d.code for d in lms_deviations(body, "c1", "")]
['responder_gln.invalid', 'failure_reason.unknown']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from verinet.errors import VerinetError
from verinet.identifiers import validate_gln
from verinet.lms_vocabulary import ADDITIONAL_INFO, FAILURE_REASONS

__all__ = ["Deviation", "Judgement", "judge", "lms_deviations"]

#: Codes of deviations that leave no verdict to relay.
FATAL_CODES = frozenset({"body.not_json", "body.not_object", "data.missing", "verified.not_boolean"})


@dataclass(frozen=True, slots=True)
class Deviation:
    """One way an answer departs from LMS 1.3."""

    code: str
    message: str

    @property
    def fatal(self) -> bool:
        return self.code in FATAL_CODES


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _sorted_vocabulary(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def lms_deviations(body: bytes, corr_uuid: str, expected_responder_gln: str) -> list[Deviation]:
    """Every deviation of a 200 verification body from LMS 1.3, in field order; empty when it
    conforms. ``corr_uuid`` is what the question carried (empty: nothing to echo);
    ``expected_responder_gln`` the directory's responder GLN (empty: not compared)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        # The body itself is not repeated: it is the remote's, and may be anything a host answers.
        return [Deviation("body.not_json", f"the body is not JSON ({len(body):,} bytes): expected an LMS object")]
    if not isinstance(doc, dict):
        return [Deviation("body.not_object", f"the body is JSON {type(doc).__name__}: expected an LMS object")]
    out: list[Deviation] = []
    if not isinstance(doc.get("verificationTimestamp"), str) or not doc["verificationTimestamp"]:
        out.append(
            Deviation(
                "timestamp.missing",
                f"verificationTimestamp is {_shown(doc.get('verificationTimestamp'))}: expected an ISO-8601 time",
            )
        )
    out.extend(_responder_deviations(doc.get("responderGLN"), expected_responder_gln))
    data = doc.get("data")
    if not isinstance(data, dict):
        out.append(Deviation("data.missing", f"data.verified is missing (data is {_shown(data)}): expected an object with 'verified'"))
    else:
        out.extend(_data_deviations(data))
    if corr_uuid and doc.get("corrUUID") != corr_uuid:
        out.append(
            Deviation(
                "corr_uuid.not_echoed",
                f"corrUUID is {_shown(doc.get('corrUUID'))}: expected the question's {corr_uuid!r} echoed",
            )
        )
    return out


def _responder_deviations(responder: Any, expected: str) -> list[Deviation]:
    if not isinstance(responder, str):
        return [Deviation("responder_gln.invalid", f"responderGLN is {_shown(responder)}: expected a GLN-13")]
    try:
        validate_gln(responder)
    except VerinetError as error:
        return [Deviation("responder_gln.invalid", f"responderGLN {responder[:40]!r} is not a GLN-13 ({error.message})")]
    if expected and responder != expected:
        return [
            Deviation(
                "responder_gln.mismatch",
                f"responderGLN {responder!r} differs from the directory's responder GLN {expected!r}",
            )
        ]
    return []


def _data_deviations(data: dict[str, Any]) -> list[Deviation]:
    verified = data.get("verified")
    if not isinstance(verified, bool):
        return [Deviation("verified.not_boolean", f"data.verified is {_shown(verified)}: expected true or false")]
    out: list[Deviation] = []
    reason = data.get("verificationFailureReason")
    if reason is not None and reason not in FAILURE_REASONS:
        out.append(_not_in_lms("failure_reason.unknown", "data.verificationFailureReason", reason, FAILURE_REASONS))
    elif not verified and reason is None:
        out.append(
            Deviation("failure_reason.missing", "data.verified is false without a verificationFailureReason")
        )
    elif verified and reason is not None:
        out.append(
            Deviation(
                "failure_reason.unexpected",
                f"data.verified is true with verificationFailureReason {reason!r}: expected none",
            )
        )
    info = data.get("additionalInfo")
    if info is not None and info not in ADDITIONAL_INFO:
        out.append(_not_in_lms("additional_info.unknown", "data.additionalInfo", info, ADDITIONAL_INFO))
    return out


def _not_in_lms(code: str, member: str, value: Any, vocabulary: frozenset[str]) -> Deviation:
    """``member`` holds ``value``, a word LMS 1.3's ``vocabulary`` for it does not have."""
    return Deviation(
        code, f"{member} {_shown(value)} is not in LMS 1.3: expected one of {_sorted_vocabulary(vocabulary)}"
    )



@dataclass(frozen=True, slots=True)
class Judgement:
    """What forwarding does with a 200 verification body."""

    #: Why it must not be relayed (every deviation named); None when it is relayed.
    problem: str | None = None
    #: The problem leaves no verdict at all (not JSON, no boolean ``verified``).
    fatal: bool = False
    #: Deviation codes a lenient profile lets through with the answer.
    relayed: tuple[str, ...] = ()


def judge(body: bytes, corr_uuid: str, expected_responder_gln: str, lenient: bool) -> Judgement:
    """Strict: any deviation stops the answer. Lenient: the answer is relayed with its
    deviation codes, unless one of them leaves no verdict."""
    deviations = lms_deviations(body, corr_uuid, expected_responder_gln)
    if not deviations:
        return Judgement()
    fatal = any(d.fatal for d in deviations)
    if lenient and not fatal:
        return Judgement(relayed=tuple(d.code for d in deviations))
    return Judgement("; ".join(d.message for d in deviations), fatal)
