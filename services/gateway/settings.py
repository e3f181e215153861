"""gateway settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from verinet.config import Env, InternalTls
from verinet.socket_calls import socket_list


@dataclass(frozen=True)
class Settings:
    port: int
    metrics_port: int
    bind_host: str
    redis_url: str
    redis_timeout: float
    verifier_addr: str
    lookup_addr: str
    recall_status_addr: str
    rpc_timeout: float
    max_body_bytes: int
    max_json_depth: int
    max_json_line_bytes: int
    max_json_values: int
    max_json_string_bytes: int
    max_packs_per_request: int
    max_commission_packs: int
    shutdown_grace: float
    log_level: str
    rate_limit_per_second: float
    rate_limit_burst: int
    partner_concurrency: int
    max_in_flight: int
    listen_backlog: int
    auth_failures_per_minute: int
    tls_cert_file: str
    tls_key_file: str
    internal_tls: InternalTls | None
    lms_batch_in_flight: int
    lms_batch_max: int
    streamed_calls: bool
    verifier_call_sockets: tuple[str, ...]
    reuse_port: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            port=env.int("PORT", 8080, maximum=65535),
            # Prometheus metrics on a port of their own, and then not on the public one
            # (0: on the public port, as /metrics, for one machine).
            metrics_port=env.int("METRICS_PORT", 0, maximum=65535),
            bind_host=env.str("BIND_HOST", "0.0.0.0"),
            redis_url=env.str("REDIS_URL", example="redis://127.0.0.1:6379/0"),
            redis_timeout=env.float("REDIS_TIMEOUT_SECONDS", 2.0),
            verifier_addr=env.str("VERIFIER_ADDR", example="verifier:50051"),
            lookup_addr=env.str("LOOKUP_ADDR", example="lookup:50052"),
            recall_status_addr=env.str("RECALL_STATUS_ADDR", example="recall-status:50053"),
            rpc_timeout=env.float("RPC_TIMEOUT_SECONDS", 1.0),
            max_body_bytes=env.int("MAX_BODY_BYTES", 64 * 1024 * 1024, minimum=1024),
            # Every JSON body is pre-scanned against these while it arrives (jsonscan.py):
            # arrays and objects open at once; bytes of one NDJSON line; values one body (or
            # one NDJSON line, or one streamed EPCIS event) builds, at most ~100 bytes each;
            # bytes of one string (a streaming parser's cost grows with its square).
            # 5,000,000 fits a 1,000,000-unit recall and a 200,000-pack commissioning upload.
            max_json_depth=env.int("MAX_JSON_DEPTH", 64, minimum=4, maximum=120),
            max_json_line_bytes=env.int("MAX_JSON_LINE_BYTES", 4 * 1024 * 1024, minimum=1024),
            max_json_values=env.int("MAX_JSON_VALUES", 5_000_000, minimum=1000),
            max_json_string_bytes=env.int("MAX_JSON_STRING_BYTES", 1024 * 1024, minimum=1024),
            max_packs_per_request=env.int("MAX_PACKS_PER_REQUEST", 1000, minimum=1),
            max_commission_packs=env.int("MAX_COMMISSION_PACKS", 200_000, minimum=1),
            shutdown_grace=env.float("SHUTDOWN_GRACE_SECONDS", 10.0),
            log_level=env.str("LOG_LEVEL", "INFO"),
            rate_limit_per_second=env.float("RATE_LIMIT_PER_SECOND", 5000.0, minimum=0.001),
            rate_limit_burst=env.int("RATE_LIMIT_BURST", 10000, minimum=1),
            partner_concurrency=env.int("PARTNER_CONCURRENCY", 256, minimum=1),
            max_in_flight=env.int("MAX_IN_FLIGHT", 4096, minimum=1),
            # Connections the kernel completes while the event loop is busy, before accept().
            # aiohttp's 128 overflowed when a client opened a burst of connections under load:
            # the dropped SYNs came back a second later, as 1 s answers. The kernel caps it at
            # net.core.somaxconn.
            listen_backlog=env.int("LISTEN_BACKLOG", 4096, minimum=1, maximum=65535),
            auth_failures_per_minute=env.int("AUTH_FAILURES_PER_MINUTE", 60, minimum=1),
            tls_cert_file=env.str("TLS_CERT_FILE", ""),
            tls_key_file=env.str("TLS_KEY_FILE", ""),
            internal_tls=InternalTls.from_env(env),
            # Concurrent LMS questions travel together to the verifier: at most this many
            # batches in flight (0: one VerifyLms call per question), each of at most
            # LMS_BATCH_MAX questions.
            lms_batch_in_flight=env.int("LMS_BATCH_IN_FLIGHT", 2, maximum=64),
            lms_batch_max=env.int("LMS_BATCH_MAX", 64, minimum=1, maximum=1000),
            # Those batches travel as messages on one open stream (false: one unary call each).
            streamed_calls=env.bool("STREAMED_CALLS", True),
            # On one machine (verinet up): the Unix sockets of the verifier's processes, which
            # then carry that stream (verinet.socket_calls). Empty: gRPC.
            verifier_call_sockets=socket_list(env.str("VERIFIER_CALL_SOCKETS", "")),
            # Several gateway processes on one port (``verinet up --workers``): each binds with
            # SO_REUSEPORT and the kernel spreads new connections over them.
            reuse_port=env.bool("REUSE_PORT", False),
        )
