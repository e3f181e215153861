"""Call streams on a Unix socket answer as they do on gRPC: each call its own answer or its own
error, within its own deadline, through drains and a crashed server, from the socket's own
user only.

A real ``SocketCallServer`` on a socket in a temporary directory serves the test backend of
tests/shared/test_streamed_calls.py (its handler reads each pack's serial as an instruction)."""

from __future__ import annotations

import asyncio
import itertools
import os
import stat
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop

from tests.shared.test_streamed_calls import Backend, ask, drain_with_a_call_in_flight, lots, soon
from verinet.errors import NotFound, Unavailable, UpstreamTimeout, VerinetError
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.socket_calls import SocketCallServer, SocketMethod, socket_list, socket_stream_opener
from verinet.streamed_calls import StreamedCalls

METHOD = "/test.Calls/Stream"
RUNS = itertools.count()

Scenario = Callable[[Backend, StreamedCalls[Any, Any], SocketCallServer], Awaitable[Any]]


def socket_server(backend: Backend, path: Path) -> SocketCallServer:
    async def serve(context: Any) -> None:
        await backend.serve(None, context)

    return SocketCallServer(path, {METHOD: SocketMethod(rs_pb.GetPackStatusRequest.FromString, serve)})


def run(scenario: Scenario, path: Path, **options: Any) -> Any:
    async def main() -> Any:
        backend = Backend()
        server = socket_server(backend, path)
        await server.start()
        calls: StreamedCalls[Any, Any] = StreamedCalls(
            socket_stream_opener([str(path)], METHOD, rs_pb.GetPackStatusResponse.FromString),
            name=f"test-socket-{next(RUNS)}",
            **options,
        )
        try:
            return await scenario(backend, calls, server)
        finally:
            await calls.aclose()
            await server.close(0)

    return asyncio.run(main())


def opened(calls: StreamedCalls[Any, Any]) -> float:
    return calls._opened._value.get()  # type: ignore[attr-defined]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "calls.sock"


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def event_loop_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test on the standard loop and on uvloop, which ``verinet up`` runs (its transports
    are not subclasses of asyncio's)."""
    if request.param == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        yield request.param
    finally:
        asyncio.set_event_loop_policy(None)


def test_concurrent_calls_each_get_their_own_answer_on_one_connection(path: Path) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        asked = [calls.call(ask(f"wait:{0.2 - n * 0.01:.2f}", f"n{n}"), 5) for n in range(20)]
        return [lots(a) for a in await asyncio.gather(*asked)], opened(calls)

    answers, streams = run(scenario, path)
    assert answers == [[f"n{n}"] for n in range(20)]
    assert streams == 1


def test_a_message_of_megabytes_arrives_whole_beside_small_ones(path: Path) -> None:
    """A large message reaches the other side in many pieces (the socket's buffers are far
    smaller); each is kept until the message is whole, and the small calls around it too."""
    serials = [f"s{n:07d}" for n in range(60_000)]

    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        large = calls.call(ask(*serials), 10)
        small = [calls.call(ask(f"n{n}"), 10) for n in range(5)]
        answers = await asyncio.gather(large, *small)
        return [lots(a) for a in answers]

    large, *small = run(scenario, path)
    assert large == serials
    assert small == [[f"n{n}"] for n in range(5)]


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        ("missing", NotFound("No pack 09506000134352 missing.", code="pack.not_found", field="serial")),
        ("bug", VerinetError("Internal error", code="internal")),
    ],
    ids=["verinet-error", "unexpected-error"],
)
def test_a_failed_call_raises_the_error_the_handler_raised_as_on_grpc(path: Path, serial: str, expected: VerinetError) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        with pytest.raises(VerinetError) as failed:
            await calls.call(ask(serial), 5)
        return failed.value, lots(await calls.call(ask("ok"), 5))

    error, after = run(scenario, path)
    assert type(error) is type(expected) and error.as_dict() == expected.as_dict()
    assert after == ["ok"]


