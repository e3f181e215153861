"""LMS verify questions to the verifier: concurrent ones travel together in VerifyLmsBatch.

At low load a question is sent at once, alone. Batches travel as messages on one open stream
(``verinet.streamed_calls``); with streams turned off, a question alone is a plain VerifyLms
call and a batch a VerifyLmsBatch call. Under load, questions that arrive while
``in_flight`` batches are out are sent together by the first batch slot to free up
(``verinet.coalesce``). Each question gets exactly what VerifyLms would have answered it:
the same signed response, or the same error (class, code, message, field). A question for a
GTIN routed to another network comes back ``remote`` from a batch and is then asked on its
own, so that no answer in a batch waits for a remote network.

A question is built in place as a batch of its own (``lms_question``): alone, the usual case
at low load, it travels as it was built; only questions sent together are copied into one batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import grpc

from verinet.coalesce import Coalescer
from verinet.errors import UpstreamTimeout, VerinetError
from verinet.remote_networks import MAX_HOP_SECONDS
from verinet.rpc import call, error_from_rpc
from verinet.socket_calls import socket_stream_opener
from verinet.streamed_calls import StreamedCalls, answer_error
from verinet.verifier.v1 import verifier_pb2 as verifier_pb
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc

log = logging.getLogger(__name__)

#: The LMS batches' call stream, by its gRPC method name (also on a Unix socket).
STREAM_VERIFY_LMS_BATCHES = "/verinet.verifier.v1.VerifierService/StreamVerifyLmsBatches"

Answer: TypeAlias = verifier_pb.SignedHttpResponse
#: One LMS question: a VerifyLmsBatchRequest holding just that VerifyLmsRequest (``lms_question``).
LmsQuestion: TypeAlias = verifier_pb.VerifyLmsBatchRequest


def lms_question(**fields: Any) -> LmsQuestion:
    """The question with ``fields`` (VerifyLmsRequest's), built in place in a batch of its own:
    sent alone it needs no copy (building it apart and copying it in cost ~1.6 µs a question)."""
    question = LmsQuestion()
    question.requests.add(**fields)
    return question


def batch_of(questions: Sequence[LmsQuestion]) -> verifier_pb.VerifyLmsBatchRequest:
    """Questions sent together, as one batch: each copied in, in order."""
    return verifier_pb.VerifyLmsBatchRequest(requests=[question.requests[0] for question in questions])


class _Remote:
    """A batch's answer for a question that VerifyLms must forward to another network."""


REMOTE = _Remote()


def rpc_timeout_error() -> UpstreamTimeout:
    """What a question past its deadline fails with: what a VerifyLms call past its
    deadline fails with (``verinet.rpc.error_from_status``)."""
    return UpstreamTimeout("Failed to get an answer from an internal service in time.")


class LmsVerifier:
    """Asks the verifier LMS verify questions, coalescing concurrent ones.

    ``in_flight`` 0 turns coalescing off: every question is its own VerifyLms call.
    """

    def __init__(
        self,
        verifier: verifier_grpc.VerifierServiceStub,
        rpc_timeout: float,
        *,
        in_flight: int = 2,
        max_batch: int = 64,
        streamed: bool = True,
        sockets: Sequence[str] = (),
    ) -> None:
        self.verifier = verifier
        self.rpc_timeout = rpc_timeout
        # Batches travel as messages on one open stream (False: one unary call each).
        # With ``sockets`` (the verifier's processes on this machine) that stream is a Unix
        # socket (verinet.socket_calls), else gRPC.
        open_stream: Callable[[], Any] = (
            socket_stream_opener(sockets, STREAM_VERIFY_LMS_BATCHES, verifier_pb.VerifyLmsBatchResponse.FromString)
            if sockets
            else verifier.StreamVerifyLmsBatches
        )
        self.stream: StreamedCalls[verifier_pb.VerifyLmsBatchRequest, verifier_pb.VerifyLmsBatchResponse] | None = (
            StreamedCalls(open_stream, name="StreamVerifyLmsBatches")
            if streamed and in_flight > 0
            else None
        )
        self.batches: Coalescer[LmsQuestion, Answer | _Remote] | None = None
        if in_flight > 0:
            self.batches = Coalescer(
                self._send,
                name="VerifyLmsBatch",
                timeout_error=rpc_timeout_error,
                max_in_flight=in_flight,
                max_batch=max_batch,
            )

    async def verify(self, question: LmsQuestion) -> Answer:
        """The verifier's signed answer; raises the VerinetError VerifyLms would raise."""
        if self.batches is None:
            return await self._single(question.requests[0], self.rpc_timeout + MAX_HOP_SECONDS)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rpc_timeout
        answer = await self.batches.submit(question, self.rpc_timeout)
        if isinstance(answer, _Remote):
            # Forwarded on its own, within what is left of the question's deadline.
            # Lookup holds the route's own per-hop deadline (up to MAX_HOP_SECONDS) and answers
            # 504 when it passes; this bound only catches a service that does not answer.
            remaining = deadline + MAX_HOP_SECONDS - loop.time()
            if remaining <= 0:
                raise rpc_timeout_error()
            return await self._single(question.requests[0], remaining)
        return answer

    async def _single(self, question: verifier_pb.VerifyLmsRequest, timeout: float) -> Answer:
        answer = await call(self.verifier.VerifyLms, question, timeout=timeout)
        return answer.response  # type: ignore[no-any-return]

    async def _send(self, questions: list[LmsQuestion], timeout: float) -> Sequence[Answer | _Remote | BaseException]:
        if self.stream is not None:
            try:
                answer = await self.stream.call(questions[0] if len(questions) == 1 else batch_of(questions), timeout)
            except VerinetError as error:
                return [error] * len(questions)
            return self._outcomes(answer, len(questions))
        if len(questions) == 1:  # alone: the plain call, which also forwards remote GTINs
            try:
                return [await self._single(questions[0].requests[0], timeout)]
            except VerinetError as error:
                return [error]
        try:
            answer = await self.verifier.VerifyLmsBatch(batch_of(questions), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return [error_from_rpc(error) for _ in questions]
        return self._outcomes(answer, len(questions))

    @staticmethod
    def _outcomes(answer: verifier_pb.VerifyLmsBatchResponse, asked: int) -> list[Answer | _Remote | VerinetError]:
        results = answer.results
        if len(results) != asked:
            log.error("The verifier answered %d results for %d questions", len(results), asked)
            raise VerinetError("Internal error", code="internal")
        return [outcome(result) for result in results]

    async def aclose(self) -> None:
        if self.batches is not None:
            await self.batches.aclose()
        if self.stream is not None:
            await self.stream.aclose()


def outcome(result: verifier_pb.VerifyLmsResult) -> Answer | _Remote | VerinetError:
    """One batch result as VerifyLms would have ended: its answer, or its very error."""
    kind = result.WhichOneof("outcome")
    if kind == "response":
        return result.response
    if kind == "error":
        return answer_error(result)
    if kind == "remote":
        return REMOTE
    log.error("The verifier sent a batch result without an outcome")
    return VerinetError("Internal error", code="internal")
