"""Pinyin keys, the override list and the query normaliser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxonomy.pinyin import (
    PinyinConverter,
    PinyinOverrideError,
    has_cjk,
    load_overrides,
    normalize_query,
    pinyin_keys,
    query_pinyin,
    to_simplified,
)


@pytest.mark.parametrize(
    ("text", "full", "initials"),
    [
        ("暖气不热", "nuanqibure", "nqbr"),
        ("楼上漏水", "loushangloushui", "lsls"),
        ("调解", "tiaojie", "tj"),  # phrase-aware: not diao
        ("银行", "yinhang", "yh"),
        ("重复", "chongfu", "cf"),
        ("长期", "changqi", "cq"),
        ("长春", "changchun", "cc"),
        ("朝阳", "chaoyang", "cy"),  # override: pypinyin says zhaoyang
        ("岫岩", "xiuyan", "xy"),
        ("鞍山", "anshan", "as"),
        ("钢都", "gangdu", "gd"),  # override: pypinyin says gangdou
    ],
)
def test_known_readings(text: str, full: str, initials: str) -> None:
    assert pinyin_keys(text) == (full, initials)


def test_ascii_and_digits_are_kept_whole() -> None:
    assert pinyin_keys("5G信号") == ("5gxinhao", "5gxh")
    assert pinyin_keys("WiFi没网，2楼") == ("wifimeiwang2lou", "wifimw2l")


def test_punctuation_and_unknown_characters_are_dropped() -> None:
    assert pinyin_keys("停水！！") == ("tingshui", "ts")
    assert pinyin_keys("") == ("", "")
    assert pinyin_keys("😀——") == ("", "")


def test_override_longest_word_wins_and_rest_uses_default() -> None:
    conv = PinyinConverter({"朝阳": ("chao", "yang"), "朝阳街": ("zhao", "yang", "jie")})
    assert conv.keys("朝阳街道") == ("zhaoyangjiedao", "zyjd")
    assert conv.keys("去朝阳") == ("quchaoyang", "qcy")
    assert PinyinConverter().keys("朝阳") == ("zhaoyang", "zy")


def test_query_pinyin_is_the_full_key() -> None:
    assert query_pinyin("电题困人") == "diantikunren"  # a homophone typo still gives the right pinyin


def test_shipped_overrides_load(tmp_path: Path) -> None:
    overrides = load_overrides()
    assert overrides["朝阳"] == ("chao", "yang")
    assert all(len(word) == len(syl) for word, syl in overrides.items())


@pytest.mark.parametrize(
    "line",
    ["朝阳\tchaoyang", "朝阳", "abc\tab", "朝阳\tchao yang1"],
)
def test_bad_override_lines_name_the_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "o.tsv"
    path.write_text("# comment\n" + line + "\n", encoding="utf-8")
    with pytest.raises(PinyinOverrideError, match=r"o\.tsv:2"):
        load_overrides(path)


def test_duplicate_override_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "o.tsv"
    path.write_text("朝阳\tchao yang\n朝阳\tzhao yang\n", encoding="utf-8")
    with pytest.raises(PinyinOverrideError, match="duplicate"):
        load_overrides(path)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ｎｑ", "nq"),  # full-width letters
        ("ＤＴ困人", "dt困人"),
        ("暖氣不熱", "暖气不热"),  # traditional
        ("電梯壞了", "电梯坏了"),
        ("停水\x00\x07了", "停水了"),  # control characters
        ("漏水😭😭👍🏻", "漏水"),  # emoji with skin tone
        ("  楼上\t漏水\n", "楼上 漏水"),
        ("１２３４５", "12345"),
        ("\u200b\ufeff停电\ufe0f", "停电"),
        ("", ""),
    ],
)
def test_normalize_query(raw: str, expected: str) -> None:
    assert normalize_query(raw) == expected


def test_to_simplified_leaves_simplified_text_alone() -> None:
    assert to_simplified("楼上漏水到我家") == "楼上漏水到我家"
    assert to_simplified("樓上漏水") == "楼上漏水"


def test_has_cjk() -> None:
    assert has_cjk("dt困人") and not has_cjk("dtkr")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalize_and_keys_never_raise(text: str) -> None:
    normalized = normalize_query(text)
    assert normalized == normalize_query(normalized)  # idempotent
    full, initials = pinyin_keys(normalized)
    assert full.isascii() and initials.isascii()
    assert len(initials) <= len(full)
