"""Call streams on a Unix domain socket, for services on one machine (``verinet up``).

The hot path's two call streams (``verinet.streamed_calls``: the gateway's LMS batches to the
verifier, the verifier's status reads from recall-status) carry the same protobuf messages on
a Unix socket when caller and server share a machine. Each message is a 4-byte big-endian
length and the message's bytes; a connection begins with one such frame naming the method.
Each process's event loop reads its socket itself: a message costs one wake-up of the
receiving process, where a grpc.aio stream message hands each completion from gRPC's
event-engine thread to its poller thread to the loop (bench/RESULTS.md, issue 25).

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
#: The largest message either side accepts (as gRPC's channels here: 64 MiB).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: The longest a socket path may be (sun_path holds 108 bytes with its terminating NUL).
MAX_PATH_BYTES = 107


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


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next message's bytes; None when the peer closed cleanly between messages."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise StreamBroken("The connection ended inside a message length.") from None
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_MESSAGE_BYTES:
        raise StreamBroken(f"Refused a message of {length} bytes: expected at most {MAX_MESSAGE_BYTES}.")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise StreamBroken("The connection ended inside a message.") from None


class SocketCall:
    """The client side of one stream, shaped like a grpc.aio stream-stream call (``write``,
    ``read`` with ``grpc.aio.EOF`` at the end, ``done_writing``, ``cancel``), which is what
    ``verinet.streamed_calls.StreamedCalls`` drives. It connects on first use."""

    def __init__(self, path: str, method: str, parse_answer: Callable[[bytes], Any]) -> None:
        self._parse_answer = parse_answer
        self._writer: asyncio.StreamWriter | None = None
        self._done_writing = False
        self._connected = asyncio.get_running_loop().create_task(self._connect(path, method))

    async def _connect(self, path: str, method: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except OSError as error:
            raise StreamBroken(f"Failed to connect to {path}: {error.strerror or error}") from None
        self._writer = writer
        writer.write(_frame(method.encode()))
        return reader, writer

    async def write(self, message: Any) -> None:
        _, writer = await self._connected
        writer.write(_frame(message.SerializeToString()))
        await writer.drain()

    def write_nowait(self, message: Any) -> bool:
        """Writes ``message`` now when the connection is up and not backed up; False (nothing
        written) otherwise, and the caller queues it for ``write``."""
        if not self._connected.done() or self._connected.cancelled() or self._connected.exception() is not None:
            return False
        if self._done_writing:
            return False
        return _write_now(self._connected.result()[1], message)

    async def read(self) -> Any:
        reader, _ = await self._connected
        payload = await _read_frame(reader)
        if payload is None:
            if not self._done_writing:
                # A server ends a stream only after its client did: this one went away.
                raise StreamBroken("The server closed the connection.")
            return grpc.aio.EOF
        return self._parse_answer(payload)

    async def done_writing(self) -> None:
        _, writer = await self._connected
        self._done_writing = True
        if writer.can_write_eof():
            writer.write_eof()

    def cancel(self) -> None:
        self._connected.cancel()
        if self._writer is not None:
            self._writer.close()


#: Past this many unsent bytes a connection's writes wait for it to drain (``write``).
WRITE_NOW_LIMIT = 64 * 1024


def _write_now(writer: asyncio.StreamWriter, message: Any) -> bool:
    if writer.is_closing() or writer.transport.get_write_buffer_size() > WRITE_NOW_LIMIT:
        return False
    writer.write(_frame(message.SerializeToString()))
    return True


def socket_stream_opener(
    paths: Sequence[str], method: str, parse_answer: Callable[[bytes], Any]
) -> Callable[[], SocketCall]:
    """What ``StreamedCalls`` opens a stream with: each new stream on the next of ``paths``
    (the sockets of a service's processes), round robin, as gRPC spreads streams over them."""
    turn = itertools.cycle(list(paths))
    return lambda: SocketCall(next(turn), method, parse_answer)


class _SocketContext:
    """The server side of one stream, shaped like the grpc.aio servicer context that
    ``CallStreamServer.serve`` reads requests from and writes answers to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parse_request: Callable[[bytes], Any]) -> None:
        self._reader, self._writer, self._parse_request = reader, writer, parse_request

    async def read(self) -> Any:
        payload = await _read_frame(self._reader)
        if payload is None:
            return grpc.aio.EOF
        return self._parse_request(payload)

    async def write(self, message: Any) -> None:
        self._writer.write(_frame(message.SerializeToString()))
        await self._writer.drain()

    def write_nowait(self, message: Any) -> bool:
        return _write_now(self._writer, message)


@dataclass(frozen=True)
class SocketMethod:
    """A call stream a socket serves: how its requests are parsed, and what serves one stream
    (``CallStreamServer.serve`` bound to the method's handler)."""

    parse_request: Callable[[bytes], Any]
    serve: Callable[[Any], Awaitable[None]]


class SocketCallServer:
    """Serves call streams on a Unix socket beside the process's gRPC server."""

    def __init__(self, path: str | Path, methods: dict[str, SocketMethod]) -> None:
        """``path`` empty: serves nothing (the streams stay gRPC only)."""
        self.path = str(path)
        self._methods = methods
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        if not self.path:
            return
        if len(os.fsencode(self.path)) > MAX_PATH_BYTES:
            raise ValueError(f"Failed to listen on {self.path!r}: a socket path has at most {MAX_PATH_BYTES} bytes.")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # left by a process of this service that was killed
        old_umask = os.umask(0o177)  # born 0600: no moment in which others could connect
        try:
            self._server = await asyncio.start_unix_server(self._serve_connection, self.path)
        finally:
            os.umask(old_umask)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            head = await _read_frame(reader)
            method = self._methods.get(head.decode(errors="replace")) if head is not None else None
            if method is None:
                log.warning("Closed a call socket connection asking for an unknown method %r", head)
                return
            await method.serve(_SocketContext(reader, writer, method.parse_request))
        except (StreamBroken, ConnectionError) as error:
            log.info("A call socket connection ended: %s", error)
        except asyncio.CancelledError:
            pass  # cut by close(): asyncio would log a cancelled connection task as an error
        finally:
            self._connections.pop(task, None)
            writer.close()

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
            self._connections[task].transport.abort()
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
