"""Transfers of a call written on its ticket as audited notes (备注), e.g. "转接 119（盲转）".

The call's own events already say a transfer was asked for and done; the ticket history must say it
too, since that is what a supervisor reads. A note changes no field and is not sent to the backend
(``store.lifecycle`` command ``note``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from store.models import Ticket
from store.tickets import Actor, TicketError, apply_command
from taxonomy.model import HANDOFFS

TransferMode = Literal["blind", "attended"]
MODE_LABELS: dict[str, str] = {"blind": "盲转", "attended": "咨询转"}


@dataclass(frozen=True)
class TransferRequest:
    """A transfer the operator asked for: the number dialled, what it is (a department) and how."""

    number: str
    label: str
    mode: TransferMode

    @property
    def text(self) -> str:
        # emergency numbers speak for themselves; a department is named; a typed number is its label
        named = self.label.strip() and self.label.strip() != self.number and self.number not in HANDOFFS
        target = f"{self.label.strip()} {self.number}" if named else self.number
        return f"转接 {target}（{MODE_LABELS[self.mode]}）"


def note_job(ticket_id: int, actor: Actor, at: dt.datetime, text: str) -> Callable[[Session], None]:
    """A store job writing ``text`` as a note on ticket ``ticket_id`` (raises if it cannot)."""

    def job(s: Session) -> None:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id} for the transfer note")
        apply_command(s, ticket, "note", actor, at, reason=text)

    return job
