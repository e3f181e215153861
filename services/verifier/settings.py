"""verifier settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from verinet.config import Env, InternalTls
from verinet.socket_calls import socket_list


@dataclass(frozen=True)
class Settings:
    port: int
    bind_host: str
    metrics_port: int
    lookup_addr: str
    recall_status_addr: str
    signing_key_dir: Path
    responder_gln: str
    rpc_timeout: float
    shutdown_grace: float
    log_level: str
    internal_tls: InternalTls | None
    health_port: int
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
            port=env.int("PORT", 50051, maximum=65535),
            bind_host=env.str("BIND_HOST", "0.0.0.0"),
            metrics_port=env.int("METRICS_PORT", 0, maximum=65535),
            lookup_addr=env.str("LOOKUP_ADDR", example="lookup:50052"),
            recall_status_addr=env.str("RECALL_STATUS_ADDR", example="recall-status:50053"),
            signing_key_dir=env.path("SIGNING_KEY_DIR", "/var/run/verinet/keys"),
            responder_gln=env.str("RESPONDER_GLN", ""),
            rpc_timeout=env.float("RPC_TIMEOUT_SECONDS", 0.8),
            shutdown_grace=env.float("SHUTDOWN_GRACE_SECONDS", 10.0),
            log_level=env.str("LOG_LEVEL", "INFO"),
            internal_tls=InternalTls.from_env(env),
            health_port=env.int("HEALTH_PORT", 0, maximum=65535),
            # Concurrent LMS pack reads share GetPackStatus calls: at most this many in
            # flight (0: one call per question), each with at most STATUS_BATCH_MAX packs.
            status_batch_in_flight=env.int("STATUS_BATCH_IN_FLIGHT", 2, maximum=64),
            status_batch_max=env.int("STATUS_BATCH_MAX", 256, minimum=1, maximum=10_000),
            # Those calls travel as messages on one open stream (false: one unary call each).
            streamed_calls=env.bool("STREAMED_CALLS", True),
            # Where verified packs were seen is sent to recall-status in batches, at most this
            # late: at a slow trickle of questions each batch is a call (and wake-ups) of its own.
            pack_event_delay=env.float("PACK_EVENT_DELAY_SECONDS", 0.2),
            # On one machine (verinet up) the LMS call streams also run on Unix sockets
            # (verinet.socket_calls): the one this process serves its stream on, and those of
            # recall-status's processes that it reads statuses from. Empty: gRPC only.
            call_socket=env.str("CALL_SOCKET", ""),
            recall_status_call_sockets=socket_list(env.str("RECALL_STATUS_CALL_SOCKETS", "")),
        )
