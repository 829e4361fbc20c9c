"""Typed configuration: config.toml (tomllib) → pydantic models, with env overrides and secrets.

Where the file comes from (first match wins): the ``path`` argument (the CLI's ``--config``),
``$HOTLINE_CONFIG``, ``<user config dir>/hotline-console/config.toml`` if it exists, else the built-in
defaults (documented, key by key, by ``config.toml`` at the repository root).

``HOTLINE_<SECTION>__<KEY>`` environment variables override single keys; the value is parsed to the
key's type (lists: JSON or comma-separated). Secrets (``sip.password``, ``backend.api_key``) may also
come from a separate file (``sip.password_file``, ``backend.api_key_file``); they are ``SecretStr``, so
they never appear in a repr, a log line or an error message.

Every mistake raises ``ConfigError`` with one line naming the source, the key and what was expected:
``config.toml: sip.port: expected an integer 1-65535, got "abc"``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import platformdirs
from annotated_types import Ge, Gt, Le, Lt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    RootModel,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url

from store.deadlines import DeadlinePolicy

APP_NAME = "hotline-console"
ENV_CONFIG = "HOTLINE_CONFIG"
ENV_PREFIX = "HOTLINE_"
# (section, key) pairs holding secrets: their values are never echoed back in an error.
SECRET_KEYS = frozenset({("sip", "password"), ("backend", "api_key")})


class ConfigError(Exception):
    """A configuration mistake, explained in one line (file, section.key, what was expected)."""


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_log_file() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)) / "hotline.log"


def default_recording_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "recordings"


def _empty_to_none(value: Any) -> Any:
    # TOML has no null: an empty string means "not set, use the default".
    return None if value == "" else value


OptionalPath = Annotated[Path | None, BeforeValidator(_empty_to_none)]
Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0)]
_KEY_RE = re.compile(r"^((ctrl|alt|shift|meta|super)\+)*[a-z0-9_]+$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class OperatorConfig(Section):
    username: str = ""
    seat: str = ""
    pause_reasons: list[str] = Field(default_factory=lambda: ["小休", "用餐", "培训", "会议", "回访", "其他"])

    @field_validator("pause_reasons")
    @classmethod
    def _non_empty_reasons(cls, value: list[str]) -> list[str]:
        if not value or any(not r.strip() for r in value):
            raise ValueError("expected a non-empty list of non-empty reasons")
        return value


# the codecs telephony.sip.config.Codec knows; named here so reading the config needs no SIP import
SipCodec = Literal["PCMA", "PCMU"]


class SipConfig(Section):
    enabled: bool = False
    server: str = "127.0.0.1"
    port: Port = 5060
    username: str = ""
    password: SecretStr = SecretStr("")
    password_file: OptionalPath = None
    auth_username: str = ""
    domain: str = ""
    display_name: str = ""
    bind_ip: str = "127.0.0.1"
    sip_port: Port = 5070  # not 5060: a PBX on the same machine (demos, tests) has that one
    rtp_port_min: Port = 20000
    rtp_port_max: Port = 20999
    expires: Annotated[int, Field(ge=60, le=86400)] = 300
    registrar_only_inbound: bool = True
    codecs: list[SipCodec] = Field(default_factory=lambda: list[SipCodec](("PCMA", "PCMU")))
    dtmf_mode: Literal["rfc4733", "inband"] = "rfc4733"
    register_timeout: Seconds = 10.0
    audio_device: str = ""  # "" = no local sound device (needs the [audio] extra)

    @field_validator("codecs")
    @classmethod
    def _some_codec(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one codec (PCMA, PCMU)")
        return value

    @model_validator(mode="after")
    def _rtp_range(self) -> Self:
        if self.rtp_port_min > self.rtp_port_max:
            raise ValueError("rtp_port_max: expected rtp_port_min <= rtp_port_max")
        return self


class StoreConfig(Section):
    url: str = ""
    ticket_prefix: str = Field(default="AS", pattern=r"^[A-Z]{1,4}$")
    busy_timeout_ms: Annotated[int, Field(ge=0, le=600_000)] = 5000

    @field_validator("url")
    @classmethod
    def _sqlalchemy_url(cls, value: str) -> str:
        if value:
            try:
                make_url(value)
            except Exception:
                raise ValueError(
                    "expected a SQLAlchemy URL like sqlite:///path or postgresql://host/db"
                ) from None
        return value

    def url_password(self) -> str | None:
        """The password inside the URL, if any (kept out of logs)."""
        return make_url(self.url).password if self.url else None


class BackendConfig(Section):
    url: str = ""
    api_key: SecretStr = SecretStr("")
    api_key_file: OptionalPath = None
    jurisdiction_id: str = ""
    timeout: Seconds = 10.0
    ca_file: OptionalPath = None  # PEM of the CA of an https backend's certificate (None: the system's)

    @field_validator("ca_file")
    @classmethod
    def _readable_pem(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"expected a PEM file of certificate authorities, and {value} is not a file")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value


class SyncConfig(Section):
    enabled: bool = False
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 50
    interval: Seconds = 5.0
    backoff_base: Seconds = 2.0
    backoff_max: Seconds = 300.0
    attention_after_attempts: Annotated[int, Field(ge=1)] = 20
    breaker_failures: Annotated[int, Field(ge=1)] = 5
    breaker_reset: Seconds = 60.0

    @model_validator(mode="after")
    def _backoff_order(self) -> Self:
        if self.backoff_base > self.backoff_max:
            raise ValueError("backoff_max: expected backoff_base <= backoff_max")
        return self


class TaxonomyConfig(Section):
    path: OptionalPath = None
    result_limit: Annotated[int, Field(ge=1, le=100)] = 9  # digits 1-9 pick them all
    recent_boost: Annotated[float, Field(ge=0, le=10)] = 0.3
    popularity_boost: Annotated[float, Field(ge=0, le=10)] = 0.1
    recent_window_days: Annotated[int, Field(ge=1, le=3650)] = 30
    # the departments file (TSV: id, name, kind, phone); its phone numbers fill the transfer list
    departments: OptionalPath = None

    @field_validator("departments")
    @classmethod
    def _departments_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"expected a departments file (TSV), and {value} is not a file")
        return value


class UiConfig(Section):
    language: Literal["zh_CN", "en"] = "zh_CN"
    theme: str = "textual-dark"
    fps: Annotated[int, Field(ge=1, le=120)] = 60
    disable_kitty_keyboard: bool = False
    wrapup_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    duplicate_window_hours: Annotated[int, Field(ge=0, le=24 * 90)] = 72
    # the hotline's name on the login screen and the title: "8890 热线话务台" (Anshan's line)
    product_name: str = "8890"

    @field_validator("product_name")
    @classmethod
    def _short_name(cls, value: str) -> str:
        if not value.strip() or value != value.strip() or len(value) > 16 or not value.isprintable():
            raise ValueError("expected 1-16 printable characters, no leading or trailing space")
        return value


class DemoConfig(Section):
    """``[demo]``: the simulated line of ``hotline demo`` and ``hotline console --sim``."""

    # seconds between two calls, drawn between these bounds: one operator keeps up at 60-120 (about
    # 75 s a call: talk, ticket, wrap-up)
    call_interval_min: Annotated[float, Field(ge=1, le=3600)] = 60.0
    call_interval_max: Annotated[float, Field(ge=1, le=3600)] = 120.0
    # stress mode: calls every 8-20 s, so the queue grows and callers abandon it
    busy: bool = False

    @model_validator(mode="after")
    def _interval_range(self) -> Self:
        if self.call_interval_min > self.call_interval_max:
            raise ValueError("call_interval_max: expected call_interval_min <= call_interval_max")
        return self


def _key_name(value: object) -> str:
    if not isinstance(value, str) or not _KEY_RE.match(value):
        raise ValueError("expected a key name like f5, ctrl+s or escape")
    return value


KeyName = Annotated[str, BeforeValidator(_key_name)]


class KeymapConfig(RootModel[dict[str, KeyName]]):
    """``[keymap]``: binding id → key (Textual key names: f5, ctrl+s, escape ...), only for the
    bindings to move. The ids and their default keys are the ``BINDINGS`` the screens declare
    (``console.keymap.declared``); :meth:`keys_over` checks this table against them."""

    model_config = ConfigDict(frozen=True)

    root: dict[str, KeyName] = Field(default_factory=dict)
    # where each entry came from (the file, or the $HOTLINE_KEYMAP__<ID> variable), for the errors
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    def keys_over(self, defaults: Mapping[str, str]) -> dict[str, str]:
        """Every binding id → its key: ``defaults`` (id → declared key) with this table's changes.

        ConfigError (naming the source and the key) when an id is not a declared binding or when
        two bindings end up on one key; the binding that moved is the one blamed."""
        for binding_id in self.root:
            if binding_id not in defaults:
                raise ConfigError(
                    f"{self._where(binding_id)}: keymap.{binding_id}: unknown key"
                    f"{_did_you_mean(binding_id, list(defaults))}"
                )
        keys = {**defaults, **self.root}
        seen: dict[str, str] = {}
        moved_last = [*(b for b in defaults if b not in self.root), *self.root]
        for binding_id in moved_last:
            key = keys[binding_id]
            if key in seen:
                raise ConfigError(
                    f"{self._where(binding_id)}: keymap.{binding_id}: "
                    f"expected a key not already bound to {seen[key]}"
                )
            seen[key] = binding_id
        return keys

    def _where(self, binding_id: str) -> str:
        return self._sources.get(binding_id, "the configuration")


class RecordingConfig(Section):
    enabled: bool = False
    directory: OptionalPath = None

    @property
    def resolved_directory(self) -> Path:
        return self.directory or default_recording_dir()


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]


class LoggingConfig(Section):
    level: LogLevel = "INFO"
    console_level: LogLevel = "WARNING"
    file: OptionalPath = None
    max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    backups: Annotated[int, Field(ge=0, le=100)] = 5

    @property
    def resolved_file(self) -> Path:
        return self.file or default_log_file()


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    sip: SipConfig = Field(default_factory=SipConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    taxonomy: TaxonomyConfig = Field(default_factory=TaxonomyConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    keymap: KeymapConfig = Field(default_factory=KeymapConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    deadlines: DeadlinePolicy = Field(default_factory=DeadlinePolicy)

    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this configuration was read from (None: built-in defaults)."""
        return self._source

    def secrets(self) -> list[str]:
        """Every secret value in this configuration, for the log redactor."""
        values = [self.sip.password.get_secret_value(), self.backend.api_key.get_secret_value()]
        values.append(self.store.url_password() or "")
        return [v for v in values if v]


