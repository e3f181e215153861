"""The start of every gRPC service process: settings read once, JSON logs, the metrics port, the
event loop, then the service's own ``serve``.

Each ``python -m verinet.<service>`` calls :func:`run_service` from its ``main`` with its own
frozen settings, so the three services cannot drift apart in how they start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from prometheus_client import start_http_server

from verinet import logs
from verinet.rpc import install_event_loop_policy

__all__ = ["ServiceSettings", "run_service"]


class ServiceSettings(Protocol):
    """What the start needs of a service's settings."""

    @property
    def log_level(self) -> str: ...
    @property
    def metrics_port(self) -> int: ...
    @property
    def bind_host(self) -> str: ...


S = TypeVar("S", bound=ServiceSettings)


def run_service(name: str, settings: S, serve: Callable[[S], Coroutine[Any, Any, None]]) -> None:
    """Configures logs as ``name``, serves metrics on their own port when one is set (Prometheus
    scrapes it inside the cluster), installs uvloop when present, and runs ``serve(settings)``
    until it returns (on SIGTERM, after draining)."""
    logs.configure(name, settings.log_level)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.bind_host)
    install_event_loop_policy()
    asyncio.run(serve(settings))
