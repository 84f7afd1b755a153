"""An exclusion's list of alternatives read one alternative at a time (the computable contract, docs/computable.md,
section 1, "Precision first").

"Subjects with known TB infection, at high risk of acquiring TB infection, or latent TB": every alternative of an
exclusion is a reason to exclude on its own, so one the parser cannot read ("at high risk of ...") stays text and
the others still say what they say -- the exclusion gets narrower, never wider. The list is left whole (the part
stays text) wherever an alternative could change what another means:

- a negation, an 'and' between alternatives, or a window at the end (it may belong to every alternative);
- an alternative left out that limits the others ("unless ...", "except ...", "only if ...");
- a first alternative left out that names a concept: it may govern the rest ("hospitalisation for MI, stroke or
  heart failure", "infection requiring antibiotics, antivirals or antifungals");
- an alternative read after one left out, joined by a bare 'or' and opening with an unknown word (a shared
  qualifier: "stage III or IV breast cancer").
"""

from __future__ import annotations

from functools import cache

from fhir_adapter.computable.atoms import PartReading, Unreadable, part_reading
from fhir_adapter.computable.lexer import Item
from fhir_adapter.computable.phrases import _DEPTH
from fhir_adapter.computable.vocabulary import entries

__all__ = ["Reading", "alternatives"]

# a part's read_part result in an exclusion, the Unreadable it raised, or None when it was not read: handed to the
# caller with the part, so a part read here is not read a second time
Reading = PartReading | None

_LIMITS = frozenset(
    {"unless", "except", "except for", "excluding", "with the exception of", "other than", "apart from", "if"}
    | {"when", "provided", "only", "but", "however", "although", "though", "whichever"}
)
# the examples of one alternative ("immunosuppressive medication, such as corticosteroids or chemotherapy") are
# no alternatives of their own: such a list is read by prepare's example rules or stays text
_EXAMPLES = frozenset({"such as", "e.g.", "eg", "e.g", "i.e.", "ie", "i.e", "like", "for example", "including"})
_JOINED = frozenset({"cmp", "qty", "value"})  # "SBP < 100 mmHg at screening or < 95 mmHg at randomization"
_MAX_ALTERNATIVES = 12


@cache
def _result_keys() -> dict[str, str]:
    return {k: e.result_key for k, e in entries().items() if e.result_key}


def _read(items: list[Item], kinds: dict[str, str]) -> PartReading:
    return part_reading(items, kinds, _result_keys(), True)


def _lead(part: list[Item]) -> int:
    """How many items open the part with a window for all of it ("Within the past 3 months, ..."): 0 if none."""
    k = 0
    while k < len(part) and part[k].cat == "filler":
        k += 1
    if k < len(part) and part[k].cat == "window":
        k += 1
        return k + 1 if k < len(part) and part[k].cat == "comma" else k
    return 0


def _segments(items: list[Item]) -> list[tuple[Item | None, list[Item]]] | None:
    """The alternatives at bracket depth 0, each with the connector before it; None when the list is no plain
    'or' list (no 'or', an 'and', a negation)."""
    out: list[tuple[Item | None, list[Item]]] = [(None, [])]
    depth = 0
    for it in items:
        depth += _DEPTH.get(it.cat, 0)
        if it.cat == "neg" or (it.cat == "and" and depth == 0):
            return None
        if depth == 0 and it.cat in ("comma", "or"):
            sep, seg = out[-1]
            if not seg:  # ", or": one connector, the 'or'
                out[-1] = (it if it.cat == "or" else sep, seg)
                continue
            out.append((it, []))
        else:
            out[-1][1].append(it)
    segs = [(sep, seg) for sep, seg in out if seg]
    if not any(sep is not None and sep.cat == "or" for sep, _ in segs) or len(segs) > _MAX_ALTERNATIVES:
        return None
    merged: list[tuple[Item | None, list[Item]]] = []
    for sep, seg in segs:
        first = next((it for it in seg if it.cat != "filler"), seg[0])
        if merged and first.cat in _JOINED:
            merged[-1][1].extend([sep or seg[0], *seg])
        else:
            merged.append((sep, list(seg)))
    return merged if len(merged) > 1 else None


def _limits(seg: list[Item]) -> bool:
    return any(it.cat == "blocker" and str(it.data).lower() in _LIMITS for it in seg)


def _qualified_first(first: list[Item], segs: list[tuple[Item | None, list[Item]]], read: list[bool]) -> bool:
    """A first alternative that can be left out: one left out for a qualifier ("symptomatic hypotension"), naming
    no concept and no unknown name alone (either may share the value after it: "severe ALT or AST > 5 x ULN"), before
    alternatives that are each a threshold on their own ("systolic BP < 100 mmHg")."""
    qualified = any(it.cat == "blocker" for it in first) and not any(it.cat == "concept" for it in first)
    return qualified and all(any(x.cat == "qty" for x in seg) for (_, seg), ok in zip(segs, read, strict=True) if ok)


def _examples(seg: list[Item]) -> bool:
    return any(it.cat in ("blocker", "filler") and str(it.data).lower() in _EXAMPLES for it in seg)


def alternatives(part: list[Item], kinds: dict[str, str]) -> list[tuple[list[Item], Reading]]:
    """The part as it is when it reads (or when its alternatives cannot be read apart safely), else the
    alternatives that read, in one part joined by 'or' (or one part each when they do not read together); each
    with its reading where it was read here."""
    if not any(it.cat == "or" for it in part):
        return [(part, None)]  # most parts: no 'or', no list of alternatives
    n = _lead(part)
    lead, segs = part[:n], _segments(part[n:])
    if segs is None or any(it.cat == "window" for it in segs[-1][1]) or any(_examples(seg) for _, seg in segs):
        return [(part, None)]  # no list to take apart: the part is read as it is (cheap checks before any reading)
    whole = _read(part, kinds)
    if not isinstance(whole, Unreadable):
        return [(part, whole)]
    lead = [it for it in lead if it.cat == "window"]
    readings = [_read(lead + seg, kinds) for _, seg in segs]
    read = [not isinstance(r, Unreadable) for r in readings]
    if all(read) or not read[-1] or not any(read):
        return [(part, whole)]  # the last one left out: what it adds after its words may belong to all ("... with X")
    for j, ((sep, seg), ok) in enumerate(zip(segs, read, strict=True)):
        if not ok and _limits(seg):
            return [(part, whole)]
        if not ok and j == 0 and not _qualified_first(seg, segs, read):
            return [(part, whole)]  # the first one left out may govern the rest ("living with A, B or C")
        after_dropped = j > 0 and not read[j - 1] and sep is not None and sep.cat == "or" and sep.data != ","
        first = next((it for it in seg if it.cat != "filler"), seg[0])
        if ok and after_dropped and first.cat == "word":
            return [(part, whole)]
    kept = [(seg, r) for (_, seg), r, ok in zip(segs, readings, read, strict=True) if ok]
    joined = list(lead) + kept[0][0]
    for seg, _ in kept[1:]:
        joined += [Item("or", seg[0].start, seg[0].start, ","), *seg]
    together = _read(joined, kinds)
    if not isinstance(together, Unreadable):
        return [(joined, together)]
    return [(lead + seg, r) for seg, r in kept]
