"""EU FMD pack operations, decided without storage: every state, operation and role.

The expectations come from the two grids below, written by hand from STANDARDS.md §3 and
issue 5, never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys

import pytest

from verinet.callers import Caller
from verinet.errors import InvalidInput
from verinet.lifecycle import (
    ALERT_CODES,
    ALLOWED_STATES_BY_ROLE,
    NMVS_CODES,
    Decision,
    LastDecommission,
    Operation,
    batch_status,
    decide,
)
from verinet.packs import PackRecord, PackState

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
GTIN = "09506000134352"
LOT = "LOT-A1"
EXPIRY = "281231"
PAST_EXPIRY = "260930"
HERE = "0950600013430"
ELSEWHERE = "0950600013447"
ME = "partner-1"
SOMEONE_ELSE = "partner-2"
ROLES = ("dispenser", "wholesaler", "manufacturer", "network", "admin")

# -- the grids ----------------------------------------------------------------------------------

#: Column names of both grids: the operation, or for a decommission its target state.
COLUMNS: dict[str, tuple[Operation, PackState | None]] = {
    "verify": (Operation.VERIFY, None),
    "reactivate": (Operation.REACTIVATE, None),
    "supp": (Operation.DECOMMISSION, PackState.SUPPLIED),
    "dest": (Operation.DECOMMISSION, PackState.DESTROYED),
    "stol": (Operation.DECOMMISSION, PackState.STOLEN),
    "samp": (Operation.DECOMMISSION, PackState.SAMPLE),
    "free": (Operation.DECOMMISSION, PackState.FREE_SAMPLE),
    "expo": (Operation.DECOMMISSION, PackState.EXPORTED),
    "lock": (Operation.DECOMMISSION, PackState.LOCKED),
    "chko": (Operation.DECOMMISSION, PackState.CHECKED_OUT),
    "illg": (Operation.DECOMMISSION, PackState.ILLEGITIMATE),
}

#: What a caller whose role allows the operation gets. A decommissioned pack was put in its
#: state by this caller, at this location, an hour ago (outside the repeat-scan window, inside
#: the undo window). "expired" is an active pack past its expiry date, "recalled" an active pack
#: of a recalled batch, "withdrawn" an active pack of a withdrawn product.
#:
#:   OK    the pack is active (verify)        set   decommissioned to the column's state
#:   undo  reactivated                        a trailing ! means the answer raises an alert
#:   INACT VERINET_PACK_INACTIVE (a decommissioned pack verified)
#:   any other cell is an NMVS code without its NMVS_NC_ / NMVS_FE_ prefix and underscore
#:
#: The pack's own state comes first: a decommissioned pack answers the same whatever its batch
#: (see test_verdict_precedence.py); a recalled, withdrawn or expired pack is still active, may
#: not be supplied or moved on, but may be taken out of circulation by its holder.
DECISIONS = """
current      verify reactivate supp   dest   stol   samp   free   expo   lock   chko   illg
unknown      PC02!  PC02!      PC02!  PC02!  PC02!  PC02!  PC02!  PC02!  PC02!  PC02!  PC02!
active       OK     PCK29      set    set    set    set    set    set    set    set    set
supplied     INACT  undo       PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
destroyed    INACT  PCK06!     PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
stolen       INACT  PCK06!     PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
sample       INACT  undo       PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
free_sample  INACT  undo       PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
exported     INACT  PCK06!     PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
locked       INACT  undo       PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
checked_out  INACT  undo       PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
illegitimate INACT  PCK06!     PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22! PCK22!
expired      PCK02  PCK29      PCK02  set    set    set    PCK02  PCK02  set    PCK02  set
recalled     LOT01  PCK29      LOT01  set    set    set    LOT01  LOT01  set    LOT01  set
withdrawn    LOT08  PCK29      LOT08  set    set    set    LOT08  LOT08  set    LOT08  set
"""

#: The role matrix: yes = allowed; op = the role may not do this operation at all
#: (VERINET_ROLE_OPERATION); st = it may decommission, but not to this state (VERINET_ROLE_STATE).
#: A refusal comes before anything else, so it never raises an alert nor discloses a state.
PERMISSIONS = """
role         verify reactivate supp   dest   stol   samp   free   expo   lock   chko   illg
dispenser    yes    yes        yes    yes    st     yes    st     st     st     st     st
wholesaler   yes    yes        yes    yes    yes    yes    yes    yes    yes    yes    st
manufacturer yes    yes        st     yes    yes    st     yes    st     yes    st     yes
network      yes    op         op     op     op     op     op     op     op     op     op
admin        op     op         op     op     op     op     op     op     op     op     op
"""

BATCH_STATUS_OF_ROW = {
    "expired": PackState.EXPIRED,
    "recalled": PackState.RECALLED,
    "withdrawn": PackState.WITHDRAWN,
}
CODE_PREFIX = {"PC": "NMVS_NC_", "PCK": "NMVS_NC_", "LOT": "NMVS_FE_"}
REFUSAL_CODES = {"op": "VERINET_ROLE_OPERATION", "st": "VERINET_ROLE_STATE"}


def read_grid(text: str) -> dict[tuple[str, str], str]:
    header, *rows = (line.split() for line in text.strip().splitlines())
    assert header[1:] == list(COLUMNS)
    return {
        (row[0], column): cell
        for row in rows
        for column, cell in zip(header[1:], row[1:], strict=True)
    }


def full_code(cell: str) -> str:
    """``PCK22!`` -> ``NMVS_NC_PCK_22``."""
    if cell == "INACT":
        return "VERINET_PACK_INACTIVE"
    letters = cell.rstrip("!0123456789")
    return f"{CODE_PREFIX[letters]}{letters}_{cell.rstrip('!')[len(letters) :]}"


# -- building blocks ----------------------------------------------------------------------------


def pack(state: PackState = PackState.ACTIVE, /, **changes: object) -> PackRecord:
    fields: dict[str, object] = {
        "gtin": GTIN,
        "serial": "SN0001",
        "lot": LOT,
        "expiry": EXPIRY,
        "pack_state": state,
        "owner_partner_id": ME,
    }
    fields.update(changes)
    return PackRecord(**fields)  # type: ignore[arg-type]


def caller(*roles: str, partner: str = ME, location: str = HERE) -> Caller:
    return Caller(partner_id=partner, roles=roles or ("wholesaler",), location_gln=location)


def decommissioned(
    state: PackState, *, ago: dt.timedelta, by: str = ME, at: str = HERE
) -> LastDecommission:
    return LastDecommission(state=state, partner_id=by, location_gln=at, at=NOW - ago)


def pack_in(current: str) -> tuple[PackRecord | None, LastDecommission | None]:
    """The stored pack and its last decommission for a row of DECISIONS."""
    if current == "unknown":
        return None, None
    if current == "expired":
        return pack(expiry=PAST_EXPIRY), None
    if current == "recalled":
        return pack(lot_state=PackState.RECALLED), None
    if current == "withdrawn":
        return pack(product_state=PackState.WITHDRAWN), None
    state = PackState(current)
    if state is PackState.ACTIVE:
        return pack(), None
    return pack(state), decommissioned(state, ago=dt.timedelta(hours=1))


def undo(record: PackRecord, last: LastDecommission | None, **caller_kwargs: str) -> Decision:
    return decide(
        Operation.REACTIVATE,
        record=record,
        caller=caller("dispenser", "wholesaler", **caller_kwargs),
        now=NOW,
        last_decommission=last,
    )


def decommission(
    target: PackState,
    record: PackRecord | None = None,
    *,
    who: Caller | None = None,
    last: LastDecommission | None = None,
    **kwargs: object,
) -> Decision:
    return decide(
        Operation.DECOMMISSION,
        record=pack() if record is None else record,
        caller=who or caller("wholesaler"),
        now=NOW,
        target=target,
        last_decommission=last,
        **kwargs,  # type: ignore[arg-type]
    )


# -- every (state, operation, role) -------------------------------------------------------------

EXPECTED = read_grid(DECISIONS)
ALLOWED = read_grid(PERMISSIONS)
CASES = [
    pytest.param(role, current, column, id=f"{role}-{column}-{current}")
    for role, (current, column) in itertools.product(ROLES, EXPECTED)
]


def grid_decision(
    role: str, current: str, column: str, *, scanned: bool
) -> tuple[Decision, PackRecord | None]:
    """What a caller of ``role`` gets for ``column`` on a pack of row ``current``, and that pack.
    ``scanned``: the request carries the lot and expiry a scan of the pack reads."""
    operation, target = COLUMNS[column]
    record, last = pack_in(current)
    scan: dict[str, str] = {}
    if scanned:
        scan = {"lot": LOT, "expiry": EXPIRY if record is None else record.expiry}
    decision = decide(
        operation,
        record=record,
        caller=caller(role),
        now=NOW,
        target=target,
        last_decommission=last,
        **scan,
    )
    return decision, record


@pytest.mark.parametrize(("role", "current", "column"), CASES)
def test_each_role_gets_the_answer_of_the_grids_for_each_state_and_operation(
    role: str, current: str, column: str
) -> None:
    decision, record = grid_decision(role, current, column, scanned=True)
    target = COLUMNS[column][1]

    permission = ALLOWED[(role, column)]
    if permission != "yes":
        assert decision == Decision(
            ok=False,
            state_after=None,
            new_pack_state=None,
            code=REFUSAL_CODES[permission],
            alert=False,
            message=decision.message,
        )
        return
    cell = EXPECTED[(current, column)]
    current_state = None if record is None else record.pack_state
    if cell == "set":
        expected = (True, target, target, "OK", False)
    elif cell == "undo":
        expected = (True, PackState.ACTIVE, PackState.ACTIVE, "OK", False)
    elif cell == "OK":
        expected = (True, current_state, None, "OK", False)
    else:
        expected = (False, current_state, None, full_code(cell), cell.endswith("!"))
    got = (
        decision.ok,
        decision.state_after,
        decision.new_pack_state,
        decision.code,
        decision.alert,
    )
    assert got == expected
    assert not decision.warning
    status = None if record is None else BATCH_STATUS_OF_ROW.get(current, PackState.ACTIVE)
    assert decision.batch_status is status


@pytest.mark.parametrize(("role", "current", "column"), CASES)
def test_every_answer_has_a_documented_code_that_alone_decides_the_alert(
    role: str, current: str, column: str
) -> None:
    decision, _ = grid_decision(role, current, column, scanned=False)
    assert decision.code in NMVS_CODES
    assert decision.alert is (decision.code in ALERT_CODES)
    assert decision.message


def test_the_role_matrix_table_is_the_one_the_grid_describes() -> None:
    for role in ROLES:
        allowed = {
            target
            for column, (operation, target) in COLUMNS.items()
            if operation is Operation.DECOMMISSION and ALLOWED[(role, column)] == "yes"
        }
        assert ALLOWED_STATES_BY_ROLE[role] == allowed, role


def test_the_code_prefixes_of_the_grid_expand_to_nmvs_codes() -> None:
    assert full_code("PCK22!") == "NMVS_NC_PCK_22"
    assert full_code("PC02!") == "NMVS_NC_PC_02"
    assert full_code("LOT08") == "NMVS_FE_LOT_08"


# -- undo (Art. 13) -----------------------------------------------------------------------------

REVERSIBLE = [PackState.SUPPLIED, PackState.SAMPLE, PackState.FREE_SAMPLE, PackState.CHECKED_OUT]


@pytest.mark.parametrize("state", REVERSIBLE, ids=lambda s: s.value)
def test_undo_passes_239_hours_after_the_decommission(state: PackState) -> None:
    decision = undo(pack(state), decommissioned(state, ago=dt.timedelta(hours=239)))
    assert (decision.ok, decision.code, decision.new_pack_state) == (True, "OK", PackState.ACTIVE)


@pytest.mark.parametrize("state", REVERSIBLE, ids=lambda s: s.value)
def test_undo_passes_at_exactly_240_hours_because_the_rule_is_no_more_than_10_days(
    state: PackState,
) -> None:
    decision = undo(pack(state), decommissioned(state, ago=dt.timedelta(hours=240)))
    assert (decision.ok, decision.code) == (True, "OK")


@pytest.mark.parametrize("state", REVERSIBLE, ids=lambda s: s.value)
def test_undo_is_refused_with_pck_20_one_second_after_240_hours(state: PackState) -> None:
    decision = undo(pack(state), decommissioned(state, ago=dt.timedelta(hours=240, seconds=1)))
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_NC_PCK_20", False)
    assert (decision.state_after, decision.new_pack_state) == (state, None)


@pytest.mark.parametrize("state", REVERSIBLE, ids=lambda s: s.value)
def test_undo_is_refused_with_pck_20_241_hours_after_the_decommission(state: PackState) -> None:
    decision = undo(pack(state), decommissioned(state, ago=dt.timedelta(hours=241)))
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_NC_PCK_20", False)


@pytest.mark.parametrize("hours", [239, 241, 24 * 365])
def test_unlock_by_the_partner_that_locked_the_pack_has_no_deadline(hours: int) -> None:
    locked = decommissioned(PackState.LOCKED, ago=dt.timedelta(hours=hours))
    decision = undo(pack(PackState.LOCKED), locked)
    assert (decision.ok, decision.new_pack_state) == (True, PackState.ACTIVE)


def test_unlock_by_another_partner_is_refused_with_pck_21() -> None:
    locked = decommissioned(PackState.LOCKED, ago=dt.timedelta(hours=1), by=SOMEONE_ELSE)
    assert undo(pack(PackState.LOCKED), locked).code == "NMVS_NC_PCK_21"


@pytest.mark.parametrize("state", REVERSIBLE, ids=lambda s: s.value)
@pytest.mark.parametrize(
    ("by", "at"),
    [(SOMEONE_ELSE, HERE), (ME, ELSEWHERE)],
    ids=["another partner at the same location", "the same partner at another location"],
)
def test_undo_by_anyone_but_the_decommissioner_where_it_decommissioned_is_refused_with_pck_21(
    state: PackState, by: str, at: str
) -> None:
    decision = undo(pack(state), decommissioned(state, ago=dt.timedelta(hours=1), by=by, at=at))
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_NC_PCK_21", False)
    assert decision.new_pack_state is None
    if at != HERE:
        assert at in decision.message  # the message names where the undo must happen


def test_undo_by_another_partner_after_ten_days_is_refused_for_the_partner_first() -> None:
    last = decommissioned(PackState.SUPPLIED, ago=dt.timedelta(hours=300), by=SOMEONE_ELSE)
    assert undo(pack(PackState.SUPPLIED), last).code == "NMVS_NC_PCK_21"


@pytest.mark.parametrize(
    "state",
    [PackState.STOLEN, PackState.DESTROYED, PackState.EXPORTED, PackState.ILLEGITIMATE],
    ids=lambda s: s.value,
)
def test_undo_from_an_irreversible_state_is_refused_with_an_alert_even_by_its_author(
    state: PackState,
) -> None:
    decision = undo(pack(state), decommissioned(state, ago=dt.timedelta(minutes=1)))
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_NC_PCK_06", True)
    assert (decision.state_after, decision.new_pack_state) == (state, None)


def test_undo_of_an_active_pack_is_refused_without_an_alert() -> None:
    decision = undo(pack(), None)
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_NC_PCK_29", False)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"product_state": PackState.WITHDRAWN}, "NMVS_FE_LOT_08"),
        ({"lot_state": PackState.RECALLED}, "NMVS_FE_LOT_01"),
        ({"expiry": PAST_EXPIRY}, "NMVS_NC_PCK_02"),
    ],
    ids=["withdrawn", "recalled", "expired"],
)
def test_undo_of_a_supplied_pack_is_refused_once_its_product_batch_or_date_blocks_it(
    changes: dict[str, object], code: str
) -> None:
    last = decommissioned(PackState.SUPPLIED, ago=dt.timedelta(hours=1))
    decision = undo(pack(PackState.SUPPLIED, **changes), last)
    assert (decision.ok, decision.code, decision.alert) == (False, code, False)
    assert decision.new_pack_state is None


def test_undo_without_a_record_of_the_decommission_is_refused_with_pck_25() -> None:
    decision = undo(pack(PackState.SUPPLIED), None)
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_NC_PCK_25", False)


def test_undo_is_refused_with_pck_25_when_the_record_names_another_state() -> None:
    last = decommissioned(PackState.SAMPLE, ago=dt.timedelta(hours=1))
    assert undo(pack(PackState.SUPPLIED), last).code == "NMVS_NC_PCK_25"


# -- repeated scans -----------------------------------------------------------------------------


@pytest.mark.parametrize("ago", [dt.timedelta(seconds=1), dt.timedelta(minutes=10)], ids=str)
def test_a_second_identical_decommission_within_ten_minutes_is_a_warning_not_an_alert(
    ago: dt.timedelta,
) -> None:
    supplied = pack(PackState.SUPPLIED)
    last = decommissioned(PackState.SUPPLIED, ago=ago)
    decision = decommission(PackState.SUPPLIED, supplied, who=caller("dispenser"), last=last)
    assert decision.warning
    assert (decision.ok, decision.code, decision.alert) == (True, "NMVS_NC_PCK_30", False)
    assert (decision.state_after, decision.new_pack_state) == (PackState.SUPPLIED, None)


def test_a_second_identical_decommission_after_ten_minutes_raises_pck_22() -> None:
    last = decommissioned(PackState.SUPPLIED, ago=dt.timedelta(minutes=10, seconds=1))
    decision = decommission(PackState.SUPPLIED, pack(PackState.SUPPLIED), last=last)
    assert (decision.ok, decision.code, decision.alert, decision.warning) == (
        False,
        "NMVS_NC_PCK_22",
        True,
        False,
    )


def test_the_repeat_scan_window_is_configurable() -> None:
    last = decommissioned(PackState.SUPPLIED, ago=dt.timedelta(minutes=20))
    supplied = pack(PackState.SUPPLIED)
    wide = decommission(
        PackState.SUPPLIED, supplied, last=last, repeat_window=dt.timedelta(minutes=30)
    )
    narrow = decommission(
        PackState.SUPPLIED, supplied, last=last, repeat_window=dt.timedelta(seconds=30)
    )
    assert (wide.warning, wide.alert) == (True, False)
    assert (narrow.warning, narrow.alert) == (False, True)


@pytest.mark.parametrize(
    ("by", "at", "state"),
    [
        (SOMEONE_ELSE, HERE, PackState.SUPPLIED),
        (ME, ELSEWHERE, PackState.SUPPLIED),
        (ME, HERE, PackState.SAMPLE),
    ],
    ids=["another partner", "another location", "another state"],
)
def test_a_repeat_within_the_window_still_alerts_unless_partner_location_and_state_match(
    by: str, at: str, state: PackState
) -> None:
    last = decommissioned(state, ago=dt.timedelta(seconds=30), by=by, at=at)
    decision = decommission(PackState.SUPPLIED, pack(state), last=last)
    assert (decision.code, decision.alert, decision.warning) == ("NMVS_NC_PCK_22", True, False)


# -- lot and expiry -----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation), ids=lambda o: o.value)
@pytest.mark.parametrize(
    ("lot", "expiry", "code", "stored_value"),
    [("LOT-B2", EXPIRY, "NMVS_FE_LOT_13", LOT), (LOT, "281130", "NMVS_FE_LOT_12", EXPIRY)],
    ids=["lot", "expiry"],
)
def test_a_lot_or_expiry_that_differs_from_the_stored_one_alerts_for_every_operation(
    operation: Operation, lot: str, expiry: str, code: str, stored_value: str
) -> None:
    """LOT_13 for the lot, LOT_12 for the expiry; the message never discloses the stored value."""
    decision = decide(
        operation,
        record=pack(),
        caller=caller("wholesaler"),
        now=NOW,
        target=PackState.SUPPLIED,
        lot=lot,
        expiry=expiry,
    )
    assert (decision.ok, decision.code, decision.alert) == (False, code, True)
    assert (decision.state_after, decision.new_pack_state) == (None, None)
    assert stored_value not in decision.message


def test_a_lot_and_an_expiry_that_both_differ_raise_one_alert_for_the_lot() -> None:
    decision = decide(
        Operation.VERIFY, record=pack(), caller=caller(), now=NOW, lot="X", expiry="281130"
    )
    assert (decision.code, decision.alert) == ("NMVS_FE_LOT_13", True)


def test_lots_are_compared_case_sensitively() -> None:
    decision = decide(Operation.VERIFY, record=pack(), caller=caller(), now=NOW, lot=LOT.lower())
    assert decision.code == "NMVS_FE_LOT_13"


def test_a_lot_and_expiry_left_out_are_not_compared() -> None:
    decision = decide(Operation.VERIFY, record=pack(), caller=caller(), now=NOW)
    assert (decision.ok, decision.code) == (True, "OK")


def test_an_expiry_with_day_00_matches_the_last_day_of_its_month() -> None:
    decision = decide(
        Operation.VERIFY, record=pack(expiry="281200"), caller=caller(), now=NOW, expiry="281231"
    )
    assert decision.code == "OK"


def test_an_unknown_serial_wins_over_any_lot_or_expiry() -> None:
    decision = decide(
        Operation.VERIFY, record=None, caller=caller(), now=NOW, lot="X", expiry="000000"
    )
    assert (decision.code, decision.alert, decision.state_after) == ("NMVS_NC_PC_02", True, None)


# -- precedence and expiry ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "state", "code"),
    [
        (
            {
                "product_state": PackState.WITHDRAWN,
                "lot_state": PackState.RECALLED,
                "expiry": PAST_EXPIRY,
            },
            PackState.WITHDRAWN,
            "NMVS_FE_LOT_08",
        ),
        (
            {"lot_state": PackState.RECALLED, "expiry": PAST_EXPIRY},
            PackState.RECALLED,
            "NMVS_FE_LOT_01",
        ),
        ({"expiry": PAST_EXPIRY}, PackState.EXPIRED, "NMVS_NC_PCK_02"),
        ({"pack_state": PackState.RECALLED}, PackState.RECALLED, "NMVS_FE_LOT_01"),
        ({"pack_state": PackState.EXPIRED}, PackState.EXPIRED, "NMVS_NC_PCK_02"),
        ({"lot_state": PackState.EXPIRED}, PackState.EXPIRED, "NMVS_NC_PCK_02"),
    ],
    ids=[
        "withdrawn over recalled and expired",
        "recalled over expired",
        "expired by date",
        "recalled serial by serial",
        "expired pack",
        "expired batch",
    ],
)
def test_product_status_wins_over_batch_status_which_wins_over_expiry(
    changes: dict[str, object], state: PackState, code: str
) -> None:
    record = pack(**changes)
    assert batch_status(record, NOW.date()) is state
    decision = decide(Operation.VERIFY, record=record, caller=caller(), now=NOW)
    assert (decision.ok, decision.batch_status, decision.code, decision.alert) == (
        False,
        state,
        code,
        False,
    )


def test_a_pack_is_still_active_on_its_expiry_date_and_expired_the_day_after() -> None:
    assert batch_status(pack(expiry="261125"), NOW.date()) is PackState.ACTIVE
    assert batch_status(pack(expiry="261124"), NOW.date()) is PackState.EXPIRED
    assert batch_status(pack(expiry="261100"), NOW.date()) is PackState.ACTIVE
    assert batch_status(pack(expiry="261000"), NOW.date()) is PackState.EXPIRED


def test_supplying_a_recalled_pack_is_refused_without_an_alert_and_says_what_is_still_allowed() -> None:
    decision = decommission(PackState.SUPPLIED, pack(lot_state=PackState.RECALLED))
    assert (decision.ok, decision.code, decision.alert) == (False, "NMVS_FE_LOT_01", False)
    assert (decision.state_after, decision.batch_status) == (PackState.ACTIVE, PackState.RECALLED)
    assert decision.new_pack_state is None
    assert "recall" in decision.message and "destroyed" in decision.message


def test_the_holder_of_a_recalled_pack_may_record_it_destroyed() -> None:
    decision = decommission(PackState.DESTROYED, pack(lot_state=PackState.RECALLED))
    assert (decision.ok, decision.code, decision.new_pack_state) == (True, "OK", PackState.DESTROYED)
    assert decision.batch_status is PackState.RECALLED


# -- roles --------------------------------------------------------------------------------------


def test_a_manufacturer_may_flag_only_its_own_packs() -> None:
    foreign = pack(owner_partner_id=SOMEONE_ELSE)
    for target in (PackState.STOLEN, PackState.ILLEGITIMATE, PackState.LOCKED):
        decision = decommission(target, foreign, who=caller("manufacturer"))
        assert (decision.ok, decision.code, decision.alert) == (False, "VERINET_ROLE_STATE", False)
        assert decision.state_after is None
        assert decommission(target, pack(), who=caller("manufacturer")).ok


def test_a_manufacturer_that_is_also_a_wholesaler_keeps_wholesaler_rights_on_any_pack() -> None:
    foreign = pack(owner_partner_id=SOMEONE_ELSE)
    both = caller("manufacturer", "wholesaler")
    assert decommission(PackState.STOLEN, foreign, who=both).ok
    assert decommission(PackState.ILLEGITIMATE, foreign, who=both).code == "VERINET_ROLE_STATE"


def test_a_manufacturer_may_verify_foreign_packs() -> None:
    foreign = pack(owner_partner_id=SOMEONE_ELSE)
    assert decide(Operation.VERIFY, record=foreign, caller=caller("manufacturer"), now=NOW).ok


def test_a_partner_with_several_roles_gets_the_union_of_their_states() -> None:
    both = caller("dispenser", "network")
    assert decommission(PackState.SAMPLE, who=both).ok
    assert decommission(PackState.EXPORTED, who=both).code == "VERINET_ROLE_STATE"


def test_an_unknown_role_may_do_nothing() -> None:
    decision = decide(Operation.VERIFY, record=pack(), caller=caller("auditor"), now=NOW)
    assert decision.code == "VERINET_ROLE_OPERATION"


def test_a_refused_caller_raises_no_alert_even_for_an_unknown_serial() -> None:
    decision = decide(Operation.VERIFY, record=None, caller=caller("admin"), now=NOW)
    assert (decision.code, decision.alert) == ("VERINET_ROLE_OPERATION", False)


# -- input errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [None, PackState.ACTIVE, PackState.EXPIRED, PackState.RECALLED, PackState.WITHDRAWN],
    ids=str,
)
def test_a_decommission_to_a_state_that_is_not_a_decommission_is_invalid_input(
    target: PackState | None,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        decide(Operation.DECOMMISSION, record=pack(), caller=caller(), now=NOW, target=target)
    assert raised.value.code == "pack.target_state"
    assert raised.value.field == "state"


def test_a_target_state_is_ignored_by_verify_and_reactivate() -> None:
    decision = decide(
        Operation.VERIFY, record=pack(), caller=caller(), now=NOW, target=PackState.ACTIVE
    )
    assert decision.code == "OK"


def test_the_decision_core_imports_no_transport_storage_or_generated_code() -> None:
    probe = (
        "import sys, verinet.lifecycle, verinet.pack_operations; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'aiohttp', 'redis') "
        "or m.endswith('_pb2')))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert answer.stdout.strip() == "[]"
