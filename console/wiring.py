"""What the desk mounts from the other parts of the console: the ticket form and the worklists.

Each builder is called once the operator has logged in (it needs who they are) and returns a
factory, or None when that part is not installed, so the desk keeps its placeholder and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from textual.screen import Screen
from textual.widget import Widget

from console.services.desk import LiveCall

if TYPE_CHECKING:
    from console.app import HotlineApp

log = structlog.get_logger(__name__)


def _actor(app: HotlineApp) -> Any:
    from store.tickets import Actor

    op = app.desk.operator
    assert op is not None, "built after login"
    return Actor(op.username, op.role if op.role in ("operator", "supervisor") else "operator", op.user_id)


def _deadlines(app: HotlineApp, taxonomy: Any) -> Any:
    from store.deadlines import DeadlineCalculator, leaf_limits_from_catalogue

    return DeadlineCalculator(app.config.deadlines, leaf_limits=leaf_limits_from_catalogue(taxonomy.leaves()))


def ticket_form(app: HotlineApp) -> Callable[[LiveCall | None], Widget] | None:
    """``TicketForm(desk, translator, call)`` for each call, sharing one ``TicketDesk`` per login."""
    try:
        from console.services.ticket_desk import CallContext, TicketDesk
        from console.widgets.ticket_form import TicketForm
    except ImportError:
        log.info("console.no_ticket_form")
        return None
    from taxonomy.model import load_taxonomy

    taxonomy = app.taxonomy if app.taxonomy is not None else load_taxonomy(app.config.taxonomy.path)
    desk = TicketDesk(
        app.store,
        _actor(app),
        taxonomy=taxonomy,
        deadlines=_deadlines(app, taxonomy),
        duplicate_window_hours=app.config.ui.duplicate_window_hours,
        prefix=app.config.store.ticket_prefix,
        clock=app.now,
    )

    def make(call: LiveCall | None) -> Widget:
        context = CallContext(call.call_id, call.caller, call.display_name) if call else None
        return TicketForm(desk, app.tr, context)  # type: ignore[arg-type]

    return make


def worklists(app: HotlineApp) -> Callable[[], Screen[Any]] | None:
    """C3's ``WorklistsScreen`` over a ``WorklistService`` that dials through this desk's line."""
    try:
        from console.screens.worklists import WorklistsScreen
        from console.services.worklists import WorklistService
    except ImportError:
        log.info("console.no_worklists")
        return None
    from store.deadlines import DeadlineCalculator

    def dial(number: str) -> str:
        call_id = app.line.dial(number)
        app.call_log.dialed(call_id, number)
        return call_id

    service = WorklistService(
        app.store, dial, _actor(app), clock=app.now, deadlines=DeadlineCalculator(app.config.deadlines)
    )
    return lambda: WorklistsScreen(service, app.tr)


def other_key_texts(app: HotlineApp) -> dict[str, str]:
    """What the bindings of the other screens do (binding id → text), for the help screen."""
    try:
        from console.screens.worklists import CATALOGUE, KEYS
    except ImportError:
        return {}
    tr = app.tr.with_catalogues([CATALOGUE])
    return {bid: tr.t(text) for _key, _action, text, bid in KEYS}
