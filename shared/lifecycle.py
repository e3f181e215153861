"""The decision core of EU FMD pack operations: verify, decommission, reactivate (undo).

Pure on purpose: no transport, no storage, no clock. The caller reads the pack, its last
decommission and the time, calls :func:`decide`, and applies ``Decision.new_pack_state``
atomically (or writes nothing when it is ``None``). Rules and codes follow STANDARDS.md §3.

Order of evaluation, the same for every operation:

1. the caller's roles (a refusal looks at nothing else and discloses no state);
2. an unknown (gtin, serial), then a lot, then an expiry that does not match (alerts);
3. for a decommission, a manufacturer's own states apply to its own products only;
4. the pack's own state first: a decommissioned pack answers as decommissioned whatever its
   batch or product (a dispensed pack of a recalled batch is still "already supplied");
5. then, for an active pack, the product, batch or expiry status, in that order (no alerts):
   it blocks supplying the pack and an undo, but its holder may still take it out of
   circulation for good (destroyed, stolen, locked, sample, illegitimate);
6. for an undo, who decommissioned the pack, where and when.

A decision reports the two separately: ``state_after`` is the pack's own state and
``batch_status`` the product, batch or expiry status (:func:`batch_status`).

Alert codes and their "(no alert)" variants: NMVS web services v5 gives each alert code a
separate code for the cases that raise no alert (``NMVS_NC_PCK_22`` -> ``NMVS_NC_PCK_30``,
``NMVS_NC_PCK_06`` -> ``NMVS_NC_PCK_29``; https://securmed.org.uk/web-services-v5-interface).
verinet uses those codes, so ``Decision.alert`` is always ``code in ALERT_CODES``;
``NMVS_NC_PCK_30`` is only the repeated scan that would otherwise be ``NMVS_NC_PCK_22``.

Near 600 lines but one idea: the decision of the three operations, its codes and messages, read
top to bottom in the order above; it stays whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from verinet.callers import Caller, Role
from verinet.errors import InvalidInput
from verinet.identifiers import expiry_matches, parse_expiry
from verinet.packs import DECOMMISSIONED_STATES, PackRecord, PackState

__all__ = [
    "ALERT_CODES",
    "ALLOWED_OPERATIONS_BY_ROLE",
    "ALLOWED_STATES_BY_ROLE",
    "FAILED_CHECK_CODES",
    "IRREVERSIBLE_STATES",
    "NMVS_CODES",
    "REPEAT_SCAN_WINDOW",
    "UNDO_WINDOW",
    "Decision",
    "LastDecommission",
    "Operation",
    "batch_status",
    "decide",
]


class Operation(enum.Enum):
    VERIFY = "verify"
    DECOMMISSION = "decommission"
    REACTIVATE = "reactivate"


# -- codes --------------------------------------------------------------------------------------

OK = "OK"
SERIAL_UNKNOWN = "NMVS_NC_PC_02"
LOT_MISMATCH = "NMVS_FE_LOT_13"
EXPIRY_MISMATCH = "NMVS_FE_LOT_12"
PRODUCT_WITHDRAWN = "NMVS_FE_LOT_08"
BATCH_RECALLED = "NMVS_FE_LOT_01"
PACK_EXPIRED = "NMVS_NC_PCK_02"
ALREADY_INACTIVE = "NMVS_NC_PCK_22"
ALREADY_INACTIVE_NO_ALERT = "NMVS_NC_PCK_30"
UNDO_STATE_MISMATCH = "NMVS_NC_PCK_06"
UNDO_STATE_MISMATCH_NO_ALERT = "NMVS_NC_PCK_29"
UNDO_TOO_LATE = "NMVS_NC_PCK_20"
UNDO_OTHER_USER = "NMVS_NC_PCK_21"
NO_HISTORY = "NMVS_NC_PCK_25"
PACK_INACTIVE = "VERINET_PACK_INACTIVE"
ROLE_OPERATION = "VERINET_ROLE_OPERATION"
ROLE_STATE = "VERINET_ROLE_STATE"

#: Every code :func:`decide` returns, with what it means. Codes starting ``NMVS_`` are the NMVS
#: vocabulary (STANDARDS.md §3.4-3.5); ``OK`` and ``VERINET_*`` exist because NMVS has no code
#: for them in our references (the ``NMVS_FE_AU_*`` authorisation codes are undocumented there).
NMVS_CODES: Mapping[str, str] = MappingProxyType(
    {
        OK: "Done: the pack is active and may be supplied (verify), or its state was changed "
        "as asked (decommission, reactivate).",
        SERIAL_UNKNOWN: "Serial number not recognised for this product code. Alert (Hub #A3).",
        LOT_MISMATCH: "The batch does not match the pack's serial number. Alert (Hub #A68).",
        EXPIRY_MISMATCH: "The expiry date does not match the batch. Alert (Hub #A52).",
        PRODUCT_WITHDRAWN: "The product is withdrawn; the pack must not be supplied. No alert.",
        BATCH_RECALLED: "The batch is recalled; the pack must not be supplied. No alert.",
        PACK_EXPIRED: "The pack is past its expiry date; it must not be supplied. No alert.",
        ALREADY_INACTIVE: "Status change refused: the pack is already inactive. Alert (Hub #A24).",
        ALREADY_INACTIVE_NO_ALERT: "The pack is already inactive, and this was the same "
        "decommission by the same partner and location within the repeat window: a warning, "
        "no alert, nothing changed.",
        PACK_INACTIVE: "Verified: the pack is decommissioned (its state says how); it must not "
        "be supplied. No alert.",
        UNDO_STATE_MISMATCH: "Undo refused: the pack's state cannot be undone (stolen, "
        "destroyed, exported, illegitimate). Alert (Hub #A24).",
        UNDO_STATE_MISMATCH_NO_ALERT: "Undo refused: the pack is active, there is nothing to "
        "undo (no alert).",
        UNDO_TOO_LATE: "Undo refused: more than 240 hours (10 days) since the decommission.",
        UNDO_OTHER_USER: "Undo refused: only the partner that decommissioned the pack, at the "
        "same location, may undo it.",
        NO_HISTORY: "Undo refused: no record of who decommissioned the pack, so the undo "
        "rules cannot be checked.",
        ROLE_OPERATION: "Refused: the caller's roles do not allow this operation.",
        ROLE_STATE: "Refused: the caller's roles do not allow setting this state (on this pack).",
    }
)

#: The codes of a failed check (the pack's data did not match, or the caller may not ask):
#: recorded as an attempt, never as a sighting.
FAILED_CHECK_CODES = frozenset({SERIAL_UNKNOWN, LOT_MISMATCH, EXPIRY_MISMATCH, ROLE_OPERATION, ROLE_STATE})

#: The codes that raise an alert; every other code raises none.
ALERT_CODES = frozenset(
    {SERIAL_UNKNOWN, LOT_MISMATCH, EXPIRY_MISMATCH, ALREADY_INACTIVE, UNDO_STATE_MISMATCH}
)

# -- who may do what ----------------------------------------------------------------------------

#: Which decommission states each role may set (STANDARDS.md §3.2, refined by issue 5).
#: A manufacturer's states apply only to its own products (see :func:`_settable_states`).
ALLOWED_STATES_BY_ROLE: Mapping[str, frozenset[PackState]] = MappingProxyType(
    {
        Role.DISPENSER: frozenset({PackState.SUPPLIED, PackState.DESTROYED, PackState.SAMPLE}),
        Role.WHOLESALER: frozenset(
            {
                PackState.SUPPLIED,
                PackState.DESTROYED,
                PackState.STOLEN,
                PackState.SAMPLE,
                PackState.FREE_SAMPLE,
                PackState.LOCKED,
                PackState.EXPORTED,
                PackState.CHECKED_OUT,
            }
        ),
        Role.MANUFACTURER: frozenset(
            {
                PackState.DESTROYED,
                PackState.STOLEN,
                PackState.LOCKED,
                PackState.FREE_SAMPLE,
                PackState.ILLEGITIMATE,
            }
        ),
        Role.NETWORK: frozenset(),
        Role.ADMIN: frozenset(),  # not a trading partner
    }
)

_TRADING = frozenset(Operation)
#: Which operations each role may ask for at all.
ALLOWED_OPERATIONS_BY_ROLE: Mapping[str, frozenset[Operation]] = MappingProxyType(
    {
        Role.DISPENSER: _TRADING,
        Role.WHOLESALER: _TRADING,
        Role.MANUFACTURER: _TRADING,
        Role.NETWORK: frozenset({Operation.VERIFY}),
        Role.ADMIN: frozenset(),
    }
)

# -- undo ---------------------------------------------------------------------------------------

#: Art. 13(1)(b): "no more than 10 days"; NMVSs enforce 240 hours, and exactly 240 h passes.
UNDO_WINDOW = dt.timedelta(hours=240)
#: A second identical decommission within this time is a double scan: a warning, not an alert.
REPEAT_SCAN_WINDOW = dt.timedelta(minutes=10)
#: Never reactivated (Art. 13(1)(d); exported and illegitimate by STANDARDS.md §3.2 and issue 5).
IRREVERSIBLE_STATES = frozenset(
    {PackState.STOLEN, PackState.DESTROYED, PackState.EXPORTED, PackState.ILLEGITIMATE}
)
# Locked is a quarantine pending investigation, which routinely lasts longer than 10 days;
# Art. 13 is about reverting a decommission, and EMVO's warning that Locked "lets packs be
# un-recalled" only makes sense if an unlock has no deadline.
_NO_UNDO_DEADLINE = frozenset({PackState.LOCKED})


@dataclass(frozen=True, slots=True)
class LastDecommission:
    """Who put the pack in its current decommissioned state, where and when."""

    state: PackState
    partner_id: str
    location_gln: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one pack.

    ``state_after`` is the effective state to report; ``None`` when it is not disclosed: the
    pack is unknown, its lot or expiry does not match, or the caller's role was refused.
    ``new_pack_state`` is what to store; ``None`` means write nothing. ``batch_status`` is the
    product, batch or expiry status beside the pack's own state (active, expired, recalled or
    withdrawn); ``None`` exactly when ``state_after`` is.
    """

    ok: bool
    state_after: PackState | None
    new_pack_state: PackState | None
    code: str
    alert: bool
    message: str
    warning: bool = False
    batch_status: PackState | None = None


