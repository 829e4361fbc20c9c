"""The ticket form's service: search, leaf facts, the 五要素 gate, duplicates, saving, drafts. No widgets.

``TicketDesk`` turns what the operator typed (``intake.FormData``) into calls on ``taxonomy`` and
``store``. Every ticket write goes through ``store.tickets`` (audited), in ONE transaction:

- ``save(form, call, mode="dispatch")``: 受理 (``create_ticket``) then 派单 to the leaf's department
  with its deadline; ``mode="direct_close"``: 受理 then 直接办结 with the answer (the leaf's standard
  answer or the operator's); ``mode="merge", merge_into=NUMBER``: 受理 then 并单 into that ticket.
  The form's ``request_id`` is the ticket's client request id, so a retry after a failure (the store
  locked, the console killed) never makes a second ticket. The call is linked to the ticket and the
  user's draft cleared in the same transaction.
- ``follow_up(number, call)``: the call is about an existing ticket (跟进来电): no new ticket, the
  call is linked to it and gets a ``follow_up`` event; the draft is cleared.
- ``find_duplicates(form)``: open tickets of the same caller, or of the same leaf and address, created
  within ``duplicate_window_hours``.
- ``save_draft`` / ``load_draft`` / ``clear_draft``: the per-user draft (``store.drafts``).

Store failures surface as ``store.db.StoreError`` (one line; e.g. locked), refusals as ``GateRefused``,
``TicketError`` or ``LifecycleError``; in every case nothing was written and the caller keeps the form.
Methods block on the store: call them from a worker thread, not the UI loop (``search`` and ``leaf`` are
in-memory and fast, for the loop).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from console.services.intake import FormData, GateResult, Mode, check_form, composed_description, valid_phone
from store import calls, drafts
from store.callers import mask_phone, normalise_phone
from store.db import Store, utcnow
from store.deadlines import DeadlineCalculator, leaf_limits_from_catalogue
from store.lifecycle import ARCHIVED, MERGED, RECEIVED
from store.models import TaxonomyChoice, Ticket
from store.numbering import DEFAULT_PREFIX
from store.tickets import Actor, TicketError, apply_command, create_ticket, draft_from, find_ticket
from taxonomy.districts import DistrictMatch, Districts, default_districts
from taxonomy.model import Department, Node, Taxonomy, load_departments, load_taxonomy
from taxonomy.search import Result, Searcher

log = structlog.get_logger(__name__)

__all__ = ["CallContext", "Duplicate", "GateRefused", "LeafFacts", "SaveResult", "TicketDesk"]

URGENCY_OF_LEAF: Mapping[str, str] = {"normal": "一般", "high": "紧急", "critical": "特急"}
FALLBACK_DEPARTMENT = "市热线办"
MAX_DUPLICATES = 8


@dataclass(frozen=True)
class CallContext:
    """The call a form belongs to: our call id and the caller's number as the line gave it."""

    call_id: str | None
    caller: str = ""
    display_name: str = ""

    def __repr__(self) -> str:  # the citizen's number never reaches a log through repr
        return f"CallContext(call_id={self.call_id!r}, caller={mask_phone(self.caller)!r})"


@dataclass(frozen=True)
class LeafFacts:
    """What the form shows and needs about a leaf (from the dispatch catalogue)."""

    code: str
    path: tuple[str, ...]
    department: str  # the department's name (主办)
    co_departments: tuple[str, ...]
    time_limit: str
    urgency: str  # 一般 / 紧急 / 特急
    critical: bool  # an emergency: offer the hand-off (110/119/120/122 or the critical leaf itself)
    handoff: str | None
    board: str | None
    natures: tuple[str, ...]
    required_fields: tuple[str, ...]
    answer: str | None  # the standard answer for 直接办结, if the knowledge base has one


@dataclass(frozen=True)
class Duplicate:
    ticket_id: int
    number: str
    status: str
    created_at: dt.datetime
    leaf_code: str | None
    address: str | None
    same_caller: bool
    same_place: bool


@dataclass(frozen=True)
class SaveResult:
    ticket_id: int
    number: str
    status: str
    merged_into: str | None = None
    follow_up: bool = False


