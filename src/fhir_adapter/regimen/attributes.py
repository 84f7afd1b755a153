"""What a stretch of text says about one drug: its dose, route, frequency and days within the cycle.

Each reader returns None (or nothing) when the text does not say it plainly: "IV or PO" gives no route, "3-4 times a
day" no frequency, "250 from day 2" no dose (no unit). Units, routes and frequency words come from
``mappings/regimen-terms.json`` (https://hl7.org/fhir/R5/dosage.html for the elements they fill).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from fhir_adapter.model import DayRun, Dose, Frequency
from fhir_adapter.regimen import patterns as p
from fhir_adapter.regimen.terms import terms
from fhir_adapter.regimen.text import ends_phrase, find_phrases, has_any, may_hold_phrase, starts_in

__all__ = [
    "DoseHit",
    "adjacent_dose",
    "days_in",
    "dose_copy",
    "dose_hits",
    "dose_levels",
    "dose_places",
    "frequency_ending",
    "frequency_in",
    "route_in",
]

DoseHit = tuple[int, int, Dose, bool]  # start, end, dose, "per day" ("50 mg/kg/day")
PER_DAY = {"day", "d"}


def _number(text: str) -> float:
    return float(text.replace(",", ""))  # "50,000 IU"


def _dose(m: re.Match[str]) -> tuple[Dose, bool] | None:
    value, high, unit, per, per_day = m.groups()
    written = unit + (f"/{per}" if per and per.lower() not in PER_DAY else "")
    code = terms().unit(written)
    if code is None or code.endswith("Gy"):
        return None  # radiation is read by regimen.radiotherapy, not as a drug's dose
    daily = bool(per_day) or bool(per and per.lower() in PER_DAY)
    text = m.group()[m.group().lower().index(unit.lower()) :]
    if high is not None:
        return Dose(low=_number(value), high=_number(high), unit=code, unit_text=text), daily
    return Dose(value=_number(value), unit=code, unit_text=text), daily


def dose_hits(text: str) -> list[DoseHit]:
    """Every dose of ``text`` with a unit of the table, AUC targets included, in text order (fresh objects: the
    same stretch of text is read several times, from a cache)."""
    return [_fresh(hit) for hit in _dose_hits(text)]


def dose_places(text: str) -> tuple[DoseHit, ...]:
    """The doses of ``dose_hits``, shared (from the cache): for where and how many, never to change or keep."""
    return _dose_hits(text)


def _fresh(hit: DoseHit) -> DoseHit:
    return hit[0], hit[1], dose_copy(hit[2]), hit[3]


def dose_copy(d: Dose) -> Dose:
    """A copy of ``d``, field by field (dataclasses.replace costs ten times more)."""
    return Dose(d.value, d.low, d.high, d.unit, d.unit_text)


@lru_cache(maxsize=1024)
def _dose_hits(text: str) -> tuple[DoseHit, ...]:
    hits: list[DoseHit] = []
    if not p.DIGIT.search(text):
        return ()
    for m in p.AUC.finditer(text) if has_any(text, "auc", "area under") else ():
        low, high = m.group(1), m.group(2)
        dose = Dose(low=float(low), high=float(high)) if high else Dose(value=float(low))
        dose.unit, dose.unit_text = "{AUC}", "AUC"
        hits.append((m.start(), m.end(), dose, False))
    aucs = list(hits)  # a dose never starts inside an earlier dose: only an AUC target can hold one
    for m in p.DOSE.finditer(text):
        if (aucs and any(s <= m.start() < e for s, e, _, _ in aucs)) or p.COMPARED.search(
            text[max(0, m.start() - 14) : m.start()]
        ):
            continue  # "more than 20 grams of carbohydrate" is no dose
        if p.PER_VOLUME.match(text, m.end()):
            continue  # "250 mg/5 mL" is a concentration
        read = _dose(m)
        if read is not None:
            hits.append((m.start(), m.end(), read[0], read[1]))
    # finditer gives the doses in text order: only AUC targets, read first, need sorting in
    return tuple(sorted(hits, key=lambda h: h[0])) if aucs else tuple(hits)


def dose_levels(text: str, hit: DoseHit) -> list[Dose]:
    """The levels of an escalation ending at ``hit`` ("200, 400 or 800 mg" -> 200, 400, 800 mg), else [hit]."""
    dose = hit[2]
    if dose.value is None or not has_any(text, " or ", " and "):
        return [dose]
    for m in p.LEVELS.finditer(text, max(0, hit[0] - 80), hit[1]):
        last_start = m.start(3)
        if last_start == hit[0]:
            values = [m.group(1), *[v for v in m.group(2).split(",") if v.strip()], m.group(3)]
            return [replace(dose, value=float(v)) for v in values]
    return [dose]


def adjacent_dose(prefix: str) -> DoseHit | None:
    """The dose that ends ``prefix`` ("200mg of " before "Carilizumab"), None when words stand between."""
    hits = _dose_hits(prefix)
    if not hits:
        return None
    last = hits[-1]
    rest = prefix[last[1] :].strip().lower()
    return _fresh(last) if rest in ("", "of", "of the") else None


@lru_cache(maxsize=1024)
def route_in(text: str) -> tuple[str | None, bool]:
    """(route key, ambiguous): the one route ``text`` names; two different routes ("IV or PO") give (None, True)."""
    if not may_hold_phrase(text, terms().route_words):
        return None, False  # no word of the text starts a route (most texts): no need to read them all
    found = {hit[2] for hit in find_phrases(text.replace("/", " / "), terms().route_words)}
    if len(found) == 1:
        return found.pop(), False
    return None, len(found) > 1


def _period(count: int, amount: str | None, unit: str, written: str) -> Frequency | None:
    t = terms()
    if amount is None:
        period: float = 1.0
    elif amount.lower() == "other":
        period = 2.0
    else:
        number = t.number(amount)
        if number is None:
            return None
        period = float(number)
    code = t.time_units.get(unit.lower())
    return Frequency(count=count, period=period, unit=code, text=written) if code else None


def _rule_frequencies(text: str) -> list[tuple[int, int, Frequency]]:
    t = terms()
    found: list[tuple[int, int, Frequency]] = []
    low = text.lower()
    for i in starts_in(low, "every"):
        if (m := p.EVERY.match(text, i)) is None:
            continue
        before = p.EVERY_COUNT.search(text[max(0, i - 16) : i])
        word = (before.group(1) or before.group(2)) if before else "1"
        written = word.lower().replace("once", "1").replace("twice", "2")
        count = t.number(written)
        start = i - len(before.group()) if before else i
        if count and (freq := _period(count, m.group(1), m.group(2), text[start : m.end()])):
            found.append((start, m.end(), freq))
    for i in starts_in(low, "q"):
        if (m := p.Q_EVERY.match(text, i)) is not None and (freq := _period(1, m.group(1), m.group(2), m.group())):
            found.append((i, m.end(), freq))
    for i in starts_in(low, "times"):
        before = p.TIMES_COUNT.search(text[max(0, i - 10) : i])
        if before and (m := p.TIMES.match(text, i)) is not None and (count := t.number(before.group(1))):
            unit = t.time_units[m.group(1).lower()]
            start = i - len(before.group())
            found.append((start, m.end(), Frequency(count, 1.0, unit, text[start : m.end()])))
    return found


def frequency_in(text: str) -> tuple[int, Frequency] | None:
    """(offset, frequency) of the first frequency ``text`` states, by the table's words or by rule ("every 3
    weeks", "q8h", "3 times a day"); None when that frequency is one end of a range or a choice ("3 - 4 times a
    day", "once or twice daily", "daily or every other day"): a range stays text."""
    found = _frequency_in(text)
    if found is None:
        return None
    f = found[1]  # a copy, field by field (dataclasses.replace costs ten times more)
    return found[0], Frequency(f.count, f.period, f.unit, f.text)


