"""Recall strategies (21 CFR 7.42) as plain data: levels, shares and validation."""

from __future__ import annotations

import pytest

from verinet.errors import InvalidInput
from verinet.recall_status.strategy import RecallStrategy


@pytest.mark.parametrize(("level", "share"), [("A", 1.0), ("C", 0.1), ("D", 0.02), ("E", 0.0)])
def test_a_fixed_level_checks_its_regulatory_share(level: str, share: float) -> None:
    assert RecallStrategy().changed({"check_level": level}).check_share == share


def test_level_b_keeps_the_share_the_manufacturer_sets_strictly_between_ten_and_a_hundred_percent() -> None:
    assert RecallStrategy().changed({"check_level": "B", "check_share": 0.4}).check_share == 0.4
    for share in (0.1, 1.0, 0, 1.5):
        with pytest.raises(InvalidInput) as refused:
            RecallStrategy().changed({"check_level": "B", "check_share": share})
        assert refused.value.field == "strategy.check_share"


def test_checks_due_round_up_so_every_level_but_e_checks_someone() -> None:
    assert RecallStrategy().changed({"check_level": "D"}).checks_due(200) == 4
    assert RecallStrategy().changed({"check_level": "D"}).checks_due(3) == 1
    assert RecallStrategy().changed({"check_level": "C"}).checks_due(30) == 3
    assert RecallStrategy().changed({"check_level": "B", "check_share": 0.5}).checks_due(5) == 3
    assert RecallStrategy().changed({"check_level": "E"}).checks_due(500) == 0
    assert RecallStrategy().changed({"check_level": "A"}).checks_due(7) == 7


def test_a_public_warning_names_who_issues_it_and_none_clears_it() -> None:
    with pytest.raises(InvalidInput):
        RecallStrategy().changed({"public_warning": True})
    warned = RecallStrategy().changed({"public_warning": True, "public_warning_by": "FDA"})
    assert warned.changed({"public_warning": False}).public_warning_by == ""


def test_a_boolean_is_not_a_share_and_a_number_is_not_text() -> None:
    for changes, field in (({"check_share": True}, "strategy.check_share"), ({"contact": 5}, "strategy.contact")):
        with pytest.raises(InvalidInput) as refused:
            RecallStrategy().changed(changes)
        assert refused.value.field == field


def test_a_reminder_schedule_is_up_to_five_increasing_day_counts() -> None:
    assert RecallStrategy().changed({"reminder_days": [1, 2.5]}).reminder_days == (1.0, 2.5)
    for days in ([3, 1], [0, 1], [1, 1], [1, 2, 3, 4, 5, 6], [400], "3,7", [True]):
        with pytest.raises(InvalidInput) as refused:
            RecallStrategy().changed({"reminder_days": days})
        assert refused.value.field == "strategy.reminder_days"
