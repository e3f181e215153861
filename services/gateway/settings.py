"""gateway settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from verinet.config import Env


@dataclass(frozen=True)
class Settings:
    port: int
    bind_host: str
    redis_url: str
    redis_timeout: float
    verifier_addr: str
    lookup_addr: str
    recall_status_addr: str
    rpc_timeout: float
    max_body_bytes: int
    max_packs_per_request: int
    max_commission_packs: int
    shutdown_grace: float
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            port=env.int("PORT", 8080, maximum=65535),
            bind_host=env.str("BIND_HOST", "0.0.0.0"),
            redis_url=env.str("REDIS_URL", example="redis://127.0.0.1:6379/0"),
            redis_timeout=env.float("REDIS_TIMEOUT_SECONDS", 2.0),
            verifier_addr=env.str("VERIFIER_ADDR", example="verifier:50051"),
            lookup_addr=env.str("LOOKUP_ADDR", example="lookup:50052"),
            recall_status_addr=env.str("RECALL_STATUS_ADDR", example="recall-status:50053"),
            rpc_timeout=env.float("RPC_TIMEOUT_SECONDS", 1.0),
            max_body_bytes=env.int("MAX_BODY_BYTES", 64 * 1024 * 1024, minimum=1024),
            max_packs_per_request=env.int("MAX_PACKS_PER_REQUEST", 1000, minimum=1),
            max_commission_packs=env.int("MAX_COMMISSION_PACKS", 200_000, minimum=1),
            shutdown_grace=env.float("SHUTDOWN_GRACE_SECONDS", 10.0),
            log_level=env.str("LOG_LEVEL", "INFO"),
        )
