"""Call streams on a Unix domain socket, for services on one machine (``verinet up``).

The hot path's two call streams (``verinet.streamed_calls``: the gateway's LMS batches to the
verifier, the verifier's status reads from recall-status) carry the same protobuf messages on
a Unix socket when caller and server share a machine. Each message is a 4-byte big-endian
length and the message's bytes; a connection begins with one such frame naming the method.
Each process's event loop reads its socket itself, in a protocol callback that hands each
message on at once (an answer to the future waiting for it, a request to a new task for its
handler): a message costs one wake-up of the receiving process and no hand-off between tasks,
where a grpc.aio stream message passes from gRPC's event-engine thread to its poller thread
to the loop (bench/RESULTS.md, issue 25).

Everything else about a call stream stays as it is on gRPC: ``StreamedCalls`` keeps each
call's deadline, ``CallStreamServer`` runs the calls, carries their errors and announces a
drain; a connection here is one stream, renewed as often. A socket file is made mode 0600 in
the network's private data directory: only the user running the network reaches it. In
Kubernetes, and wherever the ``*_CALL_SOCKETS`` settings are empty, the streams stay gRPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
#: The largest message either side accepts (as gRPC's channels here: 64 MiB).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: The longest a socket path may be (sun_path holds 108 bytes with its terminating NUL).
MAX_PATH_BYTES = 107
#: Past this many unsent bytes a connection's writes wait for it to drain (``write``).
WRITE_NOW_LIMIT = 64 * 1024

#: Where received messages go: ``on_message(message)`` for each, then ``on_end(error)`` once
#: (None: the peer finished cleanly between messages).
OnMessage = Callable[[Any], None]
OnEnd = Callable[[BaseException | None], None]


class StreamBroken(ConnectionError):
    """The connection ended in the middle of a message, or could not be made."""


def socket_list(text: str) -> tuple[str, ...]:
    """A ``*_CALL_SOCKETS`` setting: socket paths separated by commas (empty: none).

    >>> socket_list("/run/v/a.sock,/run/v/b.sock"), socket_list("")
    (('/run/v/a.sock', '/run/v/b.sock'), ())
    """
    return tuple(path.strip() for path in text.split(",") if path.strip())


def _frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


class _Framed(asyncio.Protocol):
    """One connection's frames: writes with flow control, and each received message parsed
    and handed to the receiver as soon as its last byte arrives (kept until a receiver is set)."""

    def __init__(self, parse: Callable[[bytes], Any] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.parse = parse
        self._buffer = bytearray()
        #: Bytes the buffered part of a message must reach before it is worth reading again:
        #: a large message arriving in many pieces is then joined once, not once a piece.
        self._needed = 0
        self._on_message: OnMessage | None = None
        self._on_end: OnEnd | None = None
        self._held: deque[Any] = deque()
        self._ended = False
        self._end_error: BaseException | None = None
        self._paused = False
        self._drained: asyncio.Future[None] | None = None

    # -- what the owner uses --------------------------------------------------------------

    def receive(self, on_message: OnMessage, on_end: OnEnd) -> None:
        """Hands every message to ``on_message`` from now on (those held first), then the end."""
        self._on_message, self._on_end = on_message, on_end
        while self._held:
            on_message(self._held.popleft())
        if self._ended:
            on_end(self._end_error)

    def write_now(self, message: Any) -> bool:
        """Writes ``message`` unless the connection is closing or backed up (False then)."""
        transport = self.transport
        if transport is None or transport.is_closing() or transport.get_write_buffer_size() > WRITE_NOW_LIMIT:
            return False
        transport.write(_frame(message.SerializeToString()))
        return True

    async def write(self, message: Any) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise StreamBroken("The connection is closed.")
        transport.write(_frame(message.SerializeToString()))
        if self._paused:
            drained = self._drained
            if drained is None or drained.done():
                drained = self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(drained)  # one wait shared by every writer; a cancelled one leaves it

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one, not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._needed:
                return
            data = bytes(buffer)
            buffer.clear()
        size, start = len(data), 0
        while size - start >= 4:
            (length,) = _LENGTH.unpack_from(data, start)
            if length > MAX_MESSAGE_BYTES:
                self._broken(f"Refused a message of {length} bytes: expected at most {MAX_MESSAGE_BYTES}.")
                return
            end = start + 4 + length
            if end > size:
                self._needed = end - start
                break
            self.message(data[start + 4 : end])
            start = end
            if self._ended:
                return
        if start < size:
            if size - start < 4:
                self._needed = 4
            buffer += data[start:]

    def message(self, payload: bytes) -> None:
        """One message's bytes: parsed and handed on."""
        assert self.parse is not None
        try:
            message = self.parse(payload)
        except Exception as error:  # noqa: BLE001 - a peer that sends garbage ends its stream
            self._broken(f"Failed to parse a message of {len(payload)} bytes: {error}")
            return
        if self._on_message is not None:
            self._on_message(message)
        else:
            self._held.append(message)

    def eof_received(self) -> bool:
        self.ended(StreamBroken("The connection ended inside a message.") if self._buffer else None)
        return True  # the peer finished sending; answers may still be written to it

    def connection_lost(self, exc: Exception | None) -> None:
        if self._buffer:
            self.ended(StreamBroken("The connection ended inside a message."))
        elif exc is not None:
            self.ended(StreamBroken(str(exc)))
        else:
            self.ended(None)
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_exception(StreamBroken("The connection is closed."))

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- the end ----------------------------------------------------------------------------

    def ended(self, error: BaseException | None) -> None:
        """Input is over (``error`` None: cleanly, between messages); said once."""
        if self._ended:
            return
        self._ended, self._end_error = True, error
        self._buffer.clear()
        if self._on_end is not None:
            self._on_end(error)

    def _broken(self, reason: str) -> None:
        self.ended(StreamBroken(reason))
        if self.transport is not None:
            self.transport.abort()


