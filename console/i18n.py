"""Screen texts in zh_CN (the default) and English, read from the locale files.

Every UI text lives in ``console/locales/<language>.toml``, one flat table of ``"area.thing" = "text"``
(translators get one file per language). The app reads them once into a :class:`Translator` and hands
it to every screen and widget. A key missing in English falls back to Chinese, and a key missing
everywhere shows as itself so a gap is visible on screen rather than crashing a call;
``tests/console/test_locales.py`` keeps both files complete and in step with the code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from store.workcal import SHANGHAI

Language = Literal["zh_CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh_CN", "en")
FALLBACK: Language = "zh_CN"
LOCALES_DIR = Path(__file__).with_name("locales")

Texts = Mapping[Language, Mapping[str, str]]


class LocaleError(ValueError):
    """A locale file that cannot be used (unreadable, not TOML, or not a table of texts)."""


def local_minute(moment: dt.datetime) -> str:
    """A moment as the screens show it: month, day and minute on the Anshan wall clock (``11-28 10:00``)."""
    return moment.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def read_locale(path: Path) -> dict[str, str]:
    """The texts of one locale file; :class:`LocaleError` names the file and what is wrong with it."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise LocaleError(f"cannot read locale file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LocaleError(f"locale file {path} is not valid TOML: {exc}") from exc
    wrong = [key for key, text in data.items() if not isinstance(text, str)]
    if wrong:
        raise LocaleError(
            f"locale file {path}: every entry must be a quoted key with a string, "
            f'e.g. "status.line" = "…"; not texts: {", ".join(sorted(wrong))}'
        )
    return data


def read_locales(directory: Path = LOCALES_DIR) -> dict[Language, dict[str, str]]:
    """The texts of every language, from ``<directory>/<language>.toml``."""
    return {language: read_locale(directory / f"{language}.toml") for language in LANGUAGES}


@dataclass(frozen=True)
class Translator:
    """Looks texts up by key in the chosen language; ``t("k", n=3)`` formats ``{n}`` placeholders."""

    language: Language = FALLBACK
    texts: Texts = field(default_factory=dict)

    @classmethod
    def load(cls, language: Language, directory: Path = LOCALES_DIR) -> Translator:
        """Read the locale files of ``directory`` (once per app: screens share the instance)."""
        if language not in LANGUAGES:
            raise LocaleError(f"unknown language {language!r}; expected one of {LANGUAGES}")
        return cls(language, read_locales(directory))

    def t(self, key: str, **values: object) -> str:
        text = self.texts.get(self.language, {}).get(key)
        if text is None:
            text = self.texts.get(FALLBACK, {}).get(key, key)
        return text.format(**values) if values else text

    def label(self, kind: str, identity: str) -> str:
        """The label of a domain word (``kind.identity``, e.g. ``agent_state.ready``), or the identity
        itself when the locale files have none: codes stored in Chinese read as themselves."""
        key = f"{kind}.{identity}"
        text = self.texts.get(self.language, {}).get(key)
        if text is None:
            text = self.texts.get(FALLBACK, {}).get(key, identity)
        return text
