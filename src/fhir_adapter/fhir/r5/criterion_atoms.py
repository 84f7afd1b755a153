"""The computable content of a criterion (``Criterion.definition``: ``Atom`` / ``AtomGroup``) on its R5
``EvidenceVariable.characteristic``, both ways.

https://hl7.org/fhir/R5/evidencevariable.html; the encoding is the computable contract (docs/computable.md),
section 1; docs/architecture.md for where it sits. One atom: ``definitionByTypeAndValue`` (``type`` = the concept;
``valueQuantity`` for a threshold, ``valueRange`` for an inclusive range, ``valueCodeableConcept`` for a coded result;
``offset`` UNL / LNL for multiples of the normal limits) or, for the presence of a condition, finding, procedure or
drug exposure, ``definitionCodeableConcept``. Several atoms: ``definitionByCombination`` (all-of / any-of) with one
nested characteristic per member, each with its own ``exclude`` and ``timeFromEvent``. Member characteristics have no
``linkId``: that is how a reader tells them from the characteristics of sub-criteria, which always have one.

What FHIR does not carry: ``Atom.kind`` (recovered from the concept with the vocabulary,
``fhir_adapter.computable.vocabulary.kind_of``; "" for a concept outside the table) and ``Atom.evidence`` (words of
the text, not part of equality). A definition that is itself excluded (an ``Atom`` or ``AtomGroup`` with
``exclude=True`` directly on a criterion) is written as a one-member all-of, since the characteristic's own
``exclude`` is the criterion's; it reads back as that ``AtomGroup`` (same meaning).
"""

from __future__ import annotations

from functools import cache

from fhir_adapter import terminology
from fhir_adapter.computable.vocabulary import kind_of
from fhir_adapter.fhir.common import JSON, compact, prune
from fhir_adapter.model import Atom, AtomGroup, Code, Concept, Quantity, TimeWindow

__all__ = ["atom_elements", "concept_cc", "definition_elements", "definition_of", "is_member", "quantity_json"]

_DEFINITION_KEYS = ("definitionByTypeAndValue", "definitionCodeableConcept", "definitionByCombination")


@cache
def _offsets() -> dict[str, JSON]:
    """UCUM annotation unit -> its offset coding (``mappings/fhir-r4-r5.json`` characteristicOffset)."""
    system = terminology.system("characteristic-offset")
    return {unit: prune({"system": system, **row}) for unit, row in terminology.characteristic_offsets().items()}


def _system_uri(name: str) -> str:
    try:
        return terminology.system(name)
    except LookupError:  # already a URI (a concept read from foreign FHIR content): kept as given
        return name


def _short_name(uri: str) -> str:
    return terminology.system_name(uri) or uri  # a system outside mappings/systems.json stays a URI


def concept_cc(c: Concept) -> JSON:
    """A Concept as a CodeableConcept (codings with system URIs, then the text), built as ``prune`` would leave it: an
    empty system, code, display or text, a coding left empty and the concept's empty parts left out ({} when nothing
    is left). The atoms' concepts and an outcome's time frame event (``evidence_variable.time_frame_elements``)."""
    return compact(coding=[x for x in map(_coding, c.codes) if x], text=c.text)


def _coding(k: Code) -> JSON:
    return compact(system=_system_uri(k.system), code=k.code, display=k.display)


def concept_of(cc: JSON | None) -> Concept:
    """The way back of :func:`concept_cc`; a system outside ``mappings/systems.json`` stays a URI."""
    cc = cc or {}
    codes = [
        Code(_short_name(x.get("system") or ""), str(x.get("code")), x.get("display"))
        for x in cc.get("coding", [])
        if isinstance(x, dict)
    ]
    return Concept(codes=codes, text=cc.get("text"))


def quantity_json(q: Quantity) -> JSON:
    """A Quantity: ``unit`` is the unit as written (only when the model has it), ``code`` the UCUM code; empty values
    left out."""
    return compact(
        value=_number(q.value),
        comparator=q.comparator,
        unit=q.unit_text,
        system=terminology.system("ucum") if q.unit else None,
        code=q.unit,
    )


def quantity_of(q: JSON | None) -> Quantity | None:
    if not q or "value" not in q:
        return None
    return Quantity(value=q["value"], comparator=q.get("comparator"), unit=q.get("code"), unit_text=q.get("unit"))


