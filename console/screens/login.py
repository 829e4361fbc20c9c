"""Login: user name and password (checked by store.users.authenticate off the UI loop), then
就绪 or a pause reason. The app starts the agent session with what is picked here.

On a store without any user (the first start) the screen says how to add one instead of only
refusing every password.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.config import Config
from console.i18n import Translator
from console.keymap import KeyFooter
from console.services.call_service import Operator
from store.db import Store
from store.vocabulary import AgentState


def store_has_users(store: Store) -> bool:
    """Whether anyone can log in at all (a fresh store has no user yet)."""
    from store.users import list_users

    with store.read() as session:
        return bool(list_users(session, include_inactive=False))


def product_name(config: Config) -> str:
    """The hotline's name shown on the login screen and in the title (``[ui] product_name``)."""
    return config.ui.product_name


class LoginScreen(Screen[None]):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box { width: 60; height: auto; border: thick $accent; padding: 1 2; }
    LoginScreen #login-title { text-style: bold; content-align: center middle; width: 100%; }
    LoginScreen #login-message { color: $text-muted; height: auto; }
    LoginScreen #login-message.error { color: $error; }
    LoginScreen #login-states { height: auto; max-height: 10; display: none; }
    LoginScreen.picking #login-states { display: block; }
    LoginScreen.picking Input { display: none; }
    """

    class Done(Message):
        """Logged in: ``reason`` None means 就绪, else 示忙 with that reason."""

        def __init__(self, operator: Operator, reason: str | None) -> None:
            super().__init__()
            self.operator, self.reason = operator, reason

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "next_field", show=False, priority=True)]

    def __init__(
        self,
        translator: Translator,
        authenticate: Callable[[str, str], Operator | None],
        pause_reasons: Sequence[str],
        username: str = "",
        *,
        product: str | None = None,
        users_exist: Callable[[], bool] | None = None,
    ) -> None:
        """``product``: the hotline's name in the title; ``users_exist``: whether the store has a user
        (run off the UI loop). When not given, both come from the app's ``config`` and ``store``."""
        super().__init__()
        self.tr = translator
        self.authenticate = authenticate
        self.pause_reasons = tuple(pause_reasons)
        self.username = username
        self.product = product
        self.users_exist = users_exist
        self.operator: Operator | None = None

    def compose(self) -> ComposeResult:
        t = self.tr.t
        with Center(), Vertical(id="login-box"):
            yield Static(t("login.title", product=self._product()), id="login-title")
            yield Input(self.username, placeholder=t("login.user"), id="username", max_length=64)
            yield Input(placeholder=t("login.password"), password=True, id="password", max_length=256)
            yield Static(t("login.hint"), id="login-message")
            yield OptionList(
                Option(self.tr.label("agent_state", AgentState.READY), id=""),
                *[Option(t("login.paused", reason=r), id=r) for r in self.pause_reasons],
                id="login-states",
            )
        yield KeyFooter(self.tr)

    def on_mount(self) -> None:
        self.query_one("#password" if self.username else "#username", Input).focus()
        self._look_for_users()

    def _product(self) -> str:
        if self.product is not None:
            return self.product
        config = getattr(self.app, "config", None)
        return product_name(config) if isinstance(config, Config) else Config().ui.product_name

    def _any_user(self) -> bool:
        """True unless the store has no user at all (a store error counts as "some": the password
        check then reports it)."""
        check = self.users_exist
        if check is None:
            store = getattr(self.app, "store", None)
            if not isinstance(store, Store):
                return True
            check = lambda: store_has_users(store)  # noqa: E731
        try:
            return check()
        except Exception:
            return True

    @work(thread=True, exclusive=True, group="login-users")
    def _look_for_users(self) -> None:
        if not self._any_user():
            self.app.call_from_thread(self._say, self.tr.t("login.no_users"), True)

    def _say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#login-message", Static)
        message.update(text)
        message.set_class(error, "error")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the priority Enter only moves on from the user name; elsewhere Enter goes to the widget
        # (the password's Input must process the keys queued before it first)
        if action == "next_field":
            focused = self.focused
            return isinstance(focused, Input) and focused.id == "username"
        return True

    def action_next_field(self) -> None:
        """Enter in the user name, handled when the key arrives (a priority binding): focus moves at
        once, so the password typed right after Enter lands in the password field."""
        self.set_focus(self.query_one("#password", Input))

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        user = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not user or not password:
            self._say(self.tr.t("login.empty"), error=True)
            return
        self._say(self.tr.t("login.checking"))
        self._check(user, password)

    @work(thread=True, exclusive=True, group="login")
    def _check(self, user: str, password: str) -> None:
        try:
            operator = self.authenticate(user, password)
        except Exception as exc:  # a store problem: say it, stay on the screen
            self.app.call_from_thread(
                self._say, self.tr.t("login.failed", why=str(exc).splitlines()[0]), True
            )
            return
        any_user = operator is not None or self._any_user()
        self.app.call_from_thread(self._checked, operator, any_user)

    def _checked(self, operator: Operator | None, any_user: bool = True) -> None:
        if operator is None:
            self._say(self.tr.t("login.refused" if any_user else "login.no_users"), error=True)
            password = self.query_one("#password", Input)
            password.value = ""
            password.focus()
            return
        self.operator = operator
        self._say(self.tr.t("login.pick", name=operator.display_name))
        self.add_class("picking")
        self.query_one("#login-states", OptionList).focus()

    @on(OptionList.OptionSelected, "#login-states")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if self.operator is not None:
            self.post_message(self.Done(self.operator, event.option.id or None))
