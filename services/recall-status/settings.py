"""recall-status settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from verinet.backoff import Backoff
from verinet.config import Env
from verinet.errors import ConfigError
from verinet.outbound import ALLOW_CIDRS_VARIABLE, OutboundPolicy
from verinet.recall_status.delivery_worker import DeliverySettings
from verinet.service_main import GrpcServing


@dataclass(frozen=True)
class Settings(GrpcServing):
    redis_url: str
    redis_timeout: float
    max_packs_per_request: int
    webhook_key_dir: Path
    rpc_timeout: float
    notify: DeliverySettings
    follow_up_seconds: float = 300.0
    #: EPCIS events older than this leave the query store (event_store.prune); 0 keeps them all.
    event_retention_days: int = 2190
    #: On one machine (verinet up): the Unix socket its status-read call stream is also served
    #: on (verinet.socket_calls). Empty: gRPC only.
    call_socket: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        redis_timeout = env.float("REDIS_TIMEOUT_SECONDS", 2.0)
        rpc_timeout = env.float("RPC_TIMEOUT_SECONDS", 0.8, minimum=0.01)
        notify = DeliverySettings(
            backoff=Backoff(
                base=env.float("NOTIFY_BACKOFF_BASE_SECONDS", 5.0, minimum=0.001),
                maximum=env.float("NOTIFY_BACKOFF_MAX_SECONDS", 3600.0, minimum=0.001),
            ),
            max_attempts=env.int("NOTIFY_MAX_ATTEMPTS", 15, minimum=1),
            delivery_timeout=env.float("NOTIFY_DELIVERY_TIMEOUT_SECONDS", 10.0, minimum=0.01),
            sign_timeout=rpc_timeout,
            concurrency=env.int("NOTIFY_CONCURRENCY", 32, minimum=1),
            claim_idle=env.float("NOTIFY_CLAIM_IDLE_SECONDS", 60.0, minimum=0.01),
            poll_interval=env.float("NOTIFY_POLL_SECONDS", 1.0, minimum=0.01),
            outbound=OutboundPolicy.from_text(env.str(ALLOW_CIDRS_VARIABLE, "")),
        )
        if notify.backoff.maximum < notify.backoff.base:
            raise ConfigError(
                f"Failed to read NOTIFY_BACKOFF_MAX_SECONDS={notify.backoff.maximum:g}: "
                f"expected at least NOTIFY_BACKOFF_BASE_SECONDS ({notify.backoff.base:g})."
            )
        if notify.claim_idle <= notify.delivery_timeout + rpc_timeout:
            raise ConfigError(
                f"Failed to read NOTIFY_CLAIM_IDLE_SECONDS={notify.claim_idle:g}: expected more "
                f"than NOTIFY_DELIVERY_TIMEOUT_SECONDS + RPC_TIMEOUT_SECONDS "
                f"({notify.delivery_timeout + rpc_timeout:g}), or live deliveries are taken over "
                f"and sent twice; for example NOTIFY_CLAIM_IDLE_SECONDS=60"
            )
        if notify.poll_interval >= redis_timeout:
            raise ConfigError(
                f"Failed to read NOTIFY_POLL_SECONDS={notify.poll_interval:g}: expected less than "
                f"REDIS_TIMEOUT_SECONDS ({redis_timeout:g}), which bounds the blocking read; "
                f"for example NOTIFY_POLL_SECONDS=1"
            )
        return cls(
            **GrpcServing.serving_from_env(env, default_port=50053),
            redis_url=env.str("REDIS_URL", example="redis://127.0.0.1:6379/0"),
            redis_timeout=redis_timeout,
            max_packs_per_request=env.int("MAX_PACKS_PER_REQUEST", 10_000, minimum=1),
            webhook_key_dir=env.path("WEBHOOK_KEY_DIR", "/var/run/verinet/webhook-keys"),
            rpc_timeout=rpc_timeout,
            notify=notify,
            follow_up_seconds=env.float("RECALL_FOLLOW_UP_SECONDS", 300.0, minimum=0.01),
            event_retention_days=env.int("EPCIS_EVENT_RETENTION_DAYS", 2190, minimum=0),
            call_socket=env.str("CALL_SOCKET", ""),
        )
