"""``Seat``: the services of one logged-in operator, handed to the screens.

Built by ``console.bootstrap`` once the operator has logged in (the ticket and worklist services act
in their name), so the screens get what they work with instead of reaching into the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.services.call_log import CallLog
from console.services.call_service import CallService, Operator
from console.services.ticket_service import TicketService
from console.services.worklists import WorklistService
from store.caller_history import CallerHistory

if TYPE_CHECKING:  # a dataclass of the dialogs module: kept out of imports so this one needs no Textual
    from console.screens.dialogs import TransferTarget

HistoryLookup = Callable[[str, str], CallerHistory]
"""(caller's number, the ringing call's id to leave out) → the caller's history for the ringing pop."""


@dataclass(frozen=True)
class Seat:
    """What the desk screen works with after login.

    ``tickets`` / ``worklists`` are None on a seat without that part (the desk keeps its placeholder
    and says the part is not available), e.g. the call-flow tests, which run without a ticket form.
    """

    operator: Operator
    calls: CallService
    tickets: TicketService | None
    worklists: WorklistService | None
    history: HistoryLookup
    transfer_targets: tuple[TransferTarget, ...]
    pause_reasons: tuple[str, ...]
    ticket_saved: Callable[[], None]
    """Called once a ticket is durable: wakes the outbox sender so the ticket goes out now."""


SeatFactory = Callable[[Operator, CallService, CallLog], Seat]
"""Builds the seat of the operator who just logged in, on the app's call service and call log."""