def decide(
    operation: Operation,
    *,
    record: PackRecord | None,
    caller: Caller,
    now: dt.datetime,
    target: PackState | None = None,
    lot: str = "",
    expiry: str = "",
    last_decommission: LastDecommission | None = None,
    repeat_window: dt.timedelta = REPEAT_SCAN_WINDOW,
) -> Decision:
    """Decides one pack operation.

    ``record`` is the stored pack (``None`` when (gtin, serial) is unknown); ``lot`` and
    ``expiry`` are what the caller scanned (empty: not compared); ``target`` is the state a
    decommission asks for; ``last_decommission`` is the pack's latest decommission, when
    known; ``now`` is the current time (timezone-aware, like ``last_decommission.at``).
    Raises :class:`InvalidInput` when a decommission names no decommissioned state.
    """
    decommission_to = _decommission_target(operation, target)
    refusal = _role_refusal(operation, decommission_to, caller)
    if refusal is not None:
        return refusal
    if record is None:
        return _alert(
            SERIAL_UNKNOWN,
            "Serial number not known for this product. Check the scan against the printed "
            "code (Caps Lock, Y/Z keyboard swap, missing GS separators); if they match, do not "
            "supply the pack, keep it in quarantine and wait for the alert to be investigated.",
        )
    mismatch = _identity_mismatch(record, lot, expiry)
    if mismatch is not None:
        return mismatch

    blocked = batch_status(record, now.date())
    if decommission_to is not None:
        decision = _decommission(
            record, blocked, decommission_to, caller, now, last_decommission, repeat_window
        )
    elif operation is Operation.VERIFY:
        decision = _verify(record.pack_state, blocked)
    else:
        decision = _reactivate(record, blocked, caller, now, last_decommission)
    if decision.state_after is None:
        return decision
    return dataclasses.replace(decision, batch_status=blocked)


