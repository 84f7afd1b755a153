"""The drugs of one phase's text: where each is named, the stretch of text that speaks of it, and what that stretch
says (dose, route, frequency, days).

A drug's stretch runs from its name to the next drug's name or the end of the clause; a dose written just before
the name ("200mg of Carilizumab") is the drug's too, and is cut from the previous drug's stretch. Drugs named in one
clause share days and frequency written once after the last of them ("dabrafenib PO BID and trametinib PO QD on
days 1-28"). A drug named twice in a phase is one activity: later mentions only fill what earlier ones left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fhir_adapter.model import DayRun, Dose, DrugActivity, Frequency
from fhir_adapter.regimen.attributes import (
    adjacent_dose,
    days_in,
    dose_hits,
    dose_levels,
    frequency_ending,
    frequency_in,
    route_in,
)
from fhir_adapter.regimen.terms import terms
from fhir_adapter.regimen.text import clause_ends, paren_depths

__all__ = ["Mention", "drug_activities", "mentions", "same_drug"]


@dataclass(slots=True)
class Mention:
    """A drug name found in the text, with the clause it sits in."""

    name: str  # as written, a salt word after it included ("Apatinib mesylate")
    start: int
    end: int
    key: str = ""  # the drug it names (the intervention's name: "Tecfidera" names "Dimethyl fumarate")
    clause: int = 0
    clause_first: bool = True  # no other drug is named before it in its clause
    whole: bool = False  # an implicit mention: the whole text speaks of this drug


@dataclass(slots=True)
class Reading:
    """What one mention's stretch says, before mentions of the same drug are merged."""

    mention: Mention
    dose: Dose | None = None
    levels: list[Dose] = field(default_factory=list)  # the dose levels when the text gives several
    per_day: bool = False
    route: str | None = None
    ambiguous_route: bool = False
    frequency: Frequency | None = None
    days: list[DayRun] = field(default_factory=list)
    text: str = ""


def _is_word_edge(text: str, i: int) -> bool:
    return i < 0 or i >= len(text) or not (text[i].isalnum() or text[i] in "-_")


def _with_salt(text: str, end: int) -> int:
    rest = text[end:]
    stripped = rest.lstrip()
    word = stripped.split(" ", 1)[0].rstrip(",;.()") if stripped else ""
    if word.lower() in terms().salts:
        return end + (len(rest) - len(stripped)) + len(word)
    return end


def mentions(text: str, names: dict[str, str]) -> list[Mention]:
    """Every mention of ``names`` (name -> the drug it names) in ``text`` (ignoring case, whole words, longest name
    first, no overlaps)."""
    low = text.lower()
    taken: list[Mention] = []
    for name in sorted({n for n in names if n.strip()}, key=len, reverse=True):
        needle, pos = name.lower(), 0
        while (i := low.find(needle, pos)) >= 0:
            pos = i + len(needle)
            if not (_is_word_edge(text, i - 1) and _is_word_edge(text, pos)):
                continue
            if any(m.start < pos and i < m.end for m in taken):
                continue
            end = _with_salt(text, pos)
            taken.append(Mention(text[i:end], i, end, names[name]))
    taken.sort(key=lambda m: m.start)
    depths = paren_depths(text)
    # "dimethyl fumarate (Tecfidera®, ...)": a name in brackets right after the same drug's is no new mention.
    taken = [m for k, m in enumerate(taken) if not (k and depths[m.start] and taken[k - 1].key == m.key)]
    ends = clause_ends(text)
    for k, m in enumerate(taken):
        m.clause = sum(1 for e in ends if e < m.start)
        m.clause_first = k == 0 or taken[k - 1].clause != m.clause
    return taken


def _bounds(text: str, ends: Sequence[int], ms: list[Mention], i: int) -> tuple[int, int]:
    m = ms[i]
    if m.whole:
        return 0, len(text)
    left = max([e + 1 for e in ends if e < m.start] + [0] + ([ms[i - 1].end] if i else []))
    right = min([e for e in ends if e >= m.end] + [len(text)] + ([ms[i + 1].start] if i + 1 < len(ms) else []))
    return left, right


