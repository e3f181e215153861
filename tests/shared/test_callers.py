"""The one place that says what a role is and who owns a GTIN."""

import doctest

import pytest

import verinet.callers
from verinet.callers import ALL_ROLES, HOLDER_ROLES, TRADING_ROLES, Caller, Role, owning_prefix
from verinet.partners import ROLES


def test_the_roles_are_the_ones_partners_are_stored_with():
    assert [str(role) for role in ALL_ROLES] == list(ROLES)


def test_an_admin_is_not_a_trading_role_and_holders_are_traders():
    assert Role.ADMIN not in TRADING_ROLES
    assert set(HOLDER_ROLES) <= set(TRADING_ROLES)


def test_a_role_read_as_text_is_the_same_role():
    assert Caller("p", roles=("admin",)).is_admin
    assert Caller("p", roles=(Role.ADMIN,)).has_role("admin")


@pytest.mark.parametrize(
    ("gtin", "owner"),
    [
        ("00614141123452", "0614141"),  # indicator 0
        ("50614141123457", "0614141"),  # a case of the same product: indicator 5
        ("00614142123451", None),  # a neighbouring prefix
        ("06141411234526", None),  # the prefix digits shifted into the indicator
    ],
)
def test_a_gtin_is_owned_by_the_prefix_after_its_indicator_digit(gtin, owner):
    assert owning_prefix(["0614141"], gtin) == owner
    assert Caller("p", company_prefixes=("0614141",)).owns_gtin(gtin) is (owner is not None)


def test_an_admin_owns_no_gtin_by_being_admin():
    assert not Caller("p", roles=("admin",)).owns_gtin("00614141123452")


def test_a_caller_holds_only_its_own_glns():
    caller = Caller("p", glns=("0614141000012",))
    assert caller.holds_gln("0614141000012")
    assert not caller.holds_gln("0614141000029")


def test_the_examples_in_the_module_hold():
    assert doctest.testmod(verinet.callers).failed == 0
