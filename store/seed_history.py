"""The history simulator: arrival times, callers, and each ticket's story through the lifecycle.

Each ticket is driven through the real lifecycle (``store.lifecycle.plan``, the same pure function
the ticket service uses) by a ``Simulator``, in memory, so its events replay to its row; ``History``
decides what happens and when (``History.story``), and ``intake_calls`` adds the calls that led to a
ticket. Steps whose time is after ``until`` do not happen. Rows are collected in a
``store.seed_writer.Batch``; nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from store.deadlines import DeadlineCalculator
from store.lifecycle import FieldChange, LifecycleError, apply_changes, empty_row, plan
from store.seed_data import (
    DISTRICTS,
    HOURLY,
    NATURE_DIRECT_SHARE,
    OPERATOR_NAMES,
    PHONE_PREFIXES,
    STREETS,
    SUPERVISOR_NAMES,
    SURNAMES,
    SeedLeaf,
)
from store.seed_writer import Batch, DbTime, Ids
from store.tickets import encode_value
from store.vocabulary import (
    CLOSED,
    DEFAULT_URGENCY,
    DISPATCHED,
    EVALUATED,
    FAIRLY_SATISFIED,
    MERGED,
    SATISFIED,
    UNSATISFIED,
)
from store.workcal import SHANGHAI

__all__ = [
    "HOUR",
    "MINUTE",
    "Encoder",
    "History",
    "Simulator",
    "arrivals",
    "call_row",
    "intake_calls",
    "wait",
]

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


class Encoder:
    """``store.tickets.encode_value`` with a cache for the many repeated values (statuses, names ...)."""

    def __init__(self) -> None:
        self._text: dict[str, str | None] = {}  # str values (most of them)
        self._other: dict[tuple[type, Any], str | None] = {}

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        kind = type(value)
        if kind is str:
            if value.isprintable() and '"' not in value and "\\" not in value:
                return f'"{value}"'  # json.dumps(ensure_ascii=False) escapes nothing else
            hit = self._text.get(value)
            if hit is None:
                hit = encode_value(value)
                if len(self._text) < 200_000:
                    self._text[value] = hit
            return hit
        if kind is dt.datetime:
            # what encode_value writes, without json.dumps (the text is ASCII; a test checks equality)
            utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
            return f'"{utc.isoformat(timespec="microseconds")}"'
        key = (kind, tuple(value) if kind is list else value)
        hit = self._other.get(key)
        if hit is None:
            hit = self._other[key] = encode_value(value)
        return hit


class Simulator:
    """Drives one ticket through the lifecycle in memory, collecting rows."""

    def __init__(
        self,
        rng: random.Random,
        calc: DeadlineCalculator,
        until: dt.datetime,
        batch: Batch,
        ids: Ids,
        encode: Encoder,
        db_time: DbTime,
    ) -> None:
        self.rng, self.calc, self.until, self.batch, self.db_time = rng, calc, until, batch, db_time
        self.ids, self.encode = ids, encode
        self.refused_steps = 0  # simulated steps the lifecycle refused (skipped)
        self.evaluations = 0
        self.row: dict[str, Any] = {}
        self.seq = 0
        self.version = 0
        self.last: dt.datetime = until

    def step(self, command: str, at: dt.datetime, actor: str, role: str, **args: Any) -> bool:
        """Apply ``command`` at ``at`` if that is not in the future; False if it did not happen."""
        if at > self.until:
            return False
        try:
            changes = plan(command, self.row, role, args, at, self.calc)
        except LifecycleError:
            self.refused_steps += 1
            return False
        self._record(changes, command, at, actor, role, args.get("reason"))
        return True

    def _record(
        self,
        changes: list[FieldChange],
        command: str,
        at: dt.datetime,
        actor: str,
        role: str,
        reason: str | None,
    ) -> None:
        if not changes:
            return
        self.row = apply_changes(self.row, changes)
        ticket_id = self.row["id"]
        at_db, encode, append = self.db_time(at), self.encode, self.batch.events.append
        event_id, seq = self.ids.event, self.seq
        for change in changes:
            seq += 1
            append(
                (
                    event_id,
                    ticket_id,
                    seq,
                    at_db,
                    actor,
                    role,
                    command,
                    change.field,
                    encode(change.old),
                    encode(change.new),
                    reason,
                )
            )
            event_id += 1
        self.ids.event, self.seq = event_id, seq
        self.version += 1
        self.last = at

    def create(self, ticket_id: int, at: dt.datetime, args: dict[str, Any]) -> None:
        self.row, self.seq, self.version = {**empty_row(), "id": ticket_id}, 0, 0
        changes = plan("create", {}, "operator", args, at, self.calc)
        self._record(changes, "create", at, args["created_by"], "operator", None)

    def ticket_row(self) -> dict[str, Any]:
        row = dict(self.row)
        row["updated_at"], row["version"] = self.last, self.version
        return row


def wait(rng: random.Random, median_hours: float, sigma: float = 0.8) -> dt.timedelta:
    return dt.timedelta(hours=median_hours * rng.lognormvariate(0, sigma))


class History:
    """The whole generator: arrival times, callers, and each ticket's story."""

    def __init__(
        self,
        rng: random.Random,
        calc: DeadlineCalculator,
        leaves: Sequence[SeedLeaf],
        until: dt.datetime,
        n_tickets: int,
        taxonomy_version: str | None,
    ) -> None:
        self.rng, self.calc, self.leaves, self.until = rng, calc, leaves, until
        self.taxonomy_version = taxonomy_version
        # cumulative weights: random.choices then bisects instead of summing thousands of leaves per call
        self.leaf_weights = list(accumulate(leaf.weight for leaf in leaves))
        self.heating_weights = list(
            accumulate(leaf.weight * (3.0 if leaf.heating else 1.0) for leaf in leaves)
        )
        self.district_names = [d for d, _ in DISTRICTS]
        self.district_weights = list(accumulate(w for _, w in DISTRICTS))
        self.pool = max(10, int(n_tickets * 0.7))  # callers; a few call many times
        self.frequent = max(1, self.pool // 50)
        self.recent_open: list[tuple[int, str]] = []  # (ticket id, leaf code): candidates for 并单

    # --- who and what ---

    def caller_index(self) -> int:
        if self.rng.random() < 0.15:
            return self.rng.randrange(self.frequent)
        return self.rng.randrange(self.pool)

    @staticmethod
    def phone(index: int) -> str:
        return f"+86{PHONE_PREFIXES[index % len(PHONE_PREFIXES)]}{index // len(PHONE_PREFIXES):08d}"

    def caller_name(self, index: int) -> str:
        return SURNAMES[index % len(SURNAMES)] + ("先生" if index % 3 else "女士")

    def leaf(self, at: dt.datetime) -> SeedLeaf:
        month = at.astimezone(SHANGHAI).month
        weights = self.heating_weights if month in (11, 12, 1, 2, 3) else self.leaf_weights
        return self.rng.choices(self.leaves, cum_weights=weights)[0]

    # --- one ticket ---

    def story(
        self,
        sim: Simulator,
        ticket_id: int,
        number: str,
        crid: str,
        at: dt.datetime,
        caller_id: int,
        caller_index: int,
    ) -> None:
        rng = self.rng
        leaf = self.leaf(at)
        nature = rng.choice(leaf.natures)
        district = rng.choices(self.district_names, cum_weights=self.district_weights)[0]
        street = rng.choice(STREETS)
        operator = rng.choice(OPERATOR_NAMES)
        urgency = leaf.urgency if rng.random() < 0.7 else DEFAULT_URGENCY
        consent = rng.random() < 0.9
        sim.create(
            ticket_id,
            at,
            {
                "number": number,
                "client_request_id": crid,
                "nature": nature,
                "board": leaf.board,
                "leaf_code": leaf.code,
                "taxonomy_version": self.taxonomy_version,
                "district": district,
                "street": street,
                "address": f"{district}{street}{rng.randint(1, 300)}号",
                "urgency": urgency,
                "description": f"来电人反映{district}{street}附近{leaf.name}问题，请相关部门核实处理。",
                "channel": "phone" if rng.random() < 0.9 else "web",
                "caller_id": caller_id,
                "caller_name": self.caller_name(caller_index),
                "caller_phone": self.phone(caller_index),
                "callback_consent": consent,
                "created_by": operator,
            },
        )
        t = at + rng.randint(1, 6) * MINUTE
        # 并单: a repeat of a recent open request about the same leaf
        if self.recent_open and rng.random() < 0.02:
            parent_id, parent_leaf = self.recent_open[-1 - rng.randrange(min(20, len(self.recent_open)))]
            same_matter = parent_leaf == leaf.code or rng.random() < 0.3
            if same_matter and sim.step(
                "merge", t, operator, "operator", parent_id=parent_id, parent_status=DISPATCHED
            ):
                self._archive(sim, t + 7 * 24 * HOUR)
                return
        if rng.random() < NATURE_DIRECT_SHARE.get(nature, 0.1):
            sim.step(
                "close_direct",
                t,
                operator,
                "operator",
                answer=f"已按知识库解答：{leaf.name}相关政策及办理渠道。",
            )
            self._evaluate(sim, t, direct=True)
            self._archive(sim, sim.last + 7 * 24 * HOUR)
            return
        self.recent_open.append((ticket_id, leaf.code))
        if len(self.recent_open) > 200:
            del self.recent_open[:100]
        dept = leaf.department
        co = [f"{district}人民政府"] if rng.random() < 0.1 else []
        t += rng.randint(2, 40) * MINUTE
        if not sim.step("dispatch", t, operator, "operator", department=dept, co_departments=co):
            return
        self._department_works(sim, t, first=True)

    def _department_works(self, sim: Simulator, dispatched: dt.datetime, first: bool) -> None:
        rng = self.rng
        deadline: dt.datetime = sim.row["deadline"]
        limit = deadline - dispatched
        # 退单 (about 6%), within the 2-working-day window, then the hotline re-dispatches
        if first and rng.random() < 0.06:
            t = dispatched + wait(rng, 3)
            if sim.step("return", t, "backend", "backend", reason="非本单位职责，建议转属地政府"):
                t += wait(rng, 2)
                other = rng.choice([leaf.department for leaf in self.leaves])
                if other == sim.row["department"]:
                    other = f"{sim.row['district']}人民政府"
                if sim.step("reassign", t, rng.choice(SUPERVISOR_NAMES), "supervisor", department=other):
                    self._department_works(sim, t, first=False)
                return
        # 签收: usually within a few hours; ~8% later than a day
        # short limits (emergencies, utilities) are signed for and started in minutes, not hours
        pace = min(1.0, limit / (48 * HOUR))
        accept_at = dispatched + (wait(rng, 2 * pace) if rng.random() > 0.08 else wait(rng, 30, 0.4))
        if not sim.step("accept", accept_at, "backend", "backend"):
            return
        t = accept_at + wait(rng, pace)
        if not sim.step("start", t, "backend", "backend"):
            return
        late = rng.random() < 0.07
        if rng.random() < 0.05:  # 延期 requested before expiry
            req = t + (deadline - t) * rng.uniform(0.3, 0.8)
            days = rng.randint(2, 10)
            if sim.step(
                "request_extension",
                req,
                "backend",
                "backend",
                reason="需现场勘查，申请延期",
                extension_days=days,
            ):
                dec = req + wait(rng, 4)
                if rng.random() < 0.8:
                    sim.step("approve_extension", dec, rng.choice(SUPERVISOR_NAMES), "supervisor")
                else:
                    sim.step(
                        "refuse_extension",
                        dec,
                        rng.choice(SUPERVISOR_NAMES),
                        "supervisor",
                        reason="理由不充分",
                    )
                deadline = sim.row["deadline"]
                limit = deadline - dispatched
        if rng.random() < 0.12:  # 催办 before expiry
            sim.step(
                "urge", dispatched + limit * rng.uniform(0.5, 0.9), rng.choice(OPERATOR_NAMES), "operator"
            )
        if late:
            reply_at = deadline + wait(rng, 20, 1.0)
            if rng.random() < 0.6:
                sim.step("supervise", deadline + wait(rng, 3), "system", "system")
        else:
            reply_at = max(sim.last, t) + (deadline - max(sim.last, t)) * rng.uniform(0.2, 0.95)
        reply_at = max(reply_at, sim.last + MINUTE)
        if not sim.step("reply", reply_at, "backend", "backend", answer="经核实已处理完毕，已与来电人沟通。"):
            return
        review = wait(rng, 3)
        if not late and deadline > reply_at:  # the hotline reviews on time unless the reply was late
            review = min(review, (deadline - reply_at) * rng.uniform(0.2, 0.98))
        close_at = reply_at + review
        if not sim.step("close", close_at, rng.choice(OPERATOR_NAMES), "operator"):
            return
        if self._evaluate(sim, close_at, direct=False):
            self._department_works_again(sim)
            return
        self._archive(sim, sim.last + 7 * 24 * HOUR)

    def _department_works_again(self, sim: Simulator) -> None:
        """After 不满意 blamed on the department (重办): another round, usually satisfying."""
        rng = self.rng
        t = sim.last
        deadline: dt.datetime = sim.row["deadline"]
        reply_at = t + (deadline - t) * rng.uniform(0.3, 1.05)
        if not sim.step("reply", reply_at, "backend", "backend", answer="重办后已再次处理并回复来电人。"):
            return
        close_at = reply_at + wait(rng, 3)
        if sim.step("close", close_at, rng.choice(OPERATOR_NAMES), "operator"):
            sim.step(
                "evaluate",
                close_at + wait(rng, 22, 0.2),
                rng.choice(OPERATOR_NAMES),
                "operator",
                satisfaction=rng.choice((SATISFIED, SATISFIED, FAIRLY_SATISFIED)),
            )
            self._archive(sim, sim.last + 7 * 24 * HOUR)

    def _evaluate(self, sim: Simulator, closed_at: dt.datetime, direct: bool) -> bool:
        """回访 the next day; True when the department must re-handle."""
        rng = self.rng
        if not sim.row.get("callback_consent") or rng.random() < (0.5 if direct else 0.12):
            return False
        at = closed_at + wait(rng, 22, 0.2)
        roll = rng.random()
        operator = rng.choice(OPERATOR_NAMES)
        call_id = self._callback_call(at, sim)
        if roll < 0.80:
            ok = sim.step("evaluate", at, operator, "operator", satisfaction=SATISFIED)
            verdict, fault = SATISFIED, False
        elif roll < 0.95:
            ok = sim.step("evaluate", at, operator, "operator", satisfaction=FAIRLY_SATISFIED)
            verdict, fault = FAIRLY_SATISFIED, False
        else:
            fault = not direct and rng.random() < 0.6
            verdict = UNSATISFIED
            ok = sim.step(
                "evaluate",
                at,
                operator,
                "operator",
                satisfaction=UNSATISFIED,
                reason="问题未解决" if fault else "对政策不满意",
                department_at_fault=fault,
            )
        if ok:
            sim.batch.evaluations.append(
                {
                    "id": sim.ids.evaluation,
                    "ticket_id": sim.row["id"],
                    "at": at,
                    "user_id": None,
                    "call_id": call_id,
                    "result": verdict,
                    "department_at_fault": fault,
                    "comment": None,
                }
            )
            sim.ids.evaluation += 1
            sim.evaluations += 1
        else:
            sim.batch.calls.pop()  # the callback did not happen either
        return ok and fault

    def _callback_call(self, at: dt.datetime, sim: Simulator) -> str:
        cid = uuid.UUID(int=self.rng.getrandbits(128)).hex
        sim.batch.calls.append(
            call_row(
                cid,
                "out",
                None,
                sim.row.get("caller_phone") or "",
                at,
                at + 8 * dt.timedelta(seconds=1),
                at + dt.timedelta(seconds=self.rng.randint(40, 180)),
                "local_hangup",
                sim.row["id"],
            )
        )
        return cid

    def _archive(self, sim: Simulator, at: dt.datetime) -> None:
        if sim.row.get("status") in (CLOSED, EVALUATED, MERGED) and self.rng.random() < 0.5:
            sim.step("archive", at, "system", "system")


def call_row(
    cid: str,
    direction: str,
    caller_id: int | None,
    number: str,
    offered: dt.datetime,
    answered: dt.datetime | None,
    ended: dt.datetime | None,
    reason: str | None,
    ticket_id: int | None,
) -> dict[str, Any]:
    national = number[3:] if number.startswith("+86") else number
    return {
        "id": cid,
        "direction": direction,
        "caller_id": caller_id,
        "remote_number": national,
        "display_name": None,
        "user_id": None,
        "queue": "12345" if direction == "in" else None,
        "offered_at": offered,
        "answered_at": answered,
        "ended_at": ended,
        "end_reason": reason,
        # what the wrap-up of an answered call records (an unanswered one has no wrap-up)
        "disposition": None if answered is None else ("已建工单" if ticket_id is not None else "咨询已答复"),
        "recording_path": None,
        "ticket_id": ticket_id,
        "callback_done": False,
    }


def arrivals(rng: random.Random, n: int, days: int, until: dt.datetime) -> list[dt.datetime]:
    """n creation times over the ``days`` days before ``until``, following the day/night curve."""
    first_day = (until.astimezone(SHANGHAI) - dt.timedelta(days=days)).date()
    day_weights = []
    for i in range(days):
        d = first_day + dt.timedelta(days=i + 1)
        day_weights.append((0.8 if d.weekday() >= 5 else 1.0) * rng.uniform(0.85, 1.15))
    day_idx = rng.choices(range(days), day_weights, k=n)
    hours = rng.choices(range(24), HOURLY, k=n)
    out = []
    for di, hour in zip(day_idx, hours, strict=True):
        d = first_day + dt.timedelta(days=di + 1)
        local = dt.datetime(
            d.year,
            d.month,
            d.day,
            hour,
            rng.randrange(60),
            rng.randrange(60),
            rng.randrange(1_000_000),
            tzinfo=SHANGHAI,
        )
        moment = local.astimezone(dt.UTC)
        out.append(moment if moment <= until else until - dt.timedelta(seconds=rng.randint(1, 3600)))
    out.sort()
    return out


def intake_calls(
    rng: random.Random, batch: Batch, caller_id: int, phone: str, at: dt.datetime, ticket_id: int
) -> None:
    """The call that became this ticket, sometimes preceded by an abandoned try or a ghost call."""
    if rng.random() < 0.08:  # gave up waiting first
        off = at - dt.timedelta(minutes=rng.randint(10, 120))
        batch.calls.append(
            call_row(
                uuid.UUID(int=rng.getrandbits(128)).hex,
                "in",
                caller_id,
                phone,
                off,
                None,
                off + dt.timedelta(seconds=rng.randint(5, 90)),
                "abandoned",
                None,
            )
        )
    if rng.random() < 0.02:  # silent line, rejected as a ghost call
        off = at - dt.timedelta(minutes=rng.randint(130, 300))
        batch.calls.append(
            call_row(
                uuid.UUID(int=rng.getrandbits(128)).hex,
                "in",
                None,
                phone,
                off,
                None,
                off + dt.timedelta(seconds=4),
                "rejected",
                None,
            )
        )
    wait = dt.timedelta(seconds=min(600.0, rng.lognormvariate(1.9, 0.8)))  # median ~7 s
    offered = at - dt.timedelta(seconds=rng.randint(60, 400)) - wait
    ended = at + dt.timedelta(seconds=rng.randint(10, 120))
    batch.calls.append(
        call_row(
            uuid.UUID(int=rng.getrandbits(128)).hex,
            "in",
            caller_id,
            phone,
            offered,
            offered + wait,
            ended,
            rng.choice(("remote_bye", "local_hangup")),
            ticket_id,
        )
    )