class GateRefused(ValueError):
    """The 五要素 gate (or a limit) refused the form; nothing was written."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(
            f"incomplete ticket: missing {', '.join(result.missing) or '-'}; "
            f"problems {', '.join(p.key + ':' + p.field for p in result.problems) or '-'}"
        )


class TicketDesk:
    """One operator's ticket service (build once per login; ``search`` from the UI loop only)."""

    def __init__(
        self,
        store: Store,
        actor: Actor,
        *,
        taxonomy: Taxonomy | None = None,
        searcher: Searcher | None = None,
        districts: Districts | None = None,
        departments: Mapping[str, Department] | None = None,
        deadlines: DeadlineCalculator | None = None,
        duplicate_window_hours: int = 72,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.store = store
        self.actor = actor
        self.taxonomy = taxonomy or load_taxonomy()
        self._searcher = searcher
        self.districts = districts or default_districts()
        self.departments = departments if departments is not None else load_departments()
        self._deadlines = deadlines
        self.duplicate_window = dt.timedelta(hours=duplicate_window_hours)
        self.prefix = prefix
        self.clock = clock

    @property
    def user_id(self) -> int | None:
        return self.actor.user_id

    @cached_property
    def searcher(self) -> Searcher:
        return self._searcher or Searcher(self.taxonomy)

    @cached_property
    def deadlines(self) -> DeadlineCalculator:
        return self._deadlines or DeadlineCalculator(
            leaf_limits=leaf_limits_from_catalogue(self.taxonomy.leaves())
        )

    # --- in memory (UI loop) -----------------------------------------------------------------------

    def search(self, query: str, limit: int = 9) -> list[Result]:
        return self.searcher.search(query, limit)

    def department_name(self, department_id: str | None) -> str:
        if not department_id:
            return ""
        dep = self.departments.get(department_id)
        return dep.name if dep else department_id

    def leaf(self, code: str) -> LeafFacts | None:
        node = self.taxonomy.get(code) if code else None
        if node is None or not node.is_leaf:
            return None
        return self._facts(node)

    def _facts(self, node: Node) -> LeafFacts:
        return LeafFacts(
            code=node.code,
            path=node.path,
            department=self.department_name(node.department),
            co_departments=tuple(self.department_name(d) for d in node.co_departments),
            time_limit=str(node.time_limit) if node.time_limit else "",
            urgency=URGENCY_OF_LEAF.get(node.urgency, "一般"),
            critical=node.urgency == "critical" or node.handoff is not None,
            handoff=node.handoff,
            board=node.board,
            natures=node.natures,
            required_fields=node.required_fields,
            answer=node.answer or None,
        )

    def match_address(self, address: str, limit: int = 3) -> list[DistrictMatch]:
        return self.districts.match(address, limit=limit) if address.strip() else []

    def district_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.districts.districts)

    def check(self, form: FormData, mode: Mode = "dispatch") -> GateResult:
        facts = self.leaf(form.leaf_code)
        return check_form(
            form, mode, leaf_known=facts is not None, leaf_required=facts.required_fields if facts else ()
        )

    # --- store (worker threads) -----------------------------------------------------------------------

    def find_duplicates(self, form: FormData) -> list[Duplicate]:
        """Likely repeats of this request, newest first (open tickets only; merged ones are done)."""
        f = form.cleaned()
        phone = normalise_phone(f.caller_phone) if f.caller_phone and valid_phone(f.caller_phone) else None
        conditions = []
        if phone:
            conditions.append(Ticket.caller_phone == phone)
        if f.leaf_code and f.address:
            conditions.append((Ticket.leaf_code == f.leaf_code) & (Ticket.address == f.address))
        if not conditions:
            return []
        since = self.clock() - self.duplicate_window
        stmt = (
            select(Ticket)
            .where(
                or_(*conditions),
                Ticket.created_at >= since,
                Ticket.status.not_in((MERGED, ARCHIVED)),
                Ticket.client_request_id != f.request_id,
            )
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(MAX_DUPLICATES)
        )
        with self.store.read() as s:
            return [
                Duplicate(
                    t.id,
                    t.number,
                    t.status,
                    t.created_at,
                    t.leaf_code,
                    t.address,
                    same_caller=bool(phone) and t.caller_phone == phone,
                    same_place=bool(f.leaf_code) and t.leaf_code == f.leaf_code and t.address == f.address,
                )
                for t in s.scalars(stmt)
            ]

    def save(
        self,
        form: FormData,
        call: CallContext | None = None,
        *,
        mode: Mode = "dispatch",
        merge_into: str | None = None,
    ) -> SaveResult:
        """受理 plus 派单 / 直接办结 / 并单 in one transaction (see the module docstring)."""
        if mode == "merge" and not merge_into:
            raise TicketError("merge needs the number of the ticket to merge into")
        gate = self.check(form, mode)
        if not gate.ok:
            raise GateRefused(gate)
        f = form.cleaned()
        facts = self.leaf(f.leaf_code)
        assert facts is not None  # the gate checked the leaf
        draft = draft_from(self._draft_fields(f))
        now = self.clock()
        with self.store.session() as s:
            ticket = create_ticket(
                s, draft, self.actor, now, client_request_id=f.request_id, prefix=self.prefix
            )
            if ticket.status == RECEIVED:  # not a retry of a save that already went through
                if f.query:  # (what was typed, leaf chosen): mined by ``hotline taxonomy learn``
                    s.add(
                        TaxonomyChoice(
                            at=now,
                            user_id=self.user_id,
                            query=f.query[:200],
                            leaf_code=f.leaf_code,
                            rank=f.leaf_rank or None,
                        )
                    )
                if mode == "merge":
                    apply_command(s, ticket, "merge", self.actor, now, parent_number=merge_into)
                elif mode == "direct_close":
                    apply_command(s, ticket, "close_direct", self.actor, now, answer=f.answer)
                else:
                    apply_command(
                        s,
                        ticket,
                        "dispatch",
                        self.actor,
                        now,
                        deadlines=self.deadlines,
                        department=self._department(facts, f.district),
                        co_departments=list(facts.co_departments),
                    )
            self._link_call(s, call, ticket.id, None)
            self._clear_draft(s)
            result = SaveResult(
                ticket.id, ticket.number, ticket.status, merged_into=merge_into if mode == "merge" else None
            )
        log.info("ticket_desk.saved", number=result.number, mode=mode, status=result.status)
        return result

    def follow_up(self, number: str, call: CallContext | None) -> SaveResult:
        """This call is about the existing ticket ``number`` (跟进): link it, no new ticket."""
        with self.store.session() as s:
            ticket = find_ticket(s, number)
            if ticket is None:
                raise TicketError(f"no ticket {number}")
            self._link_call(s, call, ticket.id, number)
            self._clear_draft(s)
            result = SaveResult(ticket.id, ticket.number, ticket.status, follow_up=True)
        log.info("ticket_desk.follow_up", number=number)
        return result

    def _draft_fields(self, f: FormData) -> dict[str, Any]:
        return {
            "nature": f.nature,
            "description": composed_description(f),
            "board": f.board or None,
            "leaf_code": f.leaf_code,
            "taxonomy_version": self.taxonomy.version[:32],
            "district": f.district,
            "street": f.street,
            "address": f.address,
            "urgency": f.urgency,
            "caller_name": f.caller_name,
            "caller_phone": f.caller_phone or None,
            "callback_consent": f.callback_consent,
        }

    def _department(self, facts: LeafFacts, district: str) -> str:
        if facts.department:
            return facts.department
        return self.department_name(self.districts.department_of(district)) or FALLBACK_DEPARTMENT

    def _link_call(self, s: Session, call: CallContext | None, ticket_id: int, follow_up: str | None) -> None:
        # the desk's writer may not have written the call row yet; it links the ticket itself then
        if call is None or not call.call_id or calls.get_call(s, call.call_id) is None:
            return
        calls.link_ticket(s, call.call_id, ticket_id)
        if follow_up:
            calls.add_call_event(s, call.call_id, "follow_up", self.clock(), {"ticket": follow_up})

    # --- drafts ---------------------------------------------------------------------------------------

    def save_draft(self, form: FormData, call: CallContext | None = None) -> bool:
        """Keep the form for this user; False when there is no user, or the form is already a ticket."""
        if self.user_id is None:
            return False
        with self.store.session() as s:
            # a draft write racing the save that already filed this form must not bring it back
            if s.scalar(select(Ticket.id).where(Ticket.client_request_id == form.request_id)) is not None:
                return False
            drafts.save_draft(
                s, self.user_id, form.to_json(), self.clock(), call_id=call.call_id if call else None
            )
        return True

    def load_draft(self) -> tuple[FormData, str | None] | None:
        """The user's unsaved form and the call it belonged to, if any."""
        if self.user_id is None:
            return None
        with self.store.read() as s:
            saved = drafts.load_draft(s, self.user_id)
        if saved is None:
            return None
        return FormData.from_json(saved.data), saved.call_id

    def clear_draft(self) -> None:
        with self.store.session() as s:
            self._clear_draft(s)

    def _clear_draft(self, s: Session) -> None:
        if self.user_id is not None:
            drafts.clear_draft(s, self.user_id)
