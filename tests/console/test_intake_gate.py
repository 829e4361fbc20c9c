"""The 五要素 gate names each missing piece (not a whole element when one field is empty), lists the
form's widgets to fill in form order, and says 不能办结 for a direct close; 诉求性质 defaults from the
leaf's allowed natures; the caller's sentence typed into the search is offered as the description.
Pure functions on the built-in taxonomy, then the real form under Pilot on a real SQLite store."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers.ticket_fixtures import HEATING, HEATING_START, PHONE, heating_form, make_desk, operator, taxonomy
from helpers.ticket_host import FormHost, fill_heating_request, set_fields
from textual.widgets import Select

from console.i18n import Translator
from console.services.intake import (
    FORM_FIELDS,
    FormData,
    GateResult,
    Problem,
    check_form,
    default_nature,
    description_from_query,
)
from console.services.ticket_service import CallContext
from console.widgets.ticket_form_text import describe_gate, gate_status
from store.db import Store
from store.vocabulary import NATURES

ZH = Translator.load("zh_CN")
EN = Translator.load("en")


def test_only_the_nature_missing_is_named_alone_in_both_languages() -> None:
    gate = check_form(heating_form(nature=""), "dispatch", leaf_known=True)
    assert (gate.missing, gate.parts, gate.missing_fields) == (("demand",), ("nature",), ("nature",))
    assert gate.focus_field == "nature"
    assert describe_gate(ZH, gate) == "五要素不全，不能派单：缺诉求性质"
    assert describe_gate(EN, gate) == "Incomplete ticket, cannot dispatch: missing nature"


def test_a_short_description_alone_is_named_with_its_minimum() -> None:
    gate = check_form(heating_form(description="冷"), "dispatch", leaf_known=True)
    assert (gate.parts, gate.missing_fields) == (("description",), ("description",))
    assert describe_gate(ZH, gate) == "五要素不全，不能派单：缺诉求描述（至少 5 字）"
    assert describe_gate(EN, gate).endswith("missing description (5+ characters)")


def test_an_empty_form_lists_every_field_in_form_order() -> None:
    gate = check_form(FormData(), "dispatch", leaf_known=False)
    assert gate.parts == ("nature", "leaf", "district", "address", "when", "caller", "description")
    assert gate.missing_fields == (
        "nature",
        "picker",
        "district",
        "address",
        "when",
        "caller-name",
        "description",
    )
    assert list(gate.missing_fields) == [f for f in FORM_FIELDS if f in gate.missing_fields]
    # both pieces of an element missing: the element's own name
    assert describe_gate(ZH, gate) == (
        "五要素不全，不能派单：缺诉求（性质和至少 5 字描述）、事项分类、地点（属地和地址）、发生时间、来电人（姓名或电话）"
    )


def test_the_address_alone_when_the_district_is_there() -> None:
    gate = check_form(heating_form(address=""), "dispatch", leaf_known=True)
    assert (gate.parts, gate.missing_fields) == (("address",), ("address",))
    assert describe_gate(ZH, gate) == "五要素不全，不能派单：缺详细地址"
    assert describe_gate(EN, gate) == "Incomplete ticket, cannot dispatch: missing address"


def test_a_bad_number_without_a_name_points_at_the_phone_field() -> None:
    gate = check_form(heating_form(caller_name="", caller_phone="12"), "dispatch", leaf_known=True)
    assert gate.parts == ("caller",) and gate.missing_fields == ("caller-phone",)
    assert [p.key for p in gate.problems] == ["bad_phone"]
    no_one = check_form(heating_form(caller_name="", caller_phone=""), "dispatch", leaf_known=True)
    assert no_one.missing_fields == ("caller-name",)


def test_a_direct_close_says_it_cannot_close_and_asks_for_the_answer() -> None:
    gate = check_form(heating_form(nature="", leaf_code=""), "direct_close", leaf_known=False)
    assert gate.mode == "direct_close" and gate.missing_fields == ("nature", "picker", "answer")
    zh = describe_gate(ZH, gate)
    assert zh.startswith("五要素不全，不能办结：缺诉求性质、事项分类") and "不能派单" not in zh
    assert "直接办结需要答复内容" in zh
    en = describe_gate(EN, gate)
    assert en.startswith("Incomplete ticket, cannot close: missing nature, category") and "dispatch" not in en
    answered = check_form(heating_form(answer="按规定答复"), "direct_close", leaf_known=True)
    assert answered.ok and answered.focus_field is None


def test_a_bad_value_alone_gives_the_focus_to_its_field() -> None:
    gate = check_form(heating_form(address="长" * 600), "dispatch", leaf_known=True)
    assert gate.missing_fields == () and gate.focus_field == "address"
    assert GateResult(problems=(Problem("too_long", "caller_name"),)).focus_field == "caller-name"


def test_a_result_with_elements_only_is_still_described() -> None:
    assert describe_gate(ZH, GateResult(missing=("when",))) == "五要素不全，不能派单：缺发生时间"
    assert (
        describe_gate(ZH, GateResult(missing=("what",), mode="merge")) == "五要素不全，不能并单：缺事项分类"
    )


def _leaf(name: str):  # type: ignore[no-untyped-def]
    return next(n for n in taxonomy().leaves() if n.name == name)


@pytest.mark.parametrize(
    ("leaf_name", "nature"),
    [
        ("暖气不热", "求助"),  # 咨询 求助 投诉 建议: a problem, not a question
        ("供暖开始时间咨询", "咨询"),  # the one allowed nature
        ("路灯不亮", "求助"),
        ("违法用工举报", "举报"),  # named by the leaf
        ("道路新建拓宽建议", "建议"),
        ("空气质量咨询", "咨询"),  # 咨询 建议, named 咨询
        ("外地旅游投诉", "投诉"),
        ("供暖费多收乱收", "投诉"),  # 投诉 举报: the first listed
    ],
)
def test_default_nature_from_the_leaf(leaf_name: str, nature: str) -> None:
    node = _leaf(leaf_name)
    assert default_nature(node) == nature
    assert default_nature(node.natures, node.path) == nature


def test_default_nature_for_every_leaf_is_one_it_allows() -> None:
    for node in taxonomy().leaves():
        assert default_nature(node) in node.natures, node.path


def test_default_nature_without_the_natures_reads_the_name() -> None:
    assert default_nature((), ("城市建设与管理", "供热", "供热政策咨询")) == "咨询"
    assert default_nature((), ("城市建设与管理", "供热", "暖气不热")) is None
    assert default_nature(("未知",), ("x", "y", "z")) is None  # a nature outside NATURES is ignored
    assert default_nature("投诉") == "投诉" and default_nature(None) is None
    assert set(NATURES) >= {default_nature((n,)) for n in NATURES}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("家里燃气泄漏了，闻到很大的煤气味", "家里燃气泄漏了，闻到很大的煤气味"),
        ("  楼上漏水  泡了我家\n", "楼上漏水 泡了我家"),
        ("3号楼电梯坏了", "3号楼电梯坏了"),
        ("nqbr", None),  # initials
        ("nuanqibure", None),  # full pinyin
        ("dt困人", None),  # mixed search keys
        ("暖气不热", None),  # too short to pass the gate
        ("101001", None),  # a leaf code
        ("", None),
    ],
)
def test_description_from_query(query: str, expected: str | None) -> None:
    assert description_from_query(query) == expected


def test_a_keyword_typed_to_find_the_leaf_is_not_a_description() -> None:
    assert description_from_query("供暖开始时间咨询", ("供暖开始时间咨询",)) is None
    assert description_from_query("供暖开始时间咨询一下", ("供暖开始时间咨询",)) == "供暖开始时间咨询一下"


# --- the real form -----------------------------------------------------------------------------------

SIZE = (120, 60)


async def test_the_form_names_only_the_nature_when_only_the_nature_is_missing(sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)), CallContext("call-1", PHONE))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.focus_search()
        await fill_heating_request(pilot, form)
        form.query_one("#nature", Select).clear()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "缺诉求性质" in form.status_text and "诉求（性质" not in form.status_text
        assert form.tickets.check(form.form_data()).focus_field == "nature"


async def test_the_form_says_cannot_close_for_a_direct_close(sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)), CallContext("call-1", PHONE), "en")
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.focus_search()
        await pilot.press(*"供暖开始时间咨询", "enter")  # a standard answer
        await pilot.pause()
        assert form.leaf_code == HEATING_START
        set_fields(form, description="问什么时候开始供暖")
        form.query_one("#nature", Select).clear()  # were it filled in from the leaf
        form.knowledge()  # 直接办结, the answer filled in
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form.status_text == "Incomplete ticket, cannot close: missing nature"


async def test_every_widget_id_the_gate_names_is_in_the_form(sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)))
    async with app.run_test(size=SIZE):
        form = app.form
        ids = [w.id for w in form.query("*") if w.id in FORM_FIELDS]
        assert ids == list(FORM_FIELDS)  # present, and in form order
        gate = form.tickets.check(replace(heating_form(), leaf_code=HEATING, nature=""))
        assert isinstance(form.query_one(f"#{gate.focus_field}"), Select)


def test_gate_status_says_what_is_left_then_that_it_can_be_saved() -> None:
    assert gate_status(ZH, check_form(heating_form(when=""), "dispatch", leaf_known=True)) == (
        "五要素不全，不能派单：缺发生时间",
        "error",
    )
    assert gate_status(EN, check_form(heating_form(), "dispatch", leaf_known=True)) == (
        "All five elements are there: Ctrl+S to save",
        "",
    )
