"""Fixtures shared by the gateway's test modules: the trading partners of the EPCIS tests."""

from __future__ import annotations

import pytest

from tests.conftest import RunningNetwork
from tests.gateway.test_epcis import Party, add_parties


@pytest.fixture(scope="module")
def parties(network: RunningNetwork) -> dict[str, Party]:
    """A maker (which registers the product "EPCIS case"), two wholesalers, a pharmacy and a
    network partner, one set per module. Modules with partners of their own define ``parties``."""
    roles = {"maker": "manufacturer", "wholesaler": "wholesaler", "pharmacy": "dispenser", "other": "wholesaler", "network": "network"}
    return add_parties(network, roles, "EPCIS case")
