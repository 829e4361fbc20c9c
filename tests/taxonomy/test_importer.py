"""Importing a city's official list: layout, validation with row numbers, versioning and retirement."""

from __future__ import annotations

import contextlib
import csv
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from taxonomy.importer import (
    CURRENT_POINTER,
    ImportError_,
    import_file,
    load_current,
    nodes_to_rows,
    parse_time_limit,
    run_import,
)
from taxonomy.model import TimeLimit, load_taxonomy

HEADER = [
    "编码",
    "名称",
    "层级",
    "上级编码",
    "关键词",
    "主办部门",
    "办理时限",
    "紧急程度",
    "诉求性质",
    "板块",
    "标准答复",
]
ROWS = [
    ["1", "城市管理", "1", "", "", "", "", "", "", "", ""],
    ["101", "供热", "2", "1", "暖气", "rl", "24小时", "", "咨询、求助、投诉", "群众诉求", ""],
    ["101001", "暖气不热", "3", "101", "屋里冷 暖气凉", "", "", "紧急", "", "", ""],
    [
        "101002",
        "供暖时间咨询",
        "3",
        "101",
        "啥时候供暖",
        "鞍山市热力有限公司",
        "3个工作日",
        "一般",
        "咨询",
        "群众诉求",
        "以供热企业通知为准。",
    ],
    ["105", "燃气", "2", "1", "", "rq", "24h", "", "求助", "群众诉求", ""],
    ["105001", "燃气泄漏", "3", "105", "煤气味", "", "1h", "特急", "", "安全预警", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}


def test_import_csv_with_inheritance_and_chinese_values(tmp_path: Path) -> None:
    result = import_file(write_csv(tmp_path / "list.csv", ROWS), tmp_path / "data", today=date(2026, 11, 1))
    assert result.changed and result.version == "v1-20261101"
    assert dict(result.counts) == {1: 1, 2: 2, 3: 3}
    assert (tmp_path / "data" / CURRENT_POINTER).read_text().strip() == result.path.name
    tax = load_current(tmp_path / "data")
    hot = tax.get("101001")
    assert hot is not None
    assert hot.department == "rl" and hot.time_limit == TimeLimit(24, "hours")  # inherited from 101
    assert hot.natures == ("咨询", "求助", "投诉") and hot.urgency == "high"
    assert hot.path == ("城市管理", "供热", "暖气不热") and hot.keywords == ("屋里冷", "暖气凉")
    assert hot.pinyin["屋里冷"] == ("wulileng", "wll") and hot.valid_from == date(2026, 11, 1)
    ask = tax.get("101002")
    assert ask is not None and ask.department == "rl"  # department given by its full name
    assert ask.time_limit == TimeLimit(3, "working_days") and ask.answer == "以供热企业通知为准。"
    gas = tax.get("105001")
    assert gas is not None and gas.urgency == "critical" and gas.board == "安全预警"


def test_gb18030_csv_and_english_header(tmp_path: Path) -> None:
    header = [
        "code",
        "name",
        "level",
        "parent",
        "keywords",
        "department",
        "time_limit",
        "urgency",
        "natures",
        "board",
        "answer",
    ]
    path = write_csv(tmp_path / "gbk.csv", ROWS, header=header, encoding="gb18030")
    assert import_file(path, tmp_path / "data").counts[3] == 3


def test_xlsx(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([int(row[0]), *row[1:2], int(row[2]), *row[3:]])  # codes and levels as Excel numbers
    workbook.save(tmp_path / "list.xlsx")
    result = import_file(tmp_path / "list.xlsx", tmp_path / "data")
    assert dict(result.counts) == {1: 1, 2: 2, 3: 3}
    assert load_current(tmp_path / "data").get("101001") is not None


def test_reimport_of_same_file_changes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", ROWS)
    first = import_file(path, tmp_path / "data", today=date(2026, 11, 1))
    before = snapshot(tmp_path / "data")
    second = import_file(path, tmp_path / "data", today=date(2026, 11, 2))
    assert not second.changed and second.version == first.version
    assert snapshot(tmp_path / "data") == before


def test_removed_leaves_are_retired_and_keep_resolving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    import_file(write_csv(tmp_path / "v1.csv", ROWS), data, today=date(2026, 11, 1))
    rows = [r for r in ROWS if r[0] != "101002"] + [
        ["101003", "供暖开始时间", "3", "101", "", "", "", "", "", "", ""]
    ]
    header = [*HEADER, "替代编码"]
    rows = [[*r, "101002" if r[0] == "101003" else ""] for r in rows]
    result = import_file(write_csv(tmp_path / "v2.csv", rows, header=header), data, today=date(2026, 12, 1))
    assert result.version == "v2-20261201" and result.retired == ("101002",) and result.added == ("101003",)
    tax = load_current(data)
    old = tax.resolve("101002")
    assert old is not None and not old.active and old.valid_to == date(2026, 12, 1)
    assert old.path == ("城市管理", "供热", "供暖时间咨询") and old.replaced_by == "101003"
    assert tax.current("101002") == tax.get("101003")
    assert "101002" not in {n.code for n in tax.leaves()}
    kept = tax.get("101001")
    assert kept is not None and kept.valid_from == date(2026, 11, 1)  # validity carried over
    assert load_taxonomy(data / "v1-20261101.jsonl").get("101002").active  # old version untouched


def test_retired_code_cannot_be_reused_for_another_item(tmp_path: Path) -> None:
    data = tmp_path / "data"
    import_file(write_csv(tmp_path / "v1.csv", ROWS), data, today=date(2026, 11, 1))
    import_file(
        write_csv(tmp_path / "v2.csv", [r for r in ROWS if r[0] != "101002"]), data, today=date(2026, 11, 2)
    )
    reuse = [*ROWS[:3], ["101002", "别的事", "3", "101", "", "", "", "", "", "", ""]]
    before = snapshot(data)
    with pytest.raises(ImportError_, match="never reuse"):
        import_file(write_csv(tmp_path / "v3.csv", reuse), data, today=date(2026, 11, 3))
    assert snapshot(data) == before
    back = [*ROWS[:3], ROWS[3]]  # the same item coming back is fine
    assert import_file(write_csv(tmp_path / "v4.csv", back), data).reactivated == ("101002",)


def test_previous_default_taxonomy_is_retired_on_first_import(tmp_path: Path) -> None:
    default = load_taxonomy()
    result = import_file(write_csv(tmp_path / "list.csv", ROWS), tmp_path / "data", previous=default)
    tax = load_current(tmp_path / "data")
    assert len(result.retired) == len(default.nodes) - len(
        {"1", "101", "101001", "101002", "105", "105001"} & set(default.by_code)
    )
    assert tax.level_counts() == {1: 1, 2: 2, 3: 3}


@pytest.mark.parametrize(
    ("rows", "row", "message"),
    [
        (
            [*ROWS, ["101001", "重复", "3", "101", "", "", "", "", "", "", ""]],
            8,
            "duplicate code 101001 (first at row 4)",
        ),
        (
            [*ROWS, ["101009", "孤儿", "3", "109", "", "rl", "1d", "", "咨询", "群众诉求", ""]],
            8,
            "parent 109",
        ),
        ([*ROWS, ["101009", "跳级", "3", "1", "", "rl", "1d", "", "咨询", "群众诉求", ""]], 8, "is level 1"),
        ([*ROWS, ["101009", "层级", "4", "101", "", "", "", "", "", "", ""]], 8, "level must be 1, 2 or 3"),
        ([*ROWS, ["2", "无父", "2", "", "", "", "", "", "", "", ""]], 8, "need one"),
        ([*ROWS, ["101009", "自指", "3", "101009", "", "", "", "", "", "", ""]], 8, "loops back"),
        ([*ROWS, ["101009", "部门", "3", "101", "", "nobody", "", "", "", "", ""]], 8, "unknown department"),
        ([*ROWS, ["101009", "时限", "3", "101", "", "", "3周", "", "", "", ""]], 8, "bad time limit"),
        ([*ROWS, ["101009", "急", "3", "101", "", "", "", "很急", "", "", ""]], 8, "unknown urgency"),
        ([*ROWS, ["101009", "性质", "3", "101", "", "", "", "", "吐槽", "", ""]], 8, "unknown nature"),
        ([*ROWS, ["101009", "板块", "3", "101", "", "", "", "", "", "别的", ""]], 8, "unknown board"),
        ([*ROWS, ["1 01", "坏码", "1", "", "", "", "", "", "", "", ""]], 8, "bad code"),
        ([*ROWS, ["3", "", "1", "", "", "", "", "", "", "", ""]], 8, "has no name"),
        (
            [
                ["1", "a", "1", "", "", "", "", "", "", "", ""],
                ["2", "b", "3", "1", "", "", "", "", "", "", ""],
            ],
            3,
            "is level 1",
        ),
        (
            [
                ["1", "a", "1", "", "", "", "", "", "", "", ""],
                ["101", "b", "2", "1", "", "", "", "", "", "", ""],
                ["101001", "c", "3", "101", "", "", "", "", "", "", ""],
            ],
            4,
            "leaf needs department",
        ),
    ],
)
def test_bad_rows_are_reported_with_row_numbers_and_change_nothing(
    tmp_path: Path, rows: list[list[str]], row: int, message: str
) -> None:
    data = tmp_path / "data"
    import_file(write_csv(tmp_path / "good.csv", ROWS), data, today=date(2026, 11, 1))
    before = snapshot(data)
    with pytest.raises(ImportError_) as info:
        import_file(write_csv(tmp_path / "bad.csv", rows), data, today=date(2026, 11, 2))
    assert any(r == row and message in m for r, m in info.value.errors), info.value.errors
    assert f"bad.csv:{row}:" in str(info.value)
    assert snapshot(data) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header"),
        (b"code,name\n1,a\n", "misses required column"),
        (b"code,name,level,parent,code\n", "appears twice"),
        (b"code,name,level,parent\n", "no classification rows"),
        (b"\x00\x01\x02binary", "NUL"),
        (b'code,name,level,parent\n"1,a,1,\n', "malformed CSV"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message):
        import_file(path, tmp_path / "data")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_missing_file_and_broken_xlsx(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="cannot read"):
        import_file(tmp_path / "nope.csv", tmp_path / "data")
    (tmp_path / "x.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportError_, match="XLSX"):
        import_file(tmp_path / "x.xlsx", tmp_path / "data")


def test_time_limit_forms() -> None:
    assert parse_time_limit("24小时") == TimeLimit(24, "hours")
    assert parse_time_limit("5个工作日") == TimeLimit(5, "working_days")
    assert parse_time_limit("5工作日") == TimeLimit(5, "working_days")
    assert parse_time_limit("3天") == TimeLimit(3, "days")
    assert parse_time_limit("2d") == TimeLimit(2, "days")


def test_export_round_trip(tmp_path: Path) -> None:
    default = load_taxonomy()
    sample = [n for n in default.nodes if n.code[0] == "1" and (n.level < 3 or n.code.startswith("101"))]
    rows = nodes_to_rows(sample)
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tax = load_current(tmp_path / "data") if import_file(path, tmp_path / "data").changed else None
    assert tax is not None
    for node in sample:
        imported = tax.get(node.code)
        assert imported is not None and imported.name == node.name and imported.path == node.path
        if node.is_leaf:
            assert (
                imported.department,
                imported.time_limit,
                imported.natures,
                imported.urgency,
                imported.answer,
            ) == (node.department, node.time_limit, node.natures, node.urgency, node.answer)


CELL = st.one_of(
    st.sampled_from(["", "1", "101", "101001", "3", "2", "rl", "24h", "咨询", "群众诉求", "紧急"]),
    st.text(max_size=12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(CELL, min_size=0, max_size=12), max_size=12), st.booleans())
def test_fuzz_random_csv_only_raises_import_error(
    tmp_path: Path, rows: list[list[str]], with_header: bool
) -> None:
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        if with_header:
            writer.writerow(HEADER)
        writer.writerows(rows)
    try:
        import_file(path, tmp_path / "fuzzdata")
    except ImportError_ as exc:
        assert exc.errors


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_only_raise_import_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\n" + content)
    with contextlib.suppress(ImportError_):
        import_file(path, tmp_path / "fuzzdata")


def test_run_import_for_the_cli_and_directory_loading(tmp_path: Path) -> None:
    config = SimpleNamespace(taxonomy=SimpleNamespace(path=tmp_path / "imports"))
    assert load_taxonomy(tmp_path).version.startswith("default-")  # an empty directory → shipped default
    summary = run_import(write_csv(tmp_path / "list.csv", ROWS), config)
    assert summary["changed"] and summary["levels"] == {"1": 1, "2": 2, "3": 3}
    assert summary["retired"] > 1000  # the shipped default's nodes, kept resolvable
    tax = load_taxonomy(tmp_path / "imports")  # a directory: its CURRENT version
    assert tax.version == summary["version"] and tax.level_counts() == {1: 1, 2: 2, 3: 3}
    some_default_leaf = load_taxonomy().leaves()[0]
    assert tax.resolve(some_default_leaf.code) is not None


@pytest.mark.parametrize("target", [None, "file"])
def test_run_import_needs_a_directory(tmp_path: Path, target: str | None) -> None:
    path = None
    if target == "file":
        path = tmp_path / "t.jsonl"
        path.write_text("", encoding="utf-8")
    config = SimpleNamespace(taxonomy=SimpleNamespace(path=path))
    with pytest.raises(ImportError_, match=r"\[taxonomy\] path"):
        run_import(write_csv(tmp_path / "list.csv", ROWS), config)
