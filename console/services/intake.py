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

The gate also says which *pieces* are missing (``GateResult.parts``: ``nature``, ``leaf``, ``district``,
``address``, ``when``, ``caller``, ``description``), so the message names the empty field itself and
not a whole element, and which form widgets to fix (``GateResult.missing_fields``, the ticket form's
widget ids in form order; ``GateResult.focus_field`` the first one, for the focus).

Two helpers carry what is known into the form: ``default_nature(leaf)`` (诉求性质 from the leaf's
allowed natures) and ``description_from_query(query)`` (the caller's sentence typed into the search,
offered as the description).
"""

from __future__ import annotations

import dataclasses
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, Protocol

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
        """Nothing the operator typed or chose: the caller's number and name (filled in from the line
        and the history) and the defaults do not count, nor a select not drawn yet (blank)."""
        texts = (
            self.nature,
            self.leaf_code,
            self.district,
            self.address,
            self.when,
            self.description,
            self.answer,
        )
        changed = (
            self.board not in ("", DEFAULT_BOARD)
            or self.urgency not in ("", DEFAULT_URGENCY)
            or self.direct_close
            or not self.callback_consent
        )
        return not changed and not any(t.strip() for t in texts)


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


# the missing pieces, in the order of the ticket form's fields, and the widget each is typed into
# (console/widgets/ticket_form.py compose(); "picker" is the taxonomy picker, Ctrl+F)
PARTS: tuple[str, ...] = ("nature", "leaf", "district", "address", "when", "caller", "description")
FORM_FIELDS: tuple[str, ...] = (
    "nature",
    "board",
    "urgency",
    "picker",
    "district",
    "address",
    "when",
    "caller-name",
    "caller-phone",
    "description",
    "answer",
)
_PART_FIELD: Mapping[str, str] = {"leaf": "picker", "caller": "caller-name"}
# FormData / Problem field names whose widget id differs (street is derived from the address)
_DATA_FIELD: Mapping[str, str] = {
    "caller_name": "caller-name",
    "caller_phone": "caller-phone",
    "street": "address",
}


def widget_id(name: str) -> str:
    """The ticket form's widget id for a part (``leaf``) or a FormData field (``caller_phone``)."""
    return _PART_FIELD.get(name) or _DATA_FIELD.get(name) or name


@dataclass(frozen=True)
class GateResult:
    """What the gate found: ``missing`` elements (of ``ELEMENTS``), ``parts`` (of ``PARTS``, form
    order), ``problems`` (values the store would refuse), ``missing_fields`` (widget ids of the form
    to fill, form order) and the ``mode`` checked (the message says 不能派单 or 不能办结)."""

    missing: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    mode: Mode = "dispatch"
    parts: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems

    @property
    def focus_field(self) -> str | None:
        """The widget to move the focus to: the first missing field, else the first bad value's."""
        if self.missing_fields:
            return self.missing_fields[0]
        bad = {widget_id(p.field) for p in self.problems}
        return next((f for f in FORM_FIELDS if f in bad), None)


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
    parts = _missing_parts(f, missing)
    problems = list(_problems(f))
    if mode == "direct_close" and not f.answer:
        problems.append(Problem("no_answer", "answer"))
    fields_ = {widget_id(p) for p in parts}
    if "caller" in parts and f.caller_phone and not f.caller_name:
        fields_ = (fields_ - {"caller-name"}) | {"caller-phone"}  # a number is there: it is the one to fix
    if any(p.key == "no_answer" for p in problems):
        fields_.add("answer")
    ordered = tuple(w for w in FORM_FIELDS if w in fields_)
    return GateResult(missing, tuple(problems), mode, parts, ordered)


def _missing_parts(f: FormData, missing: tuple[str, ...]) -> tuple[str, ...]:
    """The empty (or too short) pieces of the ``missing`` elements, in form order."""
    gaps: set[str] = set()
    if "who" in missing:
        gaps.add("caller")
    if "when" in missing:
        gaps.add("when")
    if "where" in missing:
        gaps.update(name for name in ("district", "address") if not getattr(f, name))
    if "what" in missing:
        gaps.add("leaf")
    if "demand" in missing:
        if f.nature not in NATURES:
            gaps.add("nature")
        if len(f.description) < MIN_DESCRIPTION:
            gaps.add("description")
    return tuple(p for p in PARTS if p in gaps)


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


# --- known data carried into the form ---------------------------------------------------------------

PLACE_NATURES: tuple[str, ...] = tuple(n for n in NATURES if n not in NATURES_WITHOUT_PLACE)  # 求助 投诉 举报


class LeafLike(Protocol):
    """What ``default_nature`` reads of a leaf (``ticket_service.LeafFacts``, ``taxonomy.model.Node``)."""

    @property
    def natures(self) -> tuple[str, ...]: ...

    @property
    def path(self) -> tuple[str, ...]: ...


def default_nature(leaf: LeafLike | Sequence[str] | None, path: Sequence[str] = ()) -> str | None:
    """The 诉求性质 to preselect for ``leaf`` (its facts, or its allowed natures with ``path``), or None.

    1. one allowed nature: that one (a 咨询 leaf gives 咨询);
    2. the leaf's name ends with an allowed nature (``…咨询``, ``…建议``, ``违法用工举报``): that one;
    3. the first listed nature, except that a list starting with 咨询 gives its first 求助 / 投诉 / 举报:
       the catalogue lists a domain's natures in the fixed order 咨询 求助 投诉 …, and a call about a
       problem (暖气不热) is rarely a question; 咨询 would also waive the place from the gate;
    4. no allowed natures known: the nature the name ends with, else None (the operator chooses).
    Natures outside ``NATURES`` are ignored.
    """
    if leaf is None:
        return None
    if isinstance(leaf, str):
        natures: Sequence[str] = (leaf,)
    elif isinstance(leaf, Sequence):
        natures = leaf
    else:
        natures, path = leaf.natures, leaf.path or path
    allowed = [n for n in natures if n in NATURES]
    name = path[-1] if path else ""
    named = next((n for n in NATURES if name.endswith(n)), None)
    if len(allowed) == 1:
        return allowed[0]
    if not allowed:
        return named
    if named in allowed:
        return named
    if allowed[0] == "咨询":
        return next((n for n in allowed if n in PLACE_NATURES), allowed[0])
    return allowed[0]


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3FFFF


def description_from_query(query: str, keywords: Sequence[str] = ()) -> str | None:
    """The search query as a description, when it reads as the caller's own sentence, else None.

    A sentence: at least ``MIN_DESCRIPTION`` characters (so it satisfies the gate) besides spaces, of
    which at least half are Chinese characters (``nqbr``, ``dt困人`` and leaf codes are search keys,
    not words), and not one of ``keywords`` (the alias that matched or the leaf's name: a keyword
    typed to find the leaf says nothing of this call). Cleaned like a field, cut at the store's limit.
    """
    text = " ".join(clean_text(query).split())
    chars = [ch for ch in text if not ch.isspace()]
    if len(chars) < MIN_DESCRIPTION or 2 * sum(map(_is_cjk, chars)) < len(chars):
        return None
    if text in {k.strip() for k in keywords}:
        return None
    return text[: MAX_LENGTHS["description"]]
