"""Likely repeats of a request being filed, and what may be done with each.

A ticket created (or closed) since a moment (the console's duplicate window) is a candidate when

- it is from the same caller (the normalised phone): the call may be about it, a *follow-up* (跟进);
  the same caller alone never makes a merge candidate, since one citizen calls about many things;
- it is the same matter at the same place: a *duplicate*. The same matter is the same leaf or a leaf
  of the same domain (the level-2 node of the taxonomy path, e.g. 城市建设与管理 › 路灯与照明: 路灯不亮
  and 路灯忽明忽暗 are one matter, 物业服务 › 小区路灯不亮 another); without a taxonomy only the same
  leaf counts. The same place is the same
  address once normalised (``same_place``): NFKC, case, blanks and punctuation ignored, and a leading
  city/district prefix naming the ticket's district dropped; two tickets whose districts are both
  known and differ are never at the same place. House numbers must agree exactly (3栋501 is not
  3栋2单元501): a wrong merge loses a complaint, a missed one only costs a second dispatch.

What a candidate offers (``Duplicate.offers``):

- ``merge`` (并单): a duplicate still being handled (``MERGE_INTO``: 已受理, 已派单, 已签收, 办理中,
  已退单). Never into a ticket that is answered, closed, evaluated or archived: the new report would
  ride on a reply that says the matter is settled;
- ``reopen`` (重办): a duplicate the department answered or the hotline closed after it, in a state
  the store's ``rehandle`` command accepts (``REOPEN_FROM``: 已答复, 已办结, 已回访) and that was
  dispatched (a ticket the hotline closed directly has no department to re-handle it);
  ``reopen`` runs it (``rehandle`` needs a supervisor; an operator's reopen records a 重办申请 note);
- ``link_new`` (新建并关联): a duplicate that cannot take the report any more (answered, closed,
  evaluated or archived): a new ticket that names the old one (``link_new``: notes on both);
- ``follow`` (跟进): any candidate from the same caller.

Duplicates come first, then the caller's other tickets, newest first within each. A merged ticket
(已并单) is done and never offered (its parent is a candidate of its own). The ticket being filed
itself (by its client request id: a retried save) is left out. ``check_merge_into`` refuses a merge
into a ticket that was answered or closed between the offer and the choice. Functions work inside
the caller's session.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from store.deadlines import DeadlineCalculator
from store.lifecycle import COMMANDS, LifecycleError
from store.models import Ticket
from store.tickets import Actor, TicketError, apply_command, find_ticket
from store.vocabulary import ACCEPTED, DISPATCHED, IN_PROGRESS, MERGED, RECEIVED, RETURNED
from taxonomy.model import Taxonomy

__all__ = [
    "MAX_DUPLICATES",
    "MERGE_INTO",
    "REOPEN_FROM",
    "SCAN_LIMIT",
    "Duplicate",
    "Offer",
    "Reason",
    "Reopened",
    "check_merge_into",
    "find_duplicates",
    "link_new",
    "matter_codes",
    "place_key",
    "reopen",
    "same_place",
]

MAX_DUPLICATES = 8
# rows read before the place is compared in Python: a domain's tickets of one district within a
# 72-hour window stay far below this even in the heating season
SCAN_LIMIT = 500

Offer = Literal["merge", "follow", "reopen", "link_new"]
Reopened = Literal["rehandled", "requested"]
Reason = Literal["same_caller", "same_leaf", "same_matter", "same_place"]

MERGE_INTO: frozenset[str] = frozenset({RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS, RETURNED})
REOPEN_FROM: frozenset[str] = frozenset(s for s in COMMANDS["rehandle"].from_states if s is not None)


@dataclass(frozen=True)
class Duplicate:
    """A candidate, why it is one, and what may be done with it (``offers``, in display order)."""

    ticket_id: int
    number: str
    status: str
    created_at: dt.datetime
    leaf_code: str | None
    address: str | None
    same_caller: bool
    same_place: bool  # the same address (normalised)
    same_matter: bool = False  # the same leaf or a leaf of its domain
    same_leaf: bool = False
    district: str | None = None
    closed_at: dt.datetime | None = None
    offers: tuple[Offer, ...] = ()

    @property
    def duplicate(self) -> bool:
        """The same matter at the same place: what a merge, a reopen or a linked ticket needs."""
        return self.same_matter and self.same_place

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why it is a candidate, in display order (``dup.<reason>`` locale keys)."""
        flags: tuple[tuple[Reason, bool], ...] = (
            ("same_caller", self.same_caller),
            ("same_leaf" if self.same_leaf else "same_matter", self.same_matter),
            ("same_place", self.same_place),
        )
        return tuple(reason for reason, on in flags if on)


