"""Remote-network profiles to and from their proto message. Answers never carry a secret:
only the names of the secrets that are stored (``secrets_set``)."""

from __future__ import annotations

from verinet.lookup.profiles import DEFAULT_ATP_NAME, RemoteProfile
from verinet.lookup.v1 import lookup_pb2 as lookup_pb
from verinet.remote_networks import DEFAULT_HOP_SECONDS
from verinet.wire import fields_of


def profile_from_message(message: lookup_pb.RemoteNetwork) -> RemoteProfile:
    """A profile as written; proto defaults (0, empty) stand for the documented defaults."""
    return RemoteProfile(
        name=message.name,
        base_url=message.base_url,
        auth_scheme=message.auth_scheme or "none",
        token=message.token,
        username=message.username,
        password=message.password,
        oauth_token_url=message.oauth_token_url,
        oauth_client_id=message.oauth_client_id,
        oauth_client_secret=message.oauth_client_secret,
        oauth_scope=message.oauth_scope,
        client_cert_pem=message.client_cert_pem,
        client_key_pem=message.client_key_pem,
        ca_pem=message.ca_pem,
        timeout_seconds=message.timeout_seconds or DEFAULT_HOP_SECONDS,
        attempts=message.attempts or 3,
        headers=tuple(sorted(message.headers.items())),
        lms_version=message.lms_version or "1.3.0",
        lenient=message.lenient,
        atp_carriage=message.atp_carriage or "header",
        atp_name=message.atp_name or DEFAULT_ATP_NAME,
    )


def profile_to_message(profile: RemoteProfile) -> lookup_pb.RemoteNetwork:
    """The profile for answers: secrets blanked, their names in ``secrets_set``."""
    public = profile.public()
    return lookup_pb.RemoteNetwork(
        **fields_of(
            public, "name", "base_url", "auth_scheme", "username", "oauth_token_url", "oauth_client_id",
            "oauth_scope", "client_cert_pem", "ca_pem", "timeout_seconds", "attempts", "lms_version",
            "lenient", "atp_carriage", "atp_name", "updated_at",
        ),
        headers=dict(public.headers),
        secrets_set=profile.secrets_set(),
    )  # fmt: skip
