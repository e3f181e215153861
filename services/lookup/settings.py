"""lookup settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from verinet.config import Env


@dataclass(frozen=True)
class Settings:
    port: int
    bind_host: str
    metrics_port: int
    redis_url: str
    redis_timeout: float
    shutdown_grace: float
    route_cache_seconds: int
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            port=env.int("PORT", 50052, maximum=65535),
            bind_host=env.str("BIND_HOST", "0.0.0.0"),
            metrics_port=env.int("METRICS_PORT", 0, maximum=65535),
            redis_url=env.str("REDIS_URL", example="redis://127.0.0.1:6379/0"),
            redis_timeout=env.float("REDIS_TIMEOUT_SECONDS", 2.0),
            shutdown_grace=env.float("SHUTDOWN_GRACE_SECONDS", 10.0),
            route_cache_seconds=env.int("ROUTE_CACHE_SECONDS", 5),
            log_level=env.str("LOG_LEVEL", "INFO"),
        )
