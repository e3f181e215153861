"""The start of every gRPC service process: settings read once, JSON logs, the metrics port, the
event loop, then the service's own ``serve``.

Each ``python -m verinet.<service>`` calls :func:`run_service` from its ``main`` with its own
frozen settings, which extend :class:`GrpcServing`, starts its server with
:func:`start_grpc_server`, and (with call sockets) drains with :func:`serve_until_signalled`,
so the three services cannot drift apart in how they start and stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import grpc
from prometheus_client import start_http_server

from verinet import logs
from verinet.config import Env, InternalTls
from verinet.rpc import ServerHandle, install_event_loop_policy, run_until_signalled, start_server
from verinet.socket_calls import SocketCallServer, SocketMethod

__all__ = ["GrpcServing", "run_service", "serve_until_signalled", "start_call_sockets", "start_grpc_server"]


@dataclass(frozen=True)
class GrpcServing:
    """How a gRPC service serves, alike in every service: its port and host, the metrics and
    plain-text health ports (0: none), mutual TLS inside the cluster, its log level, and how
    long its drain on SIGTERM may take. Each service's ``Settings`` extends it."""

    port: int
    bind_host: str
    metrics_port: int
    health_port: int
    internal_tls: InternalTls | None
    log_level: str
    shutdown_grace: float

    @staticmethod
    def serving_from_env(env: Env, default_port: int) -> dict[str, Any]:
        """These fields, for a ``Settings.from_env`` to pass on: PORT (``default_port`` when
        unset), BIND_HOST, METRICS_PORT, HEALTH_PORT, INTERNAL_TLS_*, LOG_LEVEL and
        SHUTDOWN_GRACE_SECONDS."""
        return {
            "port": env.int("PORT", default_port, maximum=65535),
            "bind_host": env.str("BIND_HOST", "0.0.0.0"),
            "metrics_port": env.int("METRICS_PORT", 0, maximum=65535),
            "health_port": env.int("HEALTH_PORT", 0, maximum=65535),
            "internal_tls": InternalTls.from_env(env),
            "log_level": env.str("LOG_LEVEL", "INFO"),
            "shutdown_grace": env.float("SHUTDOWN_GRACE_SECONDS", 10.0),
        }


S = TypeVar("S", bound=GrpcServing)


def run_service(name: str, settings: S, serve: Callable[[S], Coroutine[Any, Any, None]]) -> None:
    """Configures logs as ``name``, serves metrics on their own port when one is set (Prometheus
    scrapes it inside the cluster), installs uvloop when present, and runs ``serve(settings)``
    until it returns (on SIGTERM, after draining)."""
    logs.configure(name, settings.log_level)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.bind_host)
    install_event_loop_policy()
    asyncio.run(serve(settings))


async def start_grpc_server(
    settings: GrpcServing, service_name: str, add_servicer: Callable[[grpc.aio.Server], None]
) -> ServerHandle:
    """Starts the service ``service_name`` (its full proto name, for health checks), which
    ``add_servicer`` adds to the server, where and as ``settings`` say."""
    return await start_server(
        service_name,
        [add_servicer],
        settings.port,
        settings.bind_host,
        tls=settings.internal_tls,
        health_port=settings.health_port,
    )


class StreamingServicer(Protocol):
    """A servicer with call streams, also served on a Unix socket, that can be told to move
    on to another replica."""

    def socket_methods(self) -> dict[str, SocketMethod]: ...

    def drain(self) -> None: ...


async def start_call_sockets(path: str, servicer: StreamingServicer) -> SocketCallServer:
    """Serves the call streams of ``servicer`` on the Unix socket ``path`` too (empty: gRPC
    only), started before the gRPC server so both are up when health says SERVING."""
    sockets = SocketCallServer(path, servicer.socket_methods())
    await sockets.start()
    return sockets


async def serve_until_signalled(
    settings: GrpcServing,
    handle: ServerHandle,
    servicer: StreamingServicer,
    sockets: SocketCallServer,
    *,
    background: Sequence[asyncio.Task[Any]],
    on_stop: Callable[[], Awaitable[None]],
) -> None:
    """Serves until SIGTERM or SIGINT, then drains: health NOT_SERVING, the servicer's call
    streams and the call sockets told to move on, in-flight calls finished within the grace
    period. Then stops: the ``background`` tasks cancelled, the sockets' calls finished, and
    ``on_stop`` closes what the service holds."""

    def drain() -> None:
        servicer.drain()
        sockets.stop_accepting()

    async def stop() -> None:
        for task in background:
            task.cancel()
        await sockets.close(settings.shutdown_grace)
        await on_stop()

    await run_until_signalled(handle, settings.shutdown_grace, on_stop=stop, on_drain=drain)