# --- the matter and the place -----------------------------------------------------------------------


def matter_codes(taxonomy: Taxonomy | None, leaf_code: str) -> frozenset[str]:
    """The leaf codes that are the same matter as ``leaf_code``: its domain's leaves (retired ones
    too: old tickets keep their codes), or the leaf alone without a taxonomy or a known domain."""
    node = taxonomy.get(leaf_code) if taxonomy is not None and leaf_code else None
    if taxonomy is None or node is None or not node.is_leaf or node.parent is None:
        return frozenset({leaf_code}) if leaf_code else frozenset()
    siblings = taxonomy.children(node.parent, include_retired=True)
    return frozenset({leaf_code, *(n.code for n in siblings if n.is_leaf)})


_NOT_TEXT = re.compile(r"[\W_]+")  # blanks and punctuation; CJK characters and digits are word characters
_PREFIX_REACH = 8  # the district may follow a province/city prefix (辽宁省鞍山市铁东区…)


def _squash(text: str | None) -> str:
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text or "").casefold())


def place_key(district: str | None, address: str | None) -> str:
    """The address as compared: squashed (see the module docstring), without a leading prefix that
    ends with the name of ``district`` (鞍山市铁东区胜利街道… → 胜利街道…)."""
    text, name = _squash(address), _squash(district)
    if name:
        at = text.find(name)
        if 0 <= at <= _PREFIX_REACH:
            text = text[at + len(name) :]
    return text


def same_place(
    district_a: str | None, address_a: str | None, district_b: str | None, address_b: str | None
) -> bool:
    """Whether two (district, address) pairs name the same place (see the module docstring)."""
    da, db = _squash(district_a), _squash(district_b)
    if da and db and da != db:
        return False
    district = district_a if da else district_b  # one district strips both, when one is missing
    key = place_key(district, address_a)
    return bool(key) and key == place_key(district, address_b)


# --- finding them -----------------------------------------------------------------------------------


def _offers(ticket: Ticket, same_caller: bool, duplicate: bool) -> tuple[Offer, ...]:
    offers: list[Offer] = []
    if duplicate:
        if ticket.status in MERGE_INTO:
            offers.append("merge")
        else:
            if ticket.status in REOPEN_FROM and ticket.department:  # was dispatched: rehandle's guard
                offers.append("reopen")
            offers.append("link_new")
    if same_caller:
        offers.append("follow")
    return tuple(offers)


