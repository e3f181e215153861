"""Calls carried as messages on one long-lived bidirectional gRPC stream.

A grpc.aio unary call pays for a call object, HEADERS and trailers and several wake-ups of
gRPC's poller thread on each side; one message on a stream that is already open costs a
fraction of that (bench/RESULTS.md, "streamed calls"). The hot path between services (the
gateway's coalesced LMS questions to the verifier, the verifier's status reads from
recall-status) therefore sends each call as one request message on a stream and matches the
answer by ``call_id``. The methods stay plain request/response pairs: the same messages as
the unary RPCs, plus ``call_id`` and ``timeout_seconds`` on the request and ``call_id`` and
``error`` on the answer.

Every call keeps its own deadline: the client stops waiting at it, and the server, which
receives the seconds left, gives up at it too. An error travels in the answer as a unary
call would carry it (status, details and the error's JSON), so the caller rebuilds the very
same ``VerinetError``.

Streams are renewed every ``stream_seconds`` (``verinet.rpc.STREAM_RENEWAL_SECONDS``), so
that calls spread over backends as unary calls do under round robin, and so that a stream
leaves a connection the server has aged out (it lets what runs on an aged connection finish
only for a grace period, then cuts it with every call still on it). A
server that drains says so on every open stream (a message with ``call_id`` 0); its clients
then open a new stream for new calls and close the old one once its calls are answered, so
a drain loses nothing and waits for no idle stream. A call that reaches a draining server
anyway is answered ``rpc.draining`` without being run, and is sent once more on a new stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import grpc
from google.rpc import status_pb2
from prometheus_client import Counter

from verinet.errors import Unavailable, UpstreamTimeout, VerinetError
from verinet.rpc import (
    RPC_SECONDS,
    STATUS_BY_NUMBER,
    STREAM_RENEWAL_SECONDS,
    error_from_status,
    error_status,
)
from verinet.task_deadline import Deadlines, TaskDeadlines

log = logging.getLogger(__name__)

#: The error code of a call that reached a server after it began to drain (it was not run).
DRAINING_CODE = "rpc.draining"
#: How long one stream carries new calls before a fresh one takes over.
STREAM_SECONDS = STREAM_RENEWAL_SECONDS

STREAMS_OPENED = Counter(
    "verinet_streamed_call_streams_opened_total", "Call streams opened, by method", ["method"]
)


class _Error(Protocol):
    status_code: int
    details: str

    @property
    def status(self) -> status_pb2.Status: ...

    def HasField(self, name: Any, /) -> bool: ...


class CallContext(Protocol):
    """Where a server reads a stream's calls and writes their answers: a grpc.aio servicer
    context. A Unix socket's (``verinet.socket_calls``) pushes each call instead, through
    ``receive(on_request, on_end)``, and ``serve`` uses that when the context has it."""

    async def read(self) -> Any: ...

    async def write(self, message: Any, /) -> None: ...


class CallRequest(Protocol):
    call_id: int
    timeout_seconds: float

    def CopyFrom(self, other: Any, /) -> None: ...


class CarriesError(Protocol):
    """A message that carries a call's outcome, its error among them."""

    @property
    def error(self) -> _Error: ...

    def HasField(self, name: Any, /) -> bool: ...


class CallAnswer(CarriesError, Protocol):
    call_id: int


Request = TypeVar("Request", bound=CallRequest)
Answer = TypeVar("Answer", bound=CallAnswer)


def upstream_timeout() -> UpstreamTimeout:
    """What a call past its deadline fails with: what a unary call past its deadline fails
    with (``verinet.rpc.error_from_status``)."""
    return UpstreamTimeout("Failed to get an answer from an internal service in time.")


class _Unanswered(Exception):
    """The stream ended cleanly before this call was read by the server: safe to resend."""


class _Expired(Exception):
    """The call's deadline passed before its answer came."""


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(_Expired())


