"""The ticket form's service: search, leaf facts, the 五要素 gate, duplicates, saving, drafts. No widgets.

``TicketService`` turns what the operator typed (``intake.FormData``) into calls on ``taxonomy`` and
``store``. Every ticket write goes through ``store.tickets`` (audited), in ONE transaction:

- ``save(form, call, mode="dispatch")``: 受理 (``create_ticket``) then 派单 to the leaf's department
  with its deadline; ``mode="direct_close"``: 受理 then 直接办结 with the answer (the leaf's standard
  answer or the operator's); ``mode="merge", merge_into=NUMBER``: 受理 then 并单 into that ticket (refused
  when it was answered, closed or archived since it was offered); ``link_to=NUMBER``: 受理 and 派单,
  and both tickets name each other (a new report of a matter whose ticket is done).
  The form's ``request_id`` is the ticket's client request id, so a retry after a failure (the store
  locked, the console killed) never makes a second ticket. The call is linked to the ticket and the
  user's draft cleared in the same transaction.
- ``follow_up(number, call)``: the call is about an existing ticket (跟进来电): no new ticket, the
  call is linked to it and gets a ``follow_up`` event; the draft is cleared.
- ``reopen(number, form, call)``: 重办 of an earlier ticket for this report (a supervisor re-handles it,
  an operator's request is noted on it); the call is linked to it as a follow-up; no new ticket.
- ``find_duplicates(form)``: the same caller's tickets (跟进) and the same matter at the same place
  (并单, or 重办 / a linked new ticket when done), created or closed within ``duplicate_window_hours``;
  each says what it offers (``store.duplicates``).
- ``save_draft`` / ``load_draft`` / ``clear_draft``: the draft of one call (``store.drafts``: per user and
  call); ``unsaved_drafts`` lists them all, to offer them back explicitly (never into another call).
- ``search(query)``: the taxonomy search with the ``[taxonomy]`` settings (``console.config.TaxonomyConfig``):
  at most ``result_limit`` leaves, ranked with two priors that ``load_priors`` reads from
  ``store.taxonomy_choices``: the leaves this operator chose within ``recent_window_days`` (weighted
  by ``recent_boost``) and the leaves' share of the tickets of those days (``popularity_boost``).
  A ticket saved here adds its leaf to the operator's prior at once.

Store failures surface as ``store.db.StoreError`` (one line; e.g. locked), refusals as ``GateRefused``,
``TicketError`` or ``LifecycleError``; in every case nothing was written and the caller keeps the form.
Methods block on the store: call them from a worker thread, not the UI loop (``search`` and ``leaf`` are
in-memory and fast, for the loop). Run ``load_priors`` in a worker at login: its two reads take about
0.08 s on SQLite with a year of 300,000 tickets and a 30-day window, longer with a longer window.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from console.config import TaxonomyConfig
from console.services.intake import FormData, GateResult, Mode, check_form, composed_description, valid_phone
from store import calls, drafts, taxonomy_choices
from store.callers import mask_phone, normalise_phone
from store.db import Store, utcnow
from store.deadlines import DeadlineCalculator, leaf_limits_from_catalogue
from store.duplicates import Duplicate, Reopened, check_merge_into, find_duplicates, link_new
from store.duplicates import reopen as reopen_ticket
from store.numbering import DEFAULT_PREFIX
from store.tickets import Actor, TicketError, apply_command, create_ticket, draft_from, find_ticket
from store.vocabulary import RECEIVED, urgency_of_leaf
from taxonomy.model import Department, Node, Taxonomy, load_departments, load_taxonomy

if TYPE_CHECKING:  # imported where first used: they load rapidfuzz and pypinyin (~0.1 s), which the
    # console needs only once a ticket service is built, not to show its login screen
    from taxonomy.districts import DistrictMatch, Districts
    from taxonomy.search import Result, SearchConfig, Searcher

log = structlog.get_logger(__name__)

__all__ = [
    "CallContext",
    "Duplicate",
    "GateRefused",
    "LeafFacts",
    "SaveResult",
    "TicketService",
    "UnsavedDraft",
    "search_config",
]

FALLBACK_DEPARTMENT = "市热线办"
LinkCall = Callable[[str, int, str | None], None]
"""(call id, ticket id, the followed-up ticket's number or None): links a call whose row is not
written yet, behind it (``console.services.call_service.CallService.link_ticket``)."""


@dataclass(frozen=True)
class CallContext:
    """The call a form belongs to: our call id and the caller's number as the line gave it."""

    call_id: str | None
    caller: str = ""
    display_name: str = ""

    def __repr__(self) -> str:  # the citizen's number never reaches a log through repr
        return f"CallContext(call_id={self.call_id!r}, caller={mask_phone(self.caller)!r})"


@dataclass(frozen=True)
class UnsavedDraft:
    """A form typed and not saved: its fields, the call it was written for (None: no call), and when
    that call came in (or, with no call, when the form was last written)."""

    form: FormData
    call: CallContext | None
    at: dt.datetime


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
class SaveResult:
    ticket_id: int
    number: str
    status: str
    merged_into: str | None = None
    follow_up: bool = False
    linked_to: str | None = None  # a new ticket that names this earlier one (新建并关联)
    reopened: Reopened | None = None  # 重办 of the earlier ticket ``number`` (done, or requested)

    @property
    def read_back(self) -> str:
        """The number the caller is told: after 并单 the parent's (the ticket that will be answered)."""
        return self.merged_into or self.number


def search_config(settings: TaxonomyConfig, base: SearchConfig | None = None) -> SearchConfig:
    """``base`` (the search's own defaults) with the boosts of the ``[taxonomy]`` section."""
    from taxonomy.search import SearchConfig

    return replace(
        base or SearchConfig(), user_boost=settings.recent_boost, popularity_boost=settings.popularity_boost
    )


class GateRefused(ValueError):
    """The 五要素 gate (or a limit) refused the form; nothing was written."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(
            f"incomplete ticket: missing {', '.join(result.missing) or '-'}; "
            f"problems {', '.join(p.key + ':' + p.field for p in result.problems) or '-'}"
        )


class TicketService:
    """One operator's ticket service (build once per login; ``search`` from the UI loop only).

    ``settings``: the ``[taxonomy]`` section. ``searcher``: an index already built over ``taxonomy``
    (tests and benches share one); this service searches a copy of it (``Searcher.with_config``)
    with its own settings, priors and memos.
    """

    def __init__(
        self,
        store: Store,
        actor: Actor,
        *,
        settings: TaxonomyConfig | None = None,
        taxonomy: Taxonomy | None = None,
        searcher: Searcher | None = None,
        districts: Districts | None = None,
        departments: Mapping[str, Department] | None = None,
        deadlines: DeadlineCalculator | None = None,
        duplicate_window_hours: int = 72,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], dt.datetime] = utcnow,
        link_call: LinkCall | None = None,
    ) -> None:
        self.store = store
        self.actor = actor
        self.link_call = link_call
        self.settings = settings or TaxonomyConfig()
        self.taxonomy = taxonomy or load_taxonomy()
        self._built_index = searcher
        self._searcher: Searcher | None = None
        self._searcher_lock = threading.Lock()  # built on first use; load_priors runs in a worker
        self._recent: tuple[str, ...] = ()  # this operator's chosen leaves, newest first
        self._popularity: Mapping[str, int] | None = None  # tickets per leaf; None: not loaded
        self._user_prior: dict[str, float] = {}
        if districts is None:
            from taxonomy.districts import default_districts

            districts = default_districts()
        self.districts = districts
        self.departments = departments if departments is not None else load_departments()
        self._deadlines = deadlines
        self.duplicate_window = dt.timedelta(hours=duplicate_window_hours)
        self.prefix = prefix
        self.clock = clock

    @property
    def user_id(self) -> int | None:
        return self.actor.user_id

    @property
    def result_limit(self) -> int:
        """How many results the picker asks for (``[taxonomy] result_limit``)."""
        return self.settings.result_limit

    @property
    def recent_window(self) -> dt.timedelta:
        """How far back the priors look (``[taxonomy] recent_window_days``)."""
        return dt.timedelta(days=self.settings.recent_window_days)

    @property
    def searcher(self) -> Searcher:
        with self._searcher_lock:
            if self._searcher is None:
                built = self._built_index
                if built is not None:
                    self._searcher = built.with_config(search_config(self.settings, built.config))
                else:
                    from taxonomy.search import Searcher

                    self._searcher = Searcher(self.taxonomy, config=search_config(self.settings))
                if self._popularity is not None:
                    self._searcher.set_popularity(self._popularity)
            return self._searcher

    @property
    def priors_loaded(self) -> bool:
        """Whether ``load_priors`` has read the priors (until then the search ranks without them)."""
        return self._popularity is not None

    @cached_property
    def deadlines(self) -> DeadlineCalculator:
        return self._deadlines or DeadlineCalculator(
            leaf_limits=leaf_limits_from_catalogue(self.taxonomy.leaves())
        )

    # --- in memory (UI loop) -----------------------------------------------------------------------

    def search(self, query: str, limit: int | None = None) -> list[Result]:
        """Leaves for ``query``, best first, at most ``limit`` (default: ``result_limit``)."""
        return self.searcher.search(query, self.result_limit if limit is None else limit, self._user_prior)

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
            urgency=urgency_of_leaf(node.urgency),
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

    def load_priors(self) -> bool:
        """Read the search priors of the last ``recent_window_days`` from the store (see the module
        docstring); False, and the search goes on without them, when the store cannot be read."""
        since, user_id = self.clock() - self.recent_window, self.user_id
        try:
            with self.store.read() as s:
                recent = [] if user_id is None else taxonomy_choices.recent_choices(s, user_id, since)
                popularity = taxonomy_choices.leaf_popularity(s, since)
        except Exception as exc:  # any store failure: the priors only order results, the search goes on
            log.warning("ticket_service.priors_unreadable", error=type(exc).__name__, exc_info=True)
            return False
        self._set_recent(recent)
        with self._searcher_lock:  # a searcher built later takes it from ``_popularity``
            self._popularity = popularity
            if self._searcher is not None:
                self._searcher.set_popularity(popularity)
        log.info("ticket_service.priors", choices=len(recent), leaves=len(popularity))
        return True

    def _set_recent(self, codes: Sequence[str]) -> None:
        # rebound, never changed in place: the UI loop may be searching with the old prior
        self._recent = tuple(codes[: taxonomy_choices.MAX_RECENT_CHOICES])
        from taxonomy.search import prior_from_choices

        self._user_prior = prior_from_choices(self._recent)

    def find_duplicates(self, form: FormData) -> list[Duplicate]:
        """Candidates for this request, duplicates first, each with what it offers (``store.duplicates``)."""
        f = form.cleaned()
        phone = normalise_phone(f.caller_phone) if f.caller_phone and valid_phone(f.caller_phone) else None
        with self.store.read() as s:
            return find_duplicates(
                s,
                phone=phone,
                leaf_code=f.leaf_code,
                district=f.district,
                address=f.address,
                since=self.clock() - self.duplicate_window,
                taxonomy=self.taxonomy,
                exclude_request_id=f.request_id,
            )

    def save(
        self,
        form: FormData,
        call: CallContext | None = None,
        *,
        mode: Mode = "dispatch",
        merge_into: str | None = None,
        link_to: str | None = None,
    ) -> SaveResult:
        """受理 plus 派单 / 直接办结 / 并单 in one transaction (see the module docstring)."""
        if mode == "merge" and not merge_into:
            raise TicketError("merge needs the number of the ticket to merge into")
        if link_to and mode != "dispatch":
            raise TicketError("only a dispatched ticket links an earlier one")
        gate = self.check(form, mode)
        if not gate.ok:
            raise GateRefused(gate)
        f = form.cleaned()
        facts = self.leaf(f.leaf_code)
        assert facts is not None  # the gate checked the leaf
        draft = draft_from(self._draft_fields(f))
        now = self.clock()
        chose = False
        with self.store.session() as s:
            if mode == "merge" and merge_into:  # done since it was offered: refused, nothing written
                check_merge_into(s, merge_into)
            ticket = create_ticket(
                s, draft, self.actor, now, client_request_id=f.request_id, prefix=self.prefix
            )
            if ticket.status == RECEIVED:  # not a retry of a save that already went through
                # (what was typed, leaf chosen): mined by ``hotline taxonomy learn``; a search prior
                chose = taxonomy_choices.record_choice(
                    s,
                    at=now,
                    user_id=self.user_id,
                    query=f.query,
                    leaf_code=f.leaf_code,
                    rank=f.leaf_rank or None,
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
                    if link_to:
                        link_new(s, ticket, link_to, self.actor, now)
            linked = self._link_call(s, call, ticket.id, None)
            self._clear_draft(s, f.request_id)
            result = SaveResult(
                ticket.id,
                ticket.number,
                ticket.status,
                merged_into=merge_into if mode == "merge" else None,
                linked_to=link_to,
            )
        if not linked:
            self._link_later(call, result.ticket_id, None)
        if chose:  # committed: the operator's next search counts this choice
            self._set_recent((f.leaf_code, *self._recent))
        log.info("ticket_service.saved", number=result.number, mode=mode, status=result.status)
        return result

    def follow_up(self, number: str, call: CallContext | None, request_id: str = "") -> SaveResult:
        """This call is about the existing ticket ``number`` (跟进): link it, no new ticket; the form
        ``request_id`` that led here is done, and its draft goes."""
        with self.store.session() as s:
            ticket = find_ticket(s, number)
            if ticket is None:
                raise TicketError(f"no ticket {number}")
            linked = self._link_call(s, call, ticket.id, number)
            if request_id:
                self._clear_draft(s, request_id)
            result = SaveResult(ticket.id, ticket.number, ticket.status, follow_up=True)
        if not linked:
            self._link_later(call, result.ticket_id, number)
        log.info("ticket_service.follow_up", number=number)
        return result

    def reopen(self, number: str, form: FormData, call: CallContext | None) -> SaveResult:
        """重办 of the earlier ticket ``number`` for this report (``store.duplicates.reopen``: re-handled
        by a supervisor, a 重办申请 note for an operator); the call is its follow-up; no new ticket."""
        f = form.cleaned()
        with self.store.session() as s:
            outcome = reopen_ticket(
                s, number, self.actor, self.clock(), reason=composed_description(f), deadlines=self.deadlines
            )
            ticket = find_ticket(s, number)
            assert ticket is not None  # reopen_ticket found it
            linked = self._link_call(s, call, ticket.id, number)
            self._clear_draft(s, f.request_id)
            result = SaveResult(ticket.id, ticket.number, ticket.status, follow_up=True, reopened=outcome)
        if not linked:
            self._link_later(call, result.ticket_id, number)
        log.info("ticket_service.reopen", number=number, outcome=outcome)
        return result

    def _draft_fields(self, f: FormData) -> dict[str, str | bool | None]:
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

    def _link_call(self, s: Session, call: CallContext | None, ticket_id: int, follow_up: str | None) -> bool:
        """Link the call in the ticket's transaction; False when its row is not written yet."""
        if call is None or not call.call_id:
            return True
        if calls.get_call(s, call.call_id) is None:  # the seat's writer is behind: ``_link_later``
            return False
        calls.link_ticket(s, call.call_id, ticket_id)
        if follow_up:
            calls.add_call_event(s, call.call_id, "follow_up", self.clock(), {"ticket": follow_up})
        return True

    def _link_later(self, call: CallContext | None, ticket_id: int, follow_up: str | None) -> None:
        """After the commit: ``link_call`` queues the link behind the call's row (never skipped)."""
        if call is None or not call.call_id:
            return
        if self.link_call is None:  # no seat writes this call (a script): it stays unlinked, said so
            log.warning("ticket_service.call_not_linked", call_id=call.call_id, ticket_id=ticket_id)
            return
        self.link_call(call.call_id, ticket_id, follow_up)

    # --- drafts ---------------------------------------------------------------------------------------

    def save_draft(self, form: FormData, call: CallContext | None = None) -> bool:
        """Keep the form (keyed by its request id) with the call it is for; False when there is no
        user, or the form is already a ticket."""
        if self.user_id is None:
            return False
        with self.store.session() as s:
            # a draft write racing the save that already filed this form must not bring it back
            saved = drafts.save_draft(
                s, self.user_id, form.request_id, form.to_json(), self.clock(), call_id=_call_id(call)
            )
        return saved is not None

    def draft_of_call(self, call: CallContext) -> FormData | None:
        """The user's newest unsaved form written for ``call`` (a console restarted mid-call)."""
        call_id = _call_id(call)
        if self.user_id is None or call_id is None:
            return None
        with self.store.read() as s:
            saved = drafts.draft_of_call(s, self.user_id, call_id)
        return None if saved is None else FormData.from_json(saved.data)

    def unsaved_drafts(self) -> list[UnsavedDraft]:
        """The user's unsaved forms (newest first), each with its call, to offer them back."""
        if self.user_id is None:
            return []
        with self.store.read() as s:
            saved = drafts.list_drafts(s, self.user_id)
        found = [
            UnsavedDraft(
                FormData.from_json(d.data),
                CallContext(d.call_id, d.caller or str(d.data.get("caller_phone") or ""))
                if d.call_id
                else None,
                d.call_at or d.updated_at,
            )
            for d in saved
        ]
        return [d for d in found if not d.form.is_blank()]

    def clear_draft(self, form: FormData) -> None:
        """Forget the draft of ``form`` (the operator threw it away)."""
        with self.store.session() as s:
            self._clear_draft(s, form.request_id)

    def _clear_draft(self, s: Session, request_id: str) -> None:
        if self.user_id is not None:
            drafts.clear_draft(s, self.user_id, request_id)


def _call_id(call: CallContext | None) -> str | None:
    return call.call_id if call is not None and call.call_id else None
