"""Runs the gateway: ``python -m verinet.gateway``."""

from __future__ import annotations

import asyncio
import os
import ssl

from prometheus_client import start_http_server

from verinet import logs
from verinet.errors import ConfigError
from verinet.gateway.app import create_app
from verinet.gateway.serving import serve
from verinet.gateway.settings import Settings
from verinet.rpc import install_event_loop_policy


def main() -> None:
    settings = Settings.from_env(os.environ)
    logs.configure("gateway", settings.log_level)
    install_event_loop_policy()
    if settings.metrics_port:
        # Prometheus scrapes this port from inside the cluster; the public port never serves it.
        start_http_server(settings.metrics_port, addr=settings.bind_host)
    # SIGTERM/SIGINT stop it gracefully: readiness goes 503, in-flight requests get
    # shutdown_grace seconds, then clients close.
    asyncio.run(
        serve(
            create_app(settings),
            settings.bind_host,
            settings.port,
            ssl_context=tls_context(settings),
            shutdown_timeout=settings.shutdown_grace,
            backlog=settings.listen_backlog,
            reuse_port=settings.reuse_port,
        )
    )


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """HTTPS when a certificate and key are configured (TLS 1.2 or later)."""
    if not settings.tls_cert_file and not settings.tls_key_file:
        return None
    if not (settings.tls_cert_file and settings.tls_key_file):
        raise ConfigError("Set both TLS_CERT_FILE and TLS_KEY_FILE, e.g. TLS_CERT_FILE=/tls/tls.crt TLS_KEY_FILE=/tls/tls.key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context


if __name__ == "__main__":
    main()
