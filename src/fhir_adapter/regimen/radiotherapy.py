"""Radiotherapy in a phase's text: total dose in Gy (value or range), fractions (count or range), dose per fraction,
techniques as written; and the timing of drugs relative to it ("within 48 hours after the end of radiotherapy").

The contract (docs/computable.md section 2) maps it to a ServiceRequest-kind ActivityDefinition
(https://hl7.org/fhir/R5/activitydefinition.html) and the timing to ``relatedAction``.
"""

from __future__ import annotations

from fhir_adapter.model import Count, Dose, DrugActivity, Quantity, Radiotherapy, Sequencing
from fhir_adapter.regimen import patterns as p
from fhir_adapter.regimen.terms import terms
from fhir_adapter.regimen.text import clause_ends, find_phrases, has_any, paren_depths

__all__ = ["radiotherapy", "sequence_drugs"]

RT_NAME = "radiotherapy"
MAX_TO_BRACKET = 40  # "intensity-modulated conformal radiotherapy (IMRT)": from a technique to its bracketed name


def _gy(value: str, high: str | None, unit: str, written: str) -> Dose:
    code = terms().unit(unit) or "Gy"
    if high:
        return Dose(low=float(value), high=float(high), unit=code, unit_text=written)
    return Dose(value=float(value), unit=code, unit_text=written)


def _fractions(text: str) -> Count | None:
    if (m := p.FRACTIONS.search(text)) is not None:
        low = int(m.group(1))
        return Count(low, int(m.group(2)) if m.group(2) else low)
    if p.SINGLE_FRACTION.search(text):
        return Count(1, 1)
    return None


def _techniques(text: str) -> list[tuple[int, int]]:
    # "intensity-modulated conformal radiotherapy (IMRT)": the bracket right after a technique names the same one,
    # so the pair is one technique (the bracketed name is kept).
    found = find_phrases(text, terms().techniques)
    depths = paren_depths(text)
    out: list[tuple[int, int]] = []
    for k, (start, end, _) in enumerate(found):
        nxt = found[k + 1][0] if k + 1 < len(found) else None
        between = text[end:nxt] if nxt is not None else ""
        bracket = nxt is not None and depths[nxt] > depths[start] and "(" in between and ")" not in between
        if bracket and len(between) <= MAX_TO_BRACKET:
            continue
        out.append((start, end))
    return out


def _evidence_text(text: str, spans: list[tuple[int, int]]) -> str:
    # The clauses holding the radiotherapy's dose, fractions and techniques, whole (never cut mid-word).
    ends = clause_ends(text)
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    start = max([e + 1 for e in ends if e < first], default=0)
    stop = min([e for e in ends if e >= last], default=len(text))
    return text[start:stop].strip(" ,;.·•\n")


def radiotherapy(text: str, low: str | None = None) -> tuple[int, Radiotherapy] | None:
    """(offset, radiotherapy) when ``text`` gives a total dose in Gy, else None (no dose: it stays text). Doses keep
    their unit as written in ``unit_text`` ("Gy"); the text is the clauses that hold what was read. ``low``: the
    text lowered, when the caller has it."""
    m = p.GY_TOTAL.search(text) if "gy" in (text.lower() if low is None else low) else None
    if m is None:
        return None
    per = p.PER_FRACTION.search(text)
    fractions = p.FRACTIONS.search(text)
    techniques = _techniques(text)
    spans = [m.span(), *techniques, *([per.span()] if per else []), *([fractions.span()] if fractions else [])]
    return m.start(), Radiotherapy(
        name=RT_NAME,
        total_dose=_gy(m.group(1), m.group(2), m.group(3), m.group(3)),
        fractions=_fractions(text),
        dose_per_fraction=_gy(per.group(1), None, per.group(2), per.group(2)) if per else None,
        techniques=list(dict.fromkeys(text[s:e] for s, e in techniques)),
        text=_evidence_text(text, spans),
    )


def _same(name: str, written: str) -> bool:
    low = name.lower()
    return low.startswith(written) or written.startswith(low)


def sequence_drugs(text: str, named: list[tuple[int, str]], drugs: list[DrugActivity]) -> None:
    """Give the drug named last before "within 48 hours after the end of radiotherapy" (in that sentence) its
    Sequencing: after the end of RT, with the offset's upper bound. ``named`` is (offset, name) of every mention."""
    t = terms()
    for m in p.SEQ_AFTER_RT.finditer(text) if has_any(text, "within") else ():
        start = max(text.rfind(".", 0, m.start()), 0)
        names = [name.lower() for off, name in named if start <= off < m.start()]
        target = next((d for d in drugs if names and _same(d.name, names[-1])), None)
        if target is None or any(s.target == RT_NAME for s in target.sequencing):
            continue
        unit = t.time_units.get(m.group(2).lower(), "h")
        high = Quantity(value=float(m.group(1)), unit=unit, unit_text=m.group(2))
        target.sequencing.append(Sequencing("after-end", RT_NAME, None, high, text[start + 1 : m.end()].strip(" .")))
