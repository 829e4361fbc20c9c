"""The one place that assembles the console: line, sync thread, app and, after login, the seat.

Every entry point (``hotline console``, ``hotline demo``, the tests and benches of the app) builds
through these functions, so a new mode adds a function here instead of a third copy of the wiring.

Textual reads its environment (frame rate, keyboard protocol) when it is first imported, so this
module imports nothing that imports Textual at module level: ``prepare_terminal`` runs first, then
``build_app`` imports the app.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.config import Config
from console.demo_script import DEMO_CALLS, demo_line, pacing_of
from console.seat import Seat, SeatFactory
from console.services.call_log import CallLog, ringing_history
from console.services.call_service import CallService, Operator
from console.services.ticket_service import LinkCall, TicketService
from console.services.worklists import WorklistService
from store.caller_history import CallerHistory
from store.db import Store, utcnow
from store.deadlines import DeadlineCalculator, leaf_limits_from_catalogue
from store.sync import SyncThread
from store.tickets import Actor
from taxonomy.model import Taxonomy, load_departments, load_taxonomy
from telephony.line import Line
from telephony.offline import OfflineLine

if TYPE_CHECKING:
    from console.app import HotlineApp
    from console.screens.dialogs import TransferTarget


def prepare_terminal(config: Config) -> None:
    """Environment Textual reads at import: frame rate, and the kitty keyboard switch for IMEs."""
    os.environ.setdefault("TEXTUAL_FPS", str(config.ui.fps))
    if config.ui.disable_kitty_keyboard:
        os.environ["TEXTUAL_DISABLE_KITTY_KEY"] = "1"


def quiet_logging(config: Config) -> None:
    """Logs to the file only: a line on stderr would be drawn over the console's screen."""
    from console.logs import configure_logging

    try:
        configure_logging(config.logging, cli=False, secrets=config.secrets())
    except OSError:
        configure_logging(config.logging, cli=False, secrets=config.secrets(), to_file=False)


def make_line(
    config: Config, *, sim: bool, repeat_numbers: Sequence[str] = (), calls: int = DEMO_CALLS
) -> Line:
    """The simulated demo line (``sim``: ``calls`` calls at the ``[demo]`` pace, some from
    ``repeat_numbers``), the SIP line of ``[sip]`` when enabled, or a line that is not there (the desk
    runs without a phone and says so)."""
    if sim:
        return demo_line(repeat_numbers, calls, pacing_of(config.demo))
    if config.sip.enabled:
        from console.commands.agent import line_config
        from telephony.sip import SipLine  # pyVoIP: imported only for a real line

        record_dir = config.recording.resolved_directory if config.recording.enabled else None
        return SipLine(line_config(config.sip, record_dir=record_dir))
    return OfflineLine("[sip] enabled = false")


def start_sync(store: Store, config: Config) -> SyncThread | None:
    """The outbox sender of ``[sync] enabled``, started (None when disabled); ``stop()`` it after."""
    from console.commands.sync import build_sync_thread

    thread = build_sync_thread(store, config)
    if thread is not None:
        thread.start()
    return thread


def transfer_targets(config: Config) -> tuple[TransferTarget, ...]:
    """Departments of the dispatch catalogue (``[taxonomy] departments``, else the shipped list) that
    have a number to transfer to, in the catalogue's order (the dialog puts 110/119/120/122 first)."""
    from console.screens.dialogs import TransferTarget

    departments = load_departments(config.taxonomy.departments)
    return tuple(TransferTarget(d.phone, d.name) for d in departments.values() if d.phone)


def actor_of(operator: Operator) -> Actor:
    """The store's actor for tickets and worklists: a supervisor acts as one, anyone else as an operator."""
    role = operator.role if operator.role in ("operator", "supervisor") else "operator"
    return Actor(operator.username, role, operator.user_id)


@dataclass(frozen=True)
class SeatParts:
    """Which optional parts a seat gets (the call-flow tests run without the form and worklists)."""

    tickets: bool = True
    worklists: bool = True