class _ClientConnection(_Framed):
    def __init__(self, parse: Callable[[bytes], Any]) -> None:
        super().__init__(parse)
        self.done_writing = False

    def eof_received(self) -> bool:
        if not self.done_writing and not self._buffer:
            # A server ends a stream only after its client did: this one went away.
            self.ended(StreamBroken("The server closed the connection."))
        else:
            super().eof_received()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None and not self.done_writing and not self._buffer:
            self.ended(StreamBroken("The server closed the connection."))
        super().connection_lost(exc)


class SocketCall:
    """The client side of one stream, what ``verinet.streamed_calls.StreamedCalls`` drives:
    ``receive`` (answers handed on as they arrive), ``write`` / ``write_nowait``,
    ``done_writing``, ``cancel``. It connects on first use."""

    def __init__(self, path: str, method: str, parse_answer: Callable[[bytes], Any]) -> None:
        self._connection = _ClientConnection(parse_answer)
        self._connected = asyncio.get_running_loop().create_task(self._connect(path, method))
        # Its failure reaches the receiver (``_connect``); nothing else need ask for it.
        self._connected.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _connect(self, path: str, method: str) -> _ClientConnection:
        connection = self._connection
        try:
            await asyncio.get_running_loop().create_unix_connection(lambda: connection, path)
        except OSError as error:
            failure = StreamBroken(f"Failed to connect to {path}: {error.strerror or error}")
            connection.ended(failure)
            raise failure from None
        assert connection.transport is not None
        connection.transport.write(_frame(method.encode()))
        return connection

    def receive(self, on_answer: OnMessage, on_end: OnEnd) -> None:
        """Hands each answer to ``on_answer`` as it arrives, then ``on_end(error)`` once:
        None after a clean end (this side finished writing, the server answered and closed),
        else a ``StreamBroken``."""
        self._connection.receive(on_answer, on_end)

    async def write(self, message: Any) -> None:
        connection = await self._connected
        await connection.write(message)

    def write_nowait(self, message: Any) -> bool:
        """Writes ``message`` now when the connection is up and not backed up; False (nothing
        written) otherwise, and the caller queues it for ``write``."""
        if not self._connected.done() or self._connection.done_writing:
            return False
        return self._connection.write_now(message)

    async def done_writing(self) -> None:
        connection = await self._connected
        connection.done_writing = True
        transport = connection.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            transport.write_eof()

    def cancel(self) -> None:
        self._connected.cancel()
        if self._connection.transport is not None:
            self._connection.transport.close()


