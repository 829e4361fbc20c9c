"""Deadline rules from configuration: matching, precedence, units, extension, TOML round trip."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from pydantic import ValidationError

from store.deadlines import (
    DeadlineCalculator,
    DeadlinePolicy,
    DeadlineRule,
    TimeLimit,
    leaf_limits_from_catalogue,
)
from store.workcal import SHANGHAI


def _at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


MON = _at(2026, 11, 23)  # an ordinary Monday 10:00


def test_defaults() -> None:
    calc = DeadlineCalculator()
    dl = calc.deadline
    assert dl(start=MON, leaf_code="201001", urgency="一般", nature="投诉") == _at(2026, 11, 30)  # 5 WD
    assert dl(start=MON, leaf_code="201001", urgency="一般", nature="咨询") == _at(2026, 11, 26)  # 3 WD
    assert dl(start=MON, leaf_code="201001", urgency="一般", nature="举报") == _at(2026, 12, 14)  # 15 WD
    assert dl(start=MON, leaf_code="201001", urgency="特急", nature="投诉") == _at(2026, 11, 23, 12)  # 2 h
    assert dl(start=MON, leaf_code="201001", urgency="紧急", nature="投诉") == _at(2026, 11, 24)  # 24 h
    assert dl(start=MON, leaf_code="101003", urgency="一般", nature="投诉") == _at(
        2026, 11, 24
    )  # heating 24h
    assert dl(start=MON, leaf_code="105001", urgency="一般", nature="求助") == _at(2026, 11, 24)  # gas 24h
    assert dl(start=MON, leaf_code=None, urgency="一般", nature=None) == _at(2026, 11, 30)


def test_most_specific_wins_and_urgency_never_lengthens() -> None:
    policy = DeadlinePolicy(
        default=TimeLimit(amount=7, unit="calendar_days"),
        rules=(
            DeadlineRule(leaf_prefix="2", amount=10, unit="working_days"),
            DeadlineRule(leaf_prefix="201", amount=4, unit="working_days"),
            DeadlineRule(leaf_prefix="201", nature="咨询", amount=1, unit="working_days"),
            DeadlineRule(nature="咨询", amount=2, unit="working_days"),
            DeadlineRule(urgency="紧急", amount=48, unit="hours"),
            DeadlineRule(leaf_prefix="201007", amount=3, unit="hours"),
        ),
    )
    calc = DeadlineCalculator(policy)
    dl = calc.deadline
    assert dl(start=MON, leaf_code="999", urgency="一般", nature="投诉") == _at(
        2026, 11, 30
    )  # default 7 days
    assert dl(start=MON, leaf_code="202001", urgency="一般", nature="投诉") == _at(2026, 12, 7)  # prefix 2
    assert dl(start=MON, leaf_code="201001", urgency="一般", nature="投诉") == _at(
        2026, 11, 27
    )  # longer prefix
    assert dl(start=MON, leaf_code="201001", urgency="一般", nature="咨询") == _at(2026, 11, 24)  # + nature
    assert dl(start=MON, leaf_code="301001", urgency="一般", nature="咨询") == _at(
        2026, 11, 25
    )  # nature only
    # 紧急 (48 h) outranks the leaf rule 201 (4 WD) ...
    chosen = calc.choose(start=MON, leaf_code="201001", urgency="紧急", nature="投诉")
    assert chosen.rule is not None and chosen.rule.urgency == "紧急"
    assert dl(start=MON, leaf_code="201001", urgency="紧急", nature="投诉") == _at(2026, 11, 25)
    # ... but never lengthens: leaf 201007 allows 3 hours, so a 紧急 ticket there keeps 3 hours
    assert dl(start=MON, leaf_code="201007", urgency="紧急", nature="投诉") == _at(2026, 11, 23, 13)


def test_catalogue_leaf_limits_and_config_override() -> None:
    policy = DeadlinePolicy(rules=(DeadlineRule(leaf_prefix="301002", amount=1, unit="working_days"),))
    calc = DeadlineCalculator(
        policy,
        leaf_limits={
            "301001": TimeLimit(amount=10, unit="working_days"),
            "301002": TimeLimit(amount=20, unit="working_days"),
        },
    )
    assert calc.deadline(start=MON, leaf_code="301001", urgency="一般", nature="投诉") == _at(2026, 12, 7)
    assert calc.deadline(start=MON, leaf_code="301002", urgency="一般", nature="投诉") == _at(2026, 11, 24)


def test_limits_from_the_taxonomy_catalogue() -> None:
    from taxonomy.model import load_taxonomy

    tax = load_taxonomy()
    limits = leaf_limits_from_catalogue(tax.leaves())
    assert limits and all(isinstance(v, TimeLimit) for v in limits.values())
    code, limit = next((c, v) for c, v in limits.items() if v.unit == "calendar_days")
    calc = DeadlineCalculator(leaf_limits=limits)
    assert calc.deadline(start=MON, leaf_code=code, urgency="一般", nature="投诉") == MON + dt.timedelta(
        days=limit.amount
    )


def test_working_days_span_holidays_and_makeup_days() -> None:
    calc = DeadlineCalculator()
    # dispatched Tuesday 2026-09-29 16:00, 5 WD: 9/30, 10/8, 10/9, 10/10 (Saturday make-up), 10/12
    assert calc.deadline(start=_at(2026, 9, 29, 16), leaf_code=None, urgency="一般", nature="投诉") == _at(
        2026, 10, 12, 16
    )


def test_extend_moves_by_working_days_and_the_policy_bounds_requests() -> None:
    calc = DeadlineCalculator()
    assert calc.extend(_at(2026, 9, 30, 16), working_days=2) == _at(2026, 10, 9, 16)
    assert calc.extend(MON, working_days=0) == MON
    with pytest.raises(ValueError):
        calc.extend(MON, working_days=-1)
    assert calc.extension_refusal(10) is None
    assert "1-10" in (calc.extension_refusal(11) or "") and calc.extension_refusal(0)


def test_accept_and_return_deadlines() -> None:
    calc = DeadlineCalculator(DeadlinePolicy(accept_within_hours=2))
    assert calc.accept_deadline(MON) == _at(2026, 11, 23, 12)
    assert calc.return_deadline(_at(2026, 11, 27)) == _at(2026, 12, 1)  # Fri + 2 WD


def test_policy_from_toml_section_and_its_errors() -> None:
    text = """
    [deadlines]
    accept_within_hours = 12
    extension_max_working_days = 7
    extra_holidays = [2027-01-01, 2027-02-05]
    extra_workdays = [2027-02-07]
    default = { amount = 5, unit = "working_days" }
    [[deadlines.rules]]
    urgency = "特急"
    amount = 2
    unit = "hours"
    [[deadlines.rules]]
    leaf_prefix = "102"
    amount = 1
    unit = "calendar_days"
    """
    policy = DeadlinePolicy.model_validate(tomllib.loads(text)["deadlines"])
    calc = DeadlineCalculator(policy)
    assert calc.calendar.is_workday(dt.date(2027, 2, 7)) and not calc.calendar.is_workday(dt.date(2027, 2, 5))
    assert calc.deadline(start=MON, leaf_code="102001", urgency="一般", nature="求助") == _at(2026, 11, 24)
    assert calc.deadline(start=_at(2026, 12, 31), leaf_code=None, urgency="一般", nature=None) == _at(
        2027, 1, 8
    )
    with pytest.raises(ValidationError):
        DeadlinePolicy.model_validate({"rules": [{"amount": 2, "unit": "weeks"}]})
    with pytest.raises(ValidationError):
        DeadlinePolicy.model_validate({"rules": [{"amount": 0, "unit": "hours"}]})
    with pytest.raises(ValidationError):
        DeadlinePolicy.model_validate({"rules": [{"amount": 2, "unit": "hours", "urgnecy": "特急"}]})
    with pytest.raises(ValidationError, match="same conditions"):
        DeadlinePolicy.model_validate(
            {
                "rules": [
                    {"amount": 2, "unit": "hours", "urgency": "特急"},
                    {"amount": 3, "unit": "hours", "urgency": "特急"},
                ]
            }
        )
    with pytest.raises(ValidationError):
        DeadlinePolicy.model_validate({"extra_holidays": ["2027-01-01"], "extra_workdays": ["2027-01-01"]})