def batch_status(record: PackRecord, today: dt.date) -> PackState:
    """The product, batch or expiry status of a pack: withdrawn over recalled over expired,
    else active. It never says what the pack's own state is."""
    if PackState.WITHDRAWN in (record.product_state, record.pack_state):
        return PackState.WITHDRAWN
    if PackState.RECALLED in (record.lot_state, record.pack_state):
        return PackState.RECALLED
    if PackState.EXPIRED in (record.lot_state, record.pack_state) or parse_expiry(
        record.expiry, today=today
    ) < today:
        return PackState.EXPIRED
    return PackState.ACTIVE


# -- the three operations -----------------------------------------------------------------------

_BLOCKED_ADVICE = {
    PackState.WITHDRAWN: (
        PRODUCT_WITHDRAWN,
        (
            "The product is withdrawn: do not supply the pack; return or destroy it as your "
            "NMVO and the manufacturer instruct."
        ),
    ),
    PackState.RECALLED: (
        BATCH_RECALLED,
        (
            "The batch is recalled: do not supply the pack; quarantine it and follow the "
            "recall notice."
        ),
    ),
    PackState.EXPIRED: (
        PACK_EXPIRED,
        "The pack is past its expiry date: do not supply it; dispose of it as expired stock.",
    ),
}


def _also_blocked(blocked: PackState) -> str:
    return "" if blocked is PackState.ACTIVE else f" Its {_BLOCKED_NOUN[blocked]}."