def _read(text: str, depths: Sequence[int], left: int, right: int, m: Mention, cycle_days: float | None) -> Reading:
    prefix, suffix = text[left : m.start], text[m.end : right]
    base = depths[m.end] if m.end < len(depths) else 0
    r = Reading(m, text=text[left:right].strip(" ,;."))
    own = [h for h in dose_hits(suffix) if depths[m.end + h[0]] <= base]
    hit = own[0] if own else adjacent_dose(prefix)
    if hit is not None:
        r.dose, r.per_day = hit[2], hit[3]
        r.levels = dose_levels(suffix if own else prefix, hit)
    r.route, r.ambiguous_route = route_in(suffix)
    if r.route is None and not r.ambiguous_route and m.clause_first:
        r.route, r.ambiguous_route = route_in(prefix)
    freq = frequency_in(suffix) or frequency_ending(prefix)
    r.frequency = freq[1] if freq else None
    r.days = days_in(suffix, cycle_days)
    return r


def _readings(text: str, ms: list[Mention], cycle_days: float | None) -> list[Reading]:
    ends, depths = clause_ends(text), paren_depths(text)
    bounds = [_bounds(text, ends, ms, i) for i in range(len(ms))]
    readings = []
    for i, m in enumerate(ms):
        left, right = bounds[i]
        if i + 1 < len(ms) and ms[i + 1].clause == m.clause:
            nxt = adjacent_dose(text[bounds[i + 1][0] : ms[i + 1].start])
            if nxt is not None:
                right = min(right, bounds[i + 1][0] + nxt[0])
        readings.append(_read(text, depths, left, right, m, cycle_days))
    _share(readings)
    return readings


def _share(readings: list[Reading]) -> None:
    # Days or a frequency written once after the last drug of a clause hold for the drugs before it in that clause.
    for i in range(len(readings) - 1, 0, -1):
        later, earlier = readings[i], readings[i - 1]
        if later.mention.clause != earlier.mention.clause:
            continue
        if not earlier.days and later.days:
            earlier.days = list(later.days)
        if earlier.frequency is None and later.frequency is not None and earlier.dose and later.dose:
            earlier.frequency = later.frequency


def same_drug(a: str, b: str) -> bool:
    """Whether two names as written are the same drug ("Apatinib mesylate" and "apatinib")."""
    a, b = a.lower().strip(), b.lower().strip()
    return a == b or a.startswith(b + " ") or b.startswith(a + " ")


def _activity(r: Reading) -> DrugActivity:
    freq = r.frequency
    if r.per_day and (freq is None or (freq.unit in ("wk", "mo") or freq.period >= 7)):
        freq = Frequency(1, 1.0, "d", "/day")  # "mg/m2/day ... every 28 days": daily, in 28-day cycles
    return DrugActivity(
        name=r.mention.name,
        doses=r.levels or ([r.dose] if r.dose else []),
        route=r.route,
        frequency=freq,
        days=r.days,
        text=r.text,
    )


def _merge(into: DrugActivity, r: Reading) -> None:
    extra = _activity(r)
    if not into.doses:
        into.doses = extra.doses
    if into.route is None:
        into.route = extra.route
    if into.frequency is None:
        into.frequency = extra.frequency
    if not into.days:
        into.days = extra.days
    if r.text and r.text not in into.text:
        into.text = f"{into.text} {r.text}".strip()


def drug_activities(text: str, ms: list[Mention], cycle_days: float | None) -> list[tuple[int, DrugActivity]]:
    """One activity per drug named in ``text`` (a phase), with the offset of its first mention."""
    out: list[tuple[int, DrugActivity]] = []
    keys: list[str] = []
    for r in _readings(text, ms, cycle_days):
        k = next(
            (j for j, (_, a) in enumerate(out) if keys[j] == r.mention.key or same_drug(a.name, r.mention.name)), -1
        )
        if k < 0:
            out.append((r.mention.start, _activity(r)))
            keys.append(r.mention.key)
        else:
            _merge(out[k][1], r)
    return out
