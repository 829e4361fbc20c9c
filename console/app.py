"""``HotlineApp``: the operator console (login, then the desk) on a phone line and a store.

Events of the line arrive on the line's own thread; ``_from_line`` hands each one to the call log
(which only enqueues: a background writer does the store work) and forwards it to the UI loop with
``post_message`` — never ``call_from_thread``, which would make the line thread wait for the screen.

Everything is passed in (config, store, line, clock, and the ``SeatFactory`` that builds the
services of whoever logs in), by ``console.bootstrap`` for every entry point; tests drive the real
app on a ``SimLine`` with a ``ManualScheduler`` and a fixed clock. Ctrl+Q stops the line, ends the
agent session (离线) and flushes the writers before exiting; during a call, while ringing or with an
unsaved ticket it asks first (``console.screens.quit_confirm``), and so does the palette's Quit.

The palette offers only our commands, in the operator's language (``console.keymap.PaletteCommands``):
Textual's own (Theme, Keys, Maximize, Screenshot) speak English and are not needed at a desk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import structlog
from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from console import keymap as keymap_mod
from console.config import Config
from console.i18n import Translator
from console.screens.desk import DeskScreen
from console.screens.help import HelpScreen
from console.screens.login import LoginScreen
from console.screens.quit_confirm import QuitConfirm, QuitRisk, quit_risk
from console.screens.worklists import WorklistsScreen
from console.seat import Seat, SeatFactory
from console.services.call_log import CallLog
from console.services.call_service import CallService, Operator
from console.services.store_writer import StoreWriter
from console.widgets.status_bar import StatusBar
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
    COMMANDS: ClassVar[set[Any]] = {keymap_mod.PaletteCommands}
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
        self.title = self.tr.t("app.title", product=config.ui.product_name)
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
        self._quitting = False

    # -- start ------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.run_worker(self._start_line, thread=True, group="line", exit_on_error=False)
        self.set_interval(self._clock_interval, self._tick)
        # a screen pushed above the desk shows the status bar at once, not at the next tick
        self.screen_change_signal.subscribe(self, lambda _screen: self.call_after_refresh(self._show_status))
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
        self._followed()

    @on(WorklistsScreen.CallPlaced)
    def _call_placed(self, message: WorklistsScreen.CallPlaced) -> None:
        """A worklist call was dialled: the desk follows it."""
        placed = message.placed
        # the number as stored (the callee's history is found by it), with the callee's name
        update = self.calls.outbound(placed.call_id, placed.history_number, placed.name or "")
        screen = self.desk_screen()
        if screen is not None and screen.is_mounted:
            screen.show_update(update)
        self._followed()

    def _followed(self) -> None:
        """After the call changed: the top screen's status bar and the quit question follow (the
        desk refreshes its own bindings, so its footer, when its call state changes)."""
        self._show_status()
        if isinstance(self.screen, QuitConfirm):
            self.screen.refresh_risk()

    def _show_status(self) -> None:
        """A screen above the desk (worklists, help) with a status bar shows the desk's status."""
        desk = self.desk_screen()
        screen = self.screen
        if desk is None or screen is desk or not desk.is_mounted:
            return
        try:
            bar = screen.query_one(StatusBar)
        except NoMatches:
            return
        bar.show(desk.status_view())

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
        self._followed()
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
            self.push_screen(HelpScreen(self.tr, HELP_GROUPS, self.keys))

    def action_show_help_panel(self) -> None:
        """Textual's "Keys" panel: our F1 list (Textual's shows descriptions untranslated)."""
        self.action_help()

    def action_command_palette(self) -> None:
        """Textual's palette, with its placeholder and "no matches" in the operator's language."""
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(keymap_mod.Palette(self.tr, id="--command-palette"))

    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's reflex guard: it does not quit) says how to quit, in the UI's language."""
        self.notify(self.tr.t("app.quit_hint", shortcut=keymap_mod.key_label(self.keys[keymap_mod.QUIT_ID])))

    def quit_risk(self) -> QuitRisk:
        """What quitting now would drop: the seat's call, an unfinished wrap-up, the desk's unsaved form."""
        desk = self.desk_screen()
        unsaved = desk is not None and desk.is_mounted and desk.unsaved_ticket()
        return quit_risk(self.calls.current, self.calls.status.state, unsaved)

    async def action_quit(self) -> None:
        """Ctrl+Q and the palette's Quit: at once when nothing would be lost, else after asking."""
        if self._quitting or isinstance(self.screen, QuitConfirm):  # a second Ctrl+Q is no answer
            return
        if self.quit_risk().steps == 0:
            await self._quit_now()
            return

        def answered(quit: bool | None) -> None:
            if quit:
                self.call_later(self._quit_now)

        self.push_screen(QuitConfirm(self.tr, self.quit_risk), answered)

    async def _quit_now(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        self.notify(self.tr.t("app.stopping"))
        await asyncio.to_thread(self.shutdown)
        self.exit()

    @property
    def stopped(self) -> bool:
        """Whether ``shutdown`` has run (the line stopped, the session ended)."""
        return self._stopped.is_set()

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
        """What the keys do where the palette was opened, Quit among them (through ``action_quit``);
        not Textual's own commands (see the module docstring)."""

        def run(binding: Binding, node: DOMNode) -> Callable[[], object]:
            return lambda: self.run_action(binding.action, node)

        return keymap_mod.palette_commands(screen.active_bindings, self.tr, run)


# F1's sections: (title locale key, the class whose bindings it lists), the app's keys first
HELP_GROUPS: tuple[tuple[str, type[DOMNode]], ...] = (
    ("help.group.app", HotlineApp),
    ("help.group.desk", DeskScreen),
    ("help.group.form", TicketForm),
    ("help.group.worklists", WorklistsScreen),
)
