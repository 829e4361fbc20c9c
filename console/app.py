"""``HotlineApp``: the operator console (login, then the desk) on a phone line and a store.

Events of the line arrive on the line's own thread; ``_from_line`` hands each one to the call log
(which only enqueues: a background writer does the store work) and forwards it to the UI loop with
``post_message`` — never ``call_from_thread``, which would make the line thread wait for the screen.

Everything is passed in (config, store, line, clock), so tests drive the real app on a ``SimLine``
with a ``ManualScheduler`` and a fixed clock, and ``hotline console`` / ``hotline demo`` wire the real
ones. Ctrl+Q stops the line, ends the agent session (离线) and flushes the writers before exiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from textual.app import App, SystemCommand
from textual.binding import BindingsMap
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

from console import keymap as keymap_mod
from console.config import Config
from console.i18n import Translator
from console.screens import desk as desk_screen_mod
from console.screens import dialogs, help, login
from console.screens.desk import DeskScreen
from console.screens.dialogs import TransferTarget
from console.screens.help import HelpScreen
from console.screens.login import LoginScreen
from console.services.call_log import CallLog, ringing_history
from console.services.desk import DeskService, LiveCall, Operator
from console.widgets import call_panel, ringing, status_bar
from store.calls import CallerHistory
from store.db import Store, utcnow
from telephony.events import Event
from telephony.line import Line

log = structlog.get_logger(__name__)

APP_CATALOGUE = {
    "zh_CN": {
        "app.title": "12345 热线话务台",
        "app.stopping": "正在退出…",
        "sync.backlog": "待发 {n}",
        "sync.attention": "待处理 {n}",
        "sync.breaker": "熔断 {state}",
    },
    "en": {
        "app.title": "12345 hotline desk",
        "app.stopping": "Stopping…",
        "sync.backlog": "{n} pending",
        "sync.attention": "{n} need attention",
        "sync.breaker": "breaker {state}",
    },
}
CATALOGUES = (
    APP_CATALOGUE,
    keymap_mod.CATALOGUE,
    status_bar.CATALOGUE,
    ringing.CATALOGUE,
    call_panel.CATALOGUE,
    dialogs.CATALOGUE,
    help.CATALOGUE,
    login.CATALOGUE,
    desk_screen_mod.CATALOGUE,
)
FormFactoryBuilder = Callable[["HotlineApp"], Callable[[LiveCall | None], Widget] | None]
ScreenBuilder = Callable[["HotlineApp"], Callable[[], Screen[Any]] | None]


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


def transfer_targets() -> list[TransferTarget]:
    """Departments of the dispatch catalogue that have a number to transfer to."""
    from taxonomy.model import load_departments

    return [TransferTarget(d.phone, d.name) for d in load_departments().values() if d.phone]


def sync_status_text(store: Store, tr: Translator) -> str:
    """The outbox backlog and breaker from ``store.sync.sync_status`` (— when it cannot be read)."""
    from store.sync import sync_status

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

    def __init__(
        self,
        config: Config,
        store: Store,
        line: Line,
        *,
        now: Callable[[], dt.datetime] = utcnow,
        auto_login: str | None = None,
        form_factory: FormFactoryBuilder | None = None,
        worklists: ScreenBuilder | None = None,
        clock_interval: float = 1.0,
        taxonomy: Any = None,
        sync: Any = None,
    ) -> None:
        if type(line).__module__.startswith("telephony.sip"):
            _start_resource_tracker()
        self.keys = keymap_mod.keymap_of(config.keymap)
        self.COMMAND_PALETTE_BINDING = self.keys[keymap_mod.PALETTE_ID]  # read by App.__init__
        super().__init__()
        self.config = config
        self.store = store
        self.line = line
        self.now = now
        self.auto_login = auto_login
        self.sync_thread = sync  # store.sync.SyncThread of [sync] enabled: woken after each save
        self.taxonomy = taxonomy  # a loaded taxonomy.model.Taxonomy to share, or None (loaded on login)
        self.tr = Translator.of(config.ui.language, CATALOGUES)
        self.title = self.tr.t("app.title")
        self.theme = config.ui.theme if config.ui.theme in self.available_themes else "textual-dark"
        self.call_log = CallLog(store, now=now, background=True, queue=None)
        self.desk = DeskService(
            store,
            line,
            call_log=self.call_log,
            wrapup_seconds=config.ui.wrapup_seconds,
            now=now,
            on_problem=lambda what: self.post_message(StoreProblem(what)),
            seat=config.operator.seat,
        )
        self._form_builder = form_factory
        self._worklists_builder = worklists
        self._clock_interval = clock_interval
        self._stopped = threading.Event()
        self._bindings = BindingsMap(
            [*(b for _, b in self._bindings), *keymap_mod.bindings("app", self.keys, self.tr)]
        )
        self.set_keymap(self.keys)  # widgets of other modules that carry these ids follow [keymap] too
        self.line_started = threading.Event()
        self.sync_text = "—"
        self._call_log_failures = 0

    # -- start ------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.run_worker(self._start_line, thread=True, group="line", exit_on_error=False)
        self.set_interval(self._clock_interval, self._tick)
        self._refresh_sync()
        if self.auto_login:
            operator = self.desk.find_operator(self.auto_login)
            if operator is not None:
                self._logged_in(operator, None)
                return
        self.push_screen(
            LoginScreen(
                self.tr,
                self.desk.authenticate,
                self.config.operator.pause_reasons,
                self.config.operator.username,
            )
        )

    def _start_line(self) -> None:
        try:
            self.line.start(self._from_line)
        except Exception as exc:  # no line: the desk still runs (tickets, worklists), and says so
            log.exception("console.line_start_failed")
            from telephony.events import RegistrationFailed

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
            self.desk.start_session(operator, reason)
        except Exception as exc:  # the store refused: stay on the login screen, say why
            log.exception("console.session_failed")
            self.notify(self.tr.t("login.failed", why=type(exc).__name__), severity="error")
            return
        screen = DeskScreen(
            self.desk,
            self.tr,
            self.keys,
            pause_reasons=self.config.operator.pause_reasons,
            transfer_targets=transfer_targets(),
            history=self._history,
            sync_status=lambda: self.sync_text,
            form_factory=self._form_builder(self) if self._form_builder else None,
            worklists=self._worklists_builder(self) if self._worklists_builder else None,
        )
        if isinstance(self.screen, LoginScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)
        if reason is None:
            self.call_after_refresh(lambda: screen.show_update(self.desk.ready()))

    def _history(self, number: str, call_id: str) -> CallerHistory:
        return ringing_history(self.store, number, exclude_call_id=call_id, now=self.now())

    # -- events -----------------------------------------------------------------------------------
    def desk_screen(self) -> DeskScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, DeskScreen):
                return screen
        return None

    def on_line_event(self, message: LineEvent) -> None:
        update = self.desk.apply(message.event)
        screen = self.desk_screen()
        if screen is not None and screen.is_mounted:
            screen.show_update(update)

    def on_ticket_form_saved(self, _message: Message) -> None:
        if self.sync_thread is not None:
            self.sync_thread.notify()  # the new ticket's outbox row goes out now, not at the next round

    def on_worklists_screen_call_placed(self, message: Message) -> None:
        """A worklist call was dialled (C3's WorklistsScreen.CallPlaced): the desk follows it."""
        placed = getattr(message, "placed", None)
        if placed is None:
            return
        update = self.desk.outbound(placed.call_id, placed.phone)
        screen = self.desk_screen()
        if screen is not None and screen.is_mounted:
            screen.show_update(update)

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
            from console.wiring import other_key_texts

            self.push_screen(HelpScreen(self.tr, self.keys, other_key_texts(self)))

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
        self.desk.end_session()

    def on_unmount(self) -> None:
        self.shutdown()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        target: Screen[Any] | None = screen if isinstance(screen, DeskScreen) else None
        for spec in keymap_mod.SPECS:
            owner = self if spec.scope == "app" else target
            if owner is None or spec.id == "quit":
                continue
            key = self.keys.get(spec.id, "")
            yield SystemCommand(
                f"{self.tr.t(f'key.{spec.id}')} ({key})", spec.id, partial(owner.run_action, spec.action)
            )
