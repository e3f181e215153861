"""The outbound policy as a hostile partner probes it: every spelling of an inside address is
refused when a URL is set, and the operator's ranges are let through."""

from __future__ import annotations

import asyncio
import doctest
import ipaddress
import socket

import hypothesis
import pytest
from hypothesis import strategies as st

from verinet import outbound
from verinet.errors import ConfigError, InvalidInput
from verinet.outbound import IPAddress, OutboundPolicy, host_address, remembering

STRICT = OutboundPolicy()

#: Hosts a partner might write to reach inside, and what they mean.
HOSTILE_HOSTS = [
    ("127.0.0.1", "loopback"),
    ("localhost", "localhost"),
    ("api.localhost", "localhost"),
    ("LOCALHOST.", "localhost"),
    ("2130706433", "loopback"),  # decimal integer
    ("0x7f000001", "loopback"),  # hex integer
    ("0x7f.1", "loopback"),  # hex, short form
    ("017700000001", "loopback"),  # octal integer
    ("0177.0.0.1", "loopback"),  # octal part
    ("127.1", "loopback"),  # short form
    ("127.0.0.1.", "loopback"),  # trailing dot
    ("0", "unspecified"),
    ("0.0.0.0", "unspecified"),
    ("10.0.0.1", "RFC 1918"),
    ("172.16.5.4", "RFC 1918"),
    ("192.168.1.1", "RFC 1918"),
    ("0xa9fea9fe", "link-local"),  # 169.254.169.254
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.10", "documentation"),
    ("[::1]", "loopback"),
    ("[::]", "unspecified"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped"),
    ("[::ffff:7f00:1]", "IPv4-mapped"),
    ("[::ffff:169.254.169.254]", "IPv4-mapped"),
    ("[::127.0.0.1]", "IPv4-compatible"),
    ("[64:ff9b::10.0.0.1]", "NAT64"),
    ("[2002:7f00:1::]", "6to4"),
    ("[2002:a9fe:a9fe::1]", "6to4"),
    ("[fd00::1]", "unique local"),
    ("[fc00::1]", "unique local"),
    ("[fe80::1]", "link-local"),
    ("[fe80::1%25eth0]", "link-local"),
    ("[fec0::1]", "site-local"),
    ("[ff02::1]", "multicast"),
    ("[2001:db8::1]", "documentation"),
    ("[2001::1]", "Teredo"),
    ("999.1.1.1", "numeric"),
]


@pytest.mark.parametrize(("host", "named"), HOSTILE_HOSTS)
def test_a_webhook_url_to_an_inside_address_is_refused_whatever_its_spelling(host: str, named: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        asyncio.run(STRICT.check_url(f"http://{host}:6379/hook", field="url", code="subscription.url_not_public"))
    assert refused.value.code == "subscription.url_not_public"
    assert refused.value.field == "url"
    assert named.lower() in refused.value.message.lower()


def test_a_webhook_to_the_metadata_address_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"link-local.*metadata"):
        asyncio.run(STRICT.check_url("http://169.254.169.254/latest/meta-data/"))


@pytest.mark.parametrize("host", ["93.184.215.14", "[2606:4700:4700::1111]", "[::ffff:93.184.215.14]", "[2002:5db8:d70e::1]", "[64:ff9b::93.184.215.14]"])
def test_a_public_address_is_accepted(host: str) -> None:
    asyncio.run(STRICT.check_url(f"https://{host}/hook"))


def test_a_public_address_in_an_unusual_spelling_is_refused_with_its_usual_one() -> None:
    with pytest.raises(InvalidInput, match=r"write it as 93\.184\.215\.14"):
        asyncio.run(STRICT.check_url("https://1572394766/hook"))


def test_a_name_that_resolves_inside_is_refused_when_it_is_set() -> None:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        assert (host, port) == ("hooks.partner.example", 443)
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.2.3")]

    with pytest.raises(InvalidInput, match=r"resolves to a private address \(RFC 1918, 10\.0\.0\.0/8\)"):
        asyncio.run(STRICT.check_url("https://hooks.partner.example/x", resolve=resolve))


def test_a_name_that_does_not_resolve_yet_is_accepted_and_left_to_the_connection_check() -> None:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        raise OSError("Name or service not known")

    asyncio.run(STRICT.check_url("https://not-yet.partner.example/x", resolve=resolve))


def test_the_operator_allows_loopback_with_outbound_allow_cidrs() -> None:
    policy = OutboundPolicy.from_text("127.0.0.0/8, ::1")
    asyncio.run(policy.check_url("http://127.0.0.1:8080/hook"))
    asyncio.run(policy.check_url("http://[::1]:8080/hook"))
    asyncio.run(policy.check_url("http://[::ffff:127.0.0.1]:8080/hook"))
    with pytest.raises(InvalidInput, match="RFC 1918"):
        asyncio.run(policy.check_url("http://10.0.0.1/hook"))


def test_a_malformed_allow_list_names_the_variable_and_an_example() -> None:
    with pytest.raises(ConfigError, match=r"OUTBOUND_ALLOW_CIDRS: '10\.0\.0\.1/8' is not a CIDR range.*OUTBOUND_ALLOW_CIDRS=10\.20\.0\.0/16"):
        OutboundPolicy.from_text("10.0.0.1/8")


@pytest.mark.parametrize(
    ("host", "address"),
    [("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("017700000001", "127.0.0.1"), ("127.1", "127.0.0.1"), ("10.1", "10.0.0.1"), ("192.168.257", "192.168.1.1")],
)
def test_numeric_hosts_are_read_as_the_c_resolver_reads_them(host: str, address: str) -> None:
    assert host_address(host) == (ipaddress.ip_address(address), False)


def test_the_examples_in_the_module_hold() -> None:
    assert doctest.testmod(outbound).failed == 0


def test_checking_many_urls_of_one_host_asks_dns_once() -> None:
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address("93.184.215.14")]

    async def main() -> None:
        remembered = remembering(resolve)
        for n in range(50):
            await STRICT.check_url(f"https://vrs.partner.example/lms{n}", resolve=remembered)

    asyncio.run(main())
    assert asked == ["vrs.partner.example"]


@pytest.mark.parametrize(("host", "address"), [("0x", "0.0.0.0"), ("0x.0x.0x.1", "0.0.0.1"), ("00", "0.0.0.0"), ("0x7F.0.0.01", "127.0.0.1")])
def test_degenerate_numeric_hosts_are_read_without_failing(host: str, address: str) -> None:
    assert host_address(host)[0] == ipaddress.ip_address(address)
    with pytest.raises(InvalidInput):
        asyncio.run(STRICT.check_url(f"http://{host}/"))


_PART = st.one_of(
    st.integers(0, 2**32 - 1).map(str),
    st.integers(0, 2**32 - 1).map(lambda n: "0" + format(n, "o")),
    st.integers(0, 2**32 - 1).map(lambda n: "0x" + format(n, "x")),
    st.integers(0, 300).map(str),
)


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(parts=st.lists(_PART, min_size=1, max_size=4))
def test_numeric_hosts_mean_what_the_c_library_inet_aton_makes_of_them(parts: list[str]) -> None:
    host = ".".join(parts)
    try:
        expected: IPAddress | None = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        expected = None
    assert host_address(host)[0] == expected
