"""Every pack state crosses the wire and comes back as itself; a caller message becomes a Caller."""

from __future__ import annotations

import doctest

import verinet.wire
from verinet.callers import Caller
from verinet.common.v1 import common_pb2 as common_pb
from verinet.packs import PackState
from verinet.wire import PROTO_FROM_STATE, STATE_FROM_PROTO, caller_of


def test_every_state_has_its_own_proto_value_and_comes_back_as_itself() -> None:
    assert set(PROTO_FROM_STATE) == set(PackState)
    assert len(set(PROTO_FROM_STATE.values())) == len(PackState)
    assert all(STATE_FROM_PROTO[PROTO_FROM_STATE[state]] is state for state in PackState)


def test_every_proto_value_but_unspecified_is_a_state() -> None:
    named = set(common_pb.PackState.values()) - {common_pb.PACK_STATE_UNSPECIFIED}
    assert set(STATE_FROM_PROTO) == named


def test_a_caller_message_becomes_the_caller_value_field_for_field() -> None:
    message = common_pb.Caller(
        partner_id="p1",
        roles=["manufacturer", "wholesaler"],
        glns=["0614141000005"],
        company_prefixes=["0614141"],
        location_gln="0614141000005",
    )
    assert caller_of(message) == Caller(
        "p1", ("manufacturer", "wholesaler"), ("0614141000005",), ("0614141",), "0614141000005"
    )


def test_the_examples_in_the_docstring_hold() -> None:
    assert doctest.testmod(verinet.wire).failed == 0
