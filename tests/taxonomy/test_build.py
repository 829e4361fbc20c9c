"""The build step: parsing the authoring format, validation, determinism, and the shipped data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taxonomy.build import (
    DEFAULT_SOURCE_DIR,
    BuildError,
    build,
    main,
    parse_source,
)
from taxonomy.model import DEFAULT_TAXONOMY_PATH, TimeLimit, load_taxonomy, taxonomy_from_lines

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
# heating
domain: 101 | 供热 | dept=rl | limit=24h | natures=咨询,求助,投诉,建议 | board=群众诉求 | keywords=暖气 供暖
101001 | 暖气不热 | 暖气不热乎 屋里冷 暖气不热乎 暖气不热 | fields=地址 urgency=high
101002 | 暖气漏水 | 暖气片漏水 跑水 | limit=2h urgency=high fields=地址 co=zjj
101090 | 供暖收费标准咨询 | 取暖费多少钱 | natures=咨询 limit=3wd answer=按建筑面积收取, 具体 标准以物价部门公布为准。
101091 | 燃气泄漏 | 煤气味 | urgency=critical handoff=119 dept=rq
"""


def _write_sources(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "source"
    src.mkdir(parents=True)
    shutil.copy(DEFAULT_SOURCE_DIR / "departments.tsv", src / "departments.tsv")
    for name, text in files.items():
        (src / name).write_text(text, encoding="utf-8")
    return src


def test_parse_and_build_a_good_file(tmp_path: Path) -> None:
    result = build(_write_sources(tmp_path, {"101_heating.txt": GOOD}))
    tax = taxonomy_from_lines(result.text.splitlines())
    assert result.counts == {1: 3, 2: 1, 3: 4}
    assert tax.version == result.version
    domain = tax.get("101")
    assert domain is not None and domain.keywords == ("暖气", "供暖") and domain.department == "rl"
    hot = tax.get("101001")
    assert hot is not None
    assert hot.keywords == ("暖气不热乎", "屋里冷")  # duplicates and the name itself dropped
    assert hot.path == ("城市建设与管理", "供热", "暖气不热")
    assert hot.time_limit == TimeLimit(24, "hours")  # inherited
    assert hot.natures == ("咨询", "求助", "投诉", "建议") and hot.board == "群众诉求"
    assert hot.urgency == "high" and hot.required_fields == ("地址",)
    assert hot.pinyin["屋里冷"] == ("wulileng", "wll")
    leak = tax.get("101002")
    assert leak is not None and leak.time_limit == TimeLimit(2, "hours") and leak.co_departments == ("zjj",)
    fee = tax.get("101090")
    assert fee is not None and fee.natures == ("咨询",) and fee.time_limit == TimeLimit(3, "working_days")
    assert fee.answer == "按建筑面积收取, 具体 标准以物价部门公布为准。"  # answer runs to end of line
    gas = tax.get("101091")
    assert gas is not None and gas.department == "rq" and gas.handoff == "119" and gas.urgency == "critical"


def test_output_is_deterministic_and_sorted(tmp_path: Path) -> None:
    src = _write_sources(tmp_path, {"101_heating.txt": GOOD})
    first, second = build(src), build(src)
    assert first.text == second.text and first.version == second.version
    codes = [json.loads(line)["code"] for line in first.text.splitlines()]
    assert codes == sorted(codes)


def test_version_changes_with_content(tmp_path: Path) -> None:
    a = build(_write_sources(tmp_path / "a", {"101_heating.txt": GOOD}))
    b = build(_write_sources(tmp_path / "b", {"101_heating.txt": GOOD.replace("跑水", "跑水了")}))
    assert a.version != b.version


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("101003 | 名 | 词 | dept=nobody", "unknown department 'nobody'"),
        ("101003 | 名 | 词 | co=nobody", "unknown co-department"),
        ("101003 | 名 | 词 | board=没有这个", "unknown board"),
        ("101003 | 名 | 词 | natures=咨询,吐槽", "unknown nature '吐槽'"),
        ("101003 | 名 | 词 | limit=3x", "bad time limit"),
        ("101003 | 名 | 词 | urgency=urgent", "urgency must be one of"),
        ("101003 | 名 | 词 | urgency=critical handoff=999", "handoff must be one of"),
        ("101003 | 名 | 词 | handoff=119", "only makes sense on urgency=critical"),
        ("101003 | 名 | 词 | colour=red", "unknown option"),
        ("101003 | 名 | 词 | fields", "not key=value"),
        ("101003 | 名 | 词 | limit=2h limit=3h", "given twice"),
        ("101003 | 名 | 词 | answer=", "empty answer"),
        ("101003 | 名", "3 or 4"),
        ("101003 | 名 | 词 | a=1 | b=2", "3 or 4"),
        ("10100 | 名 | 词", "6 digits"),
        ("102001 | 名 | 词", "not under domain 101"),
        ("101001 | 另一个 | 词", "already used"),
        ("101003 | 暖气不热 | 词", "repeats"),
        ("101003 | 有 空格 | 词", "without spaces"),
        ("101003 | 名 | 词 | dept=rl co=rl", "also listed as co-department"),
    ],
)
def test_errors_carry_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    src = _write_sources(tmp_path, {"101_heating.txt": GOOD + line + "\n"})
    with pytest.raises(BuildError) as info:
        build(src)
    bad_line = len(GOOD.splitlines()) + 1
    assert any(e.startswith(f"101_heating.txt:{bad_line}: ") and message in e for e in info.value.errors), (
        info.value.errors
    )


