"""A batch item's error is the very error a VerifyLms call ends with: same class, code,
message, field and details, so the gateway answers it with the same status and text.

A real gRPC server on a free port whose VerifyLms raises the error (through
``translate_errors``, as the verifier does) and whose VerifyLmsBatch carries it as an item
(``set_item_error``, as the verifier does); the gateway side rebuilds both."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from verinet.errors import (
    BadUpstream,
    Forbidden,
    IdentifierError,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
    UpstreamTimeout,
    VerinetError,
)
from verinet.gateway.lms_batches import REMOTE, LmsVerifier, batch_of, lms_question, outcome
from verinet.gateway.problems import lms_error
from verinet.rpc import call, translate_errors
from verinet.streamed_calls import CallStreamServer
from verinet.verifier.servicer import set_item_error
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc

ERRORS: list[Exception] = [
    InvalidInput("Failed to read lot 'x': expected at most 20 characters, got 21.", code="lot.length", field="lot"),
    IdentifierError("Failed to parse '123' as GTIN: expected 14 digits.", code="gtin.length", field="gtin", ai="01", position=3, hint="rescan"),
    NotFound("No route for GTIN 09999999000016.", code="route.not_found", field="gtin"),
    NotFound("GTIN 09999999000016 is not hosted by this network.", code="route.not_hosted", field="gtin"),
    Forbidden("The remote network refused the credential.", code="upstream.forbidden"),
    RateLimited("Slow down.", code="rate_limited", retry_after=3),
    Unavailable("Remote network https://b.example is unreachable.", code="upstream.unreachable"),
    UpstreamTimeout("Remote network https://b.example did not answer in time.", code="upstream.timeout"),
    BadUpstream("Remote network answered with something that is not an LMS answer.", code="upstream.bad_response"),
    RedisConnectionError("connection refused"),
    RuntimeError("a bug"),
]


class Raising(verifier_grpc.VerifierServiceServicer):
    def __init__(self) -> None:
        self.error: Exception = RuntimeError("unset")
        self.batches: list[int] = []
        self.asked: list[list[str]] = []
        self.singles = 0
        self.streams = CallStreamServer()

    @translate_errors
    async def VerifyLms(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.singles += 1
        raise self.error

    @translate_errors
    async def VerifyLmsBatch(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await self.answer_batch(request)

    async def StreamVerifyLmsBatches(self, requests: Any, context: grpc.aio.ServicerContext) -> None:
        await self.streams.serve(context, self.answer_batch, verifier_pb.VerifyLmsBatchResponse, "StreamVerifyLmsBatches")

    async def answer_batch(self, request: Any) -> Any:
        self.batches.append(len(request.requests))
        self.asked.append([question.corr_uuid for question in request.requests])
        answer = verifier_pb.VerifyLmsBatchResponse()
        for _ in request.requests:
            set_item_error(answer.results.add(), self.error)
        if len(answer.results) > 1:
            answer.results[-1].remote = True
        return answer


def shape(error: VerinetError) -> tuple[Any, ...]:
    answer = lms_error(error)
    return type(error), error.as_dict(), answer.status, answer.text, answer.headers.get("Retry-After")


async def serve() -> tuple[grpc.aio.Server, Raising, int]:
    servicer = Raising()
    server = grpc.aio.server()
    verifier_grpc.add_VerifierServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, servicer, port


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: getattr(e, "code", type(e).__name__))
def test_a_batch_item_error_is_rebuilt_as_the_error_of_a_single_call(error: Exception) -> None:
    async def scenario() -> tuple[VerinetError, VerinetError | Any]:
        server, servicer, port = await serve()
        servicer.error = error
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = verifier_grpc.VerifierServiceStub(channel)
                try:
                    await call(stub.VerifyLms, verifier_pb.VerifyLmsRequest(), timeout=5)
                except VerinetError as single:
                    alone = single
                batch = await stub.VerifyLmsBatch(verifier_pb.VerifyLmsBatchRequest(requests=[verifier_pb.VerifyLmsRequest()]), timeout=5)
                return alone, outcome(batch.results[0])
        finally:
            await server.stop(0)

    alone, batched = asyncio.run(scenario())
    assert isinstance(batched, VerinetError)
    assert shape(batched) == shape(alone)


@pytest.mark.parametrize(
    ("streamed", "expected_batches", "expected_singles"),
    [
        # Unary calls: the first question goes alone as VerifyLms, the next three together.
        (False, [3], 2),
        # Streamed: the first question is a batch of one on the stream, then the three.
        (True, [1, 3], 1),
    ],
    ids=["unary", "streamed"],
)
def test_the_gateway_asks_a_remote_question_of_a_batch_again_on_its_own(
    streamed: bool, expected_batches: list[int], expected_singles: int
) -> None:
    async def scenario() -> tuple[list[Any], list[int], int]:
        server, servicer, port = await serve()
        servicer.error = NotFound("No route.", code="route.not_found", field="gtin")
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                lms = LmsVerifier(verifier_grpc.VerifierServiceStub(channel), 5.0, in_flight=1, streamed=streamed)
                questions = [lms.verify(lms_question(corr_uuid=str(n))) for n in range(4)]
                outcomes = await asyncio.gather(*questions, return_exceptions=True)
                await lms.aclose()
                return outcomes, servicer.batches, servicer.singles
        finally:
            await server.stop(0)

    outcomes, batches, singles = asyncio.run(scenario())
    assert batches == expected_batches
    assert singles == expected_singles, "the remote question of the batch is asked again, alone"
    assert all(isinstance(o, NotFound) and o.code == "route.not_found" for o in outcomes)


def test_an_empty_or_remote_outcome_reads_as_what_it_is() -> None:
    assert outcome(verifier_pb.VerifyLmsResult(remote=True)) is REMOTE
    empty = outcome(verifier_pb.VerifyLmsResult())
    assert isinstance(empty, VerinetError) and empty.code == "internal" and empty.message == "Internal error"


def test_a_question_is_a_batch_of_its_own_and_questions_sent_together_keep_their_order() -> None:
    question = lms_question(corr_uuid="a", req_gln="0614141000012", query={"exp": "261231"})
    assert question == verifier_pb.VerifyLmsBatchRequest(
        requests=[verifier_pb.VerifyLmsRequest(corr_uuid="a", req_gln="0614141000012", query={"exp": "261231"})]
    )
    together = batch_of([question, lms_question(corr_uuid="b"), lms_question(corr_uuid="c")])
    assert [asked.corr_uuid for asked in together.requests] == ["a", "b", "c"]
    assert together.requests[0] == question.requests[0]
    assert together.call_id == 0 and together.timeout_seconds == 0


@pytest.mark.parametrize("streamed", [False, True], ids=["unary", "streamed"])
def test_each_question_reaches_the_verifier_once_in_the_order_it_was_asked(streamed: bool) -> None:
    async def scenario() -> list[list[str]]:
        server, servicer, port = await serve()
        servicer.error = NotFound("No route.", code="route.not_found", field="gtin")
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                lms = LmsVerifier(verifier_grpc.VerifierServiceStub(channel), 5.0, in_flight=1, streamed=streamed)
                await asyncio.gather(*(lms.verify(lms_question(corr_uuid=str(n))) for n in range(4)), return_exceptions=True)
                await lms.aclose()
                return servicer.asked
        finally:
            await server.stop(0)

    # The first goes alone (a batch of one on the stream, or a VerifyLms call), the next three together.
    assert asyncio.run(scenario()) == ([["1", "2", "3"]] if not streamed else [["0"], ["1", "2", "3"]])


class Hanging(Raising):
    """A verifier that takes every question and never answers it."""

    async def answer_batch(self, request: Any) -> Any:
        await asyncio.Event().wait()

    @translate_errors
    async def VerifyLms(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await asyncio.Event().wait()


@pytest.mark.parametrize("streamed", [False, True], ids=["unary", "streamed"])
def test_a_question_the_verifier_never_answers_fails_at_its_deadline_with_the_timeout_error(streamed: bool) -> None:
    async def scenario() -> tuple[BaseException | None, float]:
        servicer = Hanging()
        server = grpc.aio.server()
        verifier_grpc.add_VerifierServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                lms = LmsVerifier(verifier_grpc.VerifierServiceStub(channel), 0.3, in_flight=1, streamed=streamed)
                started = asyncio.get_running_loop().time()
                try:
                    await asyncio.wait_for(lms.verify(lms_question(corr_uuid="1")), 5)
                    failed = None
                except Exception as error:  # noqa: BLE001 - the assertion below tells which
                    failed = error
                elapsed = asyncio.get_running_loop().time() - started
                await lms.aclose()
                return failed, elapsed
        finally:
            await server.stop(0)

    failed, elapsed = asyncio.run(scenario())
    assert isinstance(failed, UpstreamTimeout), failed
    assert str(failed) == "Failed to get an answer from an internal service in time."
    assert 0.25 <= elapsed < 2.0
