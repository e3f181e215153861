"""Mutual TLS between the services: a network started with it answers partners as before, and
each internal service refuses whoever cannot show a certificate from the internal CA."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.verinet_up import VerinetUp, verify_demo_pack
from verinet.config import Env, InternalTls
from verinet.embedded_redis import free_port
from verinet.errors import ConfigError
from verinet.internal_tls import ServiceFiles, ensure_certificates
from verinet.network import Network, demo_serial
from verinet.rpc import start_server

INTERNAL_SERVICES = ("verifier", "lookup", "recall-status")
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def mtls_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    network = Network(data_dir=tmp_path_factory.mktemp("mtls"), gateway_port=free_port(), internal_mtls=True)
    network.start(demo=True)
    try:
        yield network
    finally:
        network.stop()


def health_check(target: str, credentials: grpc.ChannelCredentials | None) -> int:
    """The overall health status a client with these credentials (None: plain text) gets."""
    with (
        grpc.insecure_channel(target) if credentials is None else grpc.secure_channel(target, credentials)
    ) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return int(answer.status)


def credentials_of(files: ServiceFiles, *, with_certificate: bool = True) -> grpc.ChannelCredentials:
    if not with_certificate:
        return grpc.ssl_channel_credentials(root_certificates=files.ca.read_bytes())
    return grpc.ssl_channel_credentials(
        root_certificates=files.ca.read_bytes(),
        private_key=files.key.read_bytes(),
        certificate_chain=files.cert.read_bytes(),
    )


def assert_refused(target: str, credentials: grpc.ChannelCredentials | None) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        health_check(target, credentials)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_network_with_internal_mtls_answers_an_lms_verification_end_to_end(mtls_network: Network) -> None:
    answer = verify_demo_pack(mtls_network.gateway_url, mtls_network.info, demo_serial(7))
    assert answer.status_code == 200
    assert answer.json()["data"] == {"verified": True}
    assert "Signature" in answer.headers  # the verifier, behind mTLS, signed it
    assert requests.get(mtls_network.gateway_url + "/readyz", timeout=10).status_code == 200


@pytest.mark.parametrize("service", INTERNAL_SERVICES)
def test_each_internal_service_serves_a_client_with_a_certificate_from_the_internal_ca(mtls_network: Network, service: str) -> None:
    target = f"localhost:{mtls_network.ports[service]}"
    assert health_check(target, credentials_of(mtls_network.internal_tls["gateway"])) == SERVING


@pytest.mark.parametrize("service", INTERNAL_SERVICES)
def test_each_internal_service_refuses_a_client_without_a_certificate(mtls_network: Network, service: str) -> None:
    target = f"localhost:{mtls_network.ports[service]}"
    assert_refused(target, credentials_of(mtls_network.internal_tls["gateway"], with_certificate=False))


@pytest.mark.parametrize("service", INTERNAL_SERVICES)
def test_each_internal_service_refuses_a_certificate_from_another_ca(mtls_network: Network, service: str, tmp_path: Path) -> None:
    intruder = ensure_certificates(tmp_path / "other-ca", ["gateway"])["gateway"]
    target = f"localhost:{mtls_network.ports[service]}"
    # The intruder trusts the real CA, so only its own certificate can be what fails.
    credentials = grpc.ssl_channel_credentials(
        root_certificates=mtls_network.internal_tls["gateway"].ca.read_bytes(),
        private_key=intruder.key.read_bytes(),
        certificate_chain=intruder.cert.read_bytes(),
    )
    assert_refused(target, credentials)


@pytest.mark.parametrize("service", INTERNAL_SERVICES)
def test_each_internal_service_refuses_plain_text(mtls_network: Network, service: str) -> None:
    assert_refused(f"127.0.0.1:{mtls_network.ports[service]}", None)


def test_the_ca_and_certificates_are_made_once_with_owner_only_keys(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path / "tls", ["verifier", "lookup"])
    contents = {path: path.read_bytes() for files in first.values() for path in (files.ca, files.cert, files.key)}
    for path in [tmp_path / "tls" / "ca.key"] + [files.key for files in first.values()]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    second = ensure_certificates(tmp_path / "tls", ["verifier", "lookup"])
    assert second == first
    assert {path: path.read_bytes() for path in contents} == contents


def test_a_health_only_port_answers_probes_in_plain_text_while_the_service_port_needs_mtls(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path / "tls", ["lookup", "gateway"])
    tls = InternalTls.from_env(Env(files["lookup"].as_env()))

    async def scenario() -> tuple[int, int]:
        handle = await start_server("verinet.test.v1.Nothing", [], 0, "127.0.0.1", tls=tls, health_port=free_port())
        try:
            loop = asyncio.get_running_loop()
            plain = await loop.run_in_executor(None, health_check, f"127.0.0.1:{handle.health_port}", None)
            with pytest.raises(grpc.RpcError):
                await loop.run_in_executor(None, health_check, f"127.0.0.1:{handle.port}", None)
            secure = await loop.run_in_executor(
                None, health_check, f"localhost:{handle.port}", credentials_of(files["gateway"])
            )
            return plain, secure
        finally:
            await handle.stop(0)

    assert asyncio.run(scenario()) == (SERVING, SERVING)


def test_internal_tls_needs_all_three_files_and_names_the_missing_ones(tmp_path: Path) -> None:
    assert InternalTls.from_env(Env({})) is None
    with pytest.raises(ConfigError, match=r"^Missing setting INTERNAL_TLS_KEY_FILE: mutual TLS needs all of"):
        InternalTls.from_env(Env({"INTERNAL_TLS_CA_FILE": "/tls/ca.crt", "INTERNAL_TLS_CERT_FILE": "/tls/tls.crt"}))
    missing = str(tmp_path / "absent.crt")
    with pytest.raises(ConfigError, match=r"Failed to read INTERNAL_TLS_CA_FILE='.*absent\.crt'"):
        InternalTls.from_env(
            Env({"INTERNAL_TLS_CA_FILE": missing, "INTERNAL_TLS_CERT_FILE": missing, "INTERNAL_TLS_KEY_FILE": missing})
        )


def run_verinet_up(data_dir: Path, port: int) -> tuple[list[str], dict[str, bytes]]:
    """Runs ``verinet up --internal-mtls`` until it is up, asks /readyz, then stops it with
    SIGTERM; answers what it printed and the certificate files it left."""
    up = VerinetUp(data_dir, port).start("--internal-mtls", timeout=90)
    try:
        assert requests.get(f"{up.url}/readyz", timeout=10).status_code == 200
    finally:
        up.stop()
    tls_dir = data_dir / "internal-tls"
    return up.lines, {path.name: path.read_bytes() for path in sorted(tls_dir.iterdir())}


def test_verinet_up_internal_mtls_makes_certificates_once_and_reuses_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    printed, first = run_verinet_up(data_dir, free_port())
    assert any("mutual TLS" in line for line in printed)
    assert set(first) == {"ca.crt", "ca.key"} | {f"{name}.{ext}" for name in ("gateway", *INTERNAL_SERVICES) for ext in ("crt", "key")}
    for name in first:
        if name.endswith(".key"):
            assert stat.S_IMODE(os.stat(data_dir / "internal-tls" / name).st_mode) == 0o600, name
    _, second = run_verinet_up(data_dir, free_port())
    assert second == first
