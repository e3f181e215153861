"""lookup settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from verinet.backoff import Backoff
from verinet.config import Env
from verinet.errors import ConfigError
from verinet.lookup.forwarding import ForwardSettings
from verinet.lookup.oci import Wallet
from verinet.outbound import ALLOW_CIDRS_VARIABLE, OutboundPolicy
from verinet.service_main import GrpcServing


def network_wallet(env: Env) -> Wallet | None:
    """This network's own DID and OCI wallet (OCI_WALLET_*), for questions from other networks;
    None when OCI_WALLET_URL is unset."""
    url = env.str("OCI_WALLET_URL", "")
    if not url:
        return None
    return Wallet(
        did=env.str("OCI_WALLET_DID", example="did:web:vrs.example.net"),
        url=url.rstrip("/"),
        client_id=env.str("OCI_WALLET_CLIENT_ID", example="verinet"),
        client_secret=env.str("OCI_WALLET_CLIENT_SECRET", example="<client secret>"),
        token_url=env.str("OCI_WALLET_TOKEN_URL", ""),
    )


@dataclass(frozen=True)
class Settings(GrpcServing):
    redis_url: str
    redis_timeout: float
    route_cache_seconds: int
    directory_poll_seconds: float
    forward: ForwardSettings
    forward_pool_size: int
    network_gln: str
    #: Where directory entries written by manufacturers may point (admins' entries: anywhere).
    outbound: OutboundPolicy
    network_wallet: Wallet | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        forward = ForwardSettings(
            timeout=env.float("FORWARD_TIMEOUT_SECONDS", 0.6, minimum=0.05),
            max_attempts=env.int("FORWARD_MAX_ATTEMPTS", 3, minimum=1, maximum=10),
            backoff=Backoff(
                base=env.float("FORWARD_BACKOFF_SECONDS", 0.05),
                maximum=env.float("FORWARD_BACKOFF_MAX_SECONDS", 0.2),
            ),
            breaker_failures=env.int("BREAKER_FAILURES", 5, minimum=1),
            breaker_open_seconds=env.float("BREAKER_OPEN_SECONDS", 30.0),
            max_body_bytes=env.int("FORWARD_MAX_BODY_BYTES", 65536, minimum=1024),
        )
        if forward.timeout > 30:
            raise ConfigError(
                f"Failed to read FORWARD_TIMEOUT_SECONDS={forward.timeout}: expected at most 30 "
                "(LMS round trips aim at under a second), for example FORWARD_TIMEOUT_SECONDS=0.6"
            )
        return cls(
            **GrpcServing.serving_from_env(env, default_port=50052),
            redis_url=env.str("REDIS_URL", example="redis://127.0.0.1:6379/0"),
            redis_timeout=env.float("REDIS_TIMEOUT_SECONDS", 2.0),
            route_cache_seconds=env.int("ROUTE_CACHE_SECONDS", 30),
            directory_poll_seconds=env.float("DIRECTORY_POLL_SECONDS", 0.25, minimum=0.01),
            forward=forward,
            forward_pool_size=env.int("FORWARD_POOL_SIZE", 100, minimum=1),
            network_gln=env.str("NETWORK_GLN", ""),
            outbound=OutboundPolicy.from_text(env.str(ALLOW_CIDRS_VARIABLE, "")),
            network_wallet=network_wallet(env),
        )
