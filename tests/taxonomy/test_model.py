"""The immutable tree, its JSON Lines form and the department list."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from taxonomy.model import (
    Node,
    Taxonomy,
    TaxonomyFileError,
    TimeLimit,
    load_departments,
    load_taxonomy,
    taxonomy_from_lines,
)


def _tree() -> Taxonomy:
    nodes = (
        Node("1", "城市建设与管理", 1, None, ("城市建设与管理",)),
        Node("101", "供热", 2, "1", ("城市建设与管理", "供热"), department="rl"),
        Node(
            "101001",
            "暖气不热",
            3,
            "101",
            ("城市建设与管理", "供热", "暖气不热"),
            keywords=("屋里冷",),
            pinyin={"暖气不热": ("nuanqibure", "nqbr"), "屋里冷": ("wulileng", "wll")},
            natures=("求助", "投诉"),
            board="群众诉求",
            department="rl",
            time_limit=TimeLimit(24, "hours"),
            urgency="high",
            required_fields=("地址",),
        ),
        Node(
            "101002",
            "暖气漏水旧",
            3,
            "101",
            ("城市建设与管理", "供热", "暖气漏水旧"),
            active=False,
            valid_to=date(2026, 1, 1),
            replaced_by="101003",
        ),
        Node(
            "101003",
            "暖气漏水",
            3,
            "101",
            ("城市建设与管理", "供热", "暖气漏水"),
            time_limit=TimeLimit(2, "hours"),
        ),
        Node("101004", "作废叶子", 3, "101", ("城市建设与管理", "供热", "作废叶子"), active=False),
    )
    return Taxonomy(version="v-test", nodes=nodes)


def test_time_limit_parse_and_display() -> None:
    assert TimeLimit.parse("24h") == TimeLimit(24, "hours")
    assert TimeLimit.parse("3d") == TimeLimit(3, "days")
    assert TimeLimit.parse("5wd") == TimeLimit(5, "working_days")
    assert str(TimeLimit(5, "working_days")) == "5个工作日"
    for bad in ("", "5", "h", "0h", "-1d", "5w", "2.5h"):
        with pytest.raises(ValueError):
            TimeLimit.parse(bad)


def test_nodes_are_frozen_and_hashable() -> None:
    node = _tree().get("101001")
    assert node is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.name = "x"  # type: ignore[misc]
    assert node in {node}
    assert node.aliases == ("暖气不热", "屋里冷")


def test_tree_navigation() -> None:
    tax = _tree()
    assert [n.code for n in tax.majors()] == ["1"]
    assert [n.code for n in tax.children("101")] == ["101001", "101003"]
    assert [n.code for n in tax.children("101", include_retired=True)] == [
        "101001",
        "101002",
        "101003",
        "101004",
    ]
    assert [n.code for n in tax.leaves()] == ["101001", "101003"]
    assert len(tax.leaves(include_retired=True)) == 4
    assert tax.level_counts() == {1: 1, 2: 1, 3: 2}
    assert tax.path("101001") == ("城市建设与管理", "供热", "暖气不热")
    assert "101001" in tax and "999" not in tax
    with pytest.raises(KeyError):
        tax.path("999999")


def test_resolve_keeps_retired_codes_and_current_follows_replacements() -> None:
    tax = _tree()
    retired = tax.resolve("101002")
    assert retired is not None and not retired.active and retired.path[-1] == "暖气漏水旧"
    current = tax.current("101002")
    assert current is not None and current.code == "101003"
    assert tax.current("101004") is None  # retired without successor
    assert tax.resolve("999999") is None and tax.current("999999") is None


def test_replacement_cycle_is_bounded() -> None:
    a = Node("101001", "a", 3, "101", ("x", "y", "a"), active=False, replaced_by="101002")
    b = Node("101002", "b", 3, "101", ("x", "y", "b"), active=False, replaced_by="101001")
    assert Taxonomy("v", (a, b)).current("101001") is None


def test_duplicate_codes_are_rejected() -> None:
    node = Node("1", "a", 1, None, ("a",))
    with pytest.raises(ValueError):
        Taxonomy("v", (node, node))


def test_jsonl_round_trip() -> None:
    tax = _tree()
    lines = [json.dumps(n.to_json(tax.version), ensure_ascii=False) for n in tax.nodes]
    again = taxonomy_from_lines(lines)
    assert again.version == "v-test"
    assert again.nodes == tax.nodes
    assert dict(again.get("101001").pinyin) == {
        "暖气不热": ("nuanqibure", "nqbr"),
        "屋里冷": ("wulileng", "wll"),
    }


def test_bad_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"code":"1","name":"a","level":1,"parent":null,"version":"v"}\n{not json\n', encoding="utf-8"
    )
    with pytest.raises(TaxonomyFileError, match=r"t\.jsonl:2"):
        load_taxonomy(path)


def test_mixed_versions_are_rejected() -> None:
    lines = [
        '{"code":"1","name":"a","level":1,"version":"v1"}',
        '{"code":"2","name":"b","level":1,"version":"v2"}',
    ]
    with pytest.raises(TaxonomyFileError, match="several versions"):
        taxonomy_from_lines(lines)


def test_shipped_taxonomy_loads_with_consistent_tree() -> None:
    tax = load_taxonomy()
    assert tax.version.startswith("default-")
    assert [n.code for n in tax.majors()] == ["1", "2", "3"]
    departments = load_departments()
    for node in tax:
        if node.parent is not None:
            parent = tax.get(node.parent)
            assert parent is not None and parent.level == node.level - 1
            assert node.code.startswith(parent.code)
            assert node.path[:-1] == parent.path
        assert node.name in node.pinyin
        if node.is_leaf:
            assert node.department in departments
            assert node.time_limit is not None and node.natures and node.board


def test_departments() -> None:
    departments = load_departments()
    assert departments["rl"].name == "鞍山市热力有限公司"
    assert departments["e119"].phone == "119"
    assert departments["zjj"].phone is None
    assert departments["tdq"].kind == "district"


def test_bad_department_file(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("# h\nrl\t热力\tutility\nrl\t热力2\tutility\n", encoding="utf-8")
    with pytest.raises(TaxonomyFileError, match=r"d\.tsv:3"):
        load_departments(path)


def test_loading_does_not_import_pypinyin() -> None:
    """Start-up reads precomputed pinyin; pypinyin (slow to import and run) stays unloaded."""
    code = "import sys; from taxonomy.model import load_taxonomy; load_taxonomy(); print('pypinyin' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "False"
