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

=================== ================================= ========== ================== ==================== ==========================================
command             from                              to         roles              required args        side fields
=================== ================================= ========== ================== ==================== ==========================================
create 受理          (new ticket)                      已受理     HOTLINE, backend,  number,               every initial field; created_at=now
                                                                 system             client_request_id,
                                                                                    nature, description
close_direct 直接办结 已受理                            已办结     HOTLINE            answer               answer, closed_at=now (dispatched_at null)
dispatch 派单        已受理                            已派单     HOTLINE            department           department, co_departments, dispatched_at,
                                                                                                         deadline (from now)
accept 签收          已派单                            已签收     DEPT               -                    accepted_at=now
start 办理中         已签收                            办理中     DEPT               -                    -
reply 答复           已签收, 办理中                    已答复     DEPT               answer               answer, replied_at=now; a pending extension
                                                                                                         request lapses
close 办结           已答复                            已办结     HOTLINE, backend   -                    closed_at=now (the hotline's review)
evaluate 回访        已办结                            已回访 *   HOTLINE            satisfaction;        satisfaction; *不满意 with
                                                                                    不满意: reason,       department_at_fault=True re-handles
                                                                                    department_at_fault  (as rehandle) and ends in 办理中
rehandle 重办        已答复, 已办结, 已回访             办理中     SUPERVISORS        reason               (dispatched tickets only) rehandle_count+1,
                                                                                                         deadline restarts from now, replied_at/closed_at cleared,
                                                                                                         extension cleared
return 退单          已派单, 已签收, 办理中             已退单     DEPT               reason               return_count+1; a pending extension lapses;
                                                                                                         only within 2 working days of dispatch
reassign 改派        已退单                            已派单     SUPERVISORS        department           department (the same one = return
                                                                                                         refused), co_departments, dispatched_at,
                                                                                                         deadline restart, accepted_at and
                                                                                                         extension cleared
request_extension   已签收, 办理中                    -          DEPT               reason,              extension=requested, extension_days; only
延期申请                                                                             extension_days       before expiry, not while one is
                                                                                                         requested/approved
approve_extension   已签收, 办理中 (requested)         -          SUPERVISORS        -                    extension=approved, deadline moved by
                                                                                                         extension_days working days
refuse_extension    已签收, 办理中 (requested)         -          SUPERVISORS        reason               extension=refused, extension_days=0
urge 催办            已派单, 已签收, 办理中             -          HOTLINE, system    -                    urge_count+1; only before expiry
supervise 督办       已派单, 已签收, 办理中             -          SUPERVISORS,       -                    supervised=True; only after expiry, once
                                                                 system
merge 并单           已受理, 已派单                    已并单     HOTLINE            parent_id,           parent_id; the parent must exist
                                                                                    parent_status        (parent_status not None), not be merged
                                                                                                         itself, not be this ticket
archive 归档         已办结, 已回访, 已并单             已归档     SUPERVISORS,       -                    -
                                                                 system
edit                see EDITABLE_FIELDS               -          HOTLINE            at least one field   the fields given (validated)
link_backend        any                               -          backend, system    backend_id           backend_id (Open311 service_request_id)
note 备注            any                               -          HOTLINE, system    reason               - (one event row with field ``note`` and the
                                                                                                         text as its reason; a transfer of the call)
=================== ================================= ========== ================== ==================== ==========================================

Edits (EDITABLE_FIELDS): in 已受理 every intake field; in 已退单 the classification, location,
description and urgency (fixed before 改派) plus caller_name/callback_consent; from 已派单 to 已办结
only caller_name and callback_consent; nothing after 回访, 并单 or 归档.

A note (备注) changes no field, so ``plan`` returns no change for it; ``store.tickets`` records it as
one event whose field is ``NOTE_FIELD`` (skipped by replay) and sends nothing to the backend.

Optional args: ``reason`` on every command (kept in the events); ``co_departments`` on dispatch
and reassign; ``department_at_fault`` on evaluate; ``extension_days`` on approve_extension (the
hotline may grant fewer days than requested). Unknown args are refused.

Invariants every reachable row keeps (``violations(row)`` lists the broken ones): closed_at is set
exactly in 已办结/已回访 (and 已归档 unless merged); dispatched_at and department go together and
exist in every department state; accepted_at in 已签收/办理中; replied_at in 已答复 and, after
办结, exactly when the ticket was dispatched; extension_days > 0 exactly while an extension is
requested or approved, and a request is pending only while the department works; parent_id exactly
for merged tickets (and their archive); 已回访 has a satisfaction; counters are never negative;
a supervised ticket has a deadline; returned or re-handled tickets were dispatched.

Deadlines are computed through a ``DeadlineCalculator`` (store/deadlines.py satisfies it): the
clock starts at dispatch, restarts on 改派 and 重办, and an approved extension moves it by
``extension_days`` working days. With ``deadlines=None`` no deadline is set (and an existing one is
left as is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from store.models import ROLES, TICKET_REPLAYED_FIELDS

# --- vocabulary -----------------------------------------------------------------------------------

RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS, REPLIED = "已受理", "已派单", "已签收", "办理中", "已答复"
CLOSED, EVALUATED, RETURNED, MERGED, ARCHIVED = "已办结", "已回访", "已退单", "已并单", "已归档"
STATUSES: tuple[str, ...] = (
    RECEIVED,
    DISPATCHED,
    ACCEPTED,
    IN_PROGRESS,
    REPLIED,
    CLOSED,
    EVALUATED,
    RETURNED,
    MERGED,
    ARCHIVED,
)
# the department holds the ticket; deadlines, 催办 and 督办 apply
DEPARTMENT_STATES = frozenset({DISPATCHED, ACCEPTED, IN_PROGRESS})
OPEN_STATES = frozenset({RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS, REPLIED, RETURNED})

NATURES: tuple[str, ...] = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
URGENCIES: tuple[str, ...] = ("一般", "紧急", "特急")
SATISFACTIONS: tuple[str, ...] = ("满意", "基本满意", "不满意")
UNSATISFIED = "不满意"
BOARDS: tuple[str, ...] = (  # the 11 boards of the seed platform (DESIGN.md)
    "群众诉求",
    "群众需求",
    "企业服务",
    "基层服务",
    "环保",
    "信访",
    "公益诉讼",
    "举报投诉",
    "安全预警",
    "巡视巡察",
    "两代表一委员意见建议",
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
    "urgency": "一般",
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
        urgency=ctx.current.get("urgency") or "一般",
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
    deadline = ctx.current.get("deadline")
    if deadline is not None and ctx.now >= deadline:
        return f"the deadline {deadline.isoformat()} has passed (after expiry: 督办)"
    return None


def after_expiry(ctx: Context) -> str | None:
    deadline = ctx.current.get("deadline")
    if deadline is None:
        return "the ticket has no deadline, so it cannot be overdue"
    if ctx.now < deadline:
        return f"the deadline {deadline.isoformat()} has not passed yet (before expiry: 催办)"
    return None


def was_dispatched(ctx: Context) -> str | None:
    if not ctx.current.get("department"):
        return "the ticket was closed directly by the hotline; there is no department to re-handle it"
    return None


def not_supervised(ctx: Context) -> str | None:
    return "the ticket is already supervised (督办)" if ctx.current.get("supervised") else None


def no_open_extension(ctx: Context) -> str | None:
    ext = ctx.current.get("extension")
    if ext in ("requested", "approved"):
        return f"an extension is already {ext}"
    return None


def extension_requested(ctx: Context) -> str | None:
    ext = ctx.current.get("extension")
    return None if ext == "requested" else f"no extension is pending (extension: {ext or 'none'})"


def grant_within_request(ctx: Context) -> str | None:
    asked, given = ctx.current.get("extension_days") or 0, ctx.args.get("extension_days")
    if given is not None and given > asked:
        return f"cannot grant {given} working days when {asked} were requested"
    return None


def extension_within_policy(ctx: Context) -> str | None:
    days = ctx.args.get("extension_days")
    if ctx.deadlines is None or days is None:
        return None
    return ctx.deadlines.extension_refusal(days)


def within_return_window(ctx: Context) -> str | None:
    dispatched = ctx.current.get("dispatched_at")
    if ctx.deadlines is None or dispatched is None:
        return None
    limit = ctx.deadlines.return_deadline(dispatched)
    if ctx.now > limit:
        return f"the window for returning (退单) this ticket closed at {limit.isoformat()}"
    return None


def unsatisfied_needs_reason(ctx: Context) -> str | None:
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


# --- invariants -----------------------------------------------------------------------------------


def violations(row: Mapping[str, Any]) -> list[str]:
    """Every way ``row`` breaks the work order's invariants (empty: a valid ticket)."""
    out: list[str] = []
    status = row.get("status")

    def need(cond: bool, text: str) -> None:
        if not cond:
            out.append(text)

    need(status in STATUSES, f"unknown status {status!r}")
    need(row.get("nature") in NATURES, f"nature {row.get('nature')!r} not in {NATURES}")
    need(row.get("urgency") in URGENCIES, f"urgency {row.get('urgency')!r} not in {URGENCIES}")
    need(row.get("board") is None or row.get("board") in BOARDS, f"board {row.get('board')!r} unknown")
    for counter in ("urge_count", "return_count", "rehandle_count", "extension_days"):
        need(isinstance(row.get(counter), int) and row[counter] >= 0, f"{counter} must be >= 0")
    need(bool(row.get("number")) and bool(row.get("client_request_id")), "number and client_request_id set")
    need(row.get("created_at") is not None, "created_at set")
    merged = row.get("parent_id") is not None
    closed = row.get("closed_at") is not None
    dispatched = row.get("dispatched_at") is not None
    need(merged == (status == MERGED or (status == ARCHIVED and merged)), "parent_id set iff merged")
    need(row.get("parent_id") is None or row.get("parent_id") != row.get("id"), "not its own parent")
    if status in (CLOSED, EVALUATED) or (status == ARCHIVED and not merged):
        need(closed, f"closed_at must be set when {status}")
    else:
        need(not closed, f"closed_at must be empty when {status}")
    need(dispatched == (row.get("department") is not None), "dispatched_at set iff a department is set")
    if status in (RECEIVED,) or (status == MERGED and not dispatched):
        need(not dispatched and row.get("deadline") is None, f"no dispatch and no deadline when {status}")
    if status in DEPARTMENT_STATES | {REPLIED, RETURNED}:
        need(dispatched, f"dispatched_at must be set when {status}")
    need(row.get("deadline") is None or dispatched, "a deadline only after dispatch")
    if status in (ACCEPTED, IN_PROGRESS):
        need(row.get("accepted_at") is not None, f"accepted_at must be set when {status}")
    if status == DISPATCHED:
        need(row.get("accepted_at") is None, "accepted_at must be empty when 已派单")
    replied = row.get("replied_at") is not None
    if status == REPLIED:
        need(replied, "replied_at must be set when 已答复")
    elif status in (CLOSED, EVALUATED):
        need(replied == dispatched, "replied_at set iff the ticket was dispatched (not 直接办结)")
    elif status in (RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS, RETURNED):
        need(not replied, f"replied_at must be empty when {status}")
    if status in (REPLIED, CLOSED, EVALUATED):
        need(bool(row.get("answer")), f"answer must be set when {status}")
    ext, days = row.get("extension"), row.get("extension_days")
    need(ext is None or ext in EXTENSION_STATES, f"unknown extension state {ext!r}")
    need(
        (ext in ("requested", "approved")) == (isinstance(days, int) and days > 0),
        "extension_days > 0 iff an extension is requested or approved",
    )
    if ext == "requested":
        need(status in (ACCEPTED, IN_PROGRESS), "an extension can only be pending while the department works")
    need(row.get("satisfaction") is None or row.get("satisfaction") in SATISFACTIONS, "unknown satisfaction")
    if status == EVALUATED:
        need(row.get("satisfaction") is not None, "satisfaction must be set when 已回访")
    if row.get("supervised"):
        need(row.get("deadline") is not None, "a supervised ticket has a deadline")
    if (row.get("return_count") or 0) > 0 or (row.get("rehandle_count") or 0) > 0:
        need(dispatched, "returned or re-handled tickets were dispatched")
    return out


__all__ = [
    "ALL_ROLES",
    "BOARDS",
    "COMMANDS",
    "EDITABLE_FIELDS",
    "NATURES",
    "NOTE_FIELD",
    "SATISFACTIONS",
    "STATUSES",
    "URGENCIES",
    "Command",
    "DeadlineCalculator",
    "FieldChange",
    "LifecycleError",
    "allowed_commands",
    "apply_changes",
    "empty_row",
    "plan",
    "violations",
]