def find_duplicates(
    session: Session,
    *,
    phone: str | None,
    leaf_code: str | None,
    address: str | None,
    since: dt.datetime,
    district: str | None = None,
    taxonomy: Taxonomy | None = None,
    exclude_request_id: str | None = None,
    limit: int = MAX_DUPLICATES,
) -> list[Duplicate]:
    """Candidates for a request from ``phone`` (normalised) about ``leaf_code`` at ``district`` /
    ``address``: tickets created or closed at or after ``since``, not merged; duplicates (same matter
    and place) first, then the caller's other tickets, newest first within each; at most ``limit``.
    The matter is the leaf's domain when ``taxonomy`` is given (else the leaf). None when neither the
    phone nor the leaf and address are given."""
    conditions: list[ColumnElement[bool]] = []
    if phone:
        conditions.append(Ticket.caller_phone == phone)
    matter = matter_codes(taxonomy, leaf_code or "") if leaf_code and _squash(address) else frozenset()
    if matter:
        matter_cond: ColumnElement[bool] = Ticket.leaf_code.in_(sorted(matter))
        if _squash(district):  # another district is another place; an unknown district may match
            matter_cond = and_(
                matter_cond,
                or_(Ticket.district == district, Ticket.district.is_(None), Ticket.district == ""),
            )
        conditions.append(matter_cond)
    if not conditions:
        return []
    stmt = (
        select(Ticket)
        .where(
            or_(*conditions),
            or_(Ticket.created_at >= since, Ticket.closed_at >= since),  # closed lately: 重办 territory
            Ticket.status != MERGED,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(SCAN_LIMIT)
    )
    if exclude_request_id is not None:
        stmt = stmt.where(Ticket.client_request_id != exclude_request_id)
    found: list[Duplicate] = []
    for t in session.scalars(stmt):
        caller = bool(phone) and t.caller_phone == phone
        matter_same = t.leaf_code in matter
        place = same_place(district, address, t.district, t.address)
        if not (caller or (matter_same and place)):
            continue
        found.append(
            Duplicate(
                t.id,
                t.number,
                t.status,
                t.created_at,
                t.leaf_code,
                t.address,
                same_caller=caller,
                same_place=place,
                same_matter=matter_same,
                same_leaf=matter_same and t.leaf_code == leaf_code,
                district=t.district,
                closed_at=t.closed_at,
                offers=_offers(t, caller, matter_same and place),
            )
        )
    found.sort(key=lambda d: not d.duplicate)  # stable: newest first within each group
    return found[:limit]


# --- acting on one ----------------------------------------------------------------------------------


def reopen(
    session: Session,
    number: str,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str,
    deadlines: DeadlineCalculator | None = None,
) -> Reopened:
    """重办 the ticket ``number`` for this new report: ``rehandled`` when the actor may (a
    supervisor: the lifecycle's ``rehandle``, the deadline restarts with ``deadlines``), else
    ``requested``: a 重办申请 note on the ticket for a supervisor to act on. Raises TicketError
    (unknown number) or LifecycleError (the ticket cannot be re-handled); nothing written then."""
    ticket = _ticket(session, number)
    if ticket.status not in REOPEN_FROM or not ticket.department:
        # the same refusal for both roles: an operator must not file a request a supervisor cannot grant
        raise LifecycleError(
            "rehandle", ticket.status, "only a dispatched ticket that was answered or closed"
        )
    text = reason.strip() or "来电再次反映"
    if actor.role in COMMANDS["rehandle"].roles:
        apply_command(session, ticket, "rehandle", actor, now, deadlines=deadlines, reason=text)
        return "rehandled"
    apply_command(session, ticket, "note", actor, now, reason=f"重办申请：{text}")
    return "requested"


def link_new(session: Session, new: Ticket, old_number: str, actor: Actor, now: dt.datetime) -> None:
    """Record on both tickets that ``new`` reports again the matter of ``old_number`` (audited notes:
    the store has no link column; a note changes no field and is not sent to the backend)."""
    old = _ticket(session, old_number)
    if old.id == new.id:
        raise TicketError(f"ticket {new.number} cannot be linked to itself")
    apply_command(session, new, "note", actor, now, reason=f"关联原工单 {old.number}（{old.status}）")
    apply_command(session, old, "note", actor, now, reason=f"再次来电反映，新工单 {new.number}")


def _ticket(session: Session, number: str) -> Ticket:
    ticket = find_ticket(session, number)
    if ticket is None:
        raise TicketError(f"no ticket {number}")
    return ticket


def check_merge_into(session: Session, number: str) -> Ticket:
    """The ticket ``number`` if a new report may still be merged into it (``MERGE_INTO``); raises
    TicketError (unknown) or LifecycleError (answered, closed, evaluated, archived or merged since
    it was offered: the console then files a new ticket instead)."""
    ticket = _ticket(session, number)
    if ticket.status not in MERGE_INTO:
        raise LifecycleError("merge", ticket.status, f"the ticket {number} no longer takes merged reports")
    return ticket