# ---------------------------------------------------------------------------------------------
# loading


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Load the configuration (see the module docstring for where it comes from)."""
    file = _choose_file(path, env)
    label = str(file) if file else "built-in defaults"
    data = _read_toml(file, label) if file else {}
    sources: dict[tuple[str, ...], str] = {}
    _apply_env_overrides(data, env, sources, label)
    _read_secret_files(data, sources, label)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, sources, label) from None
    config._source = str(file) if file else None
    config.keymap._sources = {bid: sources.get(("keymap", bid), label) for bid in config.keymap.root}
    return config


def _choose_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        chosen, why = Path(path), "given with --config"
    elif env.get(ENV_CONFIG):
        chosen, why = Path(env[ENV_CONFIG]), f"from {ENV_CONFIG}"
    else:
        user_file = default_config_path()
        return user_file if user_file.is_file() else None
    if not chosen.is_file():
        raise ConfigError(f"{chosen}: config file not found ({why})")
    return chosen


def _read_toml(file: Path, label: str) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: invalid TOML: the file is not UTF-8 text") from None


def _section_models() -> dict[str, type[BaseModel]]:
    return {name: _model_of(field.annotation) for name, field in Config.model_fields.items()}


def _model_of(annotation: Any) -> type[BaseModel]:
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation


def _apply_env_overrides(
    data: dict[str, Any], env: Mapping[str, str], sources: dict[tuple[str, ...], str], label: str
) -> None:
    sections = _section_models()
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section not in sections:
            raise ConfigError(f"${name}: {section}: unknown section{_did_you_mean(section, sections)}")
        model = sections[section]
        fields = model.model_fields
        if issubclass(model, RootModel):  # a table of free keys ([keymap]): checked where it is used
            value: Any = env[name]
        elif key not in fields:
            raise ConfigError(f"${name}: {section}.{key}: unknown key{_did_you_mean(key, fields)}")
        else:
            value = _parse_env_value(env[name], fields[key].annotation)
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{label}: {section}: expected a table [{section}]")
        target[key] = value
        sources[(section, key)] = f"${name}"


def _parse_env_value(raw: str, annotation: Any) -> Any:
    """A string from the environment, shaped for the field (pydantic's lax mode does the rest)."""
    if _is_container(annotation):
        text = raw.strip()
        if text.startswith(("[", "{")):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw  # pydantic reports the type mismatch with the key's name
        return [part.strip() for part in text.split(",") if part.strip()]
    return raw


def _is_container(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _is_container(typing.get_args(annotation)[0])
    if origin in (list, tuple, set, frozenset, dict):
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


_SECRET_FILES = {("sip", "password_file"): "password", ("backend", "api_key_file"): "api_key"}


def _read_secret_files(data: dict[str, Any], sources: dict[tuple[str, ...], str], label: str) -> None:
    for (section, file_key), secret_key in _SECRET_FILES.items():
        table = data.get(section)
        if not isinstance(table, dict) or not table.get(file_key):
            continue
        where = sources.get((section, file_key), label)
        if table.get(secret_key):
            raise ConfigError(
                f"{where}: {section}.{file_key}: expected either {section}.{secret_key} or "
                f"{section}.{file_key}, not both"
            )
        file = Path(str(table[file_key])).expanduser()
        try:
            secret = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where}: {section}.{file_key}: cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: {section}.{file_key}: expected a UTF-8 text file: {file}") from None
        if not secret:
            raise ConfigError(f"{where}: {section}.{file_key}: expected a non-empty secret in {file}")
        table[secret_key] = secret
        sources[(section, secret_key)] = where


# ---------------------------------------------------------------------------------------------
# one-line error messages


def _did_you_mean(word: str, choices: Mapping[str, Any] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else f" (expected one of: {', '.join(choices)})"


def _explain(
    exc: ValidationError, data: dict[str, Any], sources: dict[tuple[str, ...], str], label: str
) -> ConfigError:
    err = exc.errors(include_url=False)[0]
    loc = tuple(str(p) for p in err["loc"])
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    if err["type"] == "value_error" and ": expected" in message and loc and _model_at(loc):
        # a model-level check names its key: "rtp_port_min: expected rtp_port_min <= rtp_port_max"
        sub, _, message = message.partition(": ")
        loc = (*loc, sub)
        where = sources.get(loc[:2]) or _any_source(sources, loc[0]) or label
        return ConfigError(f"{where}: {_dotted(loc)}: {message}")
    value = err.get("input")
    key = _dotted(loc)
    where = sources.get(loc[:2], label)
    if err["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        fields = list(parent.model_fields) if parent else []
        return ConfigError(f"{where}: {key}: unknown key{_did_you_mean(loc[-1], fields)}")
    if err["type"] == "missing":
        return ConfigError(f"{where}: {key}: missing required key")
    expected = message if err["type"] == "value_error" else "expected " + (_describe_at(loc) or message)
    if loc[:2] in SECRET_KEYS:
        return ConfigError(f"{where}: {key}: {expected}, got a value (hidden)")
    if _model_at(loc) is not None and isinstance(value, dict | list):
        return ConfigError(f"{where}: {key}: {expected}")  # a whole table: never echo it (secrets)
    return ConfigError(f"{where}: {key}: {expected}, got {_show(value)}")


def _dotted(loc: tuple[str, ...]) -> str:
    if not loc:
        return "(top level)"
    text = loc[0]
    for part in loc[1:]:
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def _any_source(sources: dict[tuple[str, ...], str], section: str) -> str | None:
    return next((where for (sec, *_rest), where in sorted(sources.items()) if sec == section), None)


def _unwrap(annotation: Any) -> Any:
    """The model class inside Model, Model | None or list[Model]; else None."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _unwrap(args[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        found = [_unwrap(a) for a in args if a is not type(None)]
        return next((m for m in found if m is not None), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _walk(loc: tuple[str, ...]) -> tuple[type[BaseModel] | None, Any]:
    """Follow ``loc`` from Config: (the model it ends in, or None; the last field passed)."""
    model: type[BaseModel] | None = Config
    field = None
    for part in loc:
        if model is None:
            if part.isdigit():
                continue
            return None, None
        if part.isdigit():
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None, None
        model = _unwrap(field.annotation)
    return model, field


def _model_at(loc: tuple[str, ...]) -> type[BaseModel] | None:
    """The model class that ``loc`` designates (a section, a nested table), or None for a plain value."""
    return _walk(loc)[0]


def _describe_at(loc: tuple[str, ...]) -> str | None:
    """What the value at ``loc`` should be; for a list element, what each element should be."""
    trimmed = loc
    while trimmed and trimmed[-1].isdigit():
        trimmed = trimmed[:-1]
    field = _walk(trimmed)[1] if trimmed else None
    if field is None:
        return None
    annotation, metadata = field.annotation, list(field.metadata)
    for _index in loc[len(trimmed) :]:
        while typing.get_origin(annotation) is Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata = [*metadata, *extra]
        if typing.get_origin(annotation) in (list, tuple, set, frozenset) and typing.get_args(annotation):
            annotation, metadata = typing.get_args(annotation)[0], []
    return _describe(annotation, metadata)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(annotation: Any, metadata: list[Any]) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _describe(args[0], [*metadata, *args[1:]])
    if origin in (typing.Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _describe(real[0], metadata) + " (or empty)" if len(real) == 1 else "a value"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (list, tuple, set, frozenset):
        return "a list of " + _plural(_describe(args[0], []) if args else "values")
    if origin is dict:
        return "a table"
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        noun = "an integer" if annotation is int else "a number"
        return noun + _range(metadata)
    if annotation is SecretStr or annotation is str:
        pattern = next((getattr(m, "pattern", None) for m in metadata if getattr(m, "pattern", None)), None)
        return f"a string matching {pattern}" if pattern else "a string"
    if annotation is Path:
        return "a file path"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table"
    return "a valid value"


def _plural(noun: str) -> str:
    for article in ("an ", "a "):
        if noun.startswith(article):
            word = noun[len(article) :]
            return (
                word.replace("string", "strings").replace("integer", "integers").replace("number", "numbers")
            )
    return noun


def _range(metadata: list[Any]) -> str:
    low: object = None
    high: object = None
    low_open = high_open = False
    for m in metadata:
        if isinstance(m, Ge):
            low = m.ge
        elif isinstance(m, Gt):
            low, low_open = m.gt, True
        elif isinstance(m, Le):
            high = m.le
        elif isinstance(m, Lt):
            high, high_open = m.lt, True
    if low is not None and high is not None and not (low_open or high_open):
        return f" {low}-{high}"
    parts = []
    if low is not None:
        parts.append(f"> {low}" if low_open else f">= {low}")
    if high is not None:
        parts.append(f"< {high}" if high_open else f"<= {high}")
    return " " + " and ".join(parts) if parts else ""
