"""``HotlineApp``: the operator console (login, then the desk) on a phone line and a store.

Events of the line arrive on the line's own thread; ``_from_line`` hands each one to the call log
(which only enqueues: a background writer does the store work) and forwards it to the UI loop with
``post_message`` — never ``call_from_thread``, which would make the line thread wait for the screen.

Everything is passed in (config, store, line, clock, and the ``SeatFactory`` that builds the
services of whoever logs in), by ``console.bootstrap`` for every entry point; tests drive the real
app on a ``SimLine`` with a ``ManualScheduler`` and a fixed clock. Ctrl+Q stops the line, ends the
agent session (离线) and flushes the writers before exiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import structlog
from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from console import keymap as keymap_mod
from console.config import Config
from console.i18n import Translator
from console.screens.desk import DeskScreen
from console.screens.help import HelpScreen
from console.screens.login import LoginScreen
from console.screens.worklists import WorklistsScreen
from console.seat import Seat, SeatFactory
from console.services.call_log import CallLog
from console.services.call_service import CallService, Operator
from console.services.store_writer import StoreWriter
from console.widgets.ticket_form import TicketForm
from store.db import Store, utcnow
from store.sync import sync_status
from telephony.events import Event, RegistrationFailed
from telephony.line import Line

log = structlog.get_logger(__name__)

# the screens and widgets whose BINDINGS [keymap] can move, besides the app's own
KEYMAP_SCREENS: tuple[type[DOMNode], ...] = (DeskScreen, TicketForm, WorklistsScreen)


class LineEvent(Message):
    """One event of the phone line, posted from the line's thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class StoreProblem(Message):
    """A background store write failed (posted from a writer thread)."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


def sync_status_text(store: Store, tr: Translator) -> str:
    """The outbox backlog and breaker from ``store.sync.sync_status`` (— when it cannot be read)."""
    with store.read() as s:
        status = sync_status(s)
    text = tr.t("sync.backlog", n=status.backlog)
    if status.attention:
        text += " " + tr.t("sync.attention", n=status.attention)
    if status.breaker != "closed":
        text += " " + tr.t("sync.breaker", state=status.breaker)
    return text


def _start_resource_tracker() -> None:
    """The SIP line runs pyVoIP in a spawned process; multiprocessing starts its resource tracker on
    the first spawn, passing ``sys.stderr``'s descriptor, which Textual has replaced by then (the
    spawn fails with "bad value(s) in fds_to_keep"). Start it while stderr is still the terminal."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


class HotlineApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "key.help", id="help", priority=True),
        Binding("ctrl+q", "quit", "key.quit", id="quit", priority=True),
    ]

    def __init__(
        self,
        config: Config,
        store: Store,
        line: Line,
        seats: SeatFactory,
        *,
        now: Callable[[], dt.datetime] = utcnow,
        auto_login: str | None = None,
        clock_interval: float = 1.0,
    ) -> None:
        if type(line).__module__.startswith("telephony.sip"):
            _start_resource_tracker()
        # every binding [keymap] can move, and its key (ConfigError for an unknown id or a shared key)
        self.key_bindings = keymap_mod.declared((type(self), *KEYMAP_SCREENS))
        self.keys = config.keymap.keys_over(keymap_mod.default_keys(self.key_bindings))
        self.COMMAND_PALETTE_BINDING = self.keys[keymap_mod.PALETTE_ID]  # type: ignore[misc]  # App.__init__ reads it
        super().__init__()
        self.config = config
        self.store = store
        self.line = line
        self.now = now
        self.auto_login = auto_login
        self.seats = seats
        self.seat: Seat | None = None  # the logged-in operator's services
        self.tr = Translator.load(config.ui.language)
        self.title = self.tr.t("app.title")
        self.theme = config.ui.theme if config.ui.theme in self.available_themes else "textual-dark"
        # the seat's one ordered store writer: call rows first, then what refers to them
        self.writer = StoreWriter(store, self._store_problem)
        self.call_log = CallLog(store, now=now, writer=self.writer, queue=None)
        self.calls = CallService(
            store,
            line,
            self.writer,
            call_log=self.call_log,
            wrapup_seconds=config.ui.wrapup_seconds,
            now=now,
            seat=config.operator.seat,
        )
        self._clock_interval = clock_interval
        self._stopped = threading.Event()
        self.set_keymap(self.keys)  # every screen's bindings are matched by id
        self.line_started = threading.Event()
        self.sync_text = "—"
        self._call_log_failures = 0

    # -- start ------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.run_worker(self._start_line, thread=True, group="line", exit_on_error=False)
        self.set_interval(self._clock_interval, self._tick)
        self._refresh_sync()
        if self.auto_login:
            operator = self.calls.find_operator(self.auto_login)
            if operator is not None:
                self._logged_in(operator, None)
                return
        self.push_screen(
            LoginScreen(
                self.tr,
                self.calls.authenticate,
                self.config.operator.pause_reasons,
                self.config.operator.username,
            )
        )

    def _start_line(self) -> None:
        try:
            self.line.start(self._from_line)
        except Exception as exc:  # no line: the desk still runs (tickets, worklists), and says so
            log.exception("console.line_start_failed")
            self.post_message(LineEvent(RegistrationFailed(t=0.0, why=type(exc).__name__)))
        finally:
            self.line_started.set()

    def _from_line(self, event: Event) -> None:
        """On the line's thread: store (enqueue only) and forward to the UI loop."""
        self.call_log.on_event(event)
        self.post_message(LineEvent(event))

    # -- login ------------------------------------------------------------------------------------
    def on_login_screen_done(self, message: LoginScreen.Done) -> None:
        self._logged_in(message.operator, message.reason)

    def _logged_in(self, operator: Operator, reason: str | None) -> None:
        try:
            self.calls.start_session(operator, reason)
        except Exception as exc:  # the store refused: stay on the login screen, say why
            log.exception("console.session_failed")
            self.notify(self.tr.t("login.failed", why=type(exc).__name__), severity="error")
            return
        self.seat = self.seats(operator, self.calls, self.call_log)
        screen = DeskScreen(self.seat, self.tr, self.keys, sync_status=lambda: self.sync_text)
        if isinstance(self.screen, LoginScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)
        if reason is None:
            self.call_after_refresh(lambda: screen.show_update(self.calls.ready()))

    # -- events -----------------------------------------------------------------------------------
    def desk_screen(self) -> DeskScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, DeskScreen):
                return screen
        return None

    def on_line_event(self, message: LineEvent) -> None:
        update = self.calls.apply(message.event)
        screen = self.desk_screen()
        if screen is not None and screen.is_mounted:
            screen.show_update(update)

    @on(WorklistsScreen.CallPlaced)
    def _call_placed(self, message: WorklistsScreen.CallPlaced) -> None:
        """A worklist call was dialled: the desk follows it."""
        placed = message.placed
        update = self.calls.outbound(placed.call_id, placed.phone)
        screen = self.desk_screen()
        if screen is not None and screen.is_mounted:
            screen.show_update(update)

    def _store_problem(self, what: str) -> None:
        """On a writer thread: a store write failed; the UI loop says so."""
        self.post_message(StoreProblem(what))

    def on_store_problem(self, message: StoreProblem) -> None:
        self.notify(self.tr.t("msg.store_problem", what=message.what), severity="warning")

    def _tick(self) -> None:
        if self.call_log.failures > self._call_log_failures:  # the call log gave up on a write
            self._call_log_failures = self.call_log.failures
            self.notify(self.tr.t("msg.store_problem", what="call_log"), severity="warning")
        screen = self.desk_screen()
        if screen is not None and screen.is_mounted:
            screen.tick()
        if int(self.now().timestamp()) % 15 == 0:
            self._refresh_sync()

    def _refresh_sync(self) -> None:
        def work() -> None:
            try:
                text = sync_status_text(self.store, self.tr)
            except Exception:
                text = "—"
            self.sync_text = text

        self.run_worker(work, thread=True, group="sync", exclusive=True, exit_on_error=False)

    # -- actions ----------------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.tr, self.key_bindings, self.keys))

    def action_show_help_panel(self) -> None:
        """The palette's "Keys": our F1 list (Textual's key panel shows descriptions untranslated)."""
        self.action_help()

    async def action_quit(self) -> None:
        self.notify(self.tr.t("app.stopping"))
        await asyncio.to_thread(self.shutdown)
        self.exit()

    def shutdown(self) -> None:
        """Stop the line, end the agent session, flush the writers (bounded); safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.line_started.wait(10)
        try:
            self.line.stop()
        except Exception:
            log.exception("console.line_stop_failed")
        self.call_log.close()
        self.calls.end_session()

    def on_unmount(self) -> None:
        self.shutdown()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # what the keys do where the palette was opened (quit is Textual's own command above)
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if binding.id is None or binding.id in ("quit", keymap_mod.PALETTE_ID) or not active.enabled:
                continue
            yield SystemCommand(
                f"{self.tr.t(binding.description)} ({key})",
                binding.id,
                partial(self.run_action, binding.action, active.node),
            )
