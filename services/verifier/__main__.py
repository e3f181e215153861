"""Runs the verifier service: ``python -m verinet.verifier``."""

from __future__ import annotations

import asyncio
import logging
import os

from verinet.lookup.v1 import lookup_pb2_grpc as lookup_grpc
from verinet.recall_status.v1 import recall_status_pb2_grpc as rs_grpc
from verinet.rpc import channel
from verinet.service_main import (
    run_service,
    serve_until_signalled,
    start_call_sockets,
    start_grpc_server,
)
from verinet.signing import KeyRing
from verinet.tls_reload import follow_signing_keys
from verinet.verifier.servicer import VerifierServicer
from verinet.verifier.settings import Settings
from verinet.verifier.v1 import verifier_pb2_grpc as verifier_grpc

log = logging.getLogger("verinet.verifier")


async def serve(settings: Settings) -> None:
    keys = KeyRing.load_or_create(settings.signing_key_dir)
    lookup_channel = channel(settings.lookup_addr, settings.internal_tls)
    recall_status_channel = channel(settings.recall_status_addr, settings.internal_tls)
    servicer = VerifierServicer(
        lookup=lookup_grpc.LookupServiceStub(lookup_channel),
        recall_status=rs_grpc.RecallStatusServiceStub(recall_status_channel),
        keys=keys,
        responder_gln=settings.responder_gln,
        rpc_timeout=settings.rpc_timeout,
        status_batch_in_flight=settings.status_batch_in_flight,
        status_batch_max=settings.status_batch_max,
        streamed_calls=settings.streamed_calls,
        pack_event_delay=settings.pack_event_delay,
        status_sockets=settings.recall_status_call_sockets,
    )
    sockets = await start_call_sockets(settings.call_socket, servicer)
    handle = await start_grpc_server(
        settings,
        "verinet.verifier.v1.VerifierService",
        lambda server: verifier_grpc.add_VerifierServiceServicer_to_server(servicer, server),
    )
    log.info("verifier listening", extra={"port": handle.port})
    key_watch = asyncio.create_task(follow_signing_keys(settings.signing_key_dir, servicer.use_keys))

    async def close_channels() -> None:
        await servicer.aclose()
        await lookup_channel.close()
        await recall_status_channel.close()

    await serve_until_signalled(settings, handle, servicer, sockets, background=[key_watch], on_stop=close_channels)


def main() -> None:
    run_service("verifier", Settings.from_env(os.environ), serve)


if __name__ == "__main__":
    main()
