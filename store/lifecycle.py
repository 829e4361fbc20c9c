"""The 12345 work order (工单) as a state machine defined as data.

``plan(command, current, actor_role, args, now, deadlines)`` is a pure function: given a ticket's
current fields (a mapping; ``{}`` for a ticket not yet created) it returns the field changes a
command makes, or raises ``LifecycleError`` naming the command, the state and the reason. Nothing
is touched; ``store.tickets`` applies the changes in one transaction, and the history generator
uses the same function in memory (``apply_changes``).

States (Ticket.status)::

    已受理 received      已派单 dispatched   已签收 accepted     办理中 in progress   已答复 replied
    已办结 closed        已回访 evaluated    已退单 returned     已并单 merged        已归档 archived

Roles: people ``operator`` ``supervisor`` ``trainer`` ``admin``; actors ``department`` (a
department working in the reference backend) and ``backend`` (the sync worker relaying what the
city backend reports); ``system`` (automatic jobs). Trainers change nothing. HOTLINE below means
operator, supervisor, admin; SUPERVISORS means supervisor, admin; DEPT means department, backend.
The table and its notes are ``lifecycle_table()``'s rendering of ``COMMANDS`` (print it with
``python -m store.lifecycle``; tests/store/test_lifecycle.py fails when they differ).

================= ======== ======================== ====== =================== ====================== ==============================
command           label    from                     to     roles               required args          sets
================= ======== ======================== ====== =================== ====================== ==============================
create            受理     (new)                    已受理 HOTLINE, backend,   number,                -
                                                           system              client_request_id,
                                                                               nature, description
close_direct      直接办结 已受理                   已办结 HOTLINE             answer                 answer, closed_at
dispatch          派单     已受理                   已派单 HOTLINE             department             department, co_departments,
                                                                                                      dispatched_at, deadline
accept            签收     已派单                   已签收 DEPT                -                      accepted_at
start             办理中   已签收                   办理中 DEPT                -                      -
reply             答复     已签收, 办理中           已答复 DEPT                answer                 answer, replied_at, extension,
                                                                                                      extension_days
close             办结     已答复                   已办结 HOTLINE, backend    -                      closed_at
evaluate          回访     已办结                   已回访 HOTLINE             satisfaction           satisfaction, rehandle_count,
                                                                                                      deadline, replied_at,
                                                                                                      closed_at, extension,
                                                                                                      extension_days
rehandle          重办     已答复, 已办结, 已回访   办理中 SUPERVISORS         reason                 rehandle_count, deadline,
                                                                                                      replied_at, closed_at,
                                                                                                      extension, extension_days
return            退单     已派单, 已签收, 办理中   已退单 DEPT                reason                 return_count, extension,
                                                                                                      extension_days
reassign          改派     已退单                   已派单 SUPERVISORS         department             department, co_departments,
                                                                                                      dispatched_at, accepted_at,
                                                                                                      deadline, extension,
                                                                                                      extension_days
request_extension 延期申请 已签收, 办理中           -      DEPT                reason, extension_days extension, extension_days
approve_extension 延期批准 已签收, 办理中           -      SUPERVISORS         -                      extension, extension_days,
                                                                                                      deadline
refuse_extension  延期驳回 已签收, 办理中           -      SUPERVISORS         reason                 extension, extension_days
urge              催办     已派单, 已签收, 办理中   -      HOTLINE, system     -                      urge_count
supervise         督办     已派单, 已签收, 办理中   -      SUPERVISORS, system -                      supervised
merge             并单     已受理, 已派单           已并单 HOTLINE             parent_id,             parent_id
                                                                               parent_status
archive           归档     已办结, 已回访, 已并单   已归档 SUPERVISORS, system -                      -
edit              修改     已受理, 已派单, 已签收,  -      HOTLINE             -                      -
                           办理中, 已答复, 已办结,
                           已退单
link_backend      关联     any                      -      backend, system     backend_id             backend_id
note              备注     any                      -      HOTLINE, system     reason                 -
================= ======== ======================== ====== =================== ====================== ==============================

- create: a new work order with every initial field; optional args: address, backend_id, board,
  callback_consent, caller_id, caller_name, caller_phone, channel, created_by, district, leaf_code,
  street, taxonomy_version, urgency
- close_direct: answered on the spot from the knowledge base; never dispatched
- dispatch: the deadline clock starts; optional args: co_departments
- reply: a pending extension request lapses
- close: the hotline accepts the department's reply
- evaluate: 不满意 with department_at_fault re-handles the ticket (ends in 办理中); optional args:
  department_at_fault; 不满意 needs a reason and department_at_fault (true only for a dispatched
  ticket)
- rehandle: the deadline restarts; the reply, the closure and any extension are cleared; only a
  ticket that was dispatched (not one the hotline closed directly)
- return: a pending extension request lapses; only within the return window after dispatch (the
  policy: 2 working days)
- reassign: the deadline restarts; the acceptance and any extension are cleared; optional args:
  co_departments
- request_extension: only before the deadline (after it: 督办); not while an extension is requested or
  approved; only as many working days as the deadline policy allows
- approve_extension: the deadline moves by the granted working days; optional args: extension_days;
  only while an extension is requested; no more working days than were requested; only as many
  working days as the deadline policy allows
- refuse_extension: only while an extension is requested
- urge: only before the deadline (after it: 督办)
- supervise: only after the deadline (before it: 催办); only once
- merge: the parent exists, is not merged itself and is not this ticket
- edit: field edits; which fields in which state: EDITABLE_FIELDS
- link_backend: the Open311 service_request_id
- note: an audited remark (e.g. the call was transferred); changes no field

Edits (EDITABLE_FIELDS): in 已受理 every intake field; in 已退单 the classification, location,
description and urgency (fixed before 改派) plus caller_name/callback_consent; from 已派单 to 已办结
only caller_name and callback_consent; nothing after 回访, 并单 or 归档.

A note (备注) changes no field, so ``plan`` returns no change for it; ``store.tickets`` records it as
one event whose field is ``NOTE_FIELD`` (skipped by replay) and sends nothing to the backend.

Optional args: ``reason`` on every command (kept in the events); ``co_departments`` on dispatch
and reassign; ``department_at_fault`` on evaluate; ``extension_days`` on approve_extension (the
hotline may grant fewer days than requested). Unknown args are refused.

Invariants every reachable row keeps (``store.invariants.violations(row)`` lists the broken ones):
closed_at is set exactly in 已办结/已回访 (and 已归档 unless merged); dispatched_at and department go
together and exist in every department state; accepted_at in 已签收/办理中; replied_at in 已答复 and, after
办结, exactly when the ticket was dispatched; extension_days > 0 exactly while an extension is
requested or approved, and a request is pending only while the department works; parent_id exactly
for merged tickets (and their archive); 已回访 has a satisfaction; counters are never negative; a
supervised ticket has a deadline; returned or re-handled tickets were dispatched.

Deadlines are computed through a ``DeadlineCalculator`` (store/deadlines.py satisfies it): the
clock starts at dispatch, restarts on 改派 and 重办, and an approved extension moves it by
``extension_days`` working days. With ``deadlines=None`` no deadline is set (and an existing one is
left as is).
"""

