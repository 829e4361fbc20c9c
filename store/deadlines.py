"""Time limits (办理时限) of work orders, from configuration.

``DeadlinePolicy`` is the ``[deadlines]`` section of config.toml. A ticket's limit is chosen from the
``rules`` (plus, optionally, per-leaf limits of the taxonomy's dispatch catalogue), else ``default``:

* a rule matches when every condition it sets matches: ``leaf_prefix`` (the leaf code starts with it),
  ``urgency`` (一般/紧急/特急), ``nature`` (咨询/求助/投诉/举报/建议/表扬);
* the most specific matching rule wins, compared in this order: a rule naming the urgency beats one that
  does not; then the longer leaf prefix (a full leaf code beats its domain); then a rule naming the nature;
* urgency never lengthens a limit: when the winner is an urgency rule, the ticket gets the earlier of its
  deadline and that of the best rule without urgency (a 紧急 heating leak whose leaf allows 2 hours keeps
  2 hours even if 紧急 in general allows 24);
* catalogue limits (``leaf_limits``) behave as rules with the full leaf code as prefix; a configured rule
  with the same conditions overrides them.

Units: ``hours`` (elapsed clock hours, 24/7), ``calendar_days`` (same time of day n days later),
``working_days`` (mainland working days with 调休, see store.workcal for the counting rule).

Defaults (documented in config.toml): 特急 2 hours and 紧急 24 hours (Beijing's 12345 standard: risk to
life or property 2 h, water/power/gas/heat 24 h); 咨询 3 working days (municipal rules: 3 WD); 举报 15
working days (reports need an investigation; Shandong/Xuzhou: complex matters 15 WD); everything else 5
working days (Shandong: handle and reply within 5 WD). Utilities (water, power, gas, heating) get 24 hours
by leaf prefix. 及时签收: 24 hours; a 延期 may add at most 10 working days (Shandong: usually ≤ 10 WD); a
退单 is allowed within 2 working days of dispatch.

The lifecycle (store/lifecycle.py) starts the clock at dispatch (``deadline``), moves it on an approved
extension (``extend``) and restarts it on 重办 (``deadline`` again from the 重办 time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from store.vocabulary import Nature, Urgency
from store.workcal import WorkCalendar

Unit = Literal["hours", "calendar_days", "working_days"]


class TimeLimit(BaseModel):
    """An amount of time: ``amount`` hours, calendar days or working days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: PositiveInt
    unit: Unit


class DeadlineRule(TimeLimit):
    """A time limit for the tickets matching every condition given (None = any)."""

    leaf_prefix: str | None = Field(default=None, min_length=1, max_length=32)
    urgency: Urgency | None = None
    nature: Nature | None = None
    note: str = ""  # why the rule exists, for the people reading config.toml

    @property
    def conditions(self) -> tuple[str | None, str | None, str | None]:
        return (self.leaf_prefix, self.urgency, self.nature)


# The defaults of DESIGN.md / the research (see the module docstring). Utilities by leaf prefix of the
# taxonomy's domains (taxonomy/source: 101 供热, 102 供水, 104 供电, 105 燃气).
DEFAULT_RULES: tuple[DeadlineRule, ...] = (
    DeadlineRule(urgency="特急", amount=2, unit="hours", note="特急: risk to life or property"),
    DeadlineRule(urgency="紧急", amount=24, unit="hours", note="紧急"),
    DeadlineRule(nature="咨询", amount=3, unit="working_days", note="consultation"),
    DeadlineRule(nature="举报", amount=15, unit="working_days", note="reports need an investigation"),
    DeadlineRule(leaf_prefix="101", amount=24, unit="hours", note="供热 heating"),
    DeadlineRule(leaf_prefix="102", amount=24, unit="hours", note="供水 water"),
    DeadlineRule(leaf_prefix="104", amount=24, unit="hours", note="供电 power"),
    DeadlineRule(leaf_prefix="105", amount=24, unit="hours", note="燃气 gas"),
)
_CATALOGUE_UNITS: dict[str, Unit] = {
    "hours": "hours",
    "days": "calendar_days",
    "working_days": "working_days",
}