def _verify(state: PackState, blocked: PackState) -> Decision:
    if state in DECOMMISSIONED_STATES:
        return Decision(
            False,
            state,
            None,
            PACK_INACTIVE,
            False,
            f"The pack is inactive ({state.value}): do not supply it. "
            f"{_INACTIVE_ADVICE[state]}{_also_blocked(blocked)}",
        )
    if blocked in _BLOCKED_ADVICE:
        code, message = _BLOCKED_ADVICE[blocked]
        return Decision(False, state, None, code, False, message)
    return Decision(True, state, None, OK, False, "The pack is active and may be supplied.")


def _decommission(
    record: PackRecord,
    blocked: PackState,
    target: PackState,
    caller: Caller,
    now: dt.datetime,
    last: LastDecommission | None,
    repeat_window: dt.timedelta,
) -> Decision:
    if target not in _settable_states(caller, record):
        return _refuse(
            ROLE_STATE,
            f"Refused: a manufacturer may set {target.value!r} only on its own products, and "
            "this pack belongs to another manufacturer. Ask its manufacturer or your NMVO.",
        )
    state = record.pack_state
    if state in DECOMMISSIONED_STATES:
        if _is_repeat_scan(record, target, caller, now, last, repeat_window):
            return Decision(
                True,
                state,
                None,
                ALREADY_INACTIVE_NO_ALERT,
                False,
                f"Already decommissioned as {state.value} by you at this location a moment "
                "ago; nothing changed. If this is a second physical pack with the same serial "
                "number, do not supply it and report it to your NMVO.",
                warning=True,
            )
        return _alert(
            ALREADY_INACTIVE,
            f"Not decommissioned: the pack is already inactive ({state.value}). Do not supply "
            f"it; quarantine it while the alert is investigated. {_INACTIVE_ADVICE[state]}"
            f"{_also_blocked(blocked)}",
            state=state,
        )
    if blocked in _BLOCKED_ADVICE and target not in OUT_OF_CIRCULATION_STATES:
        # A recalled, withdrawn or expired pack may not move on (supplied, exported, ...), but
        # its holder must still be able to record what became of it.
        code, advice = _BLOCKED_ADVICE[blocked]
        return Decision(
            False,
            state,
            None,
            code,
            False,
            f"Not decommissioned as {target.value}: {advice[0].lower()}{advice[1:]} You may "
            "still record it as destroyed, stolen, locked or a sample.",
        )
    return Decision(
        True,
        target,
        target,
        OK,
        False,
        f"Decommissioned as {target.value}. {_undo_hint(target)}",
    )


