"""One criterion's text -> its definition (``Atom`` / ``AtomGroup``) or None (text only): lexing, the parts and
their atoms, put together as the computable contract (docs/computable.md, section 1) says: one atom on the item,
several in a combination, an absence inside an item as a one-member all-of with the atom's ``exclude``.
FHIR: https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic"""

from __future__ import annotations

from functools import cache

from fhir_adapter.computable.atoms import Spec, Unreadable, part_reading
from fhir_adapter.computable.gate import could_name_a_concept, could_name_a_concept_in_ascii
from fhir_adapter.computable.lexer import (
    MAX_PHRASE,
    Item,
    Token,
    concept_of_phrase,
    tokens_of,
    tokens_of_lower,
    words_in,
    words_of,
)
from fhir_adapter.computable.prepare import parts_of
from fhir_adapter.computable.quantities import read_items
from fhir_adapter.computable.vocabulary import concept_for, entries
from fhir_adapter.model import Atom, AtomGroup, Concept, Quantity, TimeWindow

__all__ = ["definition_of"]


@cache
def _kinds() -> dict[str, str]:
    return {k: e.kind for k, e in entries().items()}


@cache
def _result_keys() -> dict[str, str]:
    return {k: e.result_key for k, e in entries().items() if e.result_key}


@cache
def _objects() -> frozenset[str]:
    return frozenset(k for k, e in entries().items() if e.takes_object)


_CARVE_OUTS = frozenset({"unless", "if", "except", "excluding", "other than", "except for", "with the exception of"})


def _swallow_objects(items: list[Item]) -> list[Item]:
    """ "allergic to any investigational drug or excipient": the words after such a concept are its object."""
    out: list[Item] = []
    swallowing = False
    objects = _objects()
    for it in items:
        if swallowing and it.cat not in ("qty", "window", "semi", "stop") and it.data not in _CARVE_OUTS:
            out[-1].end = it.end
            if not isinstance(out[-1].data, tuple):
                out[-1].data = (out[-1].data, "object")
            continue
        swallowing = it.cat == "concept" and it.data in objects
        out.append(it)
    # such a concept without its object ("allergy to" at the end) is unreadable
    return [Item("word", it.start, it.end, it.data) if it.cat == "concept" and it.data in objects else it for it in out]


def _words_of(toks: list[Token], it: Item) -> tuple[str, ...]:
    return words_of(toks, it.start, it.end)


def _distributed(toks: list[Token], items: list[Item]) -> list[Item]:
    """Words that share the words of a concept next to them across 'or' / 'and': "mucosal or ocular melanomas",
    "bone marrow or organ transplantation" (the concept's last words), "hepatitis B or C" (its first words)."""
    cats = [it.cat for it in items]
    if "or" not in cats and "and" not in cats:
        return items  # no connector: nothing to share
    out = list(items)
    for k in range(1, len(items) - 1):
        if cats[k] not in ("or", "and"):
            continue
        before, after = items[k - 1], items[k + 1]
        if before.cat == "word" and after.cat == "concept":
            first = k - 1
            while first > max(0, k - MAX_PHRASE) and items[first - 1].cat == "word":
                first -= 1
            _share_last_words(toks, items, out, (first, k), _words_of(toks, after))
        elif before.cat == "concept" and after.cat == "word":
            _share_first_words(toks, items, out, k, _words_of(toks, before))
    return [it for it in out if it.cat != "shared"]


def _share_first_words(toks: list[Token], items: list[Item], out: list[Item], k: int, head: tuple[str, ...]) -> None:
    """The words after the connector at ``k`` that, after the first words of ``head``, name a concept: "hepatitis B
    surface antigen and/or C antibodies" (the longest run of words, at most a phrase long)."""
    last = k + 1
    while last + 1 < min(len(items), k + MAX_PHRASE) and items[last + 1].cat == "word":
        last += 1
    for end in range(last, k, -1):
        words = tuple(w for it in items[k + 1 : end + 1] for w in _words_of(toks, it))
        key = next((key for n in range(len(head) - 1, 0, -1) if (key := concept_of_phrase((*head[:n], *words)))), None)
        if key is not None:
            out[k + 1] = Item("concept", items[k + 1].start, items[end].end, key)
            out[k + 2 : end + 1] = [Item("shared", 0, 0)] * (end - k - 1)
            return