class SeatBuilder:
    """The ``SeatFactory`` of one app: builds each login's ``Seat`` from the configuration and store."""

    def __init__(
        self,
        config: Config,
        store: Store,
        line: Line,
        *,
        now: Callable[[], dt.datetime] = utcnow,
        taxonomy: Taxonomy | None = None,
        sync: SyncThread | None = None,
        parts: SeatParts = SeatParts(),
    ) -> None:
        self.config = config
        self.store = store
        self.line = line
        self.now = now
        self.parts = parts
        self._taxonomy = taxonomy
        self._sync = sync

    def taxonomy(self) -> Taxonomy:
        """The shared taxonomy, or the configured one, loaded at the first login that needs it."""
        if self._taxonomy is None:
            self._taxonomy = load_taxonomy(self.config.taxonomy.path)
        return self._taxonomy

    def __call__(self, operator: Operator, calls: CallService, call_log: CallLog) -> Seat:
        return Seat(
            operator=operator,
            calls=calls,
            tickets=self.tickets(operator, calls.link_ticket) if self.parts.tickets else None,
            worklists=self.worklists(operator, call_log) if self.parts.worklists else None,
            history=self.history,
            transfer_targets=transfer_targets(self.config),
            pause_reasons=tuple(self.config.operator.pause_reasons),
            ticket_saved=self._sync.notify if self._sync is not None else _nothing,
        )

    def tickets(self, operator: Operator, link_call: LinkCall | None = None) -> TicketService:
        """One ticket service per login: every form of this seat files tickets through it."""
        taxonomy = self.taxonomy()
        deadlines = DeadlineCalculator(
            self.config.deadlines, leaf_limits=leaf_limits_from_catalogue(taxonomy.leaves())
        )
        return TicketService(
            self.store,
            actor_of(operator),
            settings=self.config.taxonomy,
            taxonomy=taxonomy,
            departments=load_departments(self.config.taxonomy.departments),
            deadlines=deadlines,
            duplicate_window_hours=self.config.ui.duplicate_window_hours,
            prefix=self.config.store.ticket_prefix,
            clock=self.now,
            link_call=link_call,  # a call whose row is not written yet is linked behind it
        )

    def worklists(self, operator: Operator, call_log: CallLog) -> WorklistService:
        """The worklists, dialling through this seat's line (the call log records the outbound call)."""
        line = self.line

        def dial(number: str) -> str:
            call_id = line.dial(number)
            call_log.dialed(call_id, number)
            return call_id

        return WorklistService(
            self.store,
            dial,
            actor_of(operator),
            clock=self.now,
            deadlines=DeadlineCalculator(self.config.deadlines),
        )

    def history(self, number: str, call_id: str) -> CallerHistory:
        return ringing_history(self.store, number, exclude_call_id=call_id, now=self.now())


def _nothing() -> None:
    """``Seat.ticket_saved`` without an outbox sender: the tickets wait for ``hotline sync``."""


def build_app(
    config: Config,
    store: Store,
    line: Line,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    auto_login: str | None = None,
    taxonomy: Taxonomy | None = None,
    sync: SyncThread | None = None,
    parts: SeatParts = SeatParts(),
    clock_interval: float = 1.0,
) -> HotlineApp:
    """The console app on ``line`` and ``store``; ``auto_login`` skips the login screen (the demo)."""
    from console.app import HotlineApp  # after prepare_terminal: see the module docstring

    seats: SeatFactory = SeatBuilder(config, store, line, now=now, taxonomy=taxonomy, sync=sync, parts=parts)
    return HotlineApp(
        config, store, line, seats, now=now, auto_login=auto_login, clock_interval=clock_interval
    )


def run_app(
    config: Config,
    store: Store,
    line: Line,
    *,
    auto_login: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> None:
    """Run the console in this terminal until the operator quits, with the outbox sender of
    ``[sync]`` alongside; the line is stopped and the writers flushed before it returns."""
    sync = start_sync(store, config)
    try:
        app = build_app(config, store, line, auto_login=auto_login, taxonomy=taxonomy, sync=sync)
        app.run()
        app.shutdown()
    finally:
        if sync is not None:
            sync.stop(5)