def _number(value: float) -> float | int:
    """A whole number as an integer: "12" and "12.0" are one decimal to a server, which answers "12" (Medplum), so
    writing "12.0" would make a pushed trial differ from what the server gives back."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _time(value: float | None, unit: str) -> JSON | None:
    if value is None:
        return None
    return compact(value=_number(value), system=terminology.system("ucum"), code=unit)


def _time_from_event(w: TimeWindow) -> JSON:
    """A window as ``timeFromEvent``: the event coded where it has codes, else named in ``description`` (empty
    parts left out: {} when nothing is left)."""
    coded = bool(w.event.codes)
    return compact(
        description=None if coded else w.event.text,
        eventCodeableConcept=concept_cc(w.event) if coded else None,
        range=compact(low=_time(w.low, w.unit), high=_time(w.high, w.unit)),
    )


def _window_of(t: JSON) -> TimeWindow:
    rng = t.get("range") or {}
    low, high = rng.get("low") or {}, rng.get("high") or {}
    event = (
        concept_of(t["eventCodeableConcept"]) if t.get("eventCodeableConcept") else Concept(text=t.get("description"))
    )
    return TimeWindow(
        low=low.get("value"), high=high.get("value"), unit=low.get("code") or high.get("code") or "d", event=event
    )


def _offset(a: Atom) -> JSON | None:
    units = [q.unit for q in (a.quantity, a.low, a.high) if q is not None and q.unit]
    coding = _offsets().get(units[0]) if units else None
    return {"coding": [dict(coding)]} if coding else None  # a copy: the table is cached


def atom_elements(a: Atom) -> JSON:
    """The definition and windows of one atom (``exclude`` aside): presence as ``definitionCodeableConcept``,
    anything measured as ``definitionByTypeAndValue``; built without empty elements (as ``prune`` would leave
    them)."""
    out: JSON = {}
    if a.quantity is None and a.low is None and a.high is None and a.value is None:
        concept = concept_cc(a.concept)
        if concept:
            out["definitionCodeableConcept"] = concept
    else:
        value: JSON = (
            {"valueQuantity": quantity_json(a.quantity)}
            if a.quantity is not None
            else {"valueCodeableConcept": concept_cc(a.value)}
            if a.value is not None
            else {
                "valueRange": compact(
                    low=quantity_json(a.low) if a.low else None,
                    high=quantity_json(a.high) if a.high else None,
                )
            }
        )
        typed = compact(type=concept_cc(a.concept), **value, offset=_offset(a))
        if typed:
            out["definitionByTypeAndValue"] = typed
    windows = [t for t in map(_time_from_event, a.windows) if t]
    if windows:
        out["timeFromEvent"] = windows
    return out


def _member(m: Atom | AtomGroup) -> JSON:
    """One member of a combination: a characteristic without ``linkId``, with the member's own ``exclude``
    (without empty elements: a member left empty is left out of its combination)."""
    out: JSON = {"exclude": True} if m.exclude else {}
    if isinstance(m, AtomGroup):
        members = [x for x in map(_member, m.members) if x]
        combination = compact(code=m.combine, characteristic=members)
        if combination:
            out["definitionByCombination"] = combination
    else:
        out.update(atom_elements(m))
    return out


def definition_elements(d: Atom | AtomGroup) -> JSON:
    """The elements a criterion's characteristic gets for its definition (the criterion's own ``exclude`` stays
    the criterion's: an excluded definition is wrapped in a one-member all-of), without empty elements."""
    if d.exclude:
        return {"definitionByCombination": {"code": "all-of", "characteristic": [_member(d)]}}
    return _member(d)


def is_member(ch: JSON) -> bool:
    """True for an atom's characteristic inside a combination (sub-criteria always have a ``linkId``)."""
    return "linkId" not in ch


def _atom_of(ch: JSON) -> Atom:
    dbtv = ch.get("definitionByTypeAndValue")
    if dbtv is None:
        concept = concept_of(ch.get("definitionCodeableConcept"))
        atom = Atom(kind="", concept=concept)
    else:
        rng = dbtv.get("valueRange") or {}
        concept = concept_of(dbtv.get("type"))
        atom = Atom(
            kind="",
            concept=concept,
            quantity=quantity_of(dbtv.get("valueQuantity")),
            low=quantity_of(rng.get("low")),
            high=quantity_of(rng.get("high")),
            value=concept_of(dbtv["valueCodeableConcept"]) if "valueCodeableConcept" in dbtv else None,
        )
    atom.kind = kind_of(concept) or ""
    atom.exclude = bool(ch.get("exclude"))
    atom.windows = [_window_of(t) for t in ch.get("timeFromEvent", [])]
    return atom


def _member_of(ch: JSON) -> Atom | AtomGroup:
    combination = ch.get("definitionByCombination")
    if combination is None:
        return _atom_of(ch)
    return AtomGroup(
        combine=combination.get("code", "all-of"),
        members=[_member_of(k) for k in combination.get("characteristic", [])],
        exclude=bool(ch.get("exclude")),
    )


def definition_of(ch: JSON) -> Atom | AtomGroup | None:
    """The definition a criterion's characteristic carries (None: text only, or sub-criteria)."""
    if not any(k in ch for k in _DEFINITION_KEYS):
        return None
    members = (ch.get("definitionByCombination") or {}).get("characteristic", [])
    if "definitionByCombination" in ch and not all(is_member(k) for k in members):
        return None
    definition = _member_of({k: v for k, v in ch.items() if k != "exclude"})
    return definition
