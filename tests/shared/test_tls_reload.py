"""Renewed mTLS certificates are taken under a running service: its server presents and
trusts the new ones, and its channels present the new one, without a restart.

The files are swapped the way a Kubernetes Secret volume swaps them (cert-manager's renewal):
every name is a symlink through ``..data``, which is flipped to a new directory at once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from verinet.config import Env, InternalTls
from verinet.internal_tls import ServiceFiles, ensure_certificates
from verinet.rpc import channel, start_server
from verinet.signing import KeyRing
from verinet.tls_reload import TlsFiles, follow_signing_keys

SERVING = health_pb2.HealthCheckResponse.SERVING
#: TlsFiles looks every 5 s; a renewal must be in use well within this.
RENEWAL_SECONDS = 20.0


class SecretVolume:
    """A directory laid out as the kubelet mounts a Secret: ca.crt, tls.crt, tls.key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.generation = 0

    def install(self, files: ServiceFiles) -> None:
        self.generation += 1
        data = self.root / f"..{self.generation}"
        data.mkdir()
        for name, source in (("ca.crt", files.ca), ("tls.crt", files.cert), ("tls.key", files.key)):
            shutil.copy(source, data / name)
            if not (self.root / name).is_symlink():
                (self.root / name).symlink_to(Path("..data") / name)
        flip = self.root / "..data_tmp"
        flip.symlink_to(data.name)
        os.replace(flip, self.root / "..data")  # atomic, as the kubelet does

    def tls(self) -> InternalTls:
        tls = InternalTls.from_env(
            Env(
                {
                    "INTERNAL_TLS_CA_FILE": str(self.root / "ca.crt"),
                    "INTERNAL_TLS_CERT_FILE": str(self.root / "tls.crt"),
                    "INTERNAL_TLS_KEY_FILE": str(self.root / "tls.key"),
                }
            )
        )
        assert tls is not None
        return tls


@pytest.fixture(scope="module")
def two_cas(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, ServiceFiles], dict[str, ServiceFiles]]:
    """Two internal CAs, each with a verifier (server) and a gateway (client) certificate: a
    renewal to another CA is the hardest case (every side must take the new files)."""
    root = tmp_path_factory.mktemp("cas")
    return (
        ensure_certificates(root / "old", ["verifier", "gateway"]),
        ensure_certificates(root / "new", ["verifier", "gateway"]),
    )


def credentials(files: ServiceFiles) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=files.ca.read_bytes(),
        private_key=files.key.read_bytes(),
        certificate_chain=files.cert.read_bytes(),
    )


async def health_of(stub: health_pb2_grpc.HealthStub) -> int | str:
    try:
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=3)  # type: ignore[attr-defined]
        return int(answer.status)
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)


async def fresh_client_health(port: int, files: ServiceFiles) -> int | str:
    async with grpc.aio.secure_channel(f"localhost:{port}", credentials(files)) as fresh:
        return await health_of(health_pb2_grpc.HealthStub(fresh))


async def eventually(check: Callable[[], Awaitable[int | str]], expected: int | str) -> int | str:
    deadline = time.monotonic() + RENEWAL_SECONDS
    got = await check()
    while got != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        got = await check()
    return got


def test_a_running_server_serves_and_trusts_the_renewed_certificate(tmp_path: Path, two_cas: tuple[dict[str, ServiceFiles], dict[str, ServiceFiles]]) -> None:
    old, new = two_cas
    volume = SecretVolume(tmp_path / "tls")
    volume.install(old["verifier"])

    async def scenario() -> None:
        handle = await start_server("test.Service", [], 0, "127.0.0.1", tls=volume.tls())
        try:
            assert await fresh_client_health(handle.port, old["gateway"]) == SERVING
            assert await fresh_client_health(handle.port, new["gateway"]) == "UNAVAILABLE"
            volume.install(new["verifier"])
            assert await eventually(lambda: fresh_client_health(handle.port, new["gateway"]), SERVING) == SERVING
            assert await fresh_client_health(handle.port, old["gateway"]) == "UNAVAILABLE"
        finally:
            await handle.stop(0)

    asyncio.run(scenario())


def test_a_running_channel_presents_the_renewed_certificate_through_the_same_stub(tmp_path: Path, two_cas: tuple[dict[str, ServiceFiles], dict[str, ServiceFiles]]) -> None:
    old, new = two_cas
    server_side = SecretVolume(tmp_path / "server")
    server_side.install(new["verifier"])  # already renewed: trusts only the new CA
    client_side = SecretVolume(tmp_path / "client")
    client_side.install(old["gateway"])

    async def scenario() -> None:
        handle = await start_server("test.Service", [], 0, "127.0.0.1", tls=server_side.tls())
        client = channel(f"localhost:{handle.port}", client_side.tls())
        try:
            stub = health_pb2_grpc.HealthStub(client)
            assert await health_of(stub) == "UNAVAILABLE"
            client_side.install(new["gateway"])
            assert await eventually(lambda: health_of(stub), SERVING) == SERVING
        finally:
            await client.close()
            await handle.stop(0)

    asyncio.run(scenario())


def test_a_half_written_set_is_ignored_until_it_is_whole(tmp_path: Path, two_cas: tuple[dict[str, ServiceFiles], dict[str, ServiceFiles]]) -> None:
    old, new = two_cas
    live = tmp_path / "live"
    live.mkdir()
    for source, name in ((old["verifier"].ca, "ca.crt"), (old["verifier"].cert, "tls.crt"), (old["verifier"].key, "tls.key")):
        shutil.copy(source, live / name)
    now = [0.0]
    files = TlsFiles(
        InternalTls.from_env(
            Env({"INTERNAL_TLS_CA_FILE": str(live / "ca.crt"), "INTERNAL_TLS_CERT_FILE": str(live / "tls.crt"), "INTERNAL_TLS_KEY_FILE": str(live / "tls.key")})
        )
        or pytest.fail("no TLS"),
        interval=5.0,
        clock=lambda: now[0],
    )
    assert files.renewed() is None  # nothing changed (and not yet time to look)
    shutil.copy(new["verifier"].cert, live / "tls.crt")  # the key has not arrived yet
    shutil.copy(new["verifier"].ca, live / "ca.crt")
    now[0] = 6.0
    assert files.renewed() is None
    assert files.current.cert == old["verifier"].cert.read_bytes()
    shutil.copy(new["verifier"].key, live / "tls.key")
    now[0] = 8.0
    assert files.renewed() is None  # looked less than 5 s ago
    now[0] = 12.0
    renewed = files.renewed()
    assert renewed is not None and renewed.cert == new["verifier"].cert.read_bytes()
    assert renewed.key == new["verifier"].key.read_bytes() and renewed.ca == new["verifier"].ca.read_bytes()


def test_a_key_added_to_a_signing_key_directory_is_handed_over_and_a_half_written_one_waits(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    first = KeyRing.load_or_create(directory).active.kid
    rings: list[KeyRing] = []

    async def scenario() -> None:
        watch = asyncio.create_task(follow_signing_keys(directory, rings.append, interval=0.02))
        await asyncio.sleep(0.1)
        (directory / ("signing-" + "x" * 43 + ".pem")).write_text("half written")
        await asyncio.sleep(0.1)
        assert rings == []  # a set that does not load is not handed over
        (directory / ("signing-" + "x" * 43 + ".pem")).unlink()
        rotated = KeyRing.rotate(directory)
        deadline = time.monotonic() + 5
        while not rings and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        watch.cancel()
        assert rings and rings[-1].active.kid == rotated and first in rings[-1].kids

    asyncio.run(scenario())
