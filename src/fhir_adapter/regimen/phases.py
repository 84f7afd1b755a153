"""The phases of a regimen text and what each says of its cycles.

A phase starts at a heading ("Induction phase (2 cycles):", "·Maintenance phase:", "Conditioning regimen:", "DAYS
8 to 14:") or where the text moves on to a new dosing ("..., followed by 200 mg CZP sc every 2 weeks", "After 7
days, the dose should be increased to ..."). Text before the first heading is a phase only when it doses something.
Per phase: the number of cycles, the cycle length (in days), the stop condition (verbatim) and the maximum duration
(https://hl7.org/fhir/R5/datatypes.html#Timing for the elements they fill).
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_adapter.ascii_words import holds_any
from fhir_adapter.model import Count, Quantity
from fhir_adapter.regimen import patterns as p
from fhir_adapter.regimen.attributes import days_in, dose_places, frequency_in, route_in
from fhir_adapter.regimen.terms import terms
from fhir_adapter.regimen.text import has_any

__all__ = ["Segment", "cycle_days", "cycles", "max_duration", "segments", "stop_condition"]

DAYS_PER = {"day": 1, "days": 1, "week": 7, "weeks": 7}
PHASE_OPENERS = ("adjuvant", "maintenance", "consolidation", "induction")
DAYS_PER_LONG = {"week": 7, "month": 30, "year": 365}
STOP_WORDS = ("until", "till", "absence")
LIMIT_WORDS = ("exceed", "up to", "at most", "maximum", "no more", "total", "period of")


@dataclass(slots=True)
class Segment:
    """The text of one phase: its title as written (None: the text names none) and its body."""

    title: str | None
    body: str
    max_days: int | None = None  # "After 7 days," closing this phase


def _headings(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    low = text.lower()
    opened = any(w in low for w in PHASE_OPENERS)
    if ":" not in text and not opened:
        return found
    # Each pattern only when its words are in the text (``ascii_words``: ASCII text, lowered above; other text is
    # always searched): a heading names a phase word, a day range says "day".
    gate = low if text.isascii() else None
    titled = ":" in text and holds_any(gate, p.PHASE_WORDS)
    for m in p.HEADING.finditer(text) if titled else ():
        title = m.group(1).strip()
        if p.PHASE_WORD.search(title) and len(title.split()) <= 8:
            found.append((m.start(1), m.end(), title))
    for m in p.DAY_RANGE_HEAD.finditer(text) if ":" in text and holds_any(gate, ("day",)) else ():
        if not any(s <= m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), m.group().rstrip(": ")))
    for m in p.PHASE_SENTENCE.finditer(text) if opened else ():
        if not any(s <= m.start() <= e for s, e, _ in found):
            found.append((m.start(), m.start(), m.group(1)))  # the sentence is the phase's text too
    return sorted(_without_trial_phase(found))


def _without_trial_phase(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    # "Phase I: 3DRT of 74 Gy ..." (an arm of a phase I/II trial): a lone heading naming a trial phase is no phase
    # of the regimen; a regimen's numbered phases come at least in twos ("Phase 1: ... Phase 2: ...").
    numbered = [h for h in found if p.TRIAL_PHASE.fullmatch(h[2])]
    return [h for h in found if h not in numbered] if len(numbered) == 1 else found


def _doses_something(text: str) -> bool:
    return bool(dose_places(text)) or frequency_in(text) is not None or bool(p.GY_TOTAL.search(text))


def _speaks_of_dosing(text: str) -> bool:
    route, ambiguous = route_in(text)
    return _doses_something(text) or bool(route) or ambiguous or bool(days_in(text))


def _split(segment: Segment) -> list[Segment]:
    parts: list[Segment] = []
    body, title, start = segment.body, segment.title, 0
    for m in p.SPLIT.finditer(body) if has_any(body, "followed", "then", "after") else ():
        after = body[m.end() : m.end() + 120].split(".")[0]
        if (
            p.NOT_A_PHASE.search(after[:40])
            or not _doses_something(after)
            or not _speaks_of_dosing(body[start : m.start()])
        ):
            continue
        days = None
        if m.group(1) and (n := terms().number(m.group(1))):
            days = n * DAYS_PER[m.group(2).lower()]
        parts.append(Segment(title, body[start : m.start()], days))
        title, start = None, m.end()
    parts.append(Segment(title, body[start:], segment.max_days))
    return parts


def segments(text: str) -> list[Segment]:
    """The phases of ``text`` in order; one untitled phase when it has no headings."""
    heads = _headings(text)
    out: list[Segment] = []
    lead = text[: heads[0][0]] if heads else text
    if not heads or _doses_something(lead):
        out.append(Segment(None, lead))
    for i, (_, end, title) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        out.append(Segment(_clean_title(title), text[end:stop]))
    return [part for seg in out for part in _split(seg)]


def _clean_title(title: str) -> str:
    return title.split("(")[0].strip(" ·•-") or title


def cycles(text: str, low: str | None = None) -> Count | None:
    """The number of cycles ("2 cycles", "for 4 courses", "up to 4 cycles" = 1..4, "4-6 cycles"); ``low``: the text
    lowered, when the caller has it (a phase's text is lowered once for all its readers)."""
    low = text.lower() if low is None else low
    m = p.CYCLES.search(text) if "cycle" in low or "course" in low else None
    if m is None or (n := terms().number(m.group(2))) is None:
        return None
    if m.group(3):
        return Count(n, int(m.group(3)))
    return Count(1, n) if m.group(1) else Count(n, n)


def cycle_days(text: str, low: str | None = None) -> int | None:
    """The cycle length in days ("4-week cycle" = 28, "Courses repeat every 21 days", 28 days on + 14 off); ``low``:
    the text lowered, when the caller has it."""
    low = text.lower() if low is None else low
    if "repeat" in low and (m := p.TREATMENT_REPEATS.search(text)) is not None:
        return int(m.group(1)) * DAYS_PER[m.group(2).lower()]
    if "every" in low and (m := p.DAYS_EVERY.search(text)) is not None:
        return int(m.group(1)) * DAYS_PER[m.group(2).lower()]
    if "cycle" not in low and "course" not in low:
        return None
    for pattern in (p.CYCLE_LENGTH, p.CYCLE_EVERY, p.CYCLE_OF):
        if (m := pattern.search(text)) is not None:
            return int(m.group(1)) * DAYS_PER[m.group(2).lower()]
    if (m := p.ON_OFF.search(text)) is not None:  # "cycle" or "course" is in the text (above)
        return int(m.group(1)) + int(m.group(2))
    return None


def stop_condition(text: str, low: str | None = None) -> str | None:
    """The stop condition, verbatim ("until tumor progression, intolerance, ... or death"); ``low``: the text
    lowered, when the caller has it."""
    low = text.lower() if low is None else low
    m = p.STOP.search(text) if any(map(low.__contains__, STOP_WORDS)) else None
    return m.group().strip(" ,") if m else None


def max_duration(text: str, cycle_length: int | None, low: str | None = None) -> Quantity | None:
    """The longest the phase may last ("shall not exceed 2 years", "for a total duration of 2 years", "for 6
    weeks"); "for 4 weeks" inside a 6-week cycle is days of the cycle, not a limit. ``low``: the text lowered, when
    the caller has it."""
    t = terms()
    if not p.DIGIT.search(text):
        return None
    low = text.lower() if low is None else low
    if text.isascii() and "week" not in low and "month" not in low and "year" not in low:
        # Both limits (MAX_EXPLICIT, MAX_FOR) end with one of these units, so in ASCII text the lowered text holds
        # it (``ascii_words``: other text is always searched): most phases give their days, not a limit.
        return None
    m = p.MAX_EXPLICIT.search(text) if any(map(low.__contains__, LIMIT_WORDS)) else None
    if m is None and "for " in low:
        m = p.MAX_FOR.search(text)
        in_cycle = m is not None and bool(cycle_length) and m.group(2).lower().startswith("week")
        if m is not None and in_cycle and int(m.group(1)) * 7 < (cycle_length or 0):
            m = None
    if m is None:
        return None
    limit = Quantity(value=float(m.group(1)), unit=t.time_units[m.group(2).lower()], unit_text=m.group())
    # "Palbociclib ... for a total duration of 2 years, in addition to endocrine therapy for at least 5 years": the
    # phase outlasts the one drug's maximum, so that maximum is no bound of the phase.
    longer = p.AT_LEAST.finditer(text) if "least" in low or "minimum" in low or "less than" in low else ()
    if any(_days(int(a.group(1)), a.group(2)) > _days(int(limit.value), m.group(2)) for a in longer):
        return None
    return limit


def _days(value: int, unit: str) -> int:
    return value * DAYS_PER_LONG[unit.lower().rstrip("s")]