def socket_stream_opener(
    paths: Sequence[str], method: str, parse_answer: Callable[[bytes], Any]
) -> Callable[[], SocketCall]:
    """What ``StreamedCalls`` opens a stream with: each new stream on the next of ``paths``
    (the sockets of a service's processes), round robin, as gRPC spreads streams over them."""
    turn = itertools.cycle(list(paths))
    return lambda: SocketCall(next(turn), method, parse_answer)


class _SocketContext:
    """The server side of one stream, what ``CallStreamServer.serve`` takes requests from
    (``receive``) and writes answers to."""

    def __init__(self, connection: _Framed) -> None:
        self._connection = connection

    def receive(self, on_request: OnMessage, on_end: OnEnd) -> None:
        self._connection.receive(on_request, on_end)

    async def write(self, message: Any) -> None:
        await self._connection.write(message)

    def write_nowait(self, message: Any) -> bool:
        return self._connection.write_now(message)


@dataclass(frozen=True)
class SocketMethod:
    """A call stream a socket serves: how its requests are parsed, and what serves one stream
    (``CallStreamServer.serve`` bound to the method's handler)."""

    parse_request: Callable[[bytes], Any]
    serve: Callable[[Any], Awaitable[None]]


class _ServerConnection(_Framed):
    """A connection to the server: its first message names the method, the rest are requests."""

    def __init__(self, server: SocketCallServer) -> None:
        super().__init__()
        self._server = server

    def message(self, payload: bytes) -> None:
        if self.parse is not None:
            super().message(payload)
            return
        method = self._server.method(payload)
        if method is None:
            self._broken("unknown method")
            return
        self.parse = method.parse_request
        self._server.serve_connection(self, method)


class SocketCallServer:
    """Serves call streams on a Unix socket beside the process's gRPC server."""

    def __init__(self, path: str | Path, methods: dict[str, SocketMethod]) -> None:
        """``path`` empty: serves nothing (the streams stay gRPC only)."""
        self.path = str(path)
        self._methods = methods
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task[None], asyncio.Transport] = {}

    async def start(self) -> None:
        if not self.path:
            return
        if len(os.fsencode(self.path)) > MAX_PATH_BYTES:
            raise ValueError(f"Failed to listen on {self.path!r}: a socket path has at most {MAX_PATH_BYTES} bytes.")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # left by a process of this service that was killed
        old_umask = os.umask(0o177)  # born 0600: no moment in which others could connect
        try:
            self._server = await asyncio.get_running_loop().create_unix_server(lambda: _ServerConnection(self), self.path)
        finally:
            os.umask(old_umask)

    def method(self, name: bytes) -> SocketMethod | None:
        method = self._methods.get(name.decode(errors="replace"))
        if method is None:
            log.warning("Closed a call socket connection asking for an unknown method %r", name)
        return method

    def serve_connection(self, connection: _ServerConnection, method: SocketMethod) -> None:
        assert connection.transport is not None
        task = asyncio.get_running_loop().create_task(self._serve(connection, method))
        self._connections[task] = connection.transport

    async def _serve(self, connection: _ServerConnection, method: SocketMethod) -> None:
        try:
            await method.serve(_SocketContext(connection))
        except (StreamBroken, ConnectionError) as error:
            log.info("A call socket connection ended: %s", error)
        except asyncio.CancelledError:
            pass  # cut by close(): asyncio would log a cancelled connection task as an error
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._connections.pop(task, None)
            if connection.transport is not None:
                connection.transport.close()

    def stop_accepting(self) -> None:
        """Takes no new connections (on SIGTERM); the open ones are told to move on by the
        ``CallStreamServer``'s drain and end when their clients have their answers."""
        if self._server is not None:
            self._server.close()

    async def close(self, grace: float) -> None:
        """Waits up to ``grace`` seconds for the open streams to end, then cuts them."""
        self.stop_accepting()
        if self._connections and grace > 0:
            await asyncio.wait(list(self._connections), timeout=grace)
        cut = list(self._connections)
        for task in cut:
            self._connections[task].abort()
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