from __future__ import annotations

import datetime as dt
import textwrap
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from store.models import ROLES, TICKET_REPLAYED_FIELDS
from store.vocabulary import (
    ACCEPTED,
    ARCHIVED,
    BOARDS,
    CLOSED,
    DEFAULT_URGENCY,
    DEPARTMENT_STATES,
    DISPATCHED,
    EVALUATED,
    IN_PROGRESS,
    MERGED,
    NATURES,
    RECEIVED,
    REPLIED,
    RETURNED,
    SATISFACTIONS,
    STATUSES,
    UNSATISFIED,
    URGENCIES,
)

EXTENSION_STATES: tuple[str, ...] = ("requested", "approved", "refused")

PEOPLE_ROLES: tuple[str, ...] = ROLES  # operator, supervisor, trainer, admin
ACTOR_ROLES: tuple[str, ...] = ("department", "backend", "system")
ALL_ROLES: tuple[str, ...] = PEOPLE_ROLES + ACTOR_ROLES
HOTLINE = frozenset({"operator", "supervisor", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})
DEPT = frozenset({"department", "backend"})

NOTE_FIELD = "note"  # the ``field`` of a note's event row: no ticket field, replay skips it
MAX_EXTENSION_DAYS = 30  # sanity bound of the argument; the deadline policy (extension_refusal) allows fewer

