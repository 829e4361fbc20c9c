"""The authoring files of majors 2 and 3 (taxonomy/source/2*.txt, 3*.txt) parse and build with the real
build step, and meet the data-quality rules of the brief (several keywords, no nature-suffix copies,
emergency leaves hand off, answers carry no invented phone numbers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taxonomy.build import DEFAULT_SOURCE_DIR, ParsedSources, build_nodes, parse_source
from taxonomy.model import Node, load_departments
from taxonomy.pinyin import default_converter

MIN_KEYWORDS = 3


def _source_files() -> list[Path]:
    return sorted(DEFAULT_SOURCE_DIR.glob("[23][0-9][0-9]_*.txt"))


@pytest.fixture(scope="module")
def parsed() -> ParsedSources:
    merged = ParsedSources()
    for path in _source_files():
        part = parse_source(path.read_text(encoding="utf-8"), path.name)
        merged.domains.extend(part.domains)
        merged.leaves.extend(part.leaves)
        merged.errors.extend(part.errors)
    return merged


@pytest.fixture(scope="module")
def leaves(parsed: ParsedSources) -> list[Node]:
    departments = load_departments(DEFAULT_SOURCE_DIR / "departments.tsv")
    nodes = build_nodes(parsed, departments, default_converter())  # raises BuildError listing every problem
    return [n for n in nodes if n.level == 3]


def test_files_are_named_after_a_domain_they_contain(parsed: ParsedSources) -> None:
    files = _source_files()
    assert files, "no source files for majors 2 and 3"
    by_file: dict[str, set[str]] = {}
    for domain in parsed.domains:
        by_file.setdefault(domain.origin.split(":")[0], set()).add(domain.code)
    for path in files:
        assert path.name[:3] in by_file.get(path.name, set()), (
            f"{path.name}: no domain {path.name[:3]} inside"
        )


def test_sources_build_without_errors(parsed: ParsedSources, leaves: list[Node]) -> None:
    assert not parsed.errors
    assert {leaf.code[0] for leaf in leaves} == {"2", "3"}


def test_every_leaf_has_several_keywords(parsed: ParsedSources) -> None:
    thin = [f"{leaf.origin} {leaf.name}" for leaf in parsed.leaves if len(leaf.keywords) < MIN_KEYWORDS]
    assert not thin, "leaves with fewer than 3 keywords (besides the name):\n" + "\n".join(thin)


def test_no_mechanical_nature_suffix_variants(parsed: ParsedSources) -> None:
    copies = [
        leaf.origin
        for leaf in parsed.leaves
        if re.search(r"[（(](投诉|咨询|举报|建议|求助)[)）]$", leaf.name)
    ]
    assert not copies


def test_critical_leaves_and_handoffs(leaves: list[Node]) -> None:
    for leaf in leaves:
        if leaf.handoff is not None:
            assert leaf.urgency == "critical", leaf.code
        if leaf.urgency == "critical":
            assert leaf.time_limit.unit == "hours" and leaf.time_limit.value <= 2, leaf.code
            assert leaf.handoff in {"110", "119", "120"}, leaf.code


def test_answers_are_on_consultation_leaves_without_phone_numbers(leaves: list[Node]) -> None:
    answered = [leaf for leaf in leaves if leaf.answer]
    assert len(answered) >= 50
    for leaf in answered:
        assert "咨询" in leaf.natures, leaf.code
        assert not re.search(r"\d{5,}", leaf.answer or ""), leaf.code


def test_volume_of_majors_2_and_3(leaves: list[Node]) -> None:
    count = len(leaves)
    assert 1800 <= count <= 2100, count
