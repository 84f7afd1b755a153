"""Outcome time frames as time points: "6 months", "up to 24 months", "at week 12", "baseline, week 4, week 8",
"from randomization until progression, assessed up to 5 years" -> ``TimeWindow`` entries (issue 10, item 4).

Knows no FHIR: the mappers write each entry as one ``EvidenceVariable.characteristic.timeFromEvent``
(https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic.timeFromEvent); see the
computable contract (docs/computable.md) and docs/architecture.md. A point ("at week 12") is a window with
``low == high``; a span ("up to 24 months", "from baseline to week 12") has ``low`` 0 or the start and ``high``
the end; the event is named where the text names one ("after randomization", "from baseline", "postpartum",
"postoperative day 1", "At delivery"), as a text-only concept of ``mappings/outcome-time-frames.json`` (no code is
confirmed for these events; :mod:`.timeframe_table` reads the table). A span across two units is written in the
smaller one only when the larger is a whole multiple of it ("2 months to 3 years": 2 to 36 mo).

Deterministic and precision first: every word of the text must be accounted for, or the result is empty and the
time frame stays text only (it is always kept verbatim by the mappers). One exception is the condition that ends
a span ("until progression", "to death or last follow-up"), which FHIR cannot hold: it is skipped only when a
later "up to N" bounds the span. Units are UCUM codes, from ``mappings/ucum-units.json`` (helper R's table, read
only) and the few time units of ``mappings/outcome-time-frames.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir_adapter.computable.timeframe_table import (
    ends_at,
    event_names,
    event_words,
    events,
    exact,
    numbers,
    time_unit,
    tokens,
)
from fhir_adapter.model import Concept, TimeWindow

__all__ = ["measure_time_points", "time_points"]

# "6-month progression free survival rate (PFS6)", "2-year overall survival": the one time point a measure's
# name states (read only when the outcome has no time frame of its own)
_MEASURE_POINT = re.compile(r"\b(\d{1,3})-(day|week|month|year)s?\b")
_SEPARATORS = frozenset({",", ";", "and", "&", "/"})
_LEADING = frozenset({"at", "on", "assessed", "measured"})
_RELATIONS = frozenset({"after", "post", "following", "from"})
_SPAN_TO = frozenset({"to", "until", "through", "-"})
_ORDINALS = frozenset({"st", "nd", "rd", "th"})
_MAX_EVENT = 8  # words of the longest event form
# "Treatment period of 7 days": a span from the event that starts the period
_PERIODS = {("treatment", "period", "of"): "first-dose"}
_CHANGE = ("change", "from", "baseline", "at")  # "Change from baseline at 6 months": baseline and the point


@dataclass(slots=True)
class _Point:
    low: float | None
    high: float | None
    unit: str | None
    event: str | None = None


def _same_unit(first: _Point, unit: str, value: float) -> tuple[str, float] | None:
    """The unit a span from ``first`` to ``value unit`` is written in and ``value`` in it: one unit when the
    text has two and one is a whole multiple of the other ("2 months to 3 years": 36 mo); ``first`` changes to it.
    None when no whole multiple relates them ("1 week to 1 year")."""
    if first.unit in (None, unit):
        return unit, value
    if exact().get(unit, ("",))[0] == first.unit:
        return first.unit, value * exact()[unit][1]
    if first.unit is not None and exact().get(first.unit, ("",))[0] == unit:
        factor = exact()[first.unit][1]
        first.low = None if first.low is None else first.low * factor
        first.unit = unit
        return unit, value
    return None


class _Parser:
    """One left-to-right pass over the words of a time frame (each word is looked at a bounded number of times)."""

    def __init__(self, words: list[str]) -> None:
        self.t = words
        self.i = 0
        self.points: list[_Point] = []
        self.group = 0  # first point an event named later applies to
        self.carry: str | None = None  # the unit of "week 1, 9 and 16" for the bare numbers after it
        self.pending: list[float] = []  # "2 and 16 weeks": numbers waiting for their unit
        self.open: _Point | None = None  # a span whose end is a condition, waiting for "up to N"
        self.before: str | None = None  # the event of "postoperative 1 day", waiting for the relation

    # ---------------------------------------------------------------- words

    def at(self, k: int = 0) -> str:
        j = self.i + k
        return self.t[j] if j < len(self.t) else ""

    def number(self, k: int = 0) -> float | None:
        word = self.at(k)
        if word[:1].isdigit():
            return float(word)
        n = numbers().get(word)
        return float(n) if n is not None else None

    def event(self, k: int = 0) -> tuple[str | None, int]:
        """The event named at ``i + k`` and its length in words (longest form first)."""
        for n in range(min(_MAX_EVENT, len(self.t) - self.i - k), 0, -1):
            key = events().get(tuple(self.t[self.i + k : self.i + k + n]))
            if key is not None:
                return key, n
        return None, 0

    # ---------------------------------------------------------------- pieces

    def quantity(self) -> tuple[float, float, str] | None:
        """ "12 weeks", "2-year", "3-5 days", "3rd month", "week 12", "days 1-14", "postoperative 1 day": (low,
        high, unit); an event word before it ("postoperative") waits in ``before`` for :meth:`relation`."""
        begin, before = self.i, event_words("before").get(self.at())
        self.i += 1 if before else 0
        q = self.plain_quantity()
        if q is None:
            self.i = begin
            return None
        self.before = before or self.before
        return q

    def plain_quantity(self) -> tuple[float, float, str] | None:
        unit, first = time_unit(self.at()), self.number(1)
        if unit is not None and first is not None:  # week 12
            self.i += 2
            last = self.number(1) if self.at() == "-" else None
            self.i += 2 if last is not None else 0  # days 1-14
            return first, first if last is None else last, unit
        value = self.number()
        if value is None:
            return None
        k, high = 1, value
        if self.at(1) in ("-", "to") and self.number(2) is not None and time_unit(self.at(3) or "") is not None:
            k, high = 3, self.number(2) or value
        k += 1 if self.at(k) in _ORDINALS or self.at(k) == "-" else 0
        before = event_words("before").get(self.at(k))
        k += 1 if before and time_unit(self.at(k + 1)) else 0  # "1st postoperative day"
        unit = time_unit(self.at(k))
        if unit is None:
            return None
        self.before = before or self.before
        self.i += k + 1
        return value, high, unit

    def relation(self) -> str | None:
        """ "after randomization", "post-enrollment", "from baseline", "postpartum": the event (consumed), or
        None."""
        if self.before is not None:
            before, self.before = self.before, None
            return before
        if self.at() in event_words("after"):
            self.i += 1
            return event_words("after")[self.t[self.i - 1]]
        if self.at() not in _RELATIONS:
            return None
        k = 2 if self.at(1) == "-" else 1
        key, n = self.event(k)
        if key is None:
            return None
        self.i += k + n
        return key

    def name_event(self, key: str) -> bool:
        """The event applies to the points since the last one that named an event; False if one already has
        another."""
        for p in self.points[self.group :]:
            if p.event not in (None, key):
                return False
            p.event = key
        self.group = len(self.points)
        return True

    # ---------------------------------------------------------------- items

    def leading(self) -> bool:
        """Skip the words that lead an item ("at", "assessed", "after 6 months", "study day 49"); True when "at" or
        "on" was one of them (an event alone is then a time point: "At delivery")."""
        at = False
        while True:
            word = self.at()
            if word in _LEADING:
                at = at or word in ("at", "on")
            elif not (word == "after" and self.number(1) is not None) and not (
                word == "study" and time_unit(self.at(1)) is not None and self.number(2) is not None
            ):
                return at
            self.i += 1

    def item(self) -> bool:
        """One item of the list: a point, a list of points, a span or an "up to"."""
        at = self.leading()
        word, three = self.at(), tuple(self.t[self.i : self.i + 3])
        if three == ("during", "the", "first"):  # "During the first 5 days after surgery"
            self.i += 2
            return self.up_to()
        if word in ("up", "upto", "within"):
            return self.up_to()
        if word == "through":
            return self.through_completion()
        if three in _PERIODS:
            return self.period(_PERIODS[three])
        if tuple(self.t[self.i : self.i + len(_CHANGE)]) == _CHANGE:
            self.i += len(_CHANGE)
            self.points.append(_Point(0.0, 0.0, None, "baseline"))
            self.group = len(self.points)
            return self.point()
        if word == "from":
            self.i += 1
            return self.span_start()
        if word != "baseline" and self.event()[0] is not None:  # "Randomization to Week 12", "At delivery"
            return self.span_start(point=at)
        return self.point()

    def up_to(self) -> bool:
        if self.at() == "up" and self.at(1) != "to":
            return False
        self.i += 2 if self.at() == "up" else 1  # "up to"; "upto", "within", "(during the) first"
        q = self.quantity()
        if q is None:
            return False
        event = self.relation()
        span = self.open or _Point(0.0, None, None)
        if not ends_at(span.event, event):
            return False
        span.high, span.unit, span.event = q[1], q[2], span.event or event
        span.low = 0.0 if span.low is None else span.low
        if self.open is None:
            self.points.append(span)
        self.open, self.carry = None, None
        self.group = len(self.points)
        return True

    def through_completion(self) -> bool:
        """ "Through (the) study completion": a span from the start whose end "up to N" must give, or the study's
        length right after it ("(30 months)", ", 100 days")."""
        k = 2 if self.at(1) == "the" else 1
        if (self.at(k), self.at(k + 1)) != ("study", "completion") or self.open is not None:
            return False
        self.i += k + 2
        length = self.completion_length()
        if length is None:
            self.open = _Point(0.0, None, None)
            self.points.append(self.open)
        else:
            self.points.append(_Point(0.0, length[1], length[2]))
            self.group = len(self.points)
        return True

    def completion_length(self) -> tuple[float, float, str] | None:
        """ "(30 months)" or ", 100 days" (consumed): the length of the study; None (nothing consumed) for any
        other words ("an average of 3 years" is no bound)."""
        begin, close = self.i, self.at() == "("
        if self.at() not in ("(", ","):
            return None
        self.i += 1
        q = self.quantity()
        if q is None or q[0] != q[1] or (close and self.at() != ")"):
            self.i = begin
            return None
        self.i += 1 if close else 0
        return q

    def period(self, event: str) -> bool:
        """ "Treatment period of 7 days": a span of that length from the event that starts the period."""
        self.i += 3
        q = self.quantity()
        if q is None or q[0] != q[1]:
            return False
        self.points.append(_Point(0.0, q[1], q[2], event))
        self.group = len(self.points)
        return True

    def span_start(self, point: bool = False) -> bool:
        """After "from" (or at an event that starts the item): the start, then "to/until" and the end; with
        ``point``, an event alone is the time point of the event ("At delivery")."""
        key, n = self.event()
        if key is not None:
            self.i += n
            start = _Point(0.0, None, None, key)
        else:
            q = self.quantity()
            if q is None or q[0] != q[1]:
                return False
            start = _Point(q[0], None, q[2], self.relation())
        if self.at() == "up" and self.at(1) == "to":  # "from first vaccination up to one year after first dose"
            self.open = start
            self.points.append(start)
            return self.up_to()
        if self.at() not in _SPAN_TO:
            if point and key is not None:
                start.high = 0.0
                self.points.append(start)
                self.group = len(self.points)
                return True
            if start.unit is None or key is not None:
                return False
            self.points.append(start)  # "from 14 days after dose 2": open-ended
            self.group = len(self.points)
            return True
        self.i += 1
        return self.span_end(start)

    def span_end(self, start: _Point) -> bool:
        q = self.quantity()
        if q is None:
            return self.condition_end(start)
        event = self.relation()
        if not ends_at(start.event, event) or q[0] != q[1]:
            return False
        same = _same_unit(start, q[2], q[1])
        if same is None:
            return False
        start.unit, start.high, start.event = same[0], same[1], start.event or event
        self.points.append(start)
        self.group, self.carry = len(self.points), None
        return True

    def condition_end(self, start: _Point) -> bool:
        """ "until progression", "to death or last follow-up": skipped up to the next comma or "up to", which must
        bound the span."""
        if start.unit is not None:
            return False
        begin = self.i
        while self.at() not in ("", ",", ";", "(", ")") and (self.at(), self.at(1)) != ("up", "to"):
            self.i += 1
        if self.i == begin:
            return False
        self.open = start
        self.points.append(start)
        return True

    def point(self) -> bool:
        """ "6 months", "week 12", "baseline", a bare number after "week 1," or before "and 16 weeks"."""
        if self.at() == "baseline":
            self.i += 1
            unit = self.baseline_unit()
            if self.at() in _SPAN_TO:  # "Baseline to Week 16"
                self.i += 1
                return self.span_end(_Point(0.0, None, unit, "baseline"))
            self.points.append(_Point(0.0, 0.0, unit, "baseline"))
            self.group = len(self.points)
            return True
        starts_with_unit = time_unit(self.at()) is not None
        q = self.quantity()
        if q is None:
            return self.bare_number()
        low, high, unit = q
        self.points += [_Point(v, v, unit) for v in self.pending] + [_Point(low, high, unit)]
        self.pending, self.carry = [], unit if starts_with_unit else None
        if self.at() == "to":  # "2 months to 3 years", "day 1 to day 21"
            self.i += 1
            return low == high and self.span_end(self.points.pop())
        event = self.relation()
        return event is None or self.name_event(event)

    def baseline_unit(self) -> str | None:
        """ "Baseline (Week 0)": the unit the parenthesis gives baseline."""
        if self.at() == "(" and time_unit(self.at(1)) is not None and self.number(2) == 0 and self.at(3) == ")":
            self.i += 4
            return time_unit(self.t[self.i - 3])
        return None

    def bare_number(self) -> bool:
        value = self.number()
        if value is None:
            return False
        self.i += 1
        if self.carry is not None:
            self.points.append(_Point(value, value, self.carry))
        else:
            self.pending.append(value)
        event = self.relation()
        return event is None or self.name_event(event)

    # ---------------------------------------------------------------- the whole text

    def separator(self) -> bool:
        """Consume what separates two items (", and", ";" ...); a ";" also ends the scope of a named event."""
        moved = False
        while self.at() in _SEPARATORS:
            if self.at() == ";":
                self.group, self.carry = len(self.points), None
            self.i += 1
            moved = True
        return moved

    def run(self) -> list[_Point] | None:
        while self.i < len(self.t):
            if not self.item() or self.before is not None:
                return None
            if self.at() == "." and self.i == len(self.t) - 1:
                self.i += 1
            if self.separator() or self.i >= len(self.t) or self.same_unit_follows():
                continue
            if not (self.open is not None and self.at() == "up"):  # "until death ... up to 15 months"
                return None
        if self.open is not None or self.pending or not self.points:
            return None
        return self.points

    def same_unit_follows(self) -> bool:
        """ "12 month 24 month": a point right after one of the same unit needs no separator ("15 years 5
        months" is one duration, not two points)."""
        last = self.points[-1] if self.points else None
        return last is not None and self.number() is not None and time_unit(self.at(1)) == last.unit


def _windows(points: list[_Point]) -> list[TimeWindow]:
    """The parsed points as windows: baseline takes the unit of the other points (days when alone)."""
    default = next((p.unit for p in points if p.unit is not None), "d")
    names = event_names()
    out = []
    for p in points:
        event = Concept(text=names[p.event]) if p.event else Concept()
        out.append(TimeWindow(low=p.low, high=p.high, unit=p.unit or default or "d", event=event))
    return out


def time_points(text: str | None) -> list[TimeWindow]:
    """The time points and spans a time frame states, in order; empty when any of it is unclear."""
    if not text:
        return []
    points = _Parser(tokens(text)).run()
    return _windows(points) if points else []


def measure_time_points(measure: str | None) -> list[TimeWindow]:
    """The one time point the name of a measure states ("6-month progression free survival rate (PFS6)" -> 6 mo),
    or empty (none, or more than one)."""
    found = _MEASURE_POINT.findall((measure or "").lower())
    if len(found) != 1:
        return []
    value, word = found[0]
    unit = time_unit(word)
    return [TimeWindow(low=float(value), high=float(value), unit=unit)] if unit else []
