"""The sentences of the ticket form that explain a refusal, built from its texts in console/locales."""

from __future__ import annotations

from collections.abc import Mapping

from console.i18n import Translator
from console.services.intake import MIN_DESCRIPTION, GateResult, Mode

# what the refusal says cannot be done: 派单 (dispatch), 办结 (direct close), 并单 (merge)
_MISSING_KEY: Mapping[Mode, str] = {
    "dispatch": "gate.missing",
    "direct_close": "gate.missing_close",
    "merge": "gate.missing_merge",
}
# a missing piece by its own name; where the whole element is missing, the element's name
_PART_KEY: Mapping[str, str] = {
    "nature": "gate.part.nature",
    "leaf": "el.what",
    "district": "gate.part.district",
    "address": "gate.part.address",
    "when": "el.when",
    "caller": "el.who",
    "description": "gate.part.description",
}
_BOTH: Mapping[frozenset[str], str] = {
    frozenset({"district", "address"}): "el.where",
    frozenset({"nature", "description"}): "el.demand",
}


def missing_items(tr: Translator, gate: GateResult) -> list[str]:
    """The names of what is missing, in form order: each empty field by its name, an element whose
    every piece is empty (地点: 属地 and 地址) by the element's name."""
    if not gate.parts:  # a result built with elements only
        return [tr.t(f"el.{e}") for e in gate.missing]
    parts = set(gate.parts)
    items: list[str] = []
    done: set[str] = set()
    for part in gate.parts:
        if part in done:
            continue
        pair = next((both for both in _BOTH if part in both and both <= parts), None)
        if pair is not None:
            items.append(tr.t(_BOTH[pair]))
            done |= pair
        else:
            items.append(tr.t(_PART_KEY[part], min=MIN_DESCRIPTION))
            done.add(part)
    return items


def describe_gate(tr: Translator, gate: GateResult) -> str:
    """One or two sentences: what is missing (and that the ticket cannot be dispatched, closed or
    merged), then each bad value."""
    parts = []
    if gate.missing:
        items = tr.t("gate.sep").join(missing_items(tr, gate))
        parts.append(tr.t(_MISSING_KEY[gate.mode], items=items))
    for problem in gate.problems:
        parts.append(tr.t(f"problem.{problem.key}", field=tr.t(f"field.{problem.field}"), **problem.values))
    return "\n".join(parts)


def gate_status(tr: Translator, gate: GateResult) -> tuple[str, str]:
    """The status line (text, level) while the form shows a refusal and the operator fills fields in:
    what is still missing, or that the ticket can now be saved."""
    if gate.ok:
        return tr.t("gate.complete"), ""
    return describe_gate(tr, gate), "error"


def describe_problem(text: str) -> str:
    """A store refusal (already one line, in English) as shown in the status line."""
    return " ".join(text.split())[:300]
