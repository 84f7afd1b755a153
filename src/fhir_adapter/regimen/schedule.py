"""The study's schedule of assessments from its texts (issue 10 item 3): text -> ``list[Assessment]``.

Reads the brief summary, detailed description, arm, intervention and outcome descriptions, sentence by sentence,
for a period ("every 2 cycles", "every 6 weeks", "every 3 months", "on day 1 of each cycle") that follows an
assessment word in the same sentence ("imaging examinations", "tumor assessments", "Survival follow-up", "are
followed up", "assessed", "visits"). A dose sentence ("200 mg sc every 2 weeks") has no assessment word and is left
alone. Per period it keeps what the text says right after it, up to the next period: a duration ("for 2 years", "up
to 15 months", "for the first year"; a range such as "for 3-5 years" stays text), when it applies ("from week 9",
or the sentence's opening "After 12 months," clause) and a stop ("until death, ..."). A second period of one sentence
without its own assessment word ("every 3 months for 1 year, every 4 months for 1 year") is the same assessment
taking over from the one before (``follows``).

Precision first: no period is invented; what the fields cannot hold stays in ``text`` (the verbatim sentence).
Knows no FHIR and no registry format (the FHIR side: ``fhir_adapter.fhir.r5.schedule``). Every pattern is a
module-level constant that runs in linear time (tests/test_regex_linear.py).
"""

from __future__ import annotations

import re

from fhir_adapter.ascii_words import lower_ascii, may_contain
from fhir_adapter.model import Assessment, Quantity, Trial

# A sentence end: ".", ";", "?" or "!" before white space, or a line break. Written as one character class first (then
# whether it was the line break or stands before white space): the engine jumps to the candidates instead of trying
# both alternatives at every character; the same ends as "[.;?!](?=\s)|\n".
_SENTENCE = re.compile(r"[\n.;?!](?:(?<=\n)|(?=\s))")
# The words that name an assessment; "followed" only as a verb of the patients ("are followed"), never "followed by".
_TERM = re.compile(
    r"\b(?:tumou?r assessments?|imaging examinations?|imaging|radiographic tumou?r assessments?|tumou?r evaluations?"
    r"|survival follow-up|follow-up visits?|follow-up|followed up|(?:are|be|were|is) followed(?: up)?(?! by)"
    r"|safety visits?|study visits?|assessed|evaluated|disease assessments?|laboratory tests?|blood tests?"
    r"|questionnaires?|specimens will be collected|CT scans?|MRI scans?|scans?|examined|contacted"
    r"|tests?(?: for [a-z]+)?)\b",
    re.IGNORECASE,
)
_PERIOD_WORDS = ("every", "each")  # one is in every match of _EVERY ("on day 1 of each cycle")
_UNITS = {"day": "d", "week": "wk", "month": "mo", "year": "a"}
_NUMBER = r"(?P<n>\d{1,3}|one|two|three|four|five|six|eight|twelve)"
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "twelve": 12}
# "every 3 months", "every 2 cycles", "every cycle", "on day 1 of each cycle".
_EVERY = re.compile(
    rf"\bon day (?P<day>\d{{1,2}}) of (?:each|every) (?:treatment )?cycle\b"
    rf"|\bevery {_NUMBER} (?P<unit>day|week|month|year|cycle)s?\b"
    rf"|\bevery (?P<single>day|week|month|year|cycle)\b",
    re.IGNORECASE,
)
# Right after a period: how long ("for 2 years", "up to 15 months", "for the first year").
_DURATION = re.compile(
    rf"^\s*(?:\([^()]{{0,40}}\)\s*)?(?:from [a-z]+ \d{{1,3}}\s*(?:\([^()]{{0,40}}\)\s*)?)?"
    rf"(?:for|up to|during|for a total of) (?:(?P<first>the first) |{_NUMBER} )(?P<unit>day|week|month|year)s?\b",
    re.IGNORECASE,
)
# A dose between the assessment word and the period: the period is a dosing frequency, not a schedule.
_DOSE = re.compile(r"\d\s?(?:mg|g|mcg|ug|µg|Gy|mL|IU|units?)\b", re.IGNORECASE)
# "every day or every other day": two periods offered, neither is the schedule (stays text).
_OR = re.compile(r"\s?(?:\([^()]{0,40}\)\s?)?or\b", re.IGNORECASE)
_FROM = re.compile(r"\bfrom (?:week|day|month|cycle) \d{1,3}\b", re.IGNORECASE)
_UNTIL = re.compile(r"\buntil\b[^;]*", re.IGNORECASE)
# The sentence's opening time clause ("After 12 months,", "Within 12 months after the first administration,").
_OPENING = re.compile(r"^(?:After|Within|From|During|Beginning)\b[^,;]{1,120}(?=,)")
# A new clause about something else ends what a period governs ("... and treatment will be administered until ...").
_OTHER_CLAUSE = re.compile(
    r"\b(?:and|while|whereas) (?:the )?(?:treatment|therapy|patients?|participants?|subjects?|they|drug)\b",
    re.IGNORECASE,
)