@lru_cache(maxsize=1024)
def _frequency_in(text: str) -> tuple[int, Frequency] | None:
    found = _rule_frequencies(text)
    for start, end, (count, period, unit) in find_phrases(text, terms().frequencies):
        if not p.TIMES_BEFORE.search(text[max(0, start - 8) : start]):  # "3-4 times a day" is no "a day"
            found.append((start, end, Frequency(count, period, unit, text[start:end])))
    for m in p.DOSES_PER.finditer(text) if has_any(text, "doses") else ():
        if (n := terms().number(m.group(1))) is not None:
            found.append((m.start(), m.end(), Frequency(n, 1.0, terms().time_units[m.group(2).lower()], m.group())))
    if not found:
        return None
    start, end, freq = min(found, key=lambda f: (f[0], -(f[1] - f[0])))
    if p.RANGE_BEFORE.search(text[max(0, start - 14) : start]):
        return None  # "3 - 4 times a day", "once or twice daily": one end of a range
    after = p.RANGE_AFTER.match(text, end)
    if after is not None and any(s == after.end() for s, _, _ in found):
        return None  # "daily or every other day": a choice
    return start, freq


def frequency_ending(prefix: str) -> tuple[int, Frequency] | None:
    """The frequency that ends ``prefix`` ("weekly " before "paclitaxel"), None when words stand between."""
    if not ends_phrase(prefix, terms().frequencies):
        return None  # its last word ends no frequency (most prefixes): no need to read them all
    found = find_phrases(prefix, terms().frequencies)
    if found and not prefix[found[-1][1] :].strip():
        count, period, unit = found[-1][2]
        return found[-1][0], Frequency(count, period, unit, prefix[found[-1][0] : found[-1][1]])
    return None


