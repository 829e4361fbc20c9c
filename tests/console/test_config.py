"""config.toml → typed models: defaults, documentation, env overrides, secrets and one-line errors."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, RootModel

from console.app import KEYMAP_SCREENS, HotlineApp
from console.config import Config, ConfigError, load_config
from console.keymap import declared, default_keys

ROOT = Path(__file__).resolve().parents[2]
ROOT_CONFIG = ROOT / "config.toml"
SECRET = "Tr0ub4dor&3-not-in-logs"


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # never read the real ~/.config/hotline-console/config.toml
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    message = str(info.value)
    assert "\n" not in message, message
    return message


def keys_of(config: Config) -> dict[str, str]:
    """Every binding id → its key under ``config`` (what the app applies with ``set_keymap``)."""
    return config.keymap.keys_over(default_keys(declared((HotlineApp, *KEYMAP_SCREENS))))


def keymap_error(path: Path | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        keys_of(load_config(path, env=env or {}))
    message = str(info.value)
    assert "\n" not in message, message
    return message


# --- defaults and their documentation ---------------------------------------------------------


def test_no_file_gives_builtin_defaults() -> None:
    config = load_config(env={})
    assert config.source is None
    assert config.model_dump() == Config().model_dump()
    assert config.sip.port == 5060 and config.store.ticket_prefix == "AS" and config.ui.language == "zh_CN"
    assert keys_of(config)["answer"] == "f5" and keys_of(config)["save"] == "ctrl+s"


def test_root_config_toml_holds_exactly_the_defaults() -> None:
    config = load_config(ROOT_CONFIG, env={})
    assert config.source == str(ROOT_CONFIG)
    assert config.model_dump() == Config().model_dump()


def _tables(text: str) -> dict[str, list[tuple[str, str]]]:
    """{table header: [(key, previous non-blank line)]} of a TOML text, in order."""
    tables: dict[str, list[tuple[str, str]]] = {}
    header, previous = "", ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("["):
            header = line
            tables.setdefault(header, [])
        elif not line.startswith("#"):
            key = line.split("=", 1)[0].strip()
            tables.setdefault(header, []).append((key, previous))
        previous = line
    return tables


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_root_config_toml_documents_every_key() -> None:
    text = ROOT_CONFIG.read_text(encoding="utf-8")
    tables = _tables(text)
    for section, field in Config.model_fields.items():
        keys = [key for key, _ in tables[f"[{section}]"]]
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        if issubclass(model, RootModel):  # [keymap]: a table of free keys, checked below
            continue
        nested = {
            name
            for name, f in model.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
        }
        listed_tables = {name for name in model.model_fields if f"[[{section}.{name}]]" in tables}
        assert set(keys) | {n for n in nested if f"[{section}.{n}]" in tables} | listed_tables == _fields(
            model
        ), section
        for key, previous in tables[f"[{section}]"]:
            assert previous.startswith("#"), f"{section}.{key} has no comment above it"
    # nested tables: every key commented too
    for key, previous in tables["[deadlines.default]"]:
        assert previous.startswith("#"), f"deadlines.default.{key}"


def test_toml_section_list_is_complete() -> None:
    data = tomllib.loads(ROOT_CONFIG.read_text(encoding="utf-8"))
    assert list(data) == list(Config.model_fields)
    for name in (
        "operator",
        "sip",
        "store",
        "backend",
        "sync",
        "taxonomy",
        "ui",
        "keymap",
        "recording",
        "logging",
        "deadlines",
    ):
        assert name in data


# --- choosing the file --------------------------------------------------------------------------


def test_hotline_config_picks_another_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[sip]\nport = 5080\n[ui]\nlanguage = "en"\n')
    config = load_config(env={"HOTLINE_CONFIG": str(path)})
    assert config.sip.port == 5080 and config.ui.language == "en"
    assert config.sip.server == "127.0.0.1"  # untouched keys keep their defaults
    assert config.source == str(path)


def test_explicit_path_beats_hotline_config(tmp_path: Path) -> None:
    a = write(tmp_path, "[sip]\nport = 5081\n", "a.toml")
    b = write(tmp_path, "[sip]\nport = 5082\n", "b.toml")
    assert load_config(a, env={"HOTLINE_CONFIG": str(b)}).sip.port == 5081


def test_user_config_file_is_used_when_present(tmp_path: Path) -> None:
    user = tmp_path / "xdg-config" / "hotline-console" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[ui]\nfps = 12\n", encoding="utf-8")
    assert load_config(env={}).ui.fps == 12


def test_missing_explicit_file(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nope.toml")
    assert "nope.toml" in message and "not found" in message


def test_missing_file_from_hotline_config(tmp_path: Path) -> None:
    message = load_error(env={"HOTLINE_CONFIG": str(tmp_path / "gone.toml")})
    assert "gone.toml" in message and "HOTLINE_CONFIG" in message


# --- environment overrides --------------------------------------------------------------------


def test_env_overrides_are_parsed_to_the_right_type(tmp_path: Path) -> None:
    path = write(tmp_path, "[sip]\nport = 5080\n")
    config = load_config(
        path,
        env={
            "HOTLINE_SIP__PORT": "5090",
            "HOTLINE_SIP__REGISTRAR_ONLY_INBOUND": "false",
            "HOTLINE_SYNC__INTERVAL": "0.5",
            "HOTLINE_OPERATOR__PAUSE_REASONS": "小休, 用餐",
            "HOTLINE_SIP__CODECS": '["PCMU"]',
            "HOTLINE_LOGGING__LEVEL": "debug",
            "HOTLINE_DEADLINES__EXTRA_HOLIDAYS": "2027-01-01,2027-02-06",
            "HOTLINE_DEADLINES__DEFAULT": '{"amount": 7, "unit": "working_days"}',
            "HOTLINE_STORE__URL": "sqlite:////tmp/x.sqlite3",
            "HOTLINE_REQUIRE_PG": "1",  # other HOTLINE_ variables (no "__") are not config keys
        },
    )
    assert config.sip.port == 5090
    assert config.sip.registrar_only_inbound is False
    assert config.sync.interval == 0.5
    assert config.operator.pause_reasons == ["小休", "用餐"]
    assert config.sip.codecs == ["PCMU"]
    assert config.logging.level == "DEBUG"
    assert config.deadlines.extra_holidays == (dt.date(2027, 1, 1), dt.date(2027, 2, 6))
    assert config.deadlines.default.amount == 7
    assert config.store.url == "sqlite:////tmp/x.sqlite3"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"HOTLINE_SIP__PORT": "abc"},
            '$HOTLINE_SIP__PORT: sip.port: expected an integer 1-65535, got "abc"',
        ),
        ({"HOTLINE_SIP__PROT": "5060"}, "$HOTLINE_SIP__PROT: sip.prot: unknown key (did you mean port?)"),
        ({"HOTLINE_SIPP__PORT": "5060"}, "$HOTLINE_SIPP__PORT: sipp: unknown section (did you mean sip?)"),
        (
            {"HOTLINE_SYNC__ENABLED": "maybe"},
            '$HOTLINE_SYNC__ENABLED: sync.enabled: expected true or false, got "maybe"',
        ),
        (
            {"HOTLINE_UI__LANGUAGE": "fr"},
            '$HOTLINE_UI__LANGUAGE: ui.language: expected one of "zh_CN", "en", got "fr"',
        ),
        (
            {"HOTLINE_SIP__CODECS": "G729"},
            '$HOTLINE_SIP__CODECS: sip.codecs[0]: expected one of "PCMA", "PCMU", got "G729"',
        ),
    ],
)
def test_bad_env_value_names_the_variable_and_key(env: dict[str, str], expected: str) -> None:
    assert load_error(env=env) == expected


# --- one-line errors from the file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sip]\nport = "abc"\n', 'config.toml: sip.port: expected an integer 1-65535, got "abc"'),
        ("[sip]\nport = 70000\n", "config.toml: sip.port: expected an integer 1-65535, got 70000"),
        ("[sip]\nprot = 5060\n", "config.toml: sip.prot: unknown key (did you mean port?)"),
        ("[sipp]\nport = 5060\n", "config.toml: sipp: unknown key (did you mean sip?)"),
        (
            '[store]\nticket_prefix = "as"\n',
            'config.toml: store.ticket_prefix: expected a string matching ^[A-Z]{1,4}$, got "as"',
        ),
        (
            "[sip]\nrtp_port_min = 30000\nrtp_port_max = 20000\n",
            "config.toml: sip.rtp_port_max: expected rtp_port_min <= rtp_port_max",
        ),
        (
            '[keymap]\nanswer = "F5!"\n',
            'config.toml: keymap.answer: expected a key name like f5, ctrl+s or escape, got "F5!"',
        ),
        (
            '[logging]\nlevel = "LOUD"\n',
            'config.toml: logging.level: expected one of "DEBUG", "INFO", "WARNING", "ERROR", got "LOUD"',
        ),
        ("[ui]\nfps = 1.5\n", "config.toml: ui.fps: expected an integer 1-120, got 1.5"),
        ("[sync]\ninterval = 0\n", "config.toml: sync.interval: expected a number > 0, got 0"),
        (
            '[operator]\npause_reasons = "coffee"\n',
            'config.toml: operator.pause_reasons: expected a list of strings, got "coffee"',
        ),
        ("sip = 5\n", "config.toml: sip: expected a table, got 5"),
        (
            '[deadlines]\n[[deadlines.rules]]\namount = 2\nunit = "weeks"\n',
            'config.toml: deadlines.rules[0].unit: expected one of "hours", "calendar_days", "working_days", got "weeks"',
        ),
        (
            '[backend]\nurl = "ftp://x"\n',
            'config.toml: backend.url: expected an http:// or https:// URL, got "ftp://x"',
        ),
    ],
)
def test_bad_file_value_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert load_error(path) == expected.replace("config.toml", str(path), 1)


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[sip]\nport = = 5\n")
    message = load_error(path)
    assert message.startswith(f"{path}: invalid TOML") and "line 2" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[ui]\ntheme = "\xff\xfe"\n')
    assert load_error(path).startswith(f"{path}: invalid TOML")


# --- secrets --------------------------------------------------------------------------------


def _assert_hidden(config: Config) -> None:
    for text in (
        repr(config),
        str(config),
        repr(config.sip),
        config.model_dump_json(),
        str(config.model_dump()),
    ):
        assert SECRET not in text


def test_secret_from_environment_is_hidden() -> None:
    config = load_config(env={"HOTLINE_SIP__PASSWORD": SECRET, "HOTLINE_BACKEND__API_KEY": SECRET + "k"})
    assert config.sip.password.get_secret_value() == SECRET
    assert config.backend.api_key.get_secret_value() == SECRET + "k"
    _assert_hidden(config)
    assert set(config.secrets()) == {SECRET, SECRET + "k"}


def test_secret_from_file(tmp_path: Path) -> None:
    secret_file = write(tmp_path, SECRET + "\n", "sip.pass")
    key_file = write(tmp_path, "api-" + SECRET, "api.key")
    path = write(
        tmp_path, f'[sip]\npassword_file = "{secret_file}"\n[backend]\napi_key_file = "{key_file}"\n'
    )
    config = load_config(path, env={})
    assert config.sip.password.get_secret_value() == SECRET
    assert config.backend.api_key.get_secret_value() == "api-" + SECRET
    _assert_hidden(config)


def test_secret_file_from_environment(tmp_path: Path) -> None:
    secret_file = write(tmp_path, SECRET, "sip.pass")
    config = load_config(env={"HOTLINE_SIP__PASSWORD_FILE": str(secret_file)})
    assert config.sip.password.get_secret_value() == SECRET


def test_secret_never_in_an_error_message(tmp_path: Path) -> None:
    # a wrong type for the secret itself
    path = write(tmp_path, f'[sip]\npassword = ["{SECRET}"]\n')
    message = load_error(path)
    assert SECRET not in message and message.startswith(f"{path}: sip.password: expected a string")
    # another error in the section that holds the secret
    path = write(tmp_path, f'[sip]\npassword = "{SECRET}"\nrtp_port_min = 9\nrtp_port_max = 8\n')
    assert SECRET not in load_error(path)
    path = write(tmp_path, f'[sip]\npassword = "{SECRET}"\n')
    assert SECRET not in load_error(path, env={"HOTLINE_SIP__EXPIRES": "1"})
    # a section given as a scalar must not be echoed either
    assert SECRET not in load_error(env={"HOTLINE_SIP__PASSWORD": SECRET, "HOTLINE_SIP__PORT": "-1"})


def test_store_url_password_counts_as_secret() -> None:
    config = load_config(env={"HOTLINE_STORE__URL": f"postgresql://hotline:{SECRET}@db.example/hotline"})
    assert SECRET in config.secrets()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("both", "sip.password_file: expected either sip.password or sip.password_file, not both"),
        ("missing", "sip.password_file: cannot read"),
        ("empty", "sip.password_file: expected a non-empty secret"),
    ],
)
def test_bad_secret_file(tmp_path: Path, setup: str, expected: str) -> None:
    secret_file = tmp_path / "sip.pass"
    if setup != "missing":
        secret_file.write_text("" if setup == "empty" else SECRET, encoding="utf-8")
    extra = f'password = "{SECRET}"\n' if setup == "both" else ""
    path = write(tmp_path, f'[sip]\n{extra}password_file = "{secret_file}"\n')
    message = load_error(path)
    assert expected in message and SECRET not in message


def test_config_is_immutable() -> None:
    config = load_config(env={})
    with pytest.raises(Exception, match=re.compile("frozen", re.I)):
        config.sip.port = 1  # type: ignore[misc]


def test_logging_a_config_never_shows_its_secrets(tmp_path: Path) -> None:
    import structlog

    from console.logs import configure_logging, reset_logging

    config = load_config(
        env={"HOTLINE_SIP__PASSWORD": SECRET, "HOTLINE_LOGGING__FILE": str(tmp_path / "h.log")}
    )
    configure_logging(config.logging, cli=False, secrets=config.secrets())
    try:
        log = structlog.get_logger("t")
        log.info(
            "config loaded", config=config, sip=config.sip.model_dump(), as_json=config.model_dump_json()
        )
        log.info("raw value, e.g. a debug print of a SIP line", line=f"REGISTER user=1001 {SECRET}")
    finally:
        reset_logging()
    text = (tmp_path / "h.log").read_text(encoding="utf-8")
    assert "config loaded" in text and SECRET not in text


# --- [keymap]: binding ids declared by the screens ------------------------------------------------

KEYMAP_ENTRY = re.compile(r'^# ([a-z_]+) = "([^"]*)"$')


def test_root_config_toml_documents_every_binding_with_its_default_key() -> None:
    """[keymap] lists, commented out, every id the screens declare with its real default key."""
    lines = ROOT_CONFIG.read_text(encoding="utf-8").split("[keymap]\n", 1)[1].split("\n[", 1)[0].splitlines()
    documented: dict[str, str] = {}
    for previous, line in itertools.pairwise(lines):
        if found := KEYMAP_ENTRY.match(line):
            assert previous.startswith("#") and not KEYMAP_ENTRY.match(previous), f"{found[1]} has no comment"
            documented[found[1]] = found[2]
    assert documented == keys_of(Config())
    assert load_config(ROOT_CONFIG, env={}).keymap.root == {}  # every entry is a default: none active


def test_declared_bindings_have_distinct_keys_and_one_key_per_id() -> None:
    owners = (HotlineApp, *KEYMAP_SCREENS)
    bindings = declared(owners)
    assert {"help", "quit", "palette", "answer", "hangup", "save", "search", "worklists_dial"} <= set(
        bindings
    )
    keys = default_keys(bindings)
    assert len(set(keys.values())) == len(keys)  # the defaults pass the duplicate check themselves
    for owner in owners:  # an id declared twice ("save": the form's and the worklists') has one key
        for binding in owner.BINDINGS:
            assert not isinstance(binding, tuple)
            if binding.id is not None:
                assert binding.key == keys[binding.id], binding.id


def test_keymap_moves_a_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[keymap]\nanswer = "ctrl+a"\nworklists_dial = "x"\n')
    keys = keys_of(load_config(path, env={}))
    assert keys["answer"] == "ctrl+a" and keys["worklists_dial"] == "x" and keys["hangup"] == "f8"
    assert keys_of(load_config(env={"HOTLINE_KEYMAP__HANGUP": "ctrl+e"}))["hangup"] == "ctrl+e"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[keymap]\nsave = "f5"\n', "config.toml: keymap.save: expected a key not already bound to answer"),
        (
            '[keymap]\nanswer = "f8"\n',
            "config.toml: keymap.answer: expected a key not already bound to hangup",
        ),
        ('[keymap]\nanser = "f5"\n', "config.toml: keymap.anser: unknown key (did you mean answer?)"),
        (
            '[keymap]\nworklists_dail = "x"\n',
            "config.toml: keymap.worklists_dail: unknown key (did you mean worklists_dial?)",
        ),
        (
            "[keymap]\nanswer = 5\n",
            "config.toml: keymap.answer: expected a key name like f5, ctrl+s or escape, got 5",
        ),
        ("keymap = 5\n", "config.toml: keymap: expected a table, got 5"),
    ],
)
def test_bad_keymap_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)  # a bad value load_config refuses; a bad id or key, keys_over
    assert keymap_error(path) == expected.replace("config.toml", str(path), 1)


def test_bad_keymap_from_the_environment_names_the_variable() -> None:
    assert keymap_error(env={"HOTLINE_KEYMAP__SAVE": "f5"}) == (
        "$HOTLINE_KEYMAP__SAVE: keymap.save: expected a key not already bound to answer"
    )
    assert keymap_error(env={"HOTLINE_KEYMAP__HELPP": "f1"}) == (
        "$HOTLINE_KEYMAP__HELPP: keymap.helpp: unknown key (did you mean help?)"
    )
