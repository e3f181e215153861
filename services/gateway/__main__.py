"""Runs the gateway: ``python -m verinet.gateway``."""

from __future__ import annotations

import os

from aiohttp import web

from verinet import logs
from verinet.gateway.app import create_app
from verinet.gateway.settings import Settings
from verinet.rpc import install_event_loop_policy


def main() -> None:
    settings = Settings.from_env(os.environ)
    logs.configure("gateway", settings.log_level)
    install_event_loop_policy()
    # run_app turns SIGTERM/SIGINT into a graceful stop: readiness goes 503, in-flight
    # requests get shutdown_timeout seconds, then clients close.
    web.run_app(
        create_app(settings),
        host=settings.bind_host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_grace,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