def _share_last_words(
    toks: list[Token], items: list[Item], out: list[Item], span: tuple[int, int], head: tuple[str, ...]
) -> None:
    """The longest run of words before the connector that, with the last words of ``head``, names a concept."""
    first, k = span
    for j in range(first, k):
        words = tuple(w for it in items[j:k] for w in _words_of(toks, it))
        key = next((key for n in range(1, len(head)) if (key := concept_of_phrase(words + head[n:]))), None)
        if key is not None:
            out[j] = Item("concept", items[j].start, items[k - 1].end, key)
            out[j + 1 : k] = [Item("shared", 0, 0)] * (k - j - 1)
            return


def _unwrap(it: Item) -> Item:
    if it.cat == "concept" and isinstance(it.data, tuple):
        it.data = it.data[0]
    return it


def _atom(spec: Spec, text: str) -> Atom:
    q = spec.qty
    unit = q.unit if q is not None else None
    if spec.kind == "age" and q is not None and unit is None:
        unit = "a"
    unit_text = q.unit_text if q is not None else None
    atom = Atom(spec.kind, concept_for(spec.key), exclude=spec.neg, evidence=text[spec.start : spec.end].strip())
    if q is not None and q.high is not None:
        atom.low, atom.high = Quantity(q.value, None, unit, unit_text), Quantity(q.high, None, unit, unit_text)
    elif q is not None:
        atom.quantity = Quantity(q.value, q.cmp, unit, unit_text)
    if spec.result is not None:
        atom.value = concept_for(spec.result)
    w = spec.window
    if w is not None:
        event = concept_for(w.event) if w.event else Concept()
        atom.windows = [TimeWindow(w.low, 0.0, w.unit, event)]
    return atom


def _member(combine: str, atoms: list[Atom]) -> Atom | AtomGroup:
    return atoms[0] if len(atoms) == 1 else AtomGroup(combine, list(atoms))


def _gated_tokens(text: str) -> list[Token] | None:
    """The tokens of ``text``, or None when the gate says no word of it can start a concept."""
    if text.isascii():  # most criteria: the words' lower-case forms straight from the lower-case text
        lower = text.lower()
        lows = words_in(lower)
        return tokens_of_lower(text, lower, lows) if could_name_a_concept_in_ascii(text, lows) else None
    words = words_in(text)
    return tokens_of(text, words) if could_name_a_concept(words) else None


def definition_of(text: str, exclude: bool = False) -> Atom | AtomGroup | None:
    """The computable content of one criterion's own text, or None when any of it cannot be accounted for.
    ``exclude`` is the item's polarity (a future clause is dropped only where it adds exclusions)."""
    toks = _gated_tokens(text)
    if toks is None:
        return None  # no word of it can start a concept: lexing it would find none (most criteria)
    items = read_items(toks)
    if items and items[-1].cat == "colon":
        return None  # a heading of the items below it ("Chemotherapy:")
    items = _distributed(toks, items)
    if not _objects().isdisjoint([it.data for it in items if it.cat == "concept"]):  # a concept with an object: rare
        items = [_unwrap(it) for it in _swallow_objects(items)]
    parts = parts_of(toks, items, _kinds(), exclude)
    # "A; or B" in an inclusion: alternatives, every one of them read or none (one left out would make the
    # requirement stricter than written)
    either = not exclude and any(p and p[0].cat == "or" for p, _ in parts[1:])
    members: list[Atom | AtomGroup] = []
    for part, reading in parts:
        if reading is None:  # not read yet (the alternatives of an exclusion come with their reading)
            reading = part_reading(part, _kinds(), _result_keys(), exclude)
        if isinstance(reading, Unreadable):
            if either:
                return None
            continue  # this part stays text; the others still say what they say
        combine, specs = reading
        members.append(_member(combine, [_atom(s, text) for s in specs]))
    if not members:
        return None
    if len(members) == 1:
        only = members[0]
        return AtomGroup("all-of", [only]) if isinstance(only, Atom) and only.exclude else only
    # the parts of an exclusion item are alternatives ("A within 4 weeks; B within 2 weeks"), of an inclusion
    # item requirements
    combine = "any-of" if exclude or either else "all-of"
    flat: list[Atom | AtomGroup] = []
    for m in members:
        flat += m.members if isinstance(m, AtomGroup) and m.combine == combine and not m.exclude else [m]
    return AtomGroup(combine, flat)