def test_a_call_past_its_deadline_times_out_on_both_sides(path: Path) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        with pytest.raises(UpstreamTimeout) as late:
            await calls.call(ask("wait:5"), 0.1)
        await soon(lambda: backend.cancelled)
        return late.value, backend.cancelled, lots(await calls.call(ask("ok"), 5))

    late, cancelled, after = run(scenario, path)
    assert late.message == "Failed to get an answer from an internal service in time."
    assert cancelled == 1, "the server stopped working on the call at its deadline"
    assert after == ["ok"]


def test_calls_on_one_stream_keep_their_own_deadlines_whatever_order_they_come_in(path: Path) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        # The later deadline first: the one timer each side keeps for its calls' deadlines
        # must come earlier for the second call.
        patient = asyncio.ensure_future(calls.call(ask("wait:0.3", "patient"), 5))
        await asyncio.sleep(0.02)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        with pytest.raises(UpstreamTimeout):
            await calls.call(ask("wait:5"), 0.1)
        waited = loop.time() - sent
        await soon(lambda: backend.cancelled)
        return waited, backend.cancelled, lots(await patient)

    waited, cancelled, answered = run(scenario, path)
    assert 0.09 <= waited < 0.25, "the client stopped waiting at the call's own deadline"
    assert cancelled == 1, "the server stopped working on that call at its deadline, and only on it"
    assert answered == ["patient"]


def test_a_draining_server_answers_what_is_in_flight_and_takes_no_new_connection(path: Path) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        in_flight = await drain_with_a_call_in_flight(backend, calls)
        server.stop_accepting()
        answered = await in_flight
        await soon(lambda: backend.streams_ended)
        with pytest.raises(Unavailable) as refused:
            await calls.call(ask("after"), 5)
        return lots(answered), backend.streams_ended, refused.value

    answered, ended, refused = run(scenario, path)
    assert answered == ["in flight"], "the call in flight when the drain began was answered"
    assert ended == 1, "the stream closed once its calls were answered"
    assert refused.message == "An internal service is unavailable."


def test_a_crashed_server_fails_its_calls_as_unavailable_and_a_restarted_one_answers(path: Path) -> None:
    async def scenario(backend: Backend, calls: StreamedCalls[Any, Any], server: SocketCallServer) -> Any:
        pending = asyncio.ensure_future(calls.call(ask("wait:5"), 10))
        await asyncio.sleep(0.1)
        await server.close(0)  # the service crashes: its connections are cut
        with pytest.raises(Unavailable) as broken:
            await pending
        restarted = socket_server(backend, path)  # on the socket file the crash left behind
        await restarted.start()
        try:
            after = await calls.call(ask("back"), 5)
        finally:
            await restarted.close(0)
        return broken.value, lots(after), opened(calls)

    broken, after, streams = run(scenario, path)
    assert broken.message == "An internal service is unavailable."
    assert after == ["back"] and streams == 2


def test_a_missing_socket_is_an_unavailable_service(path: Path) -> None:
    async def main() -> VerinetError:
        calls: StreamedCalls[Any, Any] = StreamedCalls(
            socket_stream_opener([str(path)], METHOD, rs_pb.GetPackStatusResponse.FromString), name="test-socket-missing"
        )
        try:
            with pytest.raises(Unavailable) as failed:
                await calls.call(ask("ok"), 5)
            return failed.value
        finally:
            await calls.aclose()

    assert asyncio.run(main()).message == "An internal service is unavailable."


def test_only_its_owner_may_connect_to_a_call_socket(path: Path) -> None:
    async def main() -> int:
        server = socket_server(Backend(), path)
        await server.start()
        try:
            return stat.S_IMODE(os.stat(path).st_mode)
        finally:
            await server.close(0)

    assert asyncio.run(main()) == 0o600


def test_a_socket_list_setting_reads_paths_separated_by_commas() -> None:
    assert socket_list(" /a.sock, /b.sock ,") == ("/a.sock", "/b.sock")
    assert socket_list("") == ()
