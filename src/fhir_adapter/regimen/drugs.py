"""The drugs of one phase's text: where each is named, the stretch of text that speaks of it, and what that stretch
says (dose, route, frequency, days).

A drug's stretch runs from its name to the next drug's name or the end of the clause; a dose written just before
the name ("200mg of Carilizumab") is the drug's too, and is cut from the previous drug's stretch. Drugs named in one
clause share days and frequency written once after the last of them ("dabrafenib PO BID and trametinib PO QD on
days 1-28"). A drug named twice in a phase is one activity: later mentions only fill what earlier ones left out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

from fhir_adapter.model import DayRun, Dose, DrugActivity, Frequency
from fhir_adapter.regimen import patterns as p
from fhir_adapter.regimen.attributes import (
    DoseHit,
    adjacent_dose,
    days_in,
    dose_hits,
    dose_levels,
    dose_places,
    frequency_ending,
    frequency_in,
    route_in,
)
from fhir_adapter.regimen.terms import terms
from fhir_adapter.regimen.text import clause_ends, has_any, paren_depths, trim_joins

__all__ = ["Mention", "drug_activities", "mentions", "same_drug"]

# "in combination with a single dose of 0.25mg/kg of primaquine": the words between a joining word and the drug's
# name (or its dose) that are still the drug's own.
MAX_WORDS_AFTER_JOIN = 6
ADDING_WORDS = frozenset({"and", "plus", "+", "with", "in"})  # "in" = "in addition to", "in combination with"


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
    span: tuple[int, int] = (0, 0)  # the drug's own words (its text): no other drug's dose, no other activity
    joined: bool = False  # joined to the drug before it in its clause by "and", "plus", "+", "with" (not a comma)


def _is_word_edge(text: str, i: int) -> bool:
    return i < 0 or i >= len(text) or not (text[i].isalnum() or text[i] in "-_")


def _with_salt(text: str, end: int) -> int:
    rest = text[end:]
    stripped = rest.lstrip()
    word = stripped.split(" ", 1)[0].rstrip(",;.()") if stripped else ""
    if word.lower() in terms().salts:
        return end + (len(rest) - len(stripped)) + len(word)
    return end


def mentions(text: str, names: dict[str, str], low: str | None = None) -> list[Mention]:
    """Every mention of ``names`` (name -> the drug it names) in ``text`` (ignoring case, whole words, longest name
    first, no overlaps); ``low``: the text lowered, when the caller has it."""
    low = text.lower() if low is None else low
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
    if not taken:
        return taken  # no drug named (a third of the phases): no brackets or clauses to read
    taken.sort(key=lambda m: m.start)
    depths = paren_depths(text)
    # "dimethyl fumarate (Tecfidera®, ...)": a name in brackets right after the same drug's is no new mention.
    taken = [m for k, m in enumerate(taken) if not (k and depths[m.start] and taken[k - 1].key == m.key)]
    ends = clause_ends(text)
    for k, m in enumerate(taken):
        m.clause = bisect_left(ends, m.start)  # the clause ends before it (ends are in text order)
        m.clause_first = k == 0 or taken[k - 1].clause != m.clause
    return taken


def _bounds(text: str, ends: Sequence[int], ms: list[Mention], i: int) -> tuple[int, int]:
    m = ms[i]
    if m.whole:
        return 0, len(text)
    before, after = bisect_left(ends, m.start), bisect_left(ends, m.end)  # ends are in text order
    left = max(ends[before - 1] + 1 if before else 0, ms[i - 1].end if i else 0)
    right = min(ends[after] if after < len(ends) else len(text), ms[i + 1].start if i + 1 < len(ms) else len(text))
    return left, right


def _text_start(text: str, left: int, m: Mention, dose: DoseHit | None) -> tuple[int, tuple[int, Frequency] | None]:
    # Where the drug's own words start: the dose or frequency written just before its name ("200mg of X", "weekly
    # X") belongs to it; before that, a drug that is not the first of its clause starts after the word that joins
    # it to the one before ("... 50mg/m2 and carboplatin", "in addition to standard therapy"), and the first drug
    # of a clause after any other activity's dose ("75 Gy in 36 fractions (2 Gy per fraction) with weekly X").
    # ``dose`` is adjacent_dose of the prefix (read once, by the caller). With the start, when no dose ends the
    # prefix, the frequency_ending of the prefix (read here already), for the caller; else None.
    anchor = m.start
    if dose is not None:
        anchor = left + dose[0]
    ending = None
    if (freq := frequency_ending(text[left:anchor])) is not None:
        anchor = left + freq[0]
        ending = freq if dose is None else None
    head = text[left:anchor]
    if not m.clause_first:
        joins = list(p.CONNECTIVE.finditer(head)) if head.strip() else []
        if joins and len(head[joins[-1].end() :].split()) <= MAX_WORDS_AFTER_JOIN:
            return left + joins[-1].end(), ending
        return anchor, ending  # no joining word near: its words start at its name (or its dose written before it)
    foreign = [h[1] for h in dose_places(head)]
    if has_any(head, "gy"):
        foreign += [g.end() for g in p.GY_TOTAL.finditer(head)] + [g.end() for g in p.PER_FRACTION.finditer(head)]
    if not foreign:
        return left, ending
    cut = left + max(foreign)
    depths = paren_depths(text)
    while cut < anchor and depths[cut] > depths[m.start]:
        cut += 1  # "(2.0 Gy per fraction)": out of the brackets the other activity's dose sits in
    return cut, ending


def _joined(text: str, earlier: Reading, later: Reading) -> bool:
    # Joined when the earlier drug's words run up to the later one and the last joining word adds ("and", "plus",
    # "+", "with"), not a list comma, a choice ("or") or a sequence ("then").
    if earlier.span[1] < later.span[0]:
        return False  # another drug's dose stands between ("500 mg/12 h and Cyanocobalamin IV once daily")
    joins = list(p.CONNECTIVE.finditer(text, earlier.mention.end, later.mention.start))
    return bool(joins) and joins[-1].group().lower().split()[0] in ADDING_WORDS


def _own_end(text: str, depths: Sequence[int], m: Mention, right: int, dosed_before: bool) -> int:
    # "Clarithromycin 500 mg/12 h for 7-14 days, Ascorbic acid 500 mg/12 h and Cyanocobalamin IV once daily": a
    # further dose after a joining word is another drug's (named or not), and so is what follows it.
    base = depths[m.end] if m.end < len(depths) else 0
    ends = [0] if dosed_before else []  # "(900 mg) of X, and vitamin D3 tablet (2000 IU) once daily"
    suffix = text[m.end : right]
    hits = dose_places(suffix)  # bracketed doses too
    for end, later in zip(ends + [h[1] for h in hits], hits[1 - len(ends) :] if hits else [], strict=False):
        joins = [j for j in p.CONNECTIVE.finditer(text, m.end + end, m.end + later[0]) if depths[j.start()] <= base]
        if joins and not _is_choice(suffix, hits, later):
            return joins[-1].start()
    return right


def _is_choice(text: str, hits: Sequence[DoseHit], later: DoseHit) -> bool:
    # "81 mg or 325 mg daily": the second dose is a level of the same drug (same unit, only "or" between).
    k = hits.index(later)
    return k > 0 and hits[k - 1][2].unit == later[2].unit and text[hits[k - 1][1] : later[0]].strip().lower() == "or"


def _levels(suffix: str, own: list[DoseHit]) -> list[Dose]:
    # The levels of a dose: "200, 400 or 800 mg", "81 mg or 325 mg".
    levels = dose_levels(suffix, own[0])
    for hit in own[1:]:
        if not _is_choice(suffix, own, hit):
            break
        levels.append(hit[2])
    return levels


def _read(text: str, depths: Sequence[int], left: int, right: int, m: Mention, cycle_days: float | None) -> Reading:
    prefix = text[left : m.start]
    before = adjacent_dose(prefix)
    own_start, ending = _text_start(text, left, m, before)
    right = _own_end(text, depths, m, right, bool(dose_places(prefix)))
    suffix = text[m.end : right]
    base = depths[m.end] if m.end < len(depths) else 0
    r = Reading(m, span=(left, len(text)) if m.whole else (own_start, right))
    own = [h for h in dose_hits(suffix) if depths[m.end + h[0]] <= base]
    # A text all about one drug that names it: "200 mg of trimethoprim + 40 mg sulfamethoxazole" (the dose before
    # its name is its own); a dose further before is another's ("Lupron 3.75 mg. ... Letrozole 5mg").
    from_before = before is not None and (m.whole or not own)
    hit = before if from_before else (own[0] if own else None)
    if hit is not None:
        r.dose, r.per_day = hit[2], hit[3]
        r.levels = dose_levels(prefix, hit) if from_before else _levels(suffix, own)
    r.route, r.ambiguous_route = route_in(suffix)
    if r.route is None and not r.ambiguous_route and m.clause_first:
        r.route, r.ambiguous_route = route_in(text[own_start : m.start])
    freq = frequency_in(suffix) or (ending if before is None else frequency_ending(prefix))
    if freq is None and m.whole:
        freq = frequency_in(text[own_start : m.start])
    r.frequency = freq[1] if freq else None
    r.days = days_in(suffix, cycle_days) or (days_in(text[own_start : m.start], cycle_days) if m.whole else [])
    _split_daily(text, depths, m.end, right, r)
    return r


def _split_daily(text: str, depths: Sequence[int], start: int, end: int, r: Reading) -> None:
    # "600 mg daily (2 doses of 300 mg taken approximately 12 hours apart)": a daily total the bracket splits into
    # doses is given as those doses (300 mg twice a day, not 600 mg once a day), when they add up to the total.
    daily, freq = r.dose, r.frequency
    if daily is None or daily.value is None or freq is None or (freq.count, freq.period, freq.unit) != (1, 1.0, "d"):
        return
    base = depths[start] if start < len(depths) else 0
    inner = [h for h in dose_hits(text[start:end]) if depths[start + h[0]] == base + 1]
    if not inner:
        return
    close = next((i for i in range(start + inner[0][0], end) if depths[i] == base + 1 and text[i] == ")"), end)
    split = frequency_in(text[start + inner[0][0] : close])
    dose = inner[0][2]
    per_day = split is not None and split[1].unit == "d" and split[1].period == 1.0
    adds_up = dose.value is not None and split is not None and dose.value * split[1].count == daily.value
    if split is not None and per_day and adds_up and dose.unit == daily.unit:
        r.dose, r.levels, r.frequency = dose, [dose], split[1]


def _readings(text: str, ms: list[Mention], cycle_days: float | None) -> list[Reading]:
    if not ms:
        return []  # nothing to read: not even the text's clauses and brackets
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
    for i in range(1, len(readings)):
        earlier, later = readings[i - 1], readings[i]
        if earlier.mention.clause == later.mention.clause and not later.mention.whole:
            later.joined = _joined(text, earlier, later)
            earlier.span = (earlier.span[0], min(earlier.span[1], later.span[0]))
    _share(readings)
    return readings


def _share(readings: list[Reading]) -> None:
    # Days or a frequency written once after the last drug of a clause hold for the drug joined to it by "and",
    # "plus", "+" ("dabrafenib PO BID and trametinib PO QD on days 1-28"); not across a comma-separated list
    # ("Paracetamol 500 mg /6h, ..., Oseltamivir 150 mg /12 h for 5 days": the 5 days are oseltamivir's).
    for i in range(len(readings) - 1, 0, -1):
        later, earlier = readings[i], readings[i - 1]
        if later.mention.clause != earlier.mention.clause or not later.joined:
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


def _spans_text(text: str, spans: list[tuple[int, int]]) -> str:
    # The words of every mention of one drug, each once: overlapping stretches are joined, not repeated.
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return " ".join(part for s, e in merged if (part := trim_joins(text[s:e])))


def drug_activities(text: str, ms: list[Mention], cycle_days: float | None) -> list[tuple[int, DrugActivity]]:
    """One activity per drug named in ``text`` (a phase), with the offset of its first mention; its text is the
    words of its mentions, each once."""
    out: list[tuple[int, DrugActivity]] = []
    keys: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    for r in _readings(text, ms, cycle_days):
        k = next(
            (j for j, (_, a) in enumerate(out) if keys[j] == r.mention.key or same_drug(a.name, r.mention.name)), -1
        )
        if k < 0:
            out.append((r.mention.start, _activity(r)))
            keys.append(r.mention.key)
            spans.append([r.span])
        else:
            _merge(out[k][1], r)
            spans[k].append(r.span)
    for (_, activity), own in zip(out, spans, strict=True):
        activity.text = _spans_text(text, own)
    return out
