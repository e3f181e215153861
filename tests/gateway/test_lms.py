"""LMS 1.3 verification end to end: HTTP -> gateway -> verifier -> lookup/recall-status -> Redis."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, NamedTuple

import grpc
import pytest

from tests.conftest import Client, command_calls, on_every_node, sync_redis
from tests.gateway.lms_load import (
    Question,
    answer_key,
    ask_concurrently,
    ask_one_by_one,
    batch_sizes,
)
from tests.gateway.lms_mismatches import no_match_questions
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import VerinetError
from verinet.gateway.lms_batches import STREAM_VERIFY_LMS_BATCHES, outcome
from verinet.network import with_check_digit
from verinet.rpc import error_from_rpc
from verinet.socket_calls import socket_stream_opener
from verinet.streamed_calls import StreamedCalls
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc

REDIS_BACKENDS = ("standalone", "cluster")

LOT = "A1/B2"  # a "/" must travel percent-encoded
EXPIRY = "281231"
DAY00_EXPIRY = "281100"  # stored with day 00
EXPIRED_LOT, PAST_EXPIRY = "OLD-1", "200131"
RECALLED_LOT = "RC-1"
GS1_LMS_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Hosted(NamedTuple):
    """The module's product, hosted on its network, and the wholesaler that asks about it."""

    gtin: str
    manufacturer: dict[str, Any]
    wholesaler: dict[str, Any]
    client: Client  # the wholesaler's client
    gln: str  # the wholesaler's GLN


@pytest.fixture(scope="module")
def hosted(network: Any) -> Hosted:
    packs = [
        ("SER-1", LOT, EXPIRY),
        ("SER-2", LOT, DAY00_EXPIRY),
        ("EXP-1", EXPIRED_LOT, PAST_EXPIRY),
        ("REC-1", RECALLED_LOT, EXPIRY),
        ("DEC-1", LOT, EXPIRY),
    ]
    manufacturer, mclient, gtin = network.add_product_with_packs(packs, name="Test 10 mg")
    wholesaler, wclient = network.add_partner(["wholesaler"])
    recall = mclient.post("/v1/recalls", json={"gtins": [gtin], "lots": [RECALLED_LOT], "class": "II", "reason": "Coalescing tests"})
    assert recall.status_code == 201, recall.text
    _, pharmacy = network.add_partner(["dispenser"])
    supplied = pharmacy.post("/v1/packs/decommission", json={"packs": [{"gtin": gtin, "serial": "DEC-1", "lot": LOT, "expiry": EXPIRY}], "state": "supplied"})
    assert supplied.status_code == 200 and supplied.json()["results"][0]["ok"], supplied.text
    return Hosted(gtin, manufacturer, wholesaler, wclient, wholesaler["glns"][0])


def verify_path(gtin: str, lot: str, serial: str) -> str:
    from urllib.parse import quote

    return f"/verify/gtin/{gtin}/lot/{quote(lot, safe='')}/ser/{quote(serial, safe='')}"


def lms_query(hosted: Hosted, exp: str, **extra: str) -> dict[str, str]:
    return {
        "exp": exp,
        "linkType": "verificationService",
        "context": "dscsaSaleableReturn",
        "reqGLN": hosted.gln,
        **extra,
    }


def verify(hosted: Hosted, serial: str, lot: str = LOT, exp: str = EXPIRY, **extra: str) -> Any:
    return hosted.client.get(verify_path(hosted.gtin, lot, serial), params=lms_query(hosted, exp, **extra))


def test_a_commissioned_pack_verifies_with_every_lms_field(hosted: Hosted) -> None:
    corr = str(uuid.uuid4()).upper()
    answer = verify(hosted, "SER-1", corrUUID=corr)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert list(body) == ["verificationTimestamp", "responderGLN", "data", "corrUUID"]
    assert GS1_LMS_TIMESTAMP.match(body["verificationTimestamp"])
    assert body["responderGLN"] == hosted.manufacturer["glns"][0]
    assert body["data"] == {"verified": True}
    assert body["corrUUID"] == corr
    for header in ("Content-Digest", "Signature-Input", "Signature"):
        assert header in answer.headers


def test_the_numeric_digital_link_form_gives_the_same_verdict(hosted: Hosted) -> None:
    query = lms_query(hosted, "")
    del query["exp"]
    query["17"] = EXPIRY
    answer = hosted.client.get(f"/01/{hosted.gtin}/10/A1%2FB2/21/SER-1", params=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"verified": True}


