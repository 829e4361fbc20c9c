"""``hotline taxonomy ...`` run as real subprocesses against a small tree and a real SQLite store."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest
from test_search import small_taxonomy

from store.db import open_store
from store.models import TaxonomyChoice, Ticket
from taxonomy.build import render_jsonl

HOTLINE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hotline"


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    taxonomy = small_taxonomy()
    tree = tmp_path / "tree.jsonl"
    tree.write_text(render_jsonl(list(taxonomy.nodes), taxonomy.version), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "HOTLINE_TAXONOMY__PATH": str(tree),
        "HOTLINE_STORE__URL": sqlite_url,
    }


def hotline(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not HOTLINE.exists():
        pytest.skip("the hotline entry point is not installed in .venv")
    return subprocess.run(
        [str(HOTLINE), "taxonomy", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_search_json(env: dict[str, str]) -> None:
    proc = hotline(env, "search", "暖起不热", "--limit", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert 1 <= len(results) <= 3
    assert results[0] == {
        "code": "101001",
        "path": ["城市建设与管理", "供热", "暖气不热"],
        "score": results[0]["score"],
        "matched": "暖气不热",
        "department": "rl",
        "time_limit": {"value": 24, "unit": "hours"},
        "urgency": "high",
    }


def test_search_plain_text_and_no_match(env: dict[str, str]) -> None:
    proc = hotline(env, "search", "dt困人")
    assert proc.returncode == 0, proc.stderr
    assert "103001" in proc.stdout.splitlines()[0] and "电梯困人" in proc.stdout
    empty = hotline(env, "search", "😀", "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []


def test_search_batch_keeps_order_one_line_each(env: dict[str, str], tmp_path: Path) -> None:
    batch = tmp_path / "queries.txt"
    batch.write_text("nqbr\n\ndt困人\n103\n" + "漏" * 2000 + "\n", encoding="utf-8")
    proc = hotline(env, "search", "--batch", str(batch), "--limit", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 5
    assert lines[0][0]["code"] == "101001"
    assert lines[1] == []
    assert lines[2][0]["code"] == "103001"
    assert [r["code"] for r in lines[3]] == ["103001", "103002"]
    stdin = hotline(env, "search", "--batch", "-", "--json", stdin="nqbr\nts\n")
    assert [json.loads(line)[0]["code"] for line in stdin.stdout.splitlines()] == ["101001", "102001"]


def test_search_usage_errors(env: dict[str, str], tmp_path: Path) -> None:
    both = hotline(env, "search", "x", "--batch", str(tmp_path / "q.txt"))
    assert both.returncode == 2 and both.stderr.startswith("hotline:")
    missing = hotline(env, "search", "--batch", str(tmp_path / "nope.txt"), "--json")
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    bad_limit = hotline(env, "search", "x", "--limit", "0")
    assert bad_limit.returncode == 2


def test_stats_json(env: dict[str, str]) -> None:
    proc = hotline(env, "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"levels": {"1": 3, "2": 8, "3": 20}, "version": "test-tree"}


def test_stats_of_the_shipped_taxonomy(env: dict[str, str]) -> None:
    del env["HOTLINE_TAXONOMY__PATH"]
    proc = hotline(env, "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["levels"]["1"] == 3 and stats["levels"]["3"] > 0 and stats["version"]


def test_bad_taxonomy_file_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    env["HOTLINE_TAXONOMY__PATH"] = str(bad)
    proc = hotline(env, "search", "x", "--json")
    assert proc.returncode == 1
    assert proc.stderr.startswith("hotline: taxonomy:") and "Traceback" not in proc.stderr


def test_learn_reads_tickets_and_choices_from_the_store(env: dict[str, str], sqlite_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    store = open_store(sqlite_url)
    try:
        with store.session() as s:
            for n, text in enumerate(["暖气片冰凉好几天", "家里暖气片冰凉", "暖气片冰凉没人管"]):
                s.add(
                    Ticket(
                        number=f"T{n}",
                        client_request_id=f"c{n}",
                        status="new",
                        created_at=now,
                        updated_at=now,
                        description=text,
                        leaf_code="101001",
                    )
                )
            s.add(TaxonomyChoice(at=now, query="暖气片冰凉", leaf_code="101001", rank=2))
    finally:
        store.close()
    proc = hotline(env, "learn", "--json")
    assert proc.returncode == 0, proc.stderr
    found = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {"leaf": "101001", "keyword": "暖气片冰凉", "support": 4, "precision": 1.0, "score": 4.0} in found
    plain = hotline(env, "learn", "--min-support", "50")
    assert plain.returncode == 0 and "no keyword candidates" in plain.stdout


def test_import_then_search_and_stats_use_the_new_version(env: dict[str, str], tmp_path: Path) -> None:
    import csv

    from taxonomy.importer import nodes_to_rows

    rows = nodes_to_rows(small_taxonomy().nodes)
    for row in rows:
        if row["code"] == "102001":
            row["keywords"] += " 家里没水"
    rows = [r for r in rows if r["code"] != "301002"]  # retired by this import
    source = tmp_path / "city_list.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    versions = tmp_path / "versions"
    versions.mkdir()
    env["HOTLINE_TAXONOMY__PATH"] = str(versions)
    proc = hotline(env, "import", str(source), "--json")
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    assert outcome["levels"]["3"] == 19
    stats = json.loads(hotline(env, "stats", "--json").stdout)
    assert stats["version"] == outcome["version"] and stats["levels"]["3"] == 19
    found = json.loads(hotline(env, "search", "家里没水", "--json").stdout)
    assert found[0]["code"] == "102001" and found[0]["matched"] == "家里没水"
    assert "301002" not in [
        r["code"] for r in json.loads(hotline(env, "search", "食物中毒", "--json").stdout)
    ]


def test_import_of_a_bad_file_lists_rows_and_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("code,name,level,parent\n9,根,1,\n901,孤儿,2,8\n", encoding="utf-8")
    versions = tmp_path / "versions"
    versions.mkdir()
    env["HOTLINE_TAXONOMY__PATH"] = str(versions)
    proc = hotline(env, "import", str(source))
    assert proc.returncode == 1
    assert proc.stderr.startswith("hotline: taxonomy import:") and ":3:" in proc.stderr
    assert list(versions.iterdir()) == []
