"""verifier settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from verinet.config import Env
from verinet.service_main import GrpcServing
from verinet.socket_calls import socket_list


@dataclass(frozen=True)
class Settings(GrpcServing):
    lookup_addr: str
    recall_status_addr: str
    signing_key_dir: Path
    responder_gln: str
    rpc_timeout: float
    status_batch_in_flight: int
    status_batch_max: int
    streamed_calls: bool
    pack_event_delay: float
    call_socket: str
    recall_status_call_sockets: tuple[str, ...]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            **GrpcServing.serving_from_env(env, default_port=50051),
            lookup_addr=env.str("LOOKUP_ADDR", example="lookup:50052"),
            recall_status_addr=env.str("RECALL_STATUS_ADDR", example="recall-status:50053"),
            signing_key_dir=env.path("SIGNING_KEY_DIR", "/var/run/verinet/keys"),
            responder_gln=env.str("RESPONDER_GLN", ""),
            rpc_timeout=env.float("RPC_TIMEOUT_SECONDS", 0.8),
            # Concurrent LMS pack reads share GetPackStatus calls: at most this many in
            # flight (0: one call per question), each with at most STATUS_BATCH_MAX packs.
            status_batch_in_flight=env.int("STATUS_BATCH_IN_FLIGHT", 2, maximum=64),
            status_batch_max=env.int("STATUS_BATCH_MAX", 256, minimum=1, maximum=10_000),
            # Those calls travel as messages on one open stream (false: one unary call each).
            streamed_calls=env.bool("STREAMED_CALLS", True),
            # Where verified packs were seen is sent to recall-status in batches, at most this
            # late: at a slow trickle of questions each batch is a call (and wake-ups) of its own.
            pack_event_delay=env.float("PACK_EVENT_DELAY_SECONDS", 1.0),
            # On one machine (verinet up) the LMS call streams also run on Unix sockets
            # (verinet.socket_calls): the one this process serves its stream on, and those of
            # recall-status's processes that it reads statuses from. Empty: gRPC only.
            call_socket=env.str("CALL_SOCKET", ""),
            recall_status_call_sockets=socket_list(env.str("RECALL_STATUS_CALL_SOCKETS", "")),
        )
