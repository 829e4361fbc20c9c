"""The translator: language choice, English falling back to Chinese, visible gaps, formatting."""

from __future__ import annotations

import pytest

from console.i18n import Translator

CATALOGUE = {
    "zh_CN": {"ready": "就绪", "waiting": "排队 {n}", "zh_only": "仅中文"},
    "en": {"ready": "Ready", "waiting": "{n} waiting"},
}


def test_chinese_is_the_default() -> None:
    assert Translator.of("zh_CN", [CATALOGUE]).t("ready") == "就绪"


def test_english_with_placeholders() -> None:
    assert Translator.of("en", [CATALOGUE]).t("waiting", n=3) == "3 waiting"


def test_missing_english_text_falls_back_to_chinese_and_unknown_key_shows_itself() -> None:
    tr = Translator.of("en", [CATALOGUE])
    assert tr.t("zh_only") == "仅中文"
    assert tr.t("no.such.key") == "no.such.key"


def test_later_catalogues_win_and_with_catalogues_keeps_the_language() -> None:
    tr = Translator.of("en", [CATALOGUE]).with_catalogues([{"en": {"ready": "Available"}}])
    assert tr.language == "en"
    assert tr.t("ready") == "Available"
    assert tr.t("waiting", n=1) == "1 waiting"


def test_unknown_language_in_a_catalogue_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        Translator.of("zh_CN", [{"fr": {"ready": "Prêt"}}])
