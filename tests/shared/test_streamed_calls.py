"""Calls carried on one open stream answer as unary calls would: each its own answer or its
own error, within its own deadline, through drains, renewals and broken connections.

A real grpc.aio server on a free port serves a stream method with ``CallStreamServer``; its
handler reads each pack's serial as an instruction ("wait:0.2", "missing", "bug", or
anything else: echo)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import NotFound, Unavailable, UpstreamTimeout, VerinetError
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.streamed_calls import CallStreamServer, StreamedCalls

METHOD = "/test.Calls/Stream"
RUNS = itertools.count()


class Backend:
    """The served side: counts handler runs, cancellations and streams ended."""

    def __init__(self) -> None:
        self.streams = CallStreamServer()
        self.started = 0
        self.cancelled = 0
        self.streams_ended = 0
        self.stuck_cut = 0

    async def handle(self, request: rs_pb.GetPackStatusRequest) -> rs_pb.GetPackStatusResponse:
        self.started += 1
        answer = rs_pb.GetPackStatusResponse()
        for pack in request.packs:
            instruction = pack.serial
            if instruction.startswith("wait:"):
                try:
                    await asyncio.sleep(float(instruction.removeprefix("wait:")))
                except asyncio.CancelledError:
                    self.cancelled += 1
                    raise
            elif instruction == "hang":  # a server stuck past the call's deadline
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    try:
                        await asyncio.sleep(30)
                    except asyncio.CancelledError:
                        self.stuck_cut += 1
                        raise
            elif instruction == "missing":
                raise NotFound(f"No pack {pack.gtin} {instruction}.", code="pack.not_found", field="serial")
            elif instruction == "bug":
                raise RuntimeError("a bug")
            else:
                answer.statuses.add(found=True, lot=instruction)
        return answer

    async def serve(self, requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        try:
            await self.streams.serve(context, self.handle, rs_pb.GetPackStatusResponse, "TestStream")
        finally:
            self.streams_ended += 1


async def start(backend: Backend, port: int = 0, options: list[tuple[str, int]] | None = None) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(options=options)
    handler = grpc.stream_stream_rpc_method_handler(
        backend.serve,
        request_deserializer=rs_pb.GetPackStatusRequest.FromString,
        response_serializer=rs_pb.GetPackStatusResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Calls", {"Stream": handler}),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, bound


def ask(*serials: str) -> rs_pb.GetPackStatusRequest:
    return rs_pb.GetPackStatusRequest(packs=[common_pb.PackIdentifier(gtin="09506000134352", serial=s) for s in serials])


def lots(answer: rs_pb.GetPackStatusResponse) -> list[str]:
    return [status.lot for status in answer.statuses]


Scenario = Callable[[Backend, StreamedCalls[Any, Any], grpc.aio.Server, int], Awaitable[Any]]


def run(scenario: Scenario, server_options: list[tuple[str, int]] | None = None, **options: Any) -> Any:
    async def main() -> Any:
        backend = Backend()
        server, port = await start(backend, options=server_options)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        calls: StreamedCalls[Any, Any] = StreamedCalls(
            channel.stream_stream(
                METHOD,
                request_serializer=rs_pb.GetPackStatusRequest.SerializeToString,
                response_deserializer=rs_pb.GetPackStatusResponse.FromString,
            ),
            name=f"test-{next(RUNS)}",  # its own metric label: streams opened by this run alone
            **options,
        )
        try:
            return await scenario(backend, calls, server, port)
        finally:
            await calls.aclose()
            await channel.close()
            await server.stop(0)

    return asyncio.run(main())


async def soon(condition: Callable[[], object]) -> None:
    """Waits up to a second for ``condition`` to hold; the test then asserts what it counts."""
    for _ in range(50):
        if condition():
            return
        await asyncio.sleep(0.02)


async def drain_with_a_call_in_flight(backend: Backend, calls: StreamedCalls[Any, Any]) -> asyncio.Future[Any]:
    """After one answered call, a call that takes 0.2 s is in flight when the stream serving
    both drains and a new CallStreamServer takes over behind the same address (as a replica
    would); answers the call in flight."""
    await calls.call(ask("first"), 5)
    in_flight = asyncio.ensure_future(calls.call(ask("wait:0.2", "in flight"), 5))
    await asyncio.sleep(0.05)
    draining = backend.streams
    backend.streams = CallStreamServer()
    draining.drain()
    return in_flight


def opened(calls: StreamedCalls[Any, Any]) -> float:
    return calls._opened._value.get()  # type: ignore[attr-defined]


def test_concurrent_calls_each_get_their_own_answer_even_when_answered_out_of_order() -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        # The first call waits longest, so answers come back in reverse order.
        asked = [calls.call(ask(f"wait:{0.2 - n * 0.01:.2f}", f"n{n}"), 5) for n in range(20)]
        answers = await asyncio.gather(*asked)
        return [lots(a) for a in answers], opened(calls)

    answers, streams = run(scenario)
    assert answers == [[f"n{n}"] for n in range(20)]
    assert streams == 1, "every call travelled on one stream"


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        ("missing", NotFound("No pack 09506000134352 missing.", code="pack.not_found", field="serial")),
        ("bug", VerinetError("Internal error", code="internal")),
    ],
    ids=["verinet-error", "unexpected-error"],
)
def test_a_failed_call_raises_the_error_the_handler_raised_and_the_stream_serves_on(serial: str, expected: VerinetError) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        with pytest.raises(VerinetError) as failed:
            await calls.call(ask(serial), 5)
        after = await calls.call(ask("ok"), 5)
        return failed.value, lots(after)

    error, after = run(scenario)
    assert type(error) is type(expected)
    assert error.as_dict() == expected.as_dict()
    assert after == ["ok"]


def test_a_call_past_its_deadline_times_out_on_both_sides_and_others_are_answered() -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        with pytest.raises(UpstreamTimeout) as late:
            await calls.call(ask("wait:5"), 0.1)
        await soon(lambda: backend.cancelled)  # the server's own deadline for the call is the same 0.1 s
        after = await calls.call(ask("ok"), 5)
        return late.value, backend.cancelled, lots(after), opened(calls)

    late, cancelled, after, streams = run(scenario)
    assert late.message == "Failed to get an answer from an internal service in time."
    assert cancelled == 1, "the server stopped working on the call at its deadline"
    assert after == ["ok"] and streams == 1


def test_a_caller_that_goes_away_leaves_the_other_calls_alone() -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        leaving = asyncio.ensure_future(calls.call(ask("wait:0.2", "leaving"), 5))
        staying = asyncio.ensure_future(calls.call(ask("wait:0.2", "staying"), 5))
        await asyncio.sleep(0.05)
        leaving.cancel()
        answer = await staying
        return leaving.cancelled(), lots(answer), opened(calls)

    left, answer, streams = run(scenario)
    assert left and answer == ["staying"] and streams == 1


def test_a_draining_server_moves_new_calls_to_a_new_stream_and_loses_none() -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        in_flight = await drain_with_a_call_in_flight(backend, calls)
        # Sent before this client can have read the server's notice: refused unrun by the
        # draining server, or sent on a new stream; answered either way.
        at_once = await calls.call(ask("at once"), 5)
        answered = await in_flight
        await soon(lambda: backend.streams_ended)
        return lots(at_once), lots(answered), backend.streams_ended, opened(calls)

    at_once, answered, ended, streams = run(scenario)
    assert at_once == ["at once"]
    assert answered == ["in flight"], "the call in flight when the drain began was answered"
    assert ended == 1, "the old stream closed once its calls were answered"
    assert streams == 2


def test_a_stream_is_renewed_after_its_time_and_the_old_one_closes_once_answered() -> None:
    now = [0.0]

    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        slow = asyncio.ensure_future(calls.call(ask("wait:0.2", "slow"), 5))
        await asyncio.sleep(0.05)
        now[0] = 61.0
        quick = await calls.call(ask("quick"), 5)
        ended_before_slow = backend.streams_ended
        slow_answer = await slow
        await soon(lambda: backend.streams_ended)
        return lots(quick), lots(slow_answer), ended_before_slow, backend.streams_ended, opened(calls)

    quick, slow, ended_before, ended_after, streams = run(scenario, stream_seconds=60.0, clock=lambda: now[0])
    assert quick == ["quick"] and slow == ["slow"]
    assert streams == 2
    assert ended_before == 0 and ended_after == 1, "the old stream ended after its last answer"


def test_a_broken_stream_fails_its_calls_as_unavailable_and_the_next_call_reconnects() -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: grpc.aio.Server, port: int) -> Any:
        pending = asyncio.ensure_future(calls.call(ask("wait:5"), 10))
        await asyncio.sleep(0.1)
        await server.stop(0)  # the service crashes
        with pytest.raises(Unavailable) as broken:
            await pending
        restarted, _ = await start(backend, port)
        try:
            after = await calls.call(ask("back"), 5)
        finally:
            await restarted.stop(0)
        return broken.value, lots(after), opened(calls)

    broken, after, streams = run(scenario)
    assert broken.message == "An internal service is unavailable."
    assert after == ["back"] and streams == 2


def test_an_old_stream_a_stuck_server_never_closes_is_cut_a_renewal_period_later() -> None:
    now = [0.0]

    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        with pytest.raises(UpstreamTimeout):
            await calls.call(ask("hang"), 0.1)
        now[0] = 61.0  # renewed: the old stream is half-closed, but its server never ends it
        await calls.call(ask("one"), 5)
        await asyncio.sleep(0.1)
        still_open = backend.streams_ended
        now[0] = 122.0  # a whole renewal period later
        await calls.call(ask("two"), 5)
        await soon(lambda: backend.stuck_cut)
        return still_open, backend.stuck_cut, opened(calls)

    still_open, cut, streams = run(scenario, stream_seconds=60.0, clock=lambda: now[0])
    assert still_open == 0, "a renewal period after its last call, the stuck stream was still open"
    assert cut == 1, "two renewal periods after, it was cut (its stuck call cancelled)"
    assert streams == 3


def test_calls_keep_being_answered_while_the_server_ages_its_connections_out() -> None:
    # A server that cuts aged connections after a short grace; the client renews its streams
    # well within it, as it does in production (STREAM_RENEWAL_SECONDS).
    age, grace = 1.0, 1.5
    stream_seconds = 0.5
    ageing = [("grpc.max_connection_age_ms", int(age * 1000)), ("grpc.max_connection_age_grace_ms", int(grace * 1000))]

    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: Any, port: int) -> Any:
        failures: list[str] = []
        answered = 0

        async def caller(n: int) -> None:
            nonlocal answered
            loop = asyncio.get_running_loop()
            until = loop.time() + 6 * age
            while loop.time() < until:
                try:
                    answer = await calls.call(ask("wait:0.05", f"c{n}"), 2)
                except VerinetError as error:
                    failures.append(error.message)
                    continue
                assert lots(answer) == [f"c{n}"]
                answered += 1

        await asyncio.gather(*(caller(n) for n in range(8)))
        return failures, answered, opened(calls)

    failures, answered, streams = run(scenario, server_options=ageing, stream_seconds=stream_seconds)
    assert failures == [], f"{len(failures)} calls failed as connections aged out"
    assert answered > 100
    assert streams >= 6 * age / stream_seconds - 1, "streams were renewed all along"
