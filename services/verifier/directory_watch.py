"""The verifier's end of lookup's ``WatchDirectory`` stream: the directory version when a
stream opens and after every change, each acknowledged once the route cache applied it.

Streams are renewed every ``STREAM_RENEWAL_SECONDS``, make-before-break: the next stream is
open and has said its version (applied, and acknowledged) before the old one closes. The
route cache therefore stays live across renewals, a change announced in between reaches it
through the new stream's first version, and the watch soon leaves a connection lookup has
aged out (``verinet.rpc``), which lookup cuts once its grace has passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.rpc import STREAM_RENEWAL_SECONDS

#: Each stream's deadline, in renewal periods: a backstop, never reached while renewals work.
DEADLINE_PERIODS = 3


class _Watch:
    """One open stream. A reader task queues its messages, so that waiting for one with a
    timeout never cancels a gRPC read midway (which would cancel the stream)."""

    def __init__(self, lookup: lookup_grpc.LookupServiceStub, deadline_seconds: float) -> None:
        self.call = lookup.WatchDirectory(timeout=deadline_seconds)
        self.messages: asyncio.Queue[lookup_pb.WatchDirectoryResponse | grpc.aio.AioRpcError | None] = asyncio.Queue()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            await self.call.write(lookup_pb.WatchDirectoryRequest())
            async for message in self.call:
                self.messages.put_nowait(message)
        except grpc.aio.AioRpcError as error:
            self.messages.put_nowait(error)
        else:
            self.messages.put_nowait(None)  # lookup ended it (draining)

    async def next(self, deadline: float) -> lookup_pb.WatchDirectoryResponse | None:
        """The next message; None when lookup ended the stream. Raises TimeoutError at
        ``deadline`` (loop time) and the stream's error when it broke."""
        async with asyncio.timeout_at(deadline):
            item = await self.messages.get()
        if isinstance(item, grpc.aio.AioRpcError):
            raise item
        return item

    async def acknowledge(self, sequence: int) -> None:
        await self.call.write(lookup_pb.WatchDirectoryRequest(applied_sequence=sequence))

    def close(self) -> None:
        self.reader.cancel()
        self.call.cancel()


async def watch_directory(
    lookup: lookup_grpc.LookupServiceStub, renew_seconds: float = STREAM_RENEWAL_SECONDS
) -> AsyncIterator[int]:
    """Directory versions, until lookup ends the watch (returns) or it breaks (raises); the
    caller resumes this generator once it has applied each version."""
    loop = asyncio.get_running_loop()
    deadline_seconds = renew_seconds * DEADLINE_PERIODS
    current = _Watch(lookup, deadline_seconds)
    retiring: _Watch | None = None
    try:
        message = await current.next(loop.time() + renew_seconds)
        renew_at = loop.time() + renew_seconds
        while message is not None:
            yield message.version
            await current.acknowledge(message.sequence)
            if retiring is not None:  # only now: the new stream's version is applied
                retiring.close()
                retiring = None
            try:
                message = await current.next(renew_at)
            except TimeoutError:
                following = _Watch(lookup, deadline_seconds)
                retiring, current = current, following
                message = await current.next(loop.time() + renew_seconds)
                renew_at = loop.time() + renew_seconds
    finally:
        current.close()
        if retiring is not None:
            retiring.close()