@pytest.mark.parametrize(("serial", "lot", "exp", "reason"), no_match_questions("SER-1", LOT, EXPIRY, "281130"))
def test_a_mismatch_answers_not_verified_with_its_lms_reason(
    hosted: Hosted, serial: str, lot: str, exp: str, reason: str
) -> None:
    answer = verify(hosted, serial, lot=lot, exp=exp, corrUUID="c-1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["data"] == {"verified": False, "verificationFailureReason": reason}
    assert body["corrUUID"] == "c-1"


@pytest.mark.parametrize(("serial", "exp"), [("SER-1", "281200"), ("SER-2", "281130"), ("SER-2", "281100")])
def test_expiry_day_00_matches_the_end_of_the_month(hosted: Hosted, serial: str, exp: str) -> None:
    answer = verify(hosted, serial, exp=exp)
    assert answer.json()["data"] == {"verified": True}


def test_a_gtin_without_a_route_is_404(hosted: Hosted) -> None:
    unknown = with_check_digit("0999999900001")
    answer = hosted.client.get(verify_path(unknown, LOT, "SER-1"), params=lms_query(hosted, EXPIRY))
    assert answer.status_code == 404
    assert unknown in answer.text


@pytest.mark.parametrize(
    ("gtin", "lot", "serial", "exp", "link_type", "needle"),
    [
        ("0061414100001", LOT, "S", EXPIRY, "verificationService", "14 digits"),
        ("GTIN", LOT, "S", EXPIRY, "verificationService", "14 digits"),
        ("bad-check-digit", LOT, "S", EXPIRY, "verificationService", "check digit"),
        (None, "L" * 21, "S", EXPIRY, "verificationService", "20"),
        (None, LOT, "S" * 21, EXPIRY, "verificationService", "20"),
        (None, LOT, "S N", EXPIRY, "verificationService", "' '"),
        (None, LOT, "S", "2812", "verificationService", "YYMMDD"),
        (None, LOT, "S", "281331", "verificationService", "month"),
        (None, LOT, "S", EXPIRY, "somethingElse", "linkType"),
    ],
)
def test_a_malformed_request_is_400_with_a_precise_reason(
    hosted: Hosted, gtin: str | None, lot: str, serial: str, exp: str, link_type: str, needle: str
) -> None:
    if gtin == "bad-check-digit":
        gtin = hosted.gtin[:-1] + str((int(hosted.gtin[-1]) + 1) % 10)
    path = verify_path(gtin or hosted.gtin, lot, serial)
    answer = hosted.client.get(path, params=lms_query(hosted, exp, linkType=link_type))
    assert answer.status_code == 400
    assert needle in answer.text


def test_an_empty_serial_is_400(hosted: Hosted) -> None:
    answer = hosted.client.get(
        f"/verify/gtin/{hosted.gtin}/lot/L/ser/%20", params=lms_query(hosted, EXPIRY)
    )
    assert answer.status_code == 400


def test_a_missing_token_is_401_and_an_unknown_one_too(network: Any, hosted: Hosted) -> None:
    path = verify_path(hosted.gtin, LOT, "SER-1")
    assert network.client(None).get(path, params=lms_query(hosted, EXPIRY)).status_code == 401
    assert network.client("vn_forged").get(path, params=lms_query(hosted, EXPIRY)).status_code == 401


def test_a_requestor_gln_that_is_not_the_callers_is_403(hosted: Hosted) -> None:
    answer = verify(hosted, "SER-1", reqGLN=hosted.manufacturer["glns"][0])
    assert answer.status_code == 403


def test_an_admin_token_may_not_ask_lms_questions(network: Any, hosted: Hosted) -> None:
    answer = network.admin.get(verify_path(hosted.gtin, LOT, "SER-1"), params=lms_query(hosted, EXPIRY))
    assert answer.status_code == 403


def test_check_connectivity_names_the_responder(hosted: Hosted) -> None:
    answer = hosted.client.get(
        "/checkConnectivity", params={"gtin": hosted.gtin, "reqGLN": hosted.gln}
    )
    assert answer.status_code == 200
    assert answer.json() == {"responderGLN": hosted.manufacturer["glns"][0]}
    assert "Signature" in answer.headers


def test_check_connectivity_for_an_unrouted_gtin_is_404(hosted: Hosted) -> None:
    answer = hosted.client.get(
        "/checkConnectivity", params={"gtin": with_check_digit("0999999900001"), "reqGLN": hosted.gln}
    )
    assert answer.status_code == 404


# -- coalesced questions: the same answers as alone ---------------------------------------------

#: One question per kind of answer the verifier gives for a hosted GTIN: (serial, lot, exp).
HOSTED_CASES = {
    "known": ("SER-1", LOT, EXPIRY),
    "known, expiry day 00": ("SER-2", LOT, "281130"),
    "unknown serial": ("NOPE-1", LOT, EXPIRY),
    "lot mismatch": ("SER-1", "OTHER", EXPIRY),
    "expiry mismatch": ("SER-1", LOT, "281130"),
    "lot and expiry mismatch": ("SER-1", "OTHER", "281130"),
    "expired": ("EXP-1", EXPIRED_LOT, PAST_EXPIRY),
    "recalled": ("REC-1", RECALLED_LOT, EXPIRY),
    "decommissioned": ("DEC-1", LOT, EXPIRY),
}


def mixed_questions(network: Any, hosted: Hosted) -> list[Question]:
    """Every hosted case, plus questions the verifier refuses (no route) and questions the
    gateway refuses before asking it (malformed, foreign reqGLN), each with its own corrUUID."""
    token = hosted.client.token
    questions = [
        Question(token, verify_path(hosted.gtin, lot, serial), lms_query(hosted, exp, corrUUID=f"c-{name}"))
        for name, (serial, lot, exp) in HOSTED_CASES.items()
    ]
    questions += [
        Question(token, verify_path(with_check_digit("0999999900001"), LOT, "SER-1"), lms_query(hosted, EXPIRY)),
        Question(token, verify_path(hosted.gtin, LOT, "S N"), lms_query(hosted, EXPIRY)),
        Question(token, verify_path(hosted.gtin, LOT, "SER-1"), lms_query(hosted, EXPIRY, reqGLN=hosted.manufacturer["glns"][0])),
    ]
    return questions


def test_each_hosted_case_gets_its_documented_verdict(hosted: Hosted) -> None:
    expected = {
        "expired": {"verified": True, "additionalInfo": "Expired"},
        "recalled": {"verified": True, "additionalInfo": "Recalled"},
        "decommissioned": {"verified": False, "verificationFailureReason": "Not_for_re-distribution"},
    }
    for name, data in expected.items():
        serial, lot, exp = HOSTED_CASES[name]
        answer = verify(hosted, serial, lot=lot, exp=exp)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == data, name


def test_a_question_at_low_load_is_sent_at_once_alone(network: Any, hosted: Hosted) -> None:
    before = batch_sizes(network.url)
    answer = verify(hosted, "SER-1")
    assert answer.status_code == 200 and answer.json()["data"] == {"verified": True}
    after = batch_sizes(network.url)
    assert after == (before[0] + 1, before[1] + 1), "one batch, of one question"


def test_concurrent_questions_travel_in_batches_and_get_the_answers_they_get_alone(
    network: Any, hosted: Hosted
) -> None:
    questions = mixed_questions(network, hosted)
    alone = ask_one_by_one(network.url, questions)
    assert {key[0] for key in alone} == {200, 400, 403, 404}
    before = batch_sizes(network.url)
    burst = questions * 40
    answers = ask_concurrently(network.url, burst, concurrency=48)
    after = batch_sizes(network.url)
    for n, (question, answer) in enumerate(zip(burst, answers, strict=True)):
        assert answer == alone[n % len(questions)], f"{question.path} {question.params}"
    batches, single = after[0] - before[0], after[1] - before[1]
    assert batches - single > 0, "some questions travelled together"
    assert batches < len(burst), "fewer batch calls than questions"


def verifier_stub(network: Any) -> tuple[grpc.aio.Channel, verifier_grpc.VerifierServiceStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{network.network.ports['verifier']}")
    return channel, verifier_grpc.VerifierServiceStub(channel)


def rpc_question(hosted: Hosted, gtin: str, serial: str, lot: str, exp: str, roles: tuple[str, ...] = ("wholesaler",)) -> verifier_pb.VerifyLmsRequest:
    wholesaler = hosted.wholesaler
    return verifier_pb.VerifyLmsRequest(
        caller=common_pb.Caller(partner_id=wholesaler["id"], roles=roles, glns=wholesaler["glns"], location_gln=hosted.gln),
        pack=common_pb.PackIdentifier(gtin=gtin, lot=lot, serial=serial, expiry=exp),
        req_gln=hosted.gln,
        corr_uuid=f"c-{serial}",
        context="dscsaSaleableReturn",
        query={"exp": exp, "linkType": "verificationService", "reqGLN": hosted.gln},
    )


def rpc_answer_key(answer: verifier_pb.SignedHttpResponse | VerinetError) -> tuple[Any, ...]:
    if isinstance(answer, VerinetError):
        return (type(answer), answer.as_dict())
    return ("answer", *answer_key(answer.http_status, dict(answer.headers), answer.body))


def test_the_verifier_answers_each_question_of_a_batch_or_a_streamed_batch_as_it_answers_it_alone(hosted: Hosted, network: Any) -> None:
    """Streamed on gRPC (Kubernetes) or on the Unix socket ``verinet up`` gives the gateway."""
    questions = [rpc_question(hosted, hosted.gtin, *case) for case in HOSTED_CASES.values()]
    questions.append(rpc_question(hosted, with_check_digit("0999999900001"), "SER-1", LOT, EXPIRY))  # no route
    questions.append(rpc_question(hosted, hosted.gtin, "SER-1", LOT, EXPIRY, roles=("network",)))  # hosted: answered

    async def ask() -> tuple[list[Any], list[Any], list[Any]]:
        channel, stub = verifier_stub(network)
        async with channel:
            alone: list[Any] = []
            for question in questions:
                try:
                    alone.append((await stub.VerifyLms(question, timeout=5)).response)
                except grpc.aio.AioRpcError as error:
                    alone.append(error_from_rpc(error))
            batch = await stub.VerifyLmsBatch(verifier_pb.VerifyLmsBatchRequest(requests=questions), timeout=5)
            stream = StreamedCalls(stub.StreamVerifyLmsBatches, name="test")
            streamed = await stream.call(verifier_pb.VerifyLmsBatchRequest(requests=questions), 5)
            await stream.aclose()
            on_socket = StreamedCalls(
                socket_stream_opener(
                    [network.network.call_socket("verifier")],
                    STREAM_VERIFY_LMS_BATCHES,
                    verifier_pb.VerifyLmsBatchResponse.FromString,
                ),
                name="test-socket",
            )
            socket_streamed = await on_socket.call(verifier_pb.VerifyLmsBatchRequest(requests=questions), 5)
            await on_socket.aclose()
            return alone, [outcome(result) for result in batch.results], [
                [outcome(result) for result in answer.results] for answer in (streamed, socket_streamed)
            ]

    alone, batched, (streamed, socket_streamed) = asyncio.run(ask())
    assert [rpc_answer_key(a) for a in batched] == [rpc_answer_key(a) for a in alone]
    assert [rpc_answer_key(a) for a in streamed] == [rpc_answer_key(a) for a in alone]
    assert [rpc_answer_key(a) for a in socket_streamed] == [rpc_answer_key(a) for a in alone]
    assert isinstance(alone[-2], VerinetError) and alone[-2].code == "route.not_found"


def status_script_calls(network: Any) -> int:
    """Runs of the pack status script so far (it calls HMGET once; nothing else on the
    verification path does), summed over every node of a cluster."""
    return command_calls(sync_redis(network.network.redis_url), "hmget")


def pause_redis(network: Any, milliseconds: int) -> None:
    """Holds every Redis client's commands for a while (CLIENT PAUSE), on every node of a
    cluster: a Redis that is slow to answer, as under load."""
    on_every_node(sync_redis(network.network.redis_url), "CLIENT PAUSE", milliseconds, "ALL")


def test_concurrent_single_calls_to_the_verifier_share_pack_status_reads(hosted: Hosted, network: Any) -> None:
    serial, lot, exp = HOSTED_CASES["known"]
    question = rpc_question(hosted, hosted.gtin, serial, lot, exp)

    async def ask(n: int) -> list[verifier_pb.VerifyLmsResponse]:
        channel, stub = verifier_stub(network)
        async with channel:
            await stub.VerifyLms(question, timeout=5)  # the route is cached from here on
            # While Redis holds the first reads, the other questions arrive and must queue
            # for a shared read, whatever the scheduler does with their arrival times.
            pause_redis(network, 300)  # well inside the services' 0.8 s internal deadline
            return list(await asyncio.gather(*(stub.VerifyLms(question, timeout=10) for _ in range(n))))

    before = status_script_calls(network)
    answers = asyncio.run(ask(64))
    reads = status_script_calls(network) - before
    assert all(b'"data":{"verified":true}' in a.response.body for a in answers)
    assert reads <= 16, f"64 concurrent questions while Redis was slow and one question before them took {reads} status reads, expected them shared"
