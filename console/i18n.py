"""Screen texts in zh_CN (the default) and English.

Each console module keeps its own catalogue, ``{"zh_CN": {key: text}, "en": {key: text}}``, next to
the widgets that show it, and builds a :class:`Translator` from the catalogues it needs. A key missing
in English falls back to Chinese, and a key missing everywhere shows as itself so a gap is visible on
screen rather than crashing a call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from store.workcal import SHANGHAI

Language = Literal["zh_CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh_CN", "en")
FALLBACK: Language = "zh_CN"

Catalogue = Mapping[str, Mapping[str, str]]


def local_minute(moment: dt.datetime) -> str:
    """A moment as the screens show it: month, day and minute on the Anshan wall clock (``11-28 10:00``)."""
    return moment.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


@dataclass(frozen=True)
class Translator:
    """Looks texts up by key in the chosen language; ``t("k", n=3)`` formats ``{n}`` placeholders."""

    language: Language = FALLBACK
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, language: Language, catalogues: Iterable[Catalogue]) -> Translator:
        merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
        for catalogue in catalogues:
            for lang, entries in catalogue.items():
                if lang not in merged:
                    raise ValueError(f"unknown language {lang!r} in a catalogue; expected one of {LANGUAGES}")
                merged[lang].update(entries)
        return cls(language, merged)

    def with_catalogues(self, catalogues: Iterable[Catalogue]) -> Translator:
        """The same language with more catalogues merged in (later ones win)."""
        return Translator.of(self.language, [self.texts, *catalogues])

    def t(self, key: str, **values: Any) -> str:
        text = self.texts.get(self.language, {}).get(key)
        if text is None:
            text = self.texts.get(FALLBACK, {}).get(key, key)
        return text.format(**values) if values else text
