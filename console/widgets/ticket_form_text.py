"""The sentences of the ticket form that explain a refusal, built from its texts in console/locales."""

from __future__ import annotations

from console.i18n import Translator
from console.services.intake import GateResult


def describe_gate(tr: Translator, gate: GateResult) -> str:
    """One or two sentences: which of the five elements are missing, then each bad value."""
    parts = []
    if gate.missing:
        items = tr.t("gate.sep").join(tr.t(f"el.{e}") for e in gate.missing)
        parts.append(tr.t("gate.missing", items=items))
    for problem in gate.problems:
        parts.append(tr.t(f"problem.{problem.key}", field=tr.t(f"field.{problem.field}"), **problem.values))
    return "\n".join(parts)


def describe_problem(text: str) -> str:
    """A store refusal (already one line, in English) as shown in the status line."""
    return " ".join(text.split())[:300]