class _Stream(Generic[Request, Answer]):
    """One open stream: a writer task sends queued requests (a write cancelled midway would
    cancel the whole stream, so callers never write themselves), a reader task hands each
    answer to the future waiting for its ``call_id``."""

    def __init__(self, call: Any, expires: float) -> None:
        self.call = call
        self.expires = expires
        # By when every call sent on it is answered or past its deadline, at the latest.
        self.settled_by = expires
        self.pending: dict[int, asyncio.Future[Answer]] = {}
        self.closing = False
        self.ended = False
        self._outbox: asyncio.Queue[Request | None] = asyncio.Queue()
        self._write_now: Callable[[Request], bool] | None = getattr(call, "write_nowait", None)
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_loop())
        self._reader: asyncio.Task[None] | None = None
        receive = getattr(call, "receive", None)
        if receive is not None:
            # A transport that hands each answer on as it arrives (a Unix socket's): the
            # caller's future is resolved at once, with no reader task woken in between.
            receive(self._take_answer, self._input_ended)
        else:
            self._reader = loop.create_task(self._read_loop())

    def send(self, call_id: int, request: Request) -> asyncio.Future[Answer]:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        # A transport that writes without waiting (a Unix socket's) takes it at once: no
        # hand-off to the writer task, so no cancelled write can cut the stream either.
        if not (self._outbox.empty() and self._write_now is not None and self._write_now(request)):
            self._outbox.put_nowait(request)
        return future

    def forget(self, call_id: int) -> None:
        """The caller stopped waiting for ``call_id`` (answered, timed out or cancelled)."""
        self.pending.pop(call_id, None)
        if self.closing and not self.pending:
            self._finish_writing()

    def close(self) -> None:
        """Takes no new calls; half-closes once the calls on it are answered."""
        if not self.closing:
            self.closing = True
            if not self.pending:
                self._finish_writing()

    def _finish_writing(self) -> None:
        if not self.ended:
            self._outbox.put_nowait(None)

    async def _write_loop(self) -> None:
        try:
            while True:
                request = await self._outbox.get()
                if request is None:
                    await self.call.done_writing()
                    return
                await self.call.write(request)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError, OSError):
            return  # the stream ended; the reader fails what is pending

    def _take_answer(self, answer: Answer) -> None:
        if answer.call_id == 0:  # the server drains: new calls go elsewhere
            self.close()
            return
        future = self.pending.pop(answer.call_id, None)
        if future is not None and not future.done():
            future.set_result(answer)

    async def _read_loop(self) -> None:
        failure: BaseException
        try:
            while (answer := await self.call.read()) is not grpc.aio.EOF:
                self._take_answer(answer)
            failure = _Unanswered()
        except grpc.aio.AioRpcError as error:
            # The stream itself broke (server gone, connection lost): every call on it failed
            # in transport, whatever it was, as a unary call to a vanished server fails.
            log.info("A call stream ended: %s %s", error.code().name, error.details())
            failure = Unavailable("An internal service is unavailable.")
        except OSError as error:  # a transport of sockets that is read, not pushed
            log.info("A call stream ended: %s", error)
            failure = Unavailable("An internal service is unavailable.")
        self._end(failure)

    def _input_ended(self, error: BaseException | None) -> None:
        """The end of a pushed stream (``receive``): None after the server answered and closed."""
        if error is None:
            self._end(_Unanswered())
            return
        # The same on a Unix socket (verinet.socket_calls) as a broken gRPC stream.
        log.info("A call stream ended: %s", error)
        self._end(Unavailable("An internal service is unavailable."))

    def _end(self, failure: BaseException) -> None:
        self.ended = True
        for future in self.pending.values():
            if not future.done():
                future.set_exception(failure)
        self.pending.clear()
        self._writer.cancel()

    async def aclose(self) -> None:
        self.close()
        tasks = [self._writer] if self._reader is None else [self._reader, self._writer]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.call.cancel()


