"""A recall's strategy (21 CFR 7.42): depth, public warning, effectiveness-check level, and the
links a quality system needs (its deviation or CAPA reference, a contact for questions).

Effectiveness-check levels give the share of consignees whose receipt and action are checked:
A all of them, B a share above 10 % and below 100 % that the manufacturer sets, C 10 %, D 2 %,
E none. The share is stored as a fraction of 1.

A strategy is plain data; it is stored as JSON in the recall's hash and every change is an
entry in the recall's audit chain (``RecallService.set_strategy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from verinet.errors import InvalidInput
from verinet.free_text import TEXT_LIMITS, validate_text

DEPTHS = ("wholesale", "retail", "consumer")
CHECK_LEVELS = ("A", "B", "C", "D", "E")
#: The share of consignees each fixed level checks (B's is set per recall).
LEVEL_SHARES = {"A": 1.0, "C": 0.1, "D": 0.02, "E": 0.0}
#: Strategy members a change may name; anything else is refused, not ignored.
MEMBERS = ("depth", "public_warning", "public_warning_by", "check_level", "check_share", "external_reference", "contact", "reminder_days")
#: Days after its notice that a consignee still silent is reminded, by default and for class I.
DEFAULT_REMINDER_DAYS = (3.0, 7.0)
CLASS_I_REMINDER_DAYS = (1.0, 3.0)
MAX_REMINDERS = 5


@dataclass(frozen=True)
class RecallStrategy:
    depth: str = "retail"
    public_warning: bool = False
    public_warning_by: str = ""
    check_level: str = "C"
    check_share: float = 0.1
    external_reference: str = ""
    contact: str = ""
    reminder_days: tuple[float, ...] = DEFAULT_REMINDER_DAYS

    def validated(self) -> RecallStrategy:
        """The strategy when it holds together, with the share of a fixed level filled in;
        else InvalidInput naming the member."""
        for name, allowed, expected in (
            ("depth", DEPTHS, "wholesale, retail or consumer"),
            ("check_level", CHECK_LEVELS, "A, B, C, D or E"),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise InvalidInput(
                    f'Failed to read "strategy.{name}": expected {expected}, got {value!r}.',
                    code=f"recall.{name}",
                    field=f"strategy.{name}",
                )
        share = self.check_share
        if self.check_level == "B":
            if not 0.1 < share < 1.0:
                raise InvalidInput(
                    f'Failed to read "strategy.check_share": level B checks more than 10 % and less than 100 % of consignees, got {share:g}.',
                    code="recall.check_share",
                    field="strategy.check_share",
                )
        else:
            share = LEVEL_SHARES[self.check_level]
        for name, limit in (("public_warning_by", "recall public warning by"), ("external_reference", "recall external reference"), ("contact", "recall contact")):
            validate_text(getattr(self, name), f"strategy.{name}", max_length=TEXT_LIMITS[limit], required=False)
        days = self.reminder_days
        if len(days) > MAX_REMINDERS or any(not 0 < d <= 365 for d in days) or list(days) != sorted(set(days)):
            raise InvalidInput(
                f'Failed to read "strategy.reminder_days": expected up to {MAX_REMINDERS} increasing numbers of days, each above 0 and at most 365, got {list(days)}.',
                code="recall.reminder_days",
                field="strategy.reminder_days",
            )
        if self.public_warning and not self.public_warning_by.strip():
            raise InvalidInput(
                'Failed to read "strategy.public_warning_by": a public warning needs who issues it (the firm, or FDA).',
                code="recall.public_warning_by",
                field="strategy.public_warning_by",
            )
        return replace(self, check_share=share, public_warning_by=self.public_warning_by if self.public_warning else "")

    def changed(self, changes: Mapping[str, Any]) -> RecallStrategy:
        """This strategy with ``changes`` (strategy members, as JSON values) applied and validated."""
        unknown = sorted(set(changes) - set(MEMBERS))
        if unknown:
            raise InvalidInput(
                f'Failed to read "strategy.{unknown[0]}": expected one of {", ".join(MEMBERS)}.',
                code="recall.strategy_member",
                field=f"strategy.{unknown[0]}",
            )
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "reminder_days":
                values[name] = reminder_days_of(value)
                continue
            expected: type | tuple[type, ...] = bool if name == "public_warning" else (int, float) if name == "check_share" else str
            if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
                kind = "true or false" if expected is bool else "a number" if name == "check_share" else "a string"
                raise InvalidInput(
                    f'Failed to read "strategy.{name}": expected {kind}, got {type(value).__name__}.',
                    code="body.field_type",
                    field=f"strategy.{name}",
                )
            values[name] = float(cast(float, value)) if name == "check_share" else value
        if "check_level" in values and values["check_level"] != "B" and "check_share" not in values:
            values["check_share"] = LEVEL_SHARES.get(values["check_level"], 0.0)
        return replace(self, **values).validated()

    def checks_due(self, consignees: int) -> int:
        """Consignees to check at this level: the share of ``consignees``, rounded up, so that a
        level other than E checks at least one."""
        if not consignees or self.check_share <= 0:
            return 0
        return min(consignees, -(-round(self.check_share * consignees * 1_000_000) // 1_000_000))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reminder_days": list(self.reminder_days)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecallStrategy:
        values = {k: v for k, v in data.items() if k in MEMBERS}
        if "reminder_days" in values:
            values["reminder_days"] = tuple(float(d) for d in values["reminder_days"])
        return cls(**values)


def reminder_days_of(value: Any) -> tuple[float, ...]:
    """A JSON list of day counts as the reminder schedule (checked by ``validated``)."""
    if not isinstance(value, list) or any(isinstance(d, bool) or not isinstance(d, (int, float)) for d in value):
        raise InvalidInput(
            f'Failed to read "strategy.reminder_days": expected a list of numbers of days, got {value!r}.', code="body.field_type", field="strategy.reminder_days"
        )
    return tuple(float(d) for d in value)