def _reactivate(
    record: PackRecord,
    blocked: PackState,
    caller: Caller,
    now: dt.datetime,
    last: LastDecommission | None,
) -> Decision:
    state = record.pack_state
    if state not in DECOMMISSIONED_STATES:
        # Undoing an active pack is a harmless repeat of an undo, so no alert (reks.ee).
        return Decision(
            False,
            state,
            None,
            UNDO_STATE_MISMATCH_NO_ALERT,
            False,
            "The pack is already active; there is nothing to undo.",
        )
    if state in IRREVERSIBLE_STATES:
        return _alert(
            UNDO_STATE_MISMATCH,
            f"Not reactivated: a pack set to {state.value} can never return to saleable stock. "
            "Keep it out of stock.",
            state=state,
        )
    if blocked in _BLOCKED_ADVICE:
        code, message = _BLOCKED_ADVICE[blocked]
        return Decision(False, state, None, code, False, f"Not reactivated. {message}")
    if last is None or last.state is not state:
        # Without a matching record of who decommissioned the pack, rules (a) and (b) of
        # Art. 13 cannot be checked, and an undo that cannot be checked is refused.
        return _refuse(
            NO_HISTORY,
            "Not reactivated: there is no record of who decommissioned this pack, so the undo "
            "rules cannot be checked. Contact your NMVO.",
            state=state,
        )
    if last.partner_id != caller.partner_id:
        return _refuse(
            UNDO_OTHER_USER,
            "Not reactivated: only the partner that decommissioned the pack may undo it.",
            state=state,
        )
    if last.location_gln != caller.location_gln:
        return _refuse(
            UNDO_OTHER_USER,
            f"Not reactivated: the pack was decommissioned at location {last.location_gln}; "
            "undo it from there.",
            state=state,
        )
    if state not in _NO_UNDO_DEADLINE and now - last.at > UNDO_WINDOW:
        return _refuse(
            UNDO_TOO_LATE,
            "Not reactivated: more than 240 hours (10 days) have passed since the pack was "
            f"decommissioned ({last.at.isoformat()}). Keep it out of saleable stock.",
            state=state,
        )
    return Decision(
        True,
        PackState.ACTIVE,
        PackState.ACTIVE,
        OK,
        False,
        f"Reactivated: the pack is active again (was {state.value}).",
    )


# -- helpers ------------------------------------------------------------------------------------

#: The states a holder may still record on a recalled, withdrawn or expired pack: each keeps
#: it out of the supply chain, so none lets a blocked pack move on.
OUT_OF_CIRCULATION_STATES = frozenset(
    {
        PackState.DESTROYED,
        PackState.STOLEN,
        PackState.LOCKED,
        PackState.SAMPLE,
        PackState.ILLEGITIMATE,
    }
)

_BLOCKED_NOUN = {
    PackState.WITHDRAWN: "product is also withdrawn",
    PackState.RECALLED: "batch is also recalled",
    PackState.EXPIRED: "expiry date has also passed",
}

_INACTIVE_ADVICE = {
    PackState.SUPPLIED: "It was already supplied (dispensed).",
    PackState.DESTROYED: "It was recorded as destroyed.",
    PackState.STOLEN: "It was reported stolen: report it to your NMVO.",
    PackState.SAMPLE: "It was recorded as a sample.",
    PackState.FREE_SAMPLE: "It was recorded as a free sample.",
    PackState.EXPORTED: "It was recorded as exported from the EU.",
    PackState.LOCKED: "It is locked (quarantined); the partner that locked it can unlock it.",
    PackState.CHECKED_OUT: "It was checked out for repackaging.",
    PackState.ILLEGITIMATE: "Its manufacturer flagged it as illegitimate: report it to your NMVO.",
}


