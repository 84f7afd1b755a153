"""The flat form of a criterion's atoms, for scoring and tests (the contract of issue 9, /work/notes/issue9.md):
one dict per atom with concept keys of ``mappings/eligibility-concepts.json`` and the atom's EFFECTIVE polarity
(item exclude XOR group exclude XOR atom exclude, children composed with their parent's).
FHIR counterpart: https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic"""

from __future__ import annotations

from typing import Any

from fhir_adapter.computable.vocabulary import concept_key
from fhir_adapter.model import Atom, AtomGroup, Criterion, Quantity, TimeWindow

__all__ = ["flat_atoms"]


def _number(q: Quantity | None) -> float | int | None:
    return None if q is None else _number_of(q.value)


def _window(windows: list[TimeWindow]) -> dict[str, Any] | None:
    if not windows:
        return None
    w = windows[0]
    return {"low": _number_of(w.low), "high": _number_of(w.high), "unit": w.unit, "event": concept_key(w.event)}


def _number_of(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _flat_atom(atom: Atom, exclude: bool) -> dict[str, Any]:
    q = atom.quantity
    unit = next((x.unit for x in (q, atom.low, atom.high) if x is not None and x.unit), None)
    return {
        "kind": atom.kind,
        "concept": concept_key(atom.concept),
        "comparator": q.comparator if q is not None else None,
        "value": _number(q),
        "low": _number(atom.low),
        "high": _number(atom.high),
        "unit": unit,
        "result": concept_key(atom.value),
        "window": _window(atom.windows),
        "polarity": "exclude" if exclude != atom.exclude else "include",
    }


def _flat_definition(definition: Atom | AtomGroup, exclude: bool) -> list[dict[str, Any]]:
    if isinstance(definition, Atom):
        return [_flat_atom(definition, exclude)]
    inner = exclude != definition.exclude
    return [row for member in definition.members for row in _flat_definition(member, inner)]


def flat_atoms(criterion: Criterion, *, parent_exclude: bool = False) -> list[dict[str, Any]]:
    """Every atom of ``criterion`` (its definition, then its children's, depth first) in the flat form;
    ``parent_exclude`` is the effective polarity of the item holding it (False for a top-level item)."""
    exclude = parent_exclude != criterion.exclude
    rows = _flat_definition(criterion.definition, exclude) if criterion.definition is not None else []
    for child in criterion.children:
        rows += flat_atoms(child, parent_exclude=exclude)
    return rows