def _first_period_at(sentence: str) -> int | None:
    """Where ``_EVERY`` may first match: in ASCII text, the first "every" or "on day" (each of its periods starts
    with one, and "on day ..." goes on with "each" or "every"), None when there is neither: nothing is scheduled;
    0 in other text (``ascii_words``: a case-blind pattern may match other characters there). ``finditer`` from
    there: its word boundary still sees the character before."""
    if (low := lower_ascii(sentence)) is None:
        return 0
    found = [i for i in (low.find("every"), low.find("on day")) if i >= 0]
    return min(found) if found else None


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _WORDS[word.lower()]


def _duration(after: str) -> Quantity | None:
    m = _DURATION.search(after)
    if m is None:
        return None
    value = 1 if m.group("first") else _number(m.group("n"))
    return Quantity(value, unit=_UNITS[m.group("unit").lower()])


def _period(m: re.Match[str]) -> tuple[Quantity | None, int | None, int | None]:
    """(every, every_cycles, cycle_day) of one period match."""
    if m.group("day"):
        return None, 1, int(m.group("day"))
    unit = (m.group("unit") or m.group("single")).lower()
    count = _number(m.group("n")) if m.group("n") else 1
    if unit == "cycle":
        return None, count, None
    return Quantity(count, unit=_UNITS[unit]), None, None


def _governed(sentence: str, start: int, end: int) -> str:
    """The words a period governs: from its end to the next period, cut at a clause about something else."""
    span = sentence[start:end]
    other = _OTHER_CLAUSE.search(span)
    return span[: other.start()] if other else span


def assessments_of_sentence(sentence: str) -> list[Assessment]:
    """The assessments one sentence schedules (empty when it names no assessment before a period)."""
    if (first := _first_period_at(sentence)) is None:
        return []  # most sentences: no period, nothing scheduled
    periods = list(_EVERY.finditer(sentence, first))
    opening = _OPENING.match(sentence)
    out: list[Assessment] = []
    previous_end = 0
    for i, m in enumerate(periods):
        terms = list(_TERM.finditer(sentence, previous_end, m.start()))
        dose = _DOSE.search(sentence, terms[-1].end() if terms else previous_end, m.start())
        if (not terms and not out) or dose or _OR.match(sentence, m.end()):
            previous_end = m.end()
            continue
        every, cycles, day = _period(m)
        governed = _governed(sentence, m.end(), periods[i + 1].start() if i + 1 < len(periods) else len(sentence))
        start = _FROM.search(governed)
        until = _UNTIL.search(governed)
        out.append(
            Assessment(
                name=terms[0].group(0) if terms else out[-1].name,
                every=every,
                every_cycles=cycles,
                cycle_day=day,
                duration=_duration(governed),
                applies=start.group(0) if start else opening.group(0) if opening and not out else None,
                stop=until.group(0).rstrip(" ,.") if until else None,
                follows=bool(out) and not terms,
                text=sentence,
            )
        )
        previous_end = m.end()
    return out


def _texts(trial: Trial) -> list[str]:
    return [
        t
        for t in (
            trial.brief_summary,
            trial.detailed_description,
            *(a.description for a in trial.arms),
            *(i.description for i in trial.interventions),
            *(o.description for o in trial.outcomes),
        )
        if t
    ]


def schedule_of(trial: Trial) -> list[Assessment]:
    """The study's schedule of assessments, in text order; a sentence repeated in several fields counts once.
    Pure: never changes the Trial."""
    seen: set[str] = set()
    out: list[Assessment] = []
    for text in dict.fromkeys(_texts(trial)):  # a text repeated in several fields: its sentences are all seen
        for sentence in _period_sentences(text):
            if sentence in seen:
                continue
            seen.add(sentence)
            out += assessments_of_sentence(sentence)
    return out


def _period_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (stripped, not empty) that may name a period: ``_EVERY`` cannot match one that says
    neither "every" nor "each" (``ascii_words``: a sentence that is not ASCII is always kept); the others schedule
    nothing, wherever they recur. ASCII text is lowered once: none when the whole text says neither word, else it is
    split lowered, and each sentence that says one is cut from the text at the same offsets (lowering ASCII keeps
    its length and the sentence ends)."""
    if (lowered := lower_ascii(text)) is None:
        # Sentence by sentence: an ASCII sentence of a text that is not is still gated.
        return [s for raw in _SENTENCE.split(text) if (s := raw.strip()) and may_contain(s, _PERIOD_WORDS)]
    # holds_any(lowered, _PERIOD_WORDS) written out, here and per sentence: a gate on every text of every study,
    # where the call and its any(map(...)) cost more than the two tests (4 % of schedule_of, measured).
    if "every" not in lowered and "each" not in lowered:
        return []  # most texts: none of its sentences can (a sentence it skips would give none wherever it recurs)
    out, start = [], 0
    for low in _SENTENCE.split(lowered):
        if "every" in low or "each" in low:
            out.append(text[start : start + len(low)].strip())
        start += len(low) + 1  # a sentence end is one character (_SENTENCE)
    return [s for s in out if s]