def _day_list(text: str, start: int) -> list[DayRun]:
    runs: list[DayRun] = []
    pos = start
    while (m := p.DAY_ITEM.match(text, pos)) is not None:
        if runs and not m.group(1):
            break
        first = int(m.group(2))
        last = int(m.group(3)) if m.group(3) else first
        if not 0 < first <= last <= 366:
            break
        runs.append(DayRun(first, last))
        pos = m.end()
    return runs


def _count(m: re.Match[str] | None) -> int | None:
    return terms().number(m.group(1)) if m is not None else None


def days_in(text: str, cycle_days: float | None = None) -> list[DayRun]:
    """The days within the cycle ``text`` names: "days 1 and 8", "Day 1 to Day 21", "on the first day", "for 14
    days", and "for 4 weeks" inside a longer cycle; when it names several, the first written ("200mg TID for 7
    days plus placebo ... 1st day and ... from day 2 to 5": 7 days)."""
    found: list[tuple[int, list[DayRun]]] = []
    low = text.lower()
    if "day" not in low and "week" not in low:
        return []  # names no day (most stretches of text read for a drug): nothing below can match
    for i in starts_in(low, "day"):
        if (m := p.DAYS_HEAD.match(text, i)) is not None and (runs := _day_list(text, m.end())):
            found.append((i, runs))
            break
    if ("first day" in low or "1st day" in low) and (first := p.FIRST_DAY.search(text)) is not None:
        found.append((first.start(), [DayRun(1, 1)]))
    if ("for " in low or "over " in low) and (n_days := _count(m_days := p.FOR_DAYS.search(text))) and m_days:
        found.append((m_days.start(), [DayRun(1, n_days)]))
    if not found and cycle_days and "week" in low:
        n_weeks = _count(p.FOR_WEEKS.search(text))
        if n_weeks and n_weeks * 7 < cycle_days:
            return [DayRun(1, n_weeks * 7)]
    return min(found, key=lambda f: f[0])[1] if found else []
