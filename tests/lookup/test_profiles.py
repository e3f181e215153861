"""Remote-network profiles: what is stored, what is shown, what is refused."""

from __future__ import annotations

import pytest

from verinet.errors import InvalidInput
from verinet.lookup.network_messages import profile_from_message, profile_to_message
from verinet.lookup.profiles import RemoteProfile, validate_profile
from verinet.lookup.remote_auth import renew_time
from verinet.lookup.v1 import lookup_pb2 as lookup_pb

SECRET = "s3cret-token-value"


def test_a_profile_never_shows_its_secrets_in_repr_or_answers() -> None:
    profile = RemoteProfile(name="q", base_url="https://vrs.example.net", auth_scheme="oauth2", oauth_token_url="https://idp.example.net/token", oauth_client_id="me", oauth_client_secret=SECRET, token=SECRET, password=SECRET)
    assert SECRET not in repr(profile)
    message = profile_to_message(profile)
    assert SECRET not in str(message)
    assert list(message.secrets_set) == ["token", "password", "oauth_client_secret"]


def test_proto_defaults_stand_for_the_documented_defaults() -> None:
    profile = profile_from_message(lookup_pb.RemoteNetwork(name="q", base_url="https://vrs.example.net/"))
    stored = validate_profile(profile)
    assert (stored.auth_scheme, stored.timeout_seconds, stored.attempts, stored.lms_version, stored.lenient) == ("none", 0.6, 3, "1.3.0", False)
    assert (stored.atp_carriage, stored.atp_name) == ("header", "ATP-Presentation")
    assert stored.base_url == "https://vrs.example.net"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Has Spaces"}, "name"),
        ({"timeout_seconds": 5.5}, "deadline_seconds"),
        ({"timeout_seconds": 0.01}, "deadline_seconds"),
        ({"attempts": 0}, "attempts"),
        ({"auth_scheme": "basic", "username": "a:b", "password": "p"}, "auth.username"),
        ({"auth_scheme": "mtls", "client_cert_pem": "-----BEGIN CERTIFICATE-----"}, "auth.client_key_pem"),
        ({"auth_scheme": "oauth2", "oauth_client_id": "x", "oauth_client_secret": "y"}, "auth.oauth_token_url"),
        ({"headers": (("Via", "x"),)}, "headers.Via"),
        ({"headers": (("X-Bad", "line\nbreak"),)}, "headers.X-Bad"),
        ({"atp_name": "has space"}, "atp.name"),
    ],
)
def test_a_bad_profile_names_the_field_at_fault(changes: dict[str, object], field: str) -> None:
    profile = RemoteProfile(name="q", base_url="https://vrs.example.net")
    with pytest.raises(InvalidInput) as refused:
        validate_profile(RemoteProfile(**{**profile_fields(profile), **changes}))  # type: ignore[arg-type]
    assert refused.value.field == field


def profile_fields(profile: RemoteProfile) -> dict[str, object]:
    return {name: getattr(profile, name) for name in RemoteProfile.__slots__}


def test_an_access_token_is_renewed_a_tenth_of_its_lifetime_early_and_at_least_5_s() -> None:
    assert renew_time(0.0, 3600.0) == 3240.0
    assert renew_time(0.0, 30.0) == 25.0
    assert renew_time(0.0, 2.0) == 1.0  # a short-lived token: half its lifetime