# Fields set at intake, and which of them the hotline may still edit in each state.
INTAKE_FIELDS: tuple[str, ...] = (
    "channel",
    "nature",
    "board",
    "leaf_code",
    "taxonomy_version",
    "district",
    "street",
    "address",
    "description",
    "urgency",
    "caller_id",
    "caller_name",
    "caller_phone",
    "callback_consent",
)
CLASSIFICATION_FIELDS = frozenset(
    {
        "nature",
        "board",
        "leaf_code",
        "taxonomy_version",
        "district",
        "street",
        "address",
        "description",
        "urgency",
    }
)
CONTACT_FIELDS = frozenset({"caller_name", "callback_consent"})
EDITABLE_FIELDS: Mapping[str, frozenset[str]] = {
    RECEIVED: frozenset(INTAKE_FIELDS),  # before dispatch: everything the operator typed
    RETURNED: CLASSIFICATION_FIELDS | CONTACT_FIELDS,  # fix the classification before 改派
    DISPATCHED: CONTACT_FIELDS,
    ACCEPTED: CONTACT_FIELDS,
    IN_PROGRESS: CONTACT_FIELDS,
    REPLIED: CONTACT_FIELDS,
    CLOSED: CONTACT_FIELDS,
}
# Creation: these are the values a field has when the draft does not give one.
CREATE_DEFAULTS: Mapping[str, Any] = {
    "channel": "phone",
    "urgency": DEFAULT_URGENCY,
    "callback_consent": True,
    "co_departments": [],
    "extension_days": 0,
    "urge_count": 0,
    "supervised": False,
    "return_count": 0,
    "rehandle_count": 0,
}
CREATE_ARGS = frozenset(INTAKE_FIELDS) | {"number", "client_request_id", "created_by", "backend_id"}


# --- public types ---------------------------------------------------------------------------------


class LifecycleError(ValueError):
    """A command refused: which command, from which state, why. Nothing was changed."""

    def __init__(self, command: str, state: str | None, why: str) -> None:
        self.command, self.state, self.why = command, state, why
        where = f"from {state}" if state else "for a new ticket"
        super().__init__(f"{command} {where}: {why}")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


class DeadlineCalculator(Protocol):
    def deadline(
        self, *, start: dt.datetime, leaf_code: str | None, urgency: str, nature: str | None
    ) -> dt.datetime: ...

    def extend(self, deadline: dt.datetime, *, working_days: int) -> dt.datetime: ...

    def extension_refusal(self, working_days: int) -> str | None:
        """Why a 延期 of this many working days is outside the policy, or None."""
        ...

    def return_deadline(self, dispatched_at: dt.datetime) -> dt.datetime:
        """The last moment a department may return (退单) a ticket dispatched then."""
        ...


@dataclass(frozen=True)
class Context:
    """What an effect or a guard may look at."""

    current: Mapping[str, Any]
    args: Mapping[str, Any]
    now: dt.datetime
    deadlines: DeadlineCalculator | None


Effect = Callable[[Context], Any]  # computes a field's new value
Guard = Callable[[Context], str | None]  # returns why the command is refused, or None


@dataclass(frozen=True)
class Command:
    name: str
    label: str
    from_states: frozenset[str | None]
    to_state: str | None  # None: the status is unchanged
    roles: frozenset[str]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    effects: tuple[tuple[str, Effect], ...] = ()
    guards: tuple[Guard, ...] = ()
    doc: str = ""


# --- argument validation --------------------------------------------------------------------------


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty text")
    return value.strip()


def _opt_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a text")
    return value.strip() or None


