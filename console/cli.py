"""The ``hotline`` command line: one argparse parser, subcommands discovered in console/commands/.

Every error a person can cause ends as ONE line on stderr and a non-zero exit code, never a
traceback: 2 for a bad configuration or usage, 1 for a refused operation (store, users, tickets ...),
70 for a bug (its traceback goes to the log file only), 130 for Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from typing import TYPE_CHECKING, NoReturn

import structlog

from console import commands
from console.config import Config, ConfigError, load_config
from console.logs import Redactor, configure_logging

if TYPE_CHECKING:
    from store.db import Store

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


Handler = Callable[[argparse.Namespace, "CommandContext"], int | None]
"""What a subcommand's parser sets as ``handler``: runs the command, returns its exit code."""


class CommandError(Exception):
    """A refused command, explained in one line (exit code 1 unless given)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class CommandContext:
    """What a handler needs, loaded on first use: the configuration and the opened store."""

    config_path: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _store: Store | None = field(default=None, init=False, repr=False)

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path, env=self.env)

    @property
    def store(self) -> Store:
        """The store of ``[store] url``, opened and migrated to the newest schema on first use (a
        SQLite file that does not exist yet is created: commands that write start a store)."""
        if self._store is None:
            self._store = open_configured_store(self.config)
        return self._store

    @property
    def existing_store(self) -> Store:
        """``store`` for a command that only reads: a SQLite file that does not exist is refused
        (CommandError naming it) instead of being created empty and read as "nothing there"."""
        if self._store is None:
            refuse_missing_sqlite(self.config)
        return self.store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def open_configured_store(config: Config, *, migrate: bool = True) -> Store:
    """Open the store of ``[store] url`` (migrated to the newest schema unless ``migrate=False``).

    A database driver that is not installed (psycopg for postgresql://, ...) is a CommandError that
    says what to install, not an internal error."""
    from sqlalchemy.exc import NoSuchModuleError

    from store.db import open_store

    try:
        return open_store(
            config.store.url or None, migrate=migrate, busy_timeout_ms=config.store.busy_timeout_ms
        )
    except ModuleNotFoundError as exc:
        raise CommandError(missing_driver_message(config.store.url, exc.name or str(exc))) from None
    except NoSuchModuleError:
        raise CommandError(
            f"store: {_shown_url(config.store.url)}: unknown database kind; {SUPPORTED_DATABASES}"
        ) from None


SUPPORTED_DATABASES = (
    "this program supports SQLite (built in) and PostgreSQL (postgresql://..., with the postgres extra: "
    "pip install -e '.[postgres]' in the checkout, or pip install 'hotline-console[postgres]')"
)
# driver module → the extra that installs it
DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg_binary": "postgres"}


def missing_driver_message(url: str, module: str) -> str:
    """One line: which driver ``url`` needs and how to install it."""
    top = module.split(".", 1)[0]
    where = _shown_url(url)
    extra = DRIVER_EXTRAS.get(top)
    if extra is not None:
        return (
            f"store: {where} needs the database driver {top}, which is not installed: "
            f"pip install -e '.[{extra}]' in the checkout, or pip install 'hotline-console[{extra}]'"
        )
    return f"store: {where} needs the database driver {top}, which is not installed; {SUPPORTED_DATABASES}"


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True) if url else "the default SQLite store"


def refuse_missing_sqlite(config: Config) -> None:
    """CommandError when ``[store] url`` (or the default) is a SQLite file that does not exist."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from store.db import default_sqlite_path

    url = config.store.url
    if url:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return
        database = parsed.database or ""
        if database.startswith("file:"):  # a SQLite URI filename (?mode=ro&uri=true)
            database = database[len("file:") :].split("?", 1)[0]
        if not database or database == ":memory:":
            return
        path = Path(database).expanduser()
    else:
        path = default_sqlite_path()
    if not path.is_file():
        raise CommandError(
            f"store: no store at {path} (nothing was created). Point HOTLINE_STORE__URL or [store] url "
            f"at an existing one, e.g. a demo's: hotline demo --data-dir DIR, then "
            f"HOTLINE_STORE__URL=sqlite:///DIR/demo.sqlite3; hotline users add or hotline db upgrade starts a new store"
        )


class _Parser(argparse.ArgumentParser):
    """argparse, with usage mistakes reported in one line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    try:
        return metadata.version("hotline-console")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def build_parser() -> tuple[argparse.ArgumentParser, list[commands.SkippedModule]]:
    parser = _Parser(
        prog="hotline",
        description="Desk software of the 12345/8890 citizen-service hotline.",
        epilog="Configuration: --config FILE, else $HOTLINE_CONFIG, else the user config file; "
        "HOTLINE_<SECTION>__<KEY> overrides one key.",
    )
    parser.add_argument("--config", dest="config_path", metavar="FILE", help="the config.toml to use")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log lines on stderr (-vv: debug)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    skipped = commands.register_all(subparsers)
    return parser, skipped


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, skipped = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)  # set by the subcommand's parser
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # a subcommand may define its own --config (dest "config"); it wins over the global one
    ctx = CommandContext(config_path=getattr(args, "config", None) or args.config_path)
    try:
        return _run(handler, args, argv, ctx, skipped)
    finally:
        ctx.close()


def _run(
    handler: Handler,
    args: argparse.Namespace,
    argv: list[str],
    ctx: CommandContext,
    skipped: list[commands.SkippedModule],
) -> int:
    from store.db import StoreError

    try:
        config = ctx.config
    except ConfigError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    _start_logging(config, args.verbose)
    for module in skipped:
        log.warning("command module skipped", module=module.name, error=module.error)
    log.info("command", command=args.command, argv=argv)
    refused: tuple[type[Exception], ...] = (ConfigError, CommandError, StoreError, *_person_errors())
    try:
        code = handler(args, ctx)
        return EXIT_OK if code is None else int(code)
    except refused as exc:
        log.info("command refused", command=args.command, error=str(exc))
        _fail(str(exc), config.secrets())
        return getattr(exc, "exit_code", EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED)
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        log.exception("command crashed", command=args.command, file_only=True)
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        _fail(
            f"internal error: {type(exc).__name__}: {first_line} (details in {config.logging.resolved_file})",
            config.secrets(),
        )
        return EXIT_INTERNAL


def _person_errors() -> tuple[type[Exception], ...]:
    """Domain errors of the store that a person can cause (each carries a one-line message)."""
    from store.backup import BackupError
    from store.callers import PhoneError
    from store.lifecycle import LifecycleError
    from store.tickets import TicketError
    from store.users import UserError

    return (UserError, LifecycleError, TicketError, BackupError, PhoneError)


def _start_logging(config: Config, verbose: int) -> None:
    try:
        configure_logging(config.logging, cli=True, secrets=config.secrets(), verbosity=verbose)
    except OSError as exc:
        # an unwritable log folder must not stop operations: log to stderr only, say so once
        configure_logging(
            config.logging, cli=True, secrets=config.secrets(), verbosity=verbose, to_file=False
        )
        _fail(f"warning: cannot write the log file {config.logging.resolved_file}: {exc.strerror}")


def _fail(message: str, secrets: Sequence[str] = ()) -> None:
    # one line, whatever the message: a driver's multi-line hint is folded in, not dropped; and the
    # same redaction as the logs (an exception's text may quote a secret or a citizen's number)
    one_line = Redactor(secrets).text(" ".join(message.split()))
    print(f"hotline: {one_line}", file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
