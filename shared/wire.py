"""Domain values to and from their wire form in ``verinet.common.v1``: pack states, callers.

Every service carries a pack state and the caller in the same common messages; this module is
the one place they are translated, so the domain modules never see a proto.

:class:`verinet.packs.PackState` maps to the proto enum ``verinet.common.v1.PackState``
member for member (``SUPPLIED`` is ``PACK_STATE_SUPPLIED``; 0, ``PACK_STATE_UNSPECIFIED``,
means "no state"). A ``common.v1.Caller`` message becomes a :class:`verinet.callers.Caller`.

>>> PROTO_FROM_STATE[PackState.SUPPLIED] == common_pb.PACK_STATE_SUPPLIED
True
>>> STATE_FROM_PROTO[common_pb.PACK_STATE_LOCKED] is PackState.LOCKED
True
>>> common_pb.PACK_STATE_UNSPECIFIED in STATE_FROM_PROTO
False
>>> caller_of(common_pb.Caller(partner_id="p1", roles=["admin"])).is_admin
True

A message whose fields are spelled as a domain value's takes them with :func:`fields_of`:
``common_pb.Caller(**fields_of(caller, "partner_id", "location_gln"))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from verinet.callers import Caller
from verinet.common.v1 import common_pb2 as common_pb
from verinet.packs import PackState

__all__ = ["PROTO_FROM_STATE", "STATE_FROM_PROTO", "caller_of", "fields_of"]

#: Each state as its proto enum value. protoc's stubs type ``Value()`` as int; each of these
#: ints is a member of the proto enum. Plain dicts typed read-only: the verifier looks states
#: up per pack, and a dict is the fastest lookup.
PROTO_FROM_STATE: Mapping[PackState, common_pb.PackState] = {
    state: cast("common_pb.PackState", common_pb.PackState.Value(f"PACK_STATE_{state.name}"))
    for state in PackState
}
#: The state of each proto enum value (no entry for ``PACK_STATE_UNSPECIFIED``).
STATE_FROM_PROTO: Mapping[int, PackState] = {value: state for state, value in PROTO_FROM_STATE.items()}


def caller_of(message: common_pb.Caller) -> Caller:
    """The caller a request names, as the value the rules ask about."""
    return Caller(
        partner_id=message.partner_id,
        roles=tuple(message.roles),
        glns=tuple(message.glns),
        company_prefixes=tuple(message.company_prefixes),
        location_gln=message.location_gln,
    )


def fields_of(value: object, *names: str) -> dict[str, Any]:
    """The attributes ``names`` of ``value``, by name: the fields of a message spelled as the
    value's, each written once. Only what is named is taken, so a secret the value holds never
    reaches a message by accident.

    >>> fields_of(Caller(partner_id="p1", location_gln="0614141000005"), "partner_id", "location_gln")
    {'partner_id': 'p1', 'location_gln': '0614141000005'}
    """
    return {name: getattr(value, name) for name in names}