class StreamedCalls(Generic[Request, Answer]):
    """The client side: ``await calls.call(request, timeout)`` answers as a unary call would.

    ``open_stream`` opens the bidirectional stream (a stub's stream-stream method, called
    with no arguments). ``name`` labels the metrics.
    """

    def __init__(
        self,
        open_stream: Callable[[], Any],
        *,
        name: str,
        stream_seconds: float = STREAM_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open_stream = open_stream
        self._stream_seconds = stream_seconds
        self._clock = clock
        self._stream: _Stream[Request, Answer] | None = None
        self._old: set[_Stream[Request, Answer]] = set()
        self._cutting: set[asyncio.Task[None]] = set()
        self._next_id = 0
        self._opened = STREAMS_OPENED.labels(name)
        self._expiries: Deadlines[asyncio.Future[Any]] | None = None

    def _renewed(self, now: float) -> _Stream[Request, Answer]:
        """A new stream in place of the current one, which ended, closes or is due for renewal."""
        stream = self._stream
        if stream is not None:
            stream.close()
            if not stream.ended:
                self._old.add(stream)
        for old in [old for old in self._old if old.ended or now > old.settled_by + self._stream_seconds]:
            # Ended, or a server that has not closed it a whole renewal period after its
            # last call was due (every call on it has long passed its deadline): cut it.
            self._old.discard(old)
            if not old.ended:
                task = asyncio.get_running_loop().create_task(old.aclose())
                self._cutting.add(task)
                task.add_done_callback(self._cutting.discard)
        stream = self._stream = _Stream(self._open_stream(), now + self._stream_seconds)
        self._opened.inc()
        return stream

    async def call(self, request: Request, timeout: float) -> Answer:
        """The answer to ``request``; raises the VerinetError the server's handler raised,
        ``UpstreamTimeout`` past ``timeout`` seconds, ``Unavailable`` when the stream broke."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        expiries = self._expiries
        if expiries is None or expiries.loop is not loop:
            expiries = self._expiries = Deadlines(loop, _expire)
        for attempt in range(2):
            if attempt:  # the first copy may still sit in an old stream's queue
                fresh = type(request)()
                fresh.CopyFrom(request)
                request = fresh
            left = deadline - loop.time()
            if left <= 0:
                raise upstream_timeout()
            now = self._clock()
            stream = self._stream
            if stream is None or stream.ended or stream.closing or now >= stream.expires:
                stream = self._renewed(now)
            if now + left > stream.settled_by:
                stream.settled_by = now + left
            self._next_id += 1
            call_id = self._next_id
            request.call_id = call_id
            request.timeout_seconds = left
            future = stream.send(call_id, request)
            # One timer for every call's deadline: cheaper than a timeout scope, or a timer, each.
            expiries.add(future, deadline)
            try:
                answer = await future
            except _Expired:
                raise upstream_timeout() from None
            except _Unanswered:
                continue
            finally:
                expiries.discard(future)
                stream.forget(call_id)
            if not answer.HasField("error"):
                return answer
            error = answer_error(answer)
            if error.code != DRAINING_CODE:
                raise error
            stream.close()
        raise Unavailable("An internal service is unavailable.")

    async def aclose(self) -> None:
        streams = [*self._old, *([self._stream] if self._stream is not None else [])]
        self._stream = None
        self._old.clear()
        if self._expiries is not None:
            self._expiries.close()
        await asyncio.gather(*(stream.aclose() for stream in streams), return_exceptions=True)


def answer_error(answer: CarriesError) -> VerinetError:
    """The error an answer carries, rebuilt as the server raised it."""
    carried = answer.error
    status = STATUS_BY_NUMBER.get(carried.status_code, grpc.StatusCode.UNKNOWN)
    return error_from_status(status, carried.details, carried.status if carried.HasField("status") else None)


def set_error(answer: CarriesError, error: Exception, method: str) -> None:
    """Writes ``error`` into ``answer`` as a failed unary call would carry it."""
    status, details, rich = error_status(error, method)
    answer.error.status_code = status.value[0]
    answer.error.details = details
    if rich is not None:
        answer.error.status.CopyFrom(rich)


class CallStreamServer:
    """The server side: serves the calls of every stream of one or more methods until the
    process drains (:meth:`drain`, before the gRPC server stops)."""

    def __init__(self) -> None:
        self._draining = asyncio.Event()

    def drain(self) -> None:
        """Tells every open stream to move on, and refuses calls that still arrive."""
        self._draining.set()

    async def serve(
        self,
        context: CallContext,
        handle: Callable[[Request], Awaitable[Answer]],
        answer_type: Callable[[], Answer],
        method: str,
    ) -> None:
        """Reads calls from ``context`` until the client half-closes, runs each with
        ``handle`` within its deadline, concurrently, and writes each answer with its
        ``call_id`` as soon as it is ready."""
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[Answer | None] = asyncio.Queue()
        running: set[asyncio.Task[None]] = set()
        deadlines = TaskDeadlines(loop)  # every call's on one timer
        seconds = RPC_SECONDS.labels(method)
        # A transport that writes without waiting (a Unix socket's) answers at once.
        write_now: Callable[[Answer], bool] | None = getattr(context, "write_nowait", None)

        async def run(request: Request) -> None:
            started = time.perf_counter()
            # Only the deadline's own cancellation becomes the timeout answer: any other (the
            # stream ends) still ends the task.
            task = deadlines.start(max(request.timeout_seconds, 0.001))
            try:
                answer = await handle(request)
            except asyncio.CancelledError:
                if not deadlines.ended_it(task):
                    raise
                answer = answer_type()
                set_error(answer, upstream_timeout(), method)
            except TimeoutError:
                answer = answer_type()
                set_error(answer, upstream_timeout(), method)
            except Exception as error:  # noqa: BLE001 - carried in the answer, as a unary call would
                answer = answer_type()
                set_error(answer, error, method)
            finally:
                deadlines.finish(task)
                # Here rather than in a done callback: one call_soon fewer a call. What follows
                # never awaits, so the stream's end still finds each call answered.
                running.discard(task)
            answer.call_id = request.call_id
            seconds.observe(time.perf_counter() - started)
            if not (outbox.empty() and write_now is not None and write_now(answer)):
                outbox.put_nowait(answer)

        async def write_answers() -> None:
            while (answer := await outbox.get()) is not None:
                await context.write(answer)

        async def say_draining() -> None:
            await self._draining.wait()
            goodbye = answer_type()
            set_error(goodbye, draining_error(), method)
            outbox.put_nowait(goodbye)  # call_id 0: the whole stream

        def take(request: Request) -> None:
            if self._draining.is_set():
                refused = answer_type()
                set_error(refused, draining_error(), method)
                refused.call_id = request.call_id
                outbox.put_nowait(refused)
                return
            running.add(loop.create_task(run(request)))

        writer = loop.create_task(write_answers())
        announcer = loop.create_task(say_draining())
        try:
            receive = getattr(context, "receive", None)
            if receive is not None:
                # A transport that hands each request on as it arrives (a Unix socket's):
                # each starts its task from the read callback, no reader task in between.
                ended: asyncio.Future[BaseException | None] = loop.create_future()

                def end(error: BaseException | None) -> None:
                    if not ended.done():
                        ended.set_result(error)

                receive(take, end)
                if (error := await ended) is not None:
                    raise error
            else:
                while (request := await context.read()) is not grpc.aio.EOF:
                    take(request)
            if running:
                await asyncio.gather(*running)
            outbox.put_nowait(None)
            await writer
        finally:
            announcer.cancel()
            writer.cancel()
            for task in running:
                task.cancel()
            deadlines.close()


def draining_error() -> Unavailable:
    return Unavailable(
        "This service is shutting down and takes no new calls on this stream; send it again.",
        code=DRAINING_CODE,
    )
