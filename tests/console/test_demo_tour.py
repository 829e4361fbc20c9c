"""``hotline demo`` around the console: its folder (temporary unless --data-dir), the query the
README promises on the demo's store, the transfer list with departments, the --no-ui tour's columns."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from console import bootstrap
from console.commands._demo_ui import DemoFolder, demo_folder, with_demo_settings, write_demo_departments
from console.commands.demo import DEMO_QUERIES, classification_lines
from console.config import Config, ConfigError, load_config
from console.screens.dialogs import EMERGENCY_KEYS
from console.services.call_service import Operator
from store.db import open_store
from store.seed_data import DEMO_DEPARTMENT_PHONES
from taxonomy.model import load_departments, load_taxonomy
from taxonomy.search import Searcher
from telephony.offline import OfflineLine

Hotline = Any  # the runner from tests/console/conftest.py


def test_a_temporary_demo_folder_is_deleted_and_a_given_one_kept(tmp_path: Path) -> None:
    with demo_folder(None) as temporary:
        (temporary.path / "demo.sqlite3").write_bytes(b"x")
        assert temporary.path.is_dir() and not temporary.kept
    assert not temporary.path.exists()
    assert "deleted" in temporary.farewell() and "--data-dir" in temporary.farewell()
    given = tmp_path / "keep" / "here"
    with demo_folder(given) as kept:
        assert kept == DemoFolder(given, kept=True)
    assert given.is_dir()
    assert f"HOTLINE_STORE__URL=sqlite:///{given / 'demo.sqlite3'} hotline tickets list" in kept.farewell()


def test_the_tour_deletes_its_temporary_store(hotline_sqlite: Hotline, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = hotline_sqlite("demo", "--no-ui", "--tickets", "60", "--calls", "1", TMPDIR=str(scratch))
    assert result.code == 0, result.err
    assert list(scratch.iterdir()) == []
    assert "The demo store was temporary" in result.out


def test_the_readme_query_works_on_a_kept_demo_store(hotline_sqlite: Hotline, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = hotline_sqlite("demo", "--no-ui", "--data-dir", str(folder), "--tickets", "60", "--calls", "1")
    assert result.code == 0, result.err
    hint = result.out.strip().splitlines()[-1]
    url = re.search(r"HOTLINE_STORE__URL=(\S+) hotline tickets list", hint)
    assert url is not None and url.group(1) == f"sqlite:///{folder / 'demo.sqlite3'}"
    listed = hotline_sqlite("tickets", "list", "--limit", "500", "--json", HOTLINE_STORE__URL=url.group(1))
    assert listed.code == 0 and len(json.loads(listed.out)) == 60
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "HOTLINE_STORE__URL=sqlite:///" in readme and "--data-dir" in readme


def test_the_tour_lines_its_arrows_up_in_terminal_cells() -> None:
    lines = classification_lines(Searcher(load_taxonomy()), DEMO_QUERIES)
    columns = {cell_len(line.split("→", 1)[0]) for line in lines}
    assert len(lines) == len(DEMO_QUERIES) and len(columns) == 1, lines


def test_the_transfer_list_shows_departments_with_numbers(tmp_path: Path) -> None:
    shipped = bootstrap.transfer_targets(Config())
    assert {t.number for t in shipped} <= set(EMERGENCY_KEYS.values())  # the shipped list: 110 ... only
    config = with_demo_settings(Config(), write_demo_departments(tmp_path), busy=False)
    targets = {t.number: t.label for t in bootstrap.transfer_targets(config)}
    names = {d.id: d.name for d in load_departments().values()}
    for dep_id, number in DEMO_DEPARTMENT_PHONES.items():
        assert targets[number] == names[dep_id]
    assert targets["88906101"] == "鞍山市燃气总公司"
    # the demo's file keeps every department of the shipped one, and their ids and names
    demo = load_departments(config.taxonomy.departments)
    assert {(d.id, d.name) for d in demo.values()} == set(names.items())


def test_a_departments_file_from_the_configuration(tmp_path: Path) -> None:
    tsv = tmp_path / "deps.tsv"
    tsv.write_text("# id\tname\tkind\tphone\nrq\t燃气公司\tutility\t5551234\ncgj\t城管局\tmunicipal\t\n")
    config = load_config(env={"HOTLINE_TAXONOMY__DEPARTMENTS": str(tsv)})
    assert [(t.number, t.label) for t in bootstrap.transfer_targets(config)] == [("5551234", "燃气公司")]
    # the tickets of the seat are dispatched under the same file's names
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        service = bootstrap.SeatBuilder(config, store, OfflineLine("test")).tickets(
            Operator(1, "wang", "王丽", "operator")
        )
        assert service.department_name("rq") == "燃气公司" and service.department_name("cgj") == "城管局"
    finally:
        store.close()
    with pytest.raises(ConfigError, match=r"taxonomy\.departments: expected a departments file"):
        load_config(env={"HOTLINE_TAXONOMY__DEPARTMENTS": str(tmp_path / "none.tsv")})
