"""The words of the hotline, defined once: agent states, ticket statuses, natures, boards, urgencies.

Every other module imports these instead of spelling the words itself. Identities are kept apart
from labels: a UI shows a label looked up in its locale file by the identity's key, never the
identity itself (``console/locales/*.toml``; ``AgentState.label_key`` gives the key).

Agent states (``AgentState``, a ``StrEnum``) are internal to our store (never sent to the city
backend), so their identities are ASCII: ``ready``, ``paused`` (示忙, may carry a reason),
``ringing``, ``talking``, ``held``, ``wrap_up`` (话后整理), ``offline``. They are what
``agent_state_changes.state`` holds since migration 0005 (which converted the rows that held the
Chinese labels). Locale keys: ``agent_state.ready`` … ``agent_state.offline``.

Ticket statuses, natures, boards, urgencies and satisfactions are domain codes: they are stored
and sent to the city backend as they are (``已受理``, ``投诉``, ``群众诉求``, ``一般``, ``满意``),
so the code is the identity; the constants below name them for the code that tests them.

- Statuses: ``RECEIVED`` 已受理, ``DISPATCHED`` 已派单, ``ACCEPTED`` 已签收, ``IN_PROGRESS`` 办理中,
  ``REPLIED`` 已答复, ``CLOSED`` 已办结, ``EVALUATED`` 已回访, ``RETURNED`` 已退单, ``MERGED`` 已并单,
  ``ARCHIVED`` 已归档; ``STATUSES`` all of them in lifecycle order, ``OPEN_STATES`` those still being
  handled, ``DEPARTMENT_STATES`` those a department holds (deadlines, 催办 and 督办 apply).
- ``NATURES`` (the type ``Nature``; no default: the operator must choose) and ``BOARDS``, defined by
  ``taxonomy.model`` (its importer validates them) and named here with the rest.
- ``DEFAULT_BOARD`` 群众诉求.
- ``URGENCIES`` (the type ``Urgency``) with ``DEFAULT_URGENCY`` 一般.
- ``SATISFACTIONS``: ``SATISFIED`` 满意, ``FAIRLY_SATISFIED`` 基本满意, ``UNSATISFIED`` 不满意;
  ``NOT_REACHED`` 未接通 is the other result a 回访 call records (store.evaluations).
- ``OutboxKind`` / ``OUTBOX_KINDS``: what an outbox entry asks of the city backend.
- ``urgency_of_leaf(leaf_urgency)``: the ticket urgency a taxonomy leaf's urgency
  (``normal`` / ``high`` / ``critical``) suggests.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal, get_args

from taxonomy.model import BOARDS, NATURES, Nature

__all__ = [
    "ACCEPTED",
    "ARCHIVED",
    "BOARDS",
    "CLOSED",
    "DEFAULT_BOARD",
    "DEFAULT_URGENCY",
    "DEPARTMENT_STATES",
    "DISPATCHED",
    "EVALUATED",
    "FAIRLY_SATISFIED",
    "IN_PROGRESS",
    "MERGED",
    "NATURES",
    "NOT_REACHED",
    "OPEN_STATES",
    "OUTBOX_KINDS",
    "RECEIVED",
    "REPLIED",
    "RETURNED",
    "SATISFACTIONS",
    "SATISFIED",
    "STATUSES",
    "UNSATISFIED",
    "URGENCIES",
    "AgentState",
    "Nature",
    "OutboxKind",
    "Urgency",
    "urgency_of_leaf",
]


class AgentState(StrEnum):
    """What an operator is doing now; the value is what the store holds."""

    READY = "ready"  # 就绪: calls may be offered
    PAUSED = "paused"  # 示忙: no calls (the only state with a reason, e.g. 培训 / 用餐)
    RINGING = "ringing"  # 振铃
    TALKING = "talking"  # 通话中
    HELD = "held"  # 保持
    WRAP_UP = "wrap_up"  # 话后整理
    OFFLINE = "offline"  # 离线: logged out

    @property
    def label_key(self) -> str:
        """The locale key of this state's label, e.g. ``agent_state.ready``."""
        return f"agent_state.{self.value}"


# --- ticket statuses (domain codes) -------------------------------------------------------------

RECEIVED: Final = "已受理"
DISPATCHED: Final = "已派单"
ACCEPTED: Final = "已签收"
IN_PROGRESS: Final = "办理中"
REPLIED: Final = "已答复"
CLOSED: Final = "已办结"
EVALUATED: Final = "已回访"
RETURNED: Final = "已退单"
MERGED: Final = "已并单"
ARCHIVED: Final = "已归档"
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
DEPARTMENT_STATES: frozenset[str] = frozenset({DISPATCHED, ACCEPTED, IN_PROGRESS})
OPEN_STATES: frozenset[str] = frozenset({RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS, REPLIED, RETURNED})

# --- what a ticket is about (domain codes) ------------------------------------------------------

DEFAULT_BOARD: Final = "群众诉求"
Urgency = Literal["一般", "紧急", "特急"]
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
DEFAULT_URGENCY: Final = "一般"
SATISFIED: Final = "满意"
FAIRLY_SATISFIED: Final = "基本满意"
UNSATISFIED: Final = "不满意"
SATISFACTIONS: tuple[str, ...] = (SATISFIED, FAIRLY_SATISFIED, UNSATISFIED)
NOT_REACHED: Final = "未接通"  # a 回访 call nobody answered: an evaluation result, not a satisfaction

# --- what the outbox sends the city backend --------------------------------------------------------

OutboxKind = Literal["create", "update"]  # a new service request, or a change of one (store.sync)
OUTBOX_KINDS: tuple[OutboxKind, ...] = get_args(OutboxKind)

_URGENCY_OF_LEAF: Mapping[str, str] = MappingProxyType(
    {"normal": DEFAULT_URGENCY, "high": "紧急", "critical": "特急"}
)


def urgency_of_leaf(leaf_urgency: str | None) -> str:
    """The ticket urgency a taxonomy leaf's urgency suggests (an unknown one: ``DEFAULT_URGENCY``)."""
    return _URGENCY_OF_LEAF.get(leaf_urgency or "", DEFAULT_URGENCY)
