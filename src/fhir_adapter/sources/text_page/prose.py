"""Endpoints a trial page states in prose (its summary or description) as ``Outcome``s, with verbatim measure texts
(rules in ``prose_outcomes``; see ``text_page/__init__.py``)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from fhir_adapter.model import Outcome
from fhir_adapter.sources.text_page.page import Page

_KIND = {
    "primary": "PRIMARY",
    "main": "PRIMARY",
    "secondary": "SECONDARY",
    "key secondary": "SECONDARY",
    "exploratory": "OTHER_PRE_SPECIFIED",
    "tertiary": "OTHER_PRE_SPECIFIED",
}
_ENDPOINT_WORD = r"(?:efficacy\s+|safety\s+)?(?:indicator|endpoint|end[- ]point|outcome(?:\s+measure)?)s?"
# Linear on any text: every run of spaces is possessive (\s++) or cannot share characters with its neighbour, and
# the measure starts and ends with a non-space, so no run is re-scanned for every way of splitting it.
# "use the 6-month PFS rate (PFS6) as the primary efficacy indicator"
_AS_ENDPOINT = re.compile(
    r"\b(?:use|uses|used|using|take|takes|taking|adopt|adopts|with)\s++(?:the\s++)?"
    r"(?P<m>[^.;:\s][^.;:]{1,158}?[^.;:\s])\s++as\s++"
    r"(?:the\s++|its\s++|a\s++)?(?P<kind>primary|main|key secondary|secondary|exploratory)\s++"
    + _ENDPOINT_WORD
    + r"\b",
    re.IGNORECASE,
)
# _AS_ENDPOINT is tried only where it can match (see _as_endpoints): where a verb starts and an "as ... endpoint"
# (_AS_TAIL, from the first space before "as") lies within reach of the 160-character measure. Tried at every verb,
# its lazy measure costs 160 steps per verb ("uses uses uses ..." is 160 times the page).
_VERB = re.compile(r"\b(?=(?:use|uses|used|using|take|takes|taking|adopt|adopts|with)\s)", re.IGNORECASE)
_VERB_THE = re.compile(r"(?:use|uses|used|using|take|takes|taking|adopt|adopts|with)\s++(the\s++)?", re.IGNORECASE)
_AS_TAIL = re.compile(
    r"(?<!\s)\s++as\s++(?:the\s++|its\s++|a\s++)?(?:primary|main|key secondary|secondary|exploratory)\s++"
    + _ENDPOINT_WORD
    + r"\b",
    re.IGNORECASE,
)
# "The primary endpoint is overall survival." / "Secondary endpoints include ORR, DCR and OS."
_ENDPOINT_IS = re.compile(
    r"\b(?P<kind>primary|main|key secondary|secondary|exploratory)\s+"
    + _ENDPOINT_WORD
    + r"\s+(?:is|are|was|were|will\s+be|include|includes|included)(?:\s*:)?\s+(?P<m>[^.;]{3,300})",
    re.IGNORECASE,
)
# "1. Primary Objective ... Assessments include: A (x) B (y) C." / "2. Exploratory Objectives ... and:A B C."
_OBJECTIVE = re.compile(
    r"(?P<kind>Primary|Secondary|Exploratory|Tertiary)\s+Objectives?\b(?P<body>.*?)(?=\s\d{1,2}\.\s+\S|$)",
    re.IGNORECASE | re.DOTALL,
)
_LIST_INTRO = re.compile(r"\b(?:include|includes|including|are|and|following|as follows)\s*:\s*", re.IGNORECASE)
# A run of spaces before ";" (or "and") is matched from its first space only ((?<!\s)): a search that started
# at every space of a long run would scan the rest of the run each time (quadratic). Same splits as \s*;\s*.
_FLAT_SPLIT = re.compile(r"(?<=[a-z)\]])\s+(?=[A-Z])|;\s*|(?<!\s)\s+;\s*")
_LIST_SEPARATORS = re.compile(r",\s*(?:and\s+)?|(?<!\s)\s+and\s+")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
# The word that opens a list as the subject of its own sentence ("... melanoma. Assessments include: ..."): only
# then is it not part of the objective's statement ("... between treatment efficacy/patient outcomes and: ..."
# keeps "outcomes"). Capitalised and right after the sentence end (or alone), the match starts there only.
_LIST_WORD = re.compile(r"(?:(?<=[.;:])|^)\s*+(?:Assessments|Endpoints|Outcomes|Measures|These)$")
# A description longer than this is a paragraph without full stops, not a sentence: it is not repeated per endpoint
# (the bundle would grow with the square of the page), the text the endpoint was read from is used instead.
_MAX_SENTENCE = 1000


def _as_endpoints(text: str) -> Iterator[re.Match[str]]:
    """What ``_AS_ENDPOINT.finditer(text)`` gives, trying the pattern only at verbs with a tail within reach."""
    tails = [m.start() for m in _AS_TAIL.finditer(text)]
    if not tails:
        return
    last_end = 0
    for verb in _VERB.finditer(text):
        p = verb.start()
        head = _VERB_THE.match(text, p)
        if p < last_end or head is None:
            continue
        first = head.start(1) if head.group(1) else head.end()  # the measure starts here or after "the"
        i = bisect.bisect_left(tails, first + 3)  # the measure is 3 to 160 characters, its tail right after it
        if i == len(tails) or tails[i] > head.end() + 160:
            continue
        m = _AS_ENDPOINT.match(text, p)
        if m is not None:
            last_end = m.end()
            yield m


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]`` (from the last ". " or line break before it to the next ". "), or
    ``text[start:end]`` itself when that sentence is longer than _MAX_SENTENCE. Looks at most that far each way."""
    lo = max(0, start - _MAX_SENTENCE)
    s = max(text.rfind(". ", lo, start), text.rfind("\n", lo, start))
    if s < 0 and lo > 0:
        return text[start:end].strip()
    s = 0 if s < 0 else s + 1
    hi = end + _MAX_SENTENCE + 2
    e = text.find(". ", end, hi)
    if e < 0 and hi < len(text):
        return text[start:end].strip()
    e = len(text) if e < 0 else e + 1
    return text[s:e].strip() if e - s <= _MAX_SENTENCE else text[start:end].strip()