def _choice(options: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in options:
            raise ValueError(f"{name} must be one of {'/'.join(options)}, not {value!r}")
        return str(value)

    return check


def _opt_choice(options: tuple[str, ...]) -> Callable[[str, Any], str | None]:
    check = _choice(options)
    return lambda name, value: None if value is None else check(name, value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _int_id(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer id")
    return value


def _days(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXTENSION_DAYS:
        raise ValueError(f"{name} must be a whole number of working days from 1 to {MAX_EXTENSION_DAYS}")
    return value


def _departments(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(d, str) and d.strip() for d in value):
        raise ValueError(f"{name} must be a list of department names")
    return list(dict.fromkeys(d.strip() for d in value))  # de-duplicated, order kept


# required arguments whose None is a value: parent_status None = the parent does not exist
NULLABLE_ARGS = frozenset({"parent_status"})
ARG_CHECKS: Mapping[str, Callable[[str, Any], Any]] = {
    "reason": _opt_text,
    "answer": _text,
    "department": _text,
    "co_departments": _departments,
    "satisfaction": _choice(SATISFACTIONS),
    "department_at_fault": _bool,
    "extension_days": _days,
    "parent_id": _int_id,
    "parent_status": _opt_choice(STATUSES),
    "backend_id": _text,
    "number": _text,
    "client_request_id": _text,
    "created_by": _opt_text,
    "description": _text,
    "nature": _choice(NATURES),
    "urgency": _choice(URGENCIES),
    "board": _opt_choice(BOARDS),
    "channel": _text,
    "leaf_code": _opt_text,
    "taxonomy_version": _opt_text,
    "district": _opt_text,
    "street": _opt_text,
    "address": _opt_text,
    "caller_id": _int_id,
    "caller_name": _opt_text,
    "caller_phone": _opt_text,
    "callback_consent": _bool,
}


# --- effects and guards (named, so the table below reads as data) -----------------------------------


def at_now(ctx: Context) -> dt.datetime:
    return ctx.now


def arg(name: str, default: Any = None) -> Effect:
    return lambda ctx: ctx.args.get(name, default)


def const(v: Any) -> Effect:
    return lambda ctx: v


def increment(name: str) -> Effect:
    return lambda ctx: int(ctx.current.get(name) or 0) + 1


def keep(name: str) -> Effect:
    return lambda ctx: ctx.current.get(name)


def co_departments(ctx: Context) -> list[str]:
    return list(ctx.args.get("co_departments") or [])  # a fresh list: rows must not share one


def fresh_deadline(ctx: Context) -> dt.datetime | None:
    """The clock (re)starts now: at dispatch, 改派 and 重办 (without a calculator: left as is)."""
    if ctx.deadlines is None:
        return ctx.current.get("deadline")
    return ctx.deadlines.deadline(
        start=ctx.now,
        leaf_code=ctx.current.get("leaf_code"),
        urgency=ctx.current.get("urgency") or DEFAULT_URGENCY,
        nature=ctx.current.get("nature"),
    )


def extended_deadline(ctx: Context) -> dt.datetime | None:
    current = ctx.current.get("deadline")
    if ctx.deadlines is None or current is None:
        return current
    return ctx.deadlines.extend(current, working_days=granted_days(ctx))


def granted_days(ctx: Context) -> int:
    return int(ctx.args.get("extension_days") or ctx.current.get("extension_days") or 0)


def lapse_pending_extension(field_name: str) -> Effect:
    """A request still pending when the department replies or returns the ticket is moot."""

    def effect(ctx: Context) -> Any:
        if ctx.current.get("extension") == "requested":
            return None if field_name == "extension" else 0
        return ctx.current.get(field_name)

    return effect


def before_expiry(ctx: Context) -> str | None:
    """Only before the deadline (after it: 督办)."""
    deadline = ctx.current.get("deadline")
    if deadline is not None and ctx.now >= deadline:
        return f"the deadline {deadline.isoformat()} has passed (after expiry: 督办)"
    return None


def after_expiry(ctx: Context) -> str | None:
    """Only after the deadline (before it: 催办)."""
    deadline = ctx.current.get("deadline")
    if deadline is None:
        return "the ticket has no deadline, so it cannot be overdue"
    if ctx.now < deadline:
        return f"the deadline {deadline.isoformat()} has not passed yet (before expiry: 催办)"
    return None


def was_dispatched(ctx: Context) -> str | None:
    """Only a ticket that was dispatched (not one the hotline closed directly)."""
    if not ctx.current.get("department"):
        return "the ticket was closed directly by the hotline; there is no department to re-handle it"
    return None


def not_supervised(ctx: Context) -> str | None:
    """Only once."""
    return "the ticket is already supervised (督办)" if ctx.current.get("supervised") else None


def no_open_extension(ctx: Context) -> str | None:
    """Not while an extension is requested or approved."""
    ext = ctx.current.get("extension")
    if ext in ("requested", "approved"):
        return f"an extension is already {ext}"
    return None


def extension_requested(ctx: Context) -> str | None:
    """Only while an extension is requested."""
    ext = ctx.current.get("extension")
    return None if ext == "requested" else f"no extension is pending (extension: {ext or 'none'})"


def grant_within_request(ctx: Context) -> str | None:
    """No more working days than were requested."""
    asked, given = ctx.current.get("extension_days") or 0, ctx.args.get("extension_days")
    if given is not None and given > asked:
        return f"cannot grant {given} working days when {asked} were requested"
    return None


def extension_within_policy(ctx: Context) -> str | None:
    """Only as many working days as the deadline policy allows."""
    days = ctx.args.get("extension_days")
    if ctx.deadlines is None or days is None:
        return None
    return ctx.deadlines.extension_refusal(days)


def within_return_window(ctx: Context) -> str | None:
    """Only within the return window after dispatch (the policy: 2 working days)."""
    dispatched = ctx.current.get("dispatched_at")
    if ctx.deadlines is None or dispatched is None:
        return None
    limit = ctx.deadlines.return_deadline(dispatched)
    if ctx.now > limit:
        return f"the window for returning (退单) this ticket closed at {limit.isoformat()}"
    return None


def unsatisfied_needs_reason(ctx: Context) -> str | None:
    """不满意 needs a reason and department_at_fault (true only for a dispatched ticket)."""
    if ctx.args.get("satisfaction") != UNSATISFIED:
        if ctx.args.get("department_at_fault"):
            return "department_at_fault only applies to 不满意"
        return None
    if not ctx.args.get("reason"):
        return "不满意 needs a reason"
    if "department_at_fault" not in ctx.args:
        return "不满意 needs department_at_fault (true: 发回重办, false: not the department's fault)"
    if ctx.args["department_at_fault"] and not ctx.current.get("department"):
        return "the ticket was closed directly by the hotline; no department can be at fault"
    return None


def valid_parent(ctx: Context) -> str | None:
    """The parent exists, is not merged itself and is not this ticket."""
    parent_id, parent_status = ctx.args.get("parent_id"), ctx.args.get("parent_status")
    if parent_status is None:
        return f"the parent ticket {parent_id} does not exist"
    if parent_id == ctx.current.get("id"):
        return "a ticket cannot be merged into itself"
    if parent_status == MERGED:
        return f"the parent ticket {parent_id} is itself merged (已并单); merge into its parent"
    return None


def is_rehandle(ctx: Context) -> bool:
    return ctx.args.get("satisfaction") == UNSATISFIED and bool(ctx.args.get("department_at_fault"))


def when_rehandled(effect: Effect, otherwise: Effect) -> Effect:
    return lambda ctx: effect(ctx) if is_rehandle(ctx) else otherwise(ctx)


# 重办's side fields, shared by rehandle and an evaluation that blames the department.
REHANDLE_EFFECTS: tuple[tuple[str, Effect], ...] = (
    ("rehandle_count", increment("rehandle_count")),
    ("deadline", fresh_deadline),
    ("replied_at", const(None)),
    ("closed_at", const(None)),
    ("extension", const(None)),
    ("extension_days", const(0)),
)

# --- the table ------------------------------------------------------------------------------------

COMMANDS: Mapping[str, Command] = {
    c.name: c
    for c in (
        Command(
            "create",
            "受理",
            frozenset({None}),
            RECEIVED,
            HOTLINE | {"backend", "system"},
            required=("number", "client_request_id", "nature", "description"),
            optional=tuple(sorted(CREATE_ARGS - {"number", "client_request_id", "nature", "description"})),
            doc="a new work order with every initial field",
        ),
        Command(
            "close_direct",
            "直接办结",
            frozenset({RECEIVED}),
            CLOSED,
            HOTLINE,
            required=("answer",),
            effects=(("answer", arg("answer")), ("closed_at", at_now)),
            doc="answered on the spot from the knowledge base; never dispatched",
        ),
        Command(
            "dispatch",
            "派单",
            frozenset({RECEIVED}),
            DISPATCHED,
            HOTLINE,
            required=("department",),
            optional=("co_departments",),
            effects=(
                ("department", arg("department")),
                ("co_departments", co_departments),
                ("dispatched_at", at_now),
                ("deadline", fresh_deadline),
            ),
            doc="the deadline clock starts",
        ),
        Command(
            "accept", "签收", frozenset({DISPATCHED}), ACCEPTED, DEPT, effects=(("accepted_at", at_now),)
        ),
        Command("start", "办理中", frozenset({ACCEPTED}), IN_PROGRESS, DEPT),
        Command(
            "reply",
            "答复",
            frozenset({ACCEPTED, IN_PROGRESS}),
            REPLIED,
            DEPT,
            required=("answer",),
            effects=(
                ("answer", arg("answer")),
                ("replied_at", at_now),
                ("extension", lapse_pending_extension("extension")),
                ("extension_days", lapse_pending_extension("extension_days")),
            ),
            doc="a pending extension request lapses",
        ),
        Command(
            "close",
            "办结",
            frozenset({REPLIED}),
            CLOSED,
            HOTLINE | {"backend"},
            effects=(("closed_at", at_now),),
            doc="the hotline accepts the department's reply",
        ),
        Command(
            "evaluate",
            "回访",
            frozenset({CLOSED}),
            EVALUATED,
            HOTLINE,
            required=("satisfaction",),
            optional=("department_at_fault",),
            effects=(
                ("satisfaction", arg("satisfaction")),
                *((f, when_rehandled(e, keep(f))) for f, e in REHANDLE_EFFECTS),
            ),
            guards=(unsatisfied_needs_reason,),
            doc="不满意 with department_at_fault re-handles the ticket (ends in 办理中)",
        ),
        Command(
            "rehandle",
            "重办",
            frozenset({REPLIED, CLOSED, EVALUATED}),
            IN_PROGRESS,
            SUPERVISORS,
            required=("reason",),
            effects=REHANDLE_EFFECTS,
            guards=(was_dispatched,),
            doc="the deadline restarts; the reply, the closure and any extension are cleared",
        ),
        Command(
            "return",
            "退单",
            frozenset(DEPARTMENT_STATES),
            RETURNED,
            DEPT,
            required=("reason",),
            effects=(
                ("return_count", increment("return_count")),
                ("extension", lapse_pending_extension("extension")),
                ("extension_days", lapse_pending_extension("extension_days")),
            ),
            guards=(within_return_window,),
            doc="a pending extension request lapses",
        ),
        Command(
            "reassign",
            "改派",
            frozenset({RETURNED}),
            DISPATCHED,
            SUPERVISORS,
            required=("department",),
            optional=("co_departments",),
            effects=(
                ("department", arg("department")),
                ("co_departments", co_departments),
                ("dispatched_at", at_now),
                ("accepted_at", const(None)),
                ("deadline", fresh_deadline),
                ("extension", const(None)),
                ("extension_days", const(0)),
            ),
            doc="the deadline restarts; the acceptance and any extension are cleared",
        ),
        Command(
            "request_extension",
            "延期申请",
            frozenset({ACCEPTED, IN_PROGRESS}),
            None,
            DEPT,
            required=("reason", "extension_days"),
            effects=(("extension", const("requested")), ("extension_days", arg("extension_days"))),
            guards=(before_expiry, no_open_extension, extension_within_policy),
        ),
        Command(
            "approve_extension",
            "延期批准",
            frozenset({ACCEPTED, IN_PROGRESS}),
            None,
            SUPERVISORS,
            optional=("extension_days",),
            effects=(
                ("extension", const("approved")),
                ("extension_days", granted_days),
                ("deadline", extended_deadline),
            ),
            guards=(extension_requested, grant_within_request, extension_within_policy),
            doc="the deadline moves by the granted working days",
        ),
        Command(
            "refuse_extension",
            "延期驳回",
            frozenset({ACCEPTED, IN_PROGRESS}),
            None,
            SUPERVISORS,
            required=("reason",),
            effects=(("extension", const("refused")), ("extension_days", const(0))),
            guards=(extension_requested,),
        ),
        Command(
            "urge",
            "催办",
            frozenset(DEPARTMENT_STATES),
            None,
            HOTLINE | {"system"},
            effects=(("urge_count", increment("urge_count")),),
            guards=(before_expiry,),
        ),
        Command(
            "supervise",
            "督办",
            frozenset(DEPARTMENT_STATES),
            None,
            SUPERVISORS | {"system"},
            effects=(("supervised", const(True)),),
            guards=(after_expiry, not_supervised),
        ),
        Command(
            "merge",
            "并单",
            frozenset({RECEIVED, DISPATCHED}),
            MERGED,
            HOTLINE,
            required=("parent_id", "parent_status"),
            effects=(("parent_id", arg("parent_id")),),
            guards=(valid_parent,),
        ),
        Command(
            "archive", "归档", frozenset({CLOSED, EVALUATED, MERGED}), ARCHIVED, SUPERVISORS | {"system"}
        ),
        Command(
            "edit",
            "修改",
            frozenset(EDITABLE_FIELDS),
            None,
            HOTLINE,
            doc="field edits; which fields in which state: EDITABLE_FIELDS",
        ),
        Command(
            "link_backend",
            "关联",
            frozenset(STATUSES),
            None,
            frozenset({"backend", "system"}),
            required=("backend_id",),
            effects=(("backend_id", arg("backend_id")),),
            doc="the Open311 service_request_id",
        ),
        Command(
            "note",
            "备注",
            frozenset(STATUSES),
            None,
            HOTLINE | {"system"},
            required=("reason",),
            doc="an audited remark (e.g. the call was transferred); changes no field",
        ),
    )
}


# --- the pure core --------------------------------------------------------------------------------


def plan(
    command: str,
    current: Mapping[str, Any],
    actor_role: str,
    args: Mapping[str, Any],
    now: dt.datetime,
    deadlines: DeadlineCalculator | None = None,
) -> list[FieldChange]:
    """The field changes ``command`` makes to a ticket whose fields are ``current``.

    ``current`` is ``{}`` (or has no status) for ``create``; ``args`` are the command's arguments
    (see the table in the module docstring). Raises ``LifecycleError`` for anything invalid.
    """
    state = current.get("status")
    spec = COMMANDS.get(command)
    if spec is None:
        raise LifecycleError(command, state, f"unknown command; known: {', '.join(COMMANDS)}")
    if now.tzinfo is None:
        raise LifecycleError(command, state, "now must be a timezone-aware datetime")
    if actor_role not in ALL_ROLES:
        raise LifecycleError(command, state, f"unknown role {actor_role!r}; known: {', '.join(ALL_ROLES)}")
    if actor_role not in spec.roles:
        raise LifecycleError(
            command,
            state,
            f"role {actor_role} may not {command} ({spec.label}); allowed: {', '.join(sorted(spec.roles))}",
        )
    if state not in spec.from_states:
        allowed = ", ".join(sorted(s or "(new)" for s in spec.from_states))
        raise LifecycleError(command, state, f"not allowed in this state; allowed from: {allowed}")
    if command == "edit":
        return _plan_edit(current, args)
    clean = _check_args(spec, state, args)
    if command == "create":
        return _plan_create(clean, now)
    ctx = Context(current=current, args=clean, now=now, deadlines=deadlines)
    for guard in spec.guards:
        why = guard(ctx)
        if why:
            raise LifecycleError(command, state, why)
    to_state = spec.to_state
    if command == "evaluate" and is_rehandle(ctx):
        to_state = IN_PROGRESS
    changes: list[FieldChange] = []
    if to_state is not None and to_state != state:
        changes.append(FieldChange("status", state, to_state))
    for name, effect in spec.effects:
        new, old = effect(ctx), current.get(name)
        if new != old:
            changes.append(FieldChange(name, old, new))
    return changes


def _check_args(spec: Command, state: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
    allowed = set(spec.required) | set(spec.optional) | {"reason"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise LifecycleError(
            spec.name,
            state,
            f"unknown argument(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
        )
    clean: dict[str, Any] = {}
    for name, raw in args.items():
        if raw is None and name not in spec.required:
            continue  # an optional argument left out
        try:
            clean[name] = ARG_CHECKS[name](name, raw)
        except ValueError as exc:
            raise LifecycleError(spec.name, state, str(exc)) from None
    missing = [a for a in spec.required if a not in args or (clean.get(a) is None and a not in NULLABLE_ARGS)]
    if missing:
        raise LifecycleError(spec.name, state, f"missing {', '.join(missing)}")
    if spec.name in ("dispatch", "reassign") and clean["department"] in clean.get("co_departments", []):
        clean["co_departments"] = [d for d in clean["co_departments"] if d != clean["department"]]
    return clean


def _plan_create(args: Mapping[str, Any], now: dt.datetime) -> list[FieldChange]:
    row: dict[str, Any] = {**CREATE_DEFAULTS, **{k: v for k, v in args.items() if k != "reason"}}
    row["status"], row["created_at"] = RECEIVED, now
    row["co_departments"] = list(row["co_departments"])
    return [FieldChange(f, None, row[f]) for f in TICKET_REPLAYED_FIELDS if row.get(f) is not None]


def _plan_edit(current: Mapping[str, Any], args: Mapping[str, Any]) -> list[FieldChange]:
    state = current.get("status")
    fields = {k: v for k, v in args.items() if k != "reason"}
    if not fields:
        raise LifecycleError("edit", state, "no field to edit")
    editable = EDITABLE_FIELDS[state]  # type: ignore[index]  # state checked by the caller
    refused = sorted(set(fields) - editable)
    if refused:
        raise LifecycleError(
            "edit",
            state,
            f"field(s) {', '.join(refused)} cannot be edited in this state; "
            f"editable: {', '.join(sorted(editable))}",
        )
    if "reason" in args:
        _check_reason(args["reason"], state)
    changes = []
    for name, raw in fields.items():
        try:
            new = ARG_CHECKS[name](name, raw)
        except ValueError as exc:
            raise LifecycleError("edit", state, str(exc)) from None
        if new != current.get(name):
            changes.append(FieldChange(name, current.get(name), new))
    return changes


def _check_reason(reason: Any, state: str | None) -> None:
    try:
        _opt_text("reason", reason)
    except ValueError as exc:
        raise LifecycleError("edit", state, str(exc)) from None


def empty_row() -> dict[str, Any]:
    """A ticket before creation: every replayed field None (apply the create plan to it)."""
    return dict.fromkeys(TICKET_REPLAYED_FIELDS)


def apply_changes(current: Mapping[str, Any], changes: list[FieldChange]) -> dict[str, Any]:
    """A copy of ``current`` with ``changes`` applied (for in-memory simulation)."""
    row = dict(current)
    for change in changes:
        row[change.field] = change.new
    return row


def allowed_commands(current: Mapping[str, Any], actor_role: str) -> list[str]:
    """Commands whose state and role rules admit this actor now (arguments and guards not checked)."""
    state = current.get("status")
    return [c.name for c in COMMANDS.values() if state in c.from_states and actor_role in c.roles]


# --- the table as text (the module docstring holds its rendering; a test keeps them equal) -------

TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("command", 17),
    ("label", 8),
    ("from", 24),
    ("to", 6),
    ("roles", 19),
    ("required args", 22),
    ("sets", 30),
)
ROLE_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("HOTLINE", HOTLINE),
    ("SUPERVISORS", SUPERVISORS),
    ("DEPT", DEPT),
)


def _states_text(states: frozenset[str | None]) -> str:
    if states == frozenset(STATUSES):
        return "any"
    named = ["(new)"] if None in states else []
    return ", ".join(named + [s for s in STATUSES if s in states])


def _roles_text(roles: frozenset[str]) -> str:
    left, names = set(roles), []
    for name, group in ROLE_GROUPS:
        if group <= left:
            names.append(name)
            left -= group
    return ", ".join(names + sorted(left))


def _guard_text(guard: Guard) -> str:
    line = (guard.__doc__ or guard.__name__).strip().splitlines()[0].rstrip(".")
    return line[0].lower() + line[1:] if line[:1].isascii() else line


def _width(text: str) -> int:
    """Display columns of ``text``: CJK characters take two (as docutils counts them in tables)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` display columns (a longer word alone)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _width(lines[-1]) + 1 + _width(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table_rows(command: Command) -> list[str]:
    cells = (
        command.name,
        command.label,
        _states_text(command.from_states),
        command.to_state or "-",
        _roles_text(command.roles),
        ", ".join(command.required) or "-",
        ", ".join(field for field, _ in command.effects) or "-",
    )
    wrapped = [_wrap(text, width) for text, (_, width) in zip(cells, TABLE_COLUMNS, strict=True)]
    lines = []
    for i in range(max(len(w) for w in wrapped)):
        parts = [
            _pad(w[i] if i < len(w) else "", width)
            for w, (_, width) in zip(wrapped, TABLE_COLUMNS, strict=True)
        ]
        lines.append(" ".join(parts).rstrip())
    return lines


def lifecycle_table() -> str:
    """``COMMANDS`` as a reStructuredText table, then each command's notes (doc, optional args, guards)."""
    rule = " ".join("=" * width for _, width in TABLE_COLUMNS)
    head = " ".join(name.ljust(width) for name, width in TABLE_COLUMNS).rstrip()
    lines = [rule, head, rule]
    for command in COMMANDS.values():
        lines.extend(_table_rows(command))
    lines.append(rule)
    lines.append("")
    for command in COMMANDS.values():
        notes = [command.doc] if command.doc else []
        if command.optional:
            notes.append("optional args: " + ", ".join(command.optional))
        notes.extend(_guard_text(g) for g in command.guards)
        if notes:
            lines.extend(textwrap.wrap(f"- {command.name}: " + "; ".join(notes), 100, subsequent_indent="  "))
    return "\n".join(lines)


__all__ = [
    "ALL_ROLES",
    "COMMANDS",
    "EDITABLE_FIELDS",
    "NOTE_FIELD",
    "Command",
    "DeadlineCalculator",
    "FieldChange",
    "LifecycleError",
    "allowed_commands",
    "apply_changes",
    "empty_row",
    "lifecycle_table",
    "plan",
]


if __name__ == "__main__":  # python -m store.lifecycle: the table for the module docstring
    print(lifecycle_table())
