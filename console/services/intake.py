"""What the operator typed into the ticket form, cleaned, and the 五要素 gate. Pure logic, no store.

The five elements (五要素) of an intake, after DESIGN.md (who, when, where, what, how it came about /
what the citizen asks for), and what satisfies each:

- ``who`` 来电人: a caller name or a valid phone number (the call's number is filled in by itself);
- ``when`` 发生时间: when the matter happened or began, in the operator's words ("昨晚起", "11月20日");
- ``where`` 地点: a district (属地) and an address; needed to dispatch a 求助/投诉/举报, or any leaf whose
  dispatch catalogue requires an address (``required_fields`` 地址 / 小区名称);
- ``what`` 事项: a taxonomy leaf (the classification);
- ``demand`` 诉求: a request nature and a description of at least ``MIN_DESCRIPTION`` characters (what
  happened and what the citizen wants).

Dispatch (派单) needs all five. 直接办结 (answered on the spot) needs ``what``, ``demand`` and an answer;
并单 (merged into an earlier ticket) needs ``what`` and ``demand``. Limits the store enforces (a
description of at most 4,000 characters ...) are checked here too, so the operator hears about them
before anything is written, with the text kept.
"""

from __future__ import annotations

import dataclasses
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from store.callers import PhoneError, normalise_phone
from store.tickets import TicketDraft
from store.vocabulary import BOARDS, DEFAULT_BOARD, DEFAULT_URGENCY, NATURES, URGENCIES

Mode = Literal["dispatch", "direct_close", "merge"]
ELEMENTS: tuple[str, ...] = ("who", "when", "where", "what", "demand")
MIN_DESCRIPTION = 5


def _draft_max_length(name: str) -> int:
    """The longest ``name`` the store accepts (``store.tickets.TicketDraft``'s ``max_length``)."""
    return int(
        next(m.max_length for m in TicketDraft.model_fields[name].metadata if hasattr(m, "max_length"))
    )


# what the store accepts, and the form's own fields ("when" goes into the description; "answer" is
# the 直接办结 reply)
MAX_LENGTHS: Mapping[str, int] = {
    **{
        name: _draft_max_length(name)
        for name in ("description", "address", "caller_name", "street", "district")
    },
    "when": 200,
    "answer": 4000,
}
NATURES_WITHOUT_PLACE = frozenset({"咨询", "建议", "表扬"})
PLACE_FIELDS = frozenset({"地址", "小区名称"})
# bidirectional overrides can make a ticket read differently from what was typed; never keep them
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` without control characters (newlines kept in multi-line fields; tabs become spaces).

    Emoji, CJK and joiners (ZWJ, variation selectors) stay: callers' words are kept as typed.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\n" if multiline else " ")
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class FormData:
    """The ticket form's content; ``request_id`` makes saving idempotent across retries and restarts."""

    nature: str = ""
    board: str = DEFAULT_BOARD
    leaf_code: str = ""
    leaf_path: tuple[str, ...] = ()
    query: str = ""  # what the operator typed to find the leaf
    leaf_rank: int = 0  # where the leaf was in the results when picked (1 = first; 0 = not picked there)
    district: str = ""
    street: str = ""
    address: str = ""
    when: str = ""
    description: str = ""
    urgency: str = DEFAULT_URGENCY
    caller_name: str = ""
    caller_phone: str = ""
    callback_consent: bool = True
    direct_close: bool = False
    answer: str = ""
    request_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["leaf_path"] = list(self.leaf_path)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FormData:
        """Tolerant: unknown keys are ignored and a value of the wrong type falls back to the default,
        so a draft written by another version still comes back."""
        base = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value, default = data[f.name], getattr(base, f.name)
            if f.name == "leaf_path":
                if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                    values[f.name] = tuple(value)
            elif isinstance(default, bool):
                if isinstance(value, bool):
                    values[f.name] = value
            elif isinstance(default, int):
                if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 99:
                    values[f.name] = value
            elif isinstance(value, str):
                values[f.name] = value
        return replace(base, **values)

    def cleaned(self) -> FormData:
        multi = {"description", "answer"}
        changes: dict[str, Any] = {
            f.name: clean_text(getattr(self, f.name), multiline=f.name in multi).strip()
            for f in fields(self)
            if isinstance(getattr(self, f.name), str) and f.name != "request_id"
        }
        return replace(self, **changes)

    def is_blank(self) -> bool:
        """Nothing the operator typed (defaults and the caller's number do not count)."""
        return self == FormData(request_id=self.request_id, caller_phone=self.caller_phone)


WHEN_LABEL = "\n【发生时间】"


def composed_description(form: FormData) -> str:
    """The ticket's description: the operator's text, then when it happened (the 时 of 五要素)."""
    return f"{form.description}{WHEN_LABEL}{form.when}" if form.when else form.description


@dataclass(frozen=True)
class Problem:
    """A value the store would refuse: ``key`` names the message, ``values`` fill it in."""

    key: str
    field: str
    # dataclasses.field: a bare ``field`` would read as the attribute above
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class GateResult:
    missing: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems


def valid_phone(text: str) -> bool:
    try:
        normalise_phone(text)
    except PhoneError:
        return False
    return True


def check_form(
    form: FormData, mode: Mode, *, leaf_known: bool, leaf_required: tuple[str, ...] = ()
) -> GateResult:
    """The 五要素 gate and the store's limits for ``mode``; nothing is changed."""
    f = form.cleaned()
    present = {
        "who": bool(f.caller_name) or (bool(f.caller_phone) and valid_phone(f.caller_phone)),
        "when": bool(f.when),
        "where": bool(f.district) and bool(f.address),
        "what": bool(f.leaf_code) and leaf_known,
        "demand": f.nature in NATURES and len(f.description) >= MIN_DESCRIPTION,
    }
    needed: list[str] = ["what", "demand"]
    if mode == "dispatch":
        needed = list(ELEMENTS)
        if f.nature in NATURES_WITHOUT_PLACE and not PLACE_FIELDS & set(leaf_required):
            needed.remove("where")
    missing = tuple(e for e in ELEMENTS if e in needed and not present[e])
    problems = list(_problems(f))
    if mode == "direct_close" and not f.answer:
        problems.append(Problem("no_answer", "answer"))
    return GateResult(missing, tuple(problems))


def _problems(f: FormData) -> list[Problem]:
    out: list[Problem] = []
    for name, limit in MAX_LENGTHS.items():
        n = len(composed_description(f)) if name == "description" else len(getattr(f, name))
        if n > limit:
            out.append(Problem("too_long", name, {"n": n, "max": limit}))
    if f.caller_phone and not valid_phone(f.caller_phone):
        out.append(Problem("bad_phone", "caller_phone"))
    if f.board and f.board not in BOARDS:
        out.append(Problem("bad_choice", "board"))
    if f.urgency not in URGENCIES:
        out.append(Problem("bad_choice", "urgency"))
    return out