@pytest.mark.parametrize(
    ("domain_line", "message"),
    [
        ("domain: 401 | 其他 | dept=rl | limit=1d | natures=咨询 | board=群众诉求", "3 digits under a major"),
        ("domain: 102 | 供水 | dept=swjt | natures=咨询 | board=群众诉求", "domain line needs"),
        (
            "domain: 102 | 供水 | dept=swjt | limit=1d | natures=咨询 | board=群众诉求 | owner=x",
            "bad domain option",
        ),
        (
            "domain: 101 | 供热2 | dept=rl | limit=1d | natures=咨询 | board=群众诉求",
            "domain code 101 already used",
        ),
        ("domain: 102 | 供水 | dept=nobody | limit=1d | natures=咨询 | board=群众诉求", "unknown department"),
        ("domain: 102 | 供水 | dept=swjt | limit=1y | natures=咨询 | board=群众诉求", "bad time limit"),
    ],
)
def test_domain_errors(tmp_path: Path, domain_line: str, message: str) -> None:
    src = _write_sources(tmp_path, {"101_heating.txt": GOOD + domain_line + "\n"})
    with pytest.raises(BuildError) as info:
        build(src)
    assert any(message in e for e in info.value.errors), info.value.errors


def test_leaf_before_domain_and_bad_file_names(tmp_path: Path) -> None:
    src = _write_sources(tmp_path, {"101_heating.txt": "101001 | 名 | 词\n", "heating.txt": GOOD})
    with pytest.raises(BuildError) as info:
        build(src)
    assert any("before any domain" in e for e in info.value.errors)
    assert any(e.startswith("heating.txt:0:") for e in info.value.errors)


def test_domain_in_wrong_major_file(tmp_path: Path) -> None:
    src = _write_sources(tmp_path, {"201_x.txt": GOOD})
    with pytest.raises(BuildError, match="not under this file's major"):
        build(src)


def test_all_errors_are_collected(tmp_path: Path) -> None:
    bad = GOOD + "101003 | 名 | 词 | dept=nobody\n101004 | 名2 | 词 | board=x\n"
    with pytest.raises(BuildError) as info:
        build(_write_sources(tmp_path, {"101_heating.txt": bad}))
    assert len(info.value.errors) == 2


def test_parse_source_keeps_answer_with_pipes_out() -> None:
    parsed = parse_source(
        "domain: 101 | 供热 | dept=rl | limit=1d | natures=咨询 | board=群众诉求\n"
        "101001 | 名 | 词 | natures=咨询 answer=到营业厅 办理。\n",
        "x.txt",
    )
    assert not parsed.errors
    assert parsed.leaves[0].options["answer"] == "到营业厅 办理。"


def test_cli_writes_and_checks(tmp_path: Path) -> None:
    src = _write_sources(tmp_path, {"101_heating.txt": GOOD})
    out = tmp_path / "out" / "t.jsonl"
    assert main(["--source", str(src), "--out", str(out), "--check"]) == 1  # missing file is stale
    assert main(["--source", str(src), "--out", str(out)]) == 0
    assert main(["--source", str(src), "--out", str(out), "--check"]) == 0
    assert load_taxonomy(out).level_counts() == {1: 3, 2: 1, 3: 4}
    (src / "101_heating.txt").write_text(GOOD + "101003 | 名 | 词 | dept=nobody\n", encoding="utf-8")
    before = out.read_bytes()
    assert main(["--source", str(src), "--out", str(out)]) == 2
    assert out.read_bytes() == before  # a failed build changes nothing


def test_shipped_default_is_up_to_date() -> None:
    """default.jsonl must be rebuilt after every source edit: python -m taxonomy.build"""
    proc = subprocess.run(
        [sys.executable, "-m", "taxonomy.build", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_shipped_default_shape() -> None:
    tax = load_taxonomy(DEFAULT_TAXONOMY_PATH)
    counts = tax.level_counts()
    assert counts[1] == 3
    per_major = {m.code: sum(1 for n in tax.leaves() if n.code[0] == m.code) for m in tax.majors()}
    assert per_major["1"] >= 1400, per_major
    critical = [n for n in tax.leaves() if n.urgency == "critical"]
    assert any("燃气" in n.name for n in critical) and any("电梯" in n.name for n in critical)


def test_shipped_default_reaches_the_issue_size() -> None:
    tax = load_taxonomy()
    others = sum(1 for n in tax.leaves() if n.code[0] in "23")
    assert others >= 1800, f"majors 2 and 3 have only {others} leaves"
    assert tax.level_counts()[3] >= 3300


def test_inherited_co_department_that_became_lead_is_dropped(tmp_path: Path) -> None:
    text = (
        "domain: 101 | 供热 | dept=rl | limit=24h | natures=咨询 | board=群众诉求 | co=cgj,zjj\n"
        "101001 | 名 | 词 | dept=cgj\n"
    )
    tax = taxonomy_from_lines(build(_write_sources(tmp_path, {"101_heating.txt": text})).text.splitlines())
    leaf = tax.get("101001")
    assert leaf is not None and leaf.department == "cgj" and leaf.co_departments == ("zjj",)


def test_major_1_data_conventions() -> None:
    """Lint of the 城市建设与管理 sources: emergencies are fast, answers only where 咨询 is allowed, etc."""
    leaves = [n for n in load_taxonomy().leaves() if n.code.startswith("1")]
    assert 1400 <= len(leaves) <= 1600
    names = [n.name for n in leaves]
    assert len(names) == len(set(names)), "leaf names repeat inside major 1"
    for leaf in leaves:
        limit = leaf.time_limit
        assert limit is not None
        if leaf.urgency == "critical":
            assert limit.unit == "hours" and limit.value <= 2, leaf.code
        if leaf.answer:
            assert "咨询" in leaf.natures, leaf.code
        assert len(leaf.keywords) >= 2, leaf.code
        assert all(" " not in k for k in leaf.keywords)
    domains = {n.code[:3] for n in leaves}
    assert len(domains) >= 30
