"""The translator: language choice, English falling back to Chinese, visible gaps, formatting, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.i18n import Language, LocaleError, Translator

TEXTS: dict[Language, dict[str, str]] = {
    "zh_CN": {"ready": "就绪", "waiting": "排队 {n}", "zh_only": "仅中文", "agent_state.ready": "就绪"},
    "en": {"ready": "Ready", "waiting": "{n} waiting", "agent_state.ready": "Ready"},
}


def test_chinese_is_the_default() -> None:
    assert Translator(texts=TEXTS).t("ready") == "就绪"


def test_english_with_placeholders() -> None:
    assert Translator("en", TEXTS).t("waiting", n=3) == "3 waiting"


def test_missing_english_text_falls_back_to_chinese_and_unknown_key_shows_itself() -> None:
    tr = Translator("en", TEXTS)
    assert tr.t("zh_only") == "仅中文"
    assert tr.t("no.such.key") == "no.such.key"


def test_a_label_is_looked_up_by_identity_and_an_unlabelled_code_reads_as_itself() -> None:
    assert Translator("en", TEXTS).label("agent_state", "ready") == "Ready"
    assert Translator("zh_CN", TEXTS).label("agent_state", "ready") == "就绪"
    assert Translator("en", TEXTS).label("ticket_status", "已受理") == "已受理"


def test_the_locale_files_are_read_for_the_chosen_language() -> None:
    assert Translator.load("en").t("app.title", product="8890") == "8890 hotline desk"
    assert Translator.load("zh_CN").t("app.title", product="8890") == "8890 热线话务台"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(LocaleError, match="unknown language 'fr'"):
        Translator.load("fr")  # type: ignore[arg-type]


def _locales(tmp_path: Path, en: str, zh: str = '"app.title" = "标题"\n') -> Path:
    (tmp_path / "zh_CN.toml").write_text(zh, encoding="utf-8")
    (tmp_path / "en.toml").write_text(en, encoding="utf-8")
    return tmp_path


def test_a_directory_of_locale_files_can_be_given(tmp_path: Path) -> None:
    tr = Translator.load("en", _locales(tmp_path, '"app.title" = "Title"\n'))
    assert tr.t("app.title") == "Title"


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Path) -> None:
    directory = _locales(tmp_path, '"app.title" = "unterminated\n')
    with pytest.raises(LocaleError, match=r"locale file .*en\.toml is not valid TOML"):
        Translator.load("en", directory)


def test_an_entry_that_is_not_a_text_is_refused_with_the_file_and_key(tmp_path: Path) -> None:
    directory = _locales(tmp_path, '"app.title" = "Title"\n[status]\nline = "Line"\n')
    with pytest.raises(LocaleError, match=r"locale file .*en\.toml: .*not texts: status"):
        Translator.load("en", directory)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "zh_CN.toml").write_text('"app.title" = "标题"\n', encoding="utf-8")
    with pytest.raises(LocaleError, match=r"cannot read locale file .*en\.toml"):
        Translator.load("zh_CN", tmp_path)
