"""Anshan's jurisdictions and address → (district, street) matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxonomy.districts import (
    DEFAULT_DISTRICTS_PATH,
    DistrictMatch,
    default_districts,
    load_districts,
    match_district,
    street_short_name,
)
from taxonomy.model import load_departments

COUNTY_LEVEL = {
    "铁东区",
    "铁西区",
    "立山区",
    "千山区",
    "海城市",
    "台安县",
    "岫岩满族自治县",
    "鞍山高新技术产业开发区",
    "鞍山经济开发区",
    "千山风景名胜区",
}


def test_all_county_level_units_with_known_departments() -> None:
    districts = default_districts()
    assert {d.name for d in districts.districts} == COUNTY_LEVEL
    departments = load_departments()
    for district in districts.districts:
        assert district.department in departments
        assert district.streets, district.name
        assert len({s.name for s in district.streets}) == len(district.streets)
        for place in district.places:
            assert place.street is None or place.street in {s.name for s in district.streets}


def test_data_file_is_valid_json_with_uncertainty_marks() -> None:
    data = json.loads(DEFAULT_DISTRICTS_PATH.read_text(encoding="utf-8"))
    assert any(s.get("uncertain") for d in data["districts"] for s in d["streets"])


@pytest.mark.parametrize(
    ("address", "district", "street"),
    [
        ("铁东区胜利街道园林路12号", "铁东区", "胜利街道"),
        ("千山区大屯镇", "千山区", "大屯镇"),
        ("立山区深沟寺", "立山区", "深沟寺街道"),
        ("海城西柳服装城二楼", "海城市", "西柳镇"),
        ("岫岩朝阳镇", "岫岩满族自治县", "朝阳镇"),
        ("台安县桑林", "台安县", "桑林镇"),
        ("汤岗子那边", "千山区", "汤岗子街道"),
        ("东长甸", "铁东区", "东长甸街道"),  # not 长甸街道
    ],
)
def test_street_level_matches(address: str, district: str, street: str) -> None:
    best = match_district(address)[0]
    assert (best.district, best.street) == (district, street)


@pytest.mark.parametrize(
    ("address", "district"),
    [
        ("铁东", "铁东区"),  # abbreviation
        ("高新区", "鞍山高新技术产业开发区"),
        ("千山", "千山风景名胜区"),  # the mountain, not 千山区
        ("千山中路88号", "铁东区"),  # a road named after it is in 铁东, not the scenic area
        ("五佛顶", "千山风景名胜区"),
        ("铁冬区", "铁东区"),  # IME homophone
        ("ＴＩＥＤＯＮＧ", "铁东区"),  # full-width pinyin typing
        ("tiedong", "铁东区"),
        ("td", "铁东区"),  # initials
        ("lsq", "立山区"),
        ("haicheng", "海城市"),
    ],
)
def test_district_level_matches(address: str, district: str) -> None:
    assert match_district(address)[0].district == district


def test_ansteel_is_shared_between_two_districts() -> None:
    top = {m.district for m in match_district("鞍钢厂区里")[:2]}
    assert top == {"铁西区", "立山区"}


def test_named_district_outranks_same_named_street_elsewhere() -> None:
    matches = match_district("铁西区解放街道")
    assert matches[0].district == "铁西区"
    assert all(m.score < matches[0].score for m in matches[1:])


def test_matches_are_tuples_sorted_by_score() -> None:
    matches = match_district("铁东区胜利街道园林路")
    assert all(isinstance(m, DistrictMatch) for m in matches)
    district, street, score = matches[0]
    assert (district, street) == ("铁东区", "胜利街道") and 0 < score <= 100
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert len(match_district("铁东区胜利街道园林路", limit=1)) == 1


@pytest.mark.parametrize("address", ["", "   ", "!!!", "辽阳市白塔区", "x", "😀😀"])
def test_nothing_sensible_gives_no_match(address: str) -> None:
    assert match_district(address) == []


def test_street_short_name() -> None:
    assert street_short_name("胜利街道") == "胜利"
    assert street_short_name("唐家房镇") == "唐家房"
    assert street_short_name("海州管理区") == "海州"
    assert street_short_name("镇") == "镇"


def test_department_of() -> None:
    districts = default_districts()
    assert districts.department_of("海城市") == "hcs"
    assert districts.department_of("辽阳") is None


def test_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(
        json.dumps(
            {
                "version": "t",
                "districts": [
                    {
                        "name": "测试区",
                        "department": "tdq",
                        "aliases": ["测试"],
                        "streets": [{"name": "甲乙街道"}],
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    districts = load_districts(path)
    assert match_district("测试区甲乙街道5号", districts)[0] == ("测试区", "甲乙街道", 97.5)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_never_raises(address: str) -> None:
    for match in match_district(address):
        assert 0 <= match.score <= 100