class DeadlinePolicy(BaseModel):
    """The ``[deadlines]`` section of config.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: TimeLimit = TimeLimit(amount=5, unit="working_days")
    rules: tuple[DeadlineRule, ...] = DEFAULT_RULES
    extra_holidays: tuple[dt.date, ...] = ()  # local or not-yet-packaged holidays (e.g. next year's)
    extra_workdays: tuple[dt.date, ...] = ()  # make-up working days (调休) the package does not know
    accept_within_hours: PositiveInt = 24  # 及时签收: a department signs for a ticket within this
    extension_max_working_days: PositiveInt = 10  # the longest 延期 one approval may grant
    return_within_working_days: PositiveInt = 2  # a 退单 is allowed within this after dispatch
    warn_days_before_calendar_ends: PositiveInt = 31  # supervisors are warned from 1 December

    @model_validator(mode="after")
    def _consistent(self) -> DeadlinePolicy:
        seen: set[tuple[str | None, str | None, str | None]] = set()
        for rule in self.rules:
            if rule.conditions in seen:
                raise ValueError(f"two rules with the same conditions {rule.conditions}")
            seen.add(rule.conditions)
        both = set(self.extra_holidays) & set(self.extra_workdays)
        if both:
            raise ValueError(f"dates both extra_holidays and extra_workdays: {sorted(both)}")
        return self

    def calendar(self) -> WorkCalendar:
        return WorkCalendar(
            self.extra_holidays, self.extra_workdays, warn_days=self.warn_days_before_calendar_ends
        )


def leaf_limits_from_catalogue(leaves: Iterable[Any]) -> dict[str, TimeLimit]:
    """``leaf_limits`` for DeadlineCalculator from taxonomy leaves (objects with ``code`` and
    ``time_limit`` having ``value`` and ``unit`` in hours / days / working_days, as taxonomy.model.Node)."""
    out: dict[str, TimeLimit] = {}
    for leaf in leaves:
        limit = getattr(leaf, "time_limit", None)
        if limit is not None:
            out[leaf.code] = TimeLimit(amount=limit.value, unit=_CATALOGUE_UNITS[limit.unit])
    return out


def _specificity(rule: DeadlineRule) -> tuple[int, int, int]:
    return (rule.urgency is not None, len(rule.leaf_prefix or ""), rule.nature is not None)


def _matches(rule: DeadlineRule, leaf_code: str | None, urgency: str, nature: str | None) -> bool:
    if rule.urgency is not None and rule.urgency != urgency:
        return False
    if rule.nature is not None and rule.nature != nature:
        return False
    return rule.leaf_prefix is None or (leaf_code is not None and leaf_code.startswith(rule.leaf_prefix))


@dataclass(frozen=True)
class ChosenLimit:
    """The limit applied to a ticket and the rule it came from (None = the default), for display."""

    limit: TimeLimit
    rule: DeadlineRule | None


class DeadlineCalculator:
    """Deadlines from a policy; satisfies store.lifecycle's DeadlineCalculator protocol."""

    def __init__(
        self, policy: DeadlinePolicy | None = None, *, leaf_limits: Mapping[str, TimeLimit] | None = None
    ) -> None:
        self.policy = policy or DeadlinePolicy()
        self.calendar = self.policy.calendar()
        configured = {r.conditions for r in self.policy.rules}
        catalogue = [
            DeadlineRule(leaf_prefix=code, amount=lim.amount, unit=lim.unit, note="catalogue")
            for code, lim in (leaf_limits or {}).items()
            if (code, None, None) not in configured
        ]
        # most specific first; the sort is stable so configured rules precede catalogue ones. Indexed by
        # leaf prefix: a catalogue has thousands of leaves, a leaf code only a few prefixes.
        self._rules = sorted((*self.policy.rules, *catalogue), key=_specificity, reverse=True)
        self._by_prefix: dict[str | None, list[DeadlineRule]] = {}
        for rule in self._rules:
            self._by_prefix.setdefault(rule.leaf_prefix, []).append(rule)
        self._memo: dict[tuple[str | None, str, str | None], tuple[DeadlineRule | None, ...]] = {}

    def _winners(
        self, leaf_code: str | None, urgency: str, nature: str | None
    ) -> tuple[DeadlineRule | None, ...]:
        """The most specific matching rule, plus the best rule without urgency when the first has one."""
        key = (leaf_code, urgency, nature)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        prefixes: list[str | None] = [None]
        if leaf_code:
            prefixes += [leaf_code[:i] for i in range(1, len(leaf_code) + 1)]
        candidates = [r for p in prefixes for r in self._by_prefix.get(p, ())]
        matching = sorted(
            (r for r in candidates if _matches(r, leaf_code, urgency, nature)), key=_specificity, reverse=True
        )
        best = matching[0] if matching else None
        chosen: tuple[DeadlineRule | None, ...] = (best,)
        if best is not None and best.urgency is not None:
            chosen = (best, next((r for r in matching if r.urgency is None), None))
        if len(self._memo) < 100_000:
            self._memo[key] = chosen
        return chosen

    def apply(self, start: dt.datetime, limit: TimeLimit) -> dt.datetime:
        """``start`` + ``limit`` on the calendar (aware result on the Anshan clock)."""
        if limit.unit == "hours":
            return self.calendar.add_hours(start, limit.amount)
        if limit.unit == "calendar_days":
            return self.calendar.add_calendar_days(start, limit.amount)
        return self.calendar.add_working_days(start, limit.amount)

    def choose(
        self, *, start: dt.datetime, leaf_code: str | None, urgency: str, nature: str | None
    ) -> ChosenLimit:
        """Which limit applies to this ticket (see the module docstring)."""
        candidates = [
            ChosenLimit(rule if rule is not None else self.policy.default, rule)
            for rule in self._winners(leaf_code, urgency, nature)
        ]
        return min(candidates, key=lambda c: self.apply(start, c.limit))

    def deadline(
        self, *, start: dt.datetime, leaf_code: str | None, urgency: str, nature: str | None
    ) -> dt.datetime:
        chosen = self.choose(start=start, leaf_code=leaf_code, urgency=urgency, nature=nature)
        return self.apply(start, chosen.limit)

    def extend(self, deadline: dt.datetime, *, working_days: int) -> dt.datetime:
        """The deadline moved by ``working_days`` working days (an approved 延期; the 退单 window).

        Deliberately not bounded by ``extension_max_working_days``: the lifecycle calls this while
        applying an approval, where an exception would be a crash, not a refusal. Check a request
        with ``extension_refusal`` first.
        """
        if working_days < 0:
            raise ValueError(f"working_days must be >= 0, got {working_days}")
        if working_days == 0:
            return deadline
        return self.calendar.add_working_days(deadline, working_days)

    def extension_refusal(self, working_days: int) -> str | None:
        """Why a 延期 of ``working_days`` may not be requested or granted under the policy, or None."""
        top = self.policy.extension_max_working_days
        if not 1 <= working_days <= top:
            return f"an extension is 1-{top} working days (policy), not {working_days}"
        return None

    def accept_deadline(self, dispatched_at: dt.datetime) -> dt.datetime:
        """When a dispatched ticket must be signed for (及时签收)."""
        return self.calendar.add_hours(dispatched_at, self.policy.accept_within_hours)

    def return_deadline(self, dispatched_at: dt.datetime) -> dt.datetime:
        """The last moment a department may return (退单) a ticket."""
        return self.calendar.add_working_days(dispatched_at, self.policy.return_within_working_days)