def prose_outcomes(text: str) -> list[Outcome]:
    """Endpoints stated in prose, with verbatim measure texts:

    * "<measure> as the primary/secondary/exploratory (efficacy) indicator|endpoint|outcome" (after use/using/...);
    * "The primary/secondary endpoint(s) is/are/include <measure>[, <measure> and <measure>]";
    * "Primary/Secondary/Exploratory Objective(s) ... include:|are:|and: <list>" where the list runs to the end of
      the sentence and its items are split where a capitalised word follows a word or ")" (a bulleted list
      flattened into one line) or at ";".

    PRIMARY/SECONDARY come from the wording; exploratory/tertiary become OTHER_PRE_SPECIFIED. The description is
    the sentence (or the objective's statement) the measure was read from, when it is at most _MAX_SENTENCE
    long; otherwise the words the measure was read from (or none, for an objective's statement): so the output
    stays linear in the size of the page however many endpoints one paragraph lists.
    """
    out: list[Outcome] = []
    for m in _as_endpoints(text):
        kind = _KIND[m.group("kind").lower()]
        out.append(Outcome(m.group("m").strip(), kind, _sentence_around(text, m.start(), m.end())))
    for m in _ENDPOINT_IS.finditer(text):
        kind = _KIND[m.group("kind").lower()]
        sentence = _sentence_around(text, m.start(), m.end())
        for part in _LIST_SEPARATORS.split(m.group("m")):
            if part.strip():
                out.append(Outcome(part.strip(), kind, sentence))
    for m in _OBJECTIVE.finditer(text):
        kind = _KIND[m.group("kind").lower()]
        body = m.group("body")
        intro = _LIST_INTRO.search(body)
        if intro is None:
            continue
        tail = body[intro.end() :]
        stop = _SENTENCE_END.search(tail)
        listed = tail[: stop.start()] if stop else tail
        statement = body[: intro.start()].strip()
        # the objective's own statement, without the word that introduces the list ("Assessments include:")
        stated = _LIST_WORD.sub("", statement).strip()
        desc = stated if 0 < len(stated) <= _MAX_SENTENCE else None
        for item in _FLAT_SPLIT.split(listed):
            item = item.strip()
            if len(item) >= 3:
                out.append(Outcome(item, kind, desc))
    return out


def fill_outcomes(page: Page) -> None:
    """The outcomes of the summary and the description (each measure and type once)."""
    trial = page.trial
    seen: set[tuple[str, str]] = set()
    for text in (trial.brief_summary, trial.detailed_description):
        for outcome in prose_outcomes(text or ""):
            key = (outcome.measure, outcome.type)
            if key not in seen:
                seen.add(key)
                trial.outcomes.append(outcome)
    if trial.outcomes:
        page.info("outcomes", f"{len(trial.outcomes)} outcome(s) read from the summary/description prose")