def _decommission_target(operation: Operation, target: PackState | None) -> PackState | None:
    """The state a decommission asks for, checked; ``None`` for the other operations."""
    if operation is not Operation.DECOMMISSION:
        return None
    if target is None or target not in DECOMMISSIONED_STATES:
        raise InvalidInput(
            f"Failed to decommission a pack to {_name(target)!r}: expected one of "
            f"{', '.join(sorted(s.value for s in DECOMMISSIONED_STATES))}.",
            code="pack.target_state",
            field="state",
        )
    return target


def _role_refusal(
    operation: Operation, target: PackState | None, caller: Caller
) -> Decision | None:
    operations = {op for role in caller.roles for op in ALLOWED_OPERATIONS_BY_ROLE.get(role, ())}
    if operation not in operations:
        return _refuse(
            ROLE_OPERATION,
            f"Refused: your roles ({', '.join(sorted(caller.roles)) or 'none'}) may not "
            f"{operation.value} packs.",
        )
    if target is not None and target not in _states_of(caller.roles):
        return _refuse(
            ROLE_STATE,
            f"Refused: your roles ({', '.join(sorted(caller.roles))}) may not set a pack to "
            f"{target.value!r}.",
        )
    return None


def _states_of(roles: Collection[str]) -> set[PackState]:
    return {state for role in roles for state in ALLOWED_STATES_BY_ROLE.get(role, ())}


def _settable_states(caller: Caller, record: PackRecord) -> set[PackState]:
    # A manufacturer (an OBP) acts on its own products only: flagging another manufacturer's
    # packs stolen or illegitimate is not its call. Its other roles still count.
    if record.owner_partner_id == caller.partner_id:
        return _states_of(caller.roles)
    return _states_of([role for role in caller.roles if role != Role.MANUFACTURER])


def _identity_mismatch(record: PackRecord, lot: str, expiry: str) -> Decision | None:
    # The stored lot and expiry are never echoed: they would tell a forger what to print.
    if lot and lot != record.lot:
        return _alert(
            LOT_MISMATCH,
            f"The batch {lot!r} does not match this serial number. Rescan the pack and compare "
            "the batch with the printed one; if they match, do not supply the pack and keep it "
            "in quarantine while the alert is investigated.",
        )
    if expiry and not expiry_matches(record.expiry, expiry):
        return _alert(
            EXPIRY_MISMATCH,
            f"The expiry date {expiry!r} does not match this batch. Check the day (00 or the "
            "last day of the month) and rescan; if it matches the printed date, do not supply "
            "the pack and keep it in quarantine while the alert is investigated.",
        )
    return None


def _is_repeat_scan(
    record: PackRecord,
    target: PackState,
    caller: Caller,
    now: dt.datetime,
    last: LastDecommission | None,
    window: dt.timedelta,
) -> bool:
    return (
        last is not None
        and last.state is target
        and record.pack_state is target
        and last.partner_id == caller.partner_id
        and last.location_gln == caller.location_gln
        and now - last.at <= window
    )


def _undo_hint(target: PackState) -> str:
    if target in IRREVERSIBLE_STATES:
        return "This cannot be undone."
    if target in _NO_UNDO_DEADLINE:
        return "You can unlock it (reactivate) from this location at any time."
    return "You can undo this from this location within 240 hours."


def _alert(code: str, message: str, *, state: PackState | None = None) -> Decision:
    return Decision(False, state, None, code, True, message)


def _refuse(code: str, message: str, *, state: PackState | None = None) -> Decision:
    return Decision(False, state, None, code, False, message)


def _name(state: PackState | None) -> str:
    return "nothing" if state is None else state.value
