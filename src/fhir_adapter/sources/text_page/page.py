"""The state a trial page is read into, and what every section handler uses (see ``text_page/__init__.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fhir_adapter.issues import Issue
from fhir_adapter.model import Arm, Source, Trial

NCT = re.compile(r"\bNCT\d{8}\b")
_NOT_TOKEN = re.compile(r"[^A-Z0-9]+")
# The first word of a site blurb: the site's voice ("Review the sponsor-provided synopsis ..."). Page wording.
_BLURB_VERBS = {
    "get",
    "review",
    "dive",
    "see",
    "understand",
    "learn",
    "check",
    "meet",
    "identify",
    "reach",
    "explore",
    "find",
    "discover",
    "browse",
    "view",
    "read",
    "additional",
    "track",
    "compare",
}

# The interventions shown under one arm of "Study Groups": (name, type, text shown under the arm)
ShownInterventions = list[tuple[str, str | None, str | None]]


@dataclass(slots=True)
class Section:
    """The lines under one section label."""

    label: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line index in the page, stripped line)

    @property
    def texts(self) -> list[str]:
        return [t for _, t in self.lines]


class Page:
    """One page being read: the Trial so far, its issues and the lines no handler could use."""

    def __init__(self, text: str, path: str) -> None:
        self.raw = text.splitlines()
        self.path = path
        self.trial = Trial(source=Source(format="text-page", path=path))
        self.issues = self.trial.issues
        self.group_arms: list[tuple[Arm, ShownInterventions]] = []
        # unmapped lines per key, joined once at the end (str += per section is quadratic on a page that repeats
        # a label many times)
        self.left: dict[str, list[str]] = {}

    def warn(self, location: str, message: str, code: str = "not-supported") -> None:
        self.issues.append(Issue("warning", location, message, code))

    def info(self, location: str, message: str, code: str = "informational") -> None:
        self.issues.append(Issue("information", location, message, code))

    def unmapped(self, label: str, lines: list[str]) -> None:
        """Keep lines the reader does not understand; a leading label-like line names them."""
        lines = [x for x in lines if x]
        if not lines:
            return
        key = label
        if len(lines) > 1 and _looks_like_label(lines[0]):
            key, lines = lines[0], lines[1:]
            if lines and is_blurb(lines[0]) and len(lines) > 1:
                lines = lines[1:]
        self.left.setdefault(key, []).extend(lines)
        self.warn(key, f"page content not understood by the reader ({len(lines)} line(s)), kept in unmapped")

    def named_runs(
        self, sec: Section, pattern: re.Pattern[str], nameless: str
    ) -> tuple[Iterator[tuple[list[str], re.Match[str]]], list[str]]:
        """``runs_closed_by`` on a section, less the runs without a line before their closing line: each is warned
        about (message ``nameless``) when the iteration reaches it, so that issues stay in page order."""
        runs, left = runs_closed_by(pattern, sec.texts)
        return self._named(runs, sec.label, nameless), left

    def _named(
        self, runs: list[tuple[list[str], re.Match[str]]], label: str, nameless: str
    ) -> Iterator[tuple[list[str], re.Match[str]]]:
        for run in runs:
            if run[0]:
                yield run
            else:
                self.warn(label, nameless)

    def single(self, sec: Section) -> tuple[str | None, list[str]]:
        """The value of a one-value section and the lines after it (a label without a value is warned about)."""
        texts = sec.texts
        if not texts:
            self.warn(sec.label, "label without a value")
            return None, []
        return texts[0], texts[1:]


# A section handler: reads what it understands of a section into the page, returns the lines it could not use.
Handler = Callable[[Page, Section], list[str]]


def is_blurb(line: str) -> bool:
    """A site blurb: one sentence in the site's voice ("Review the sponsor-provided synopsis ...")."""
    if not line.endswith(".") or len(line) > 300 or ". " in line[:-1]:
        return False
    first = line.split(None, 1)[0].lower()
    return first in _BLURB_VERBS


def _looks_like_label(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 6 and not line.endswith((".", ";", ",")) and not line[0].isdigit()


def token(value: str) -> str:
    """A ct.gov-style token: 'Not yet recruiting' or 'NOT_YET_RECRUITING' -> 'NOT_YET_RECRUITING'."""
    return _NOT_TOKEN.sub("_", value.strip().upper()).strip("_")


def runs_closed_by(
    pattern: re.Pattern[str], texts: list[str]
) -> tuple[list[tuple[list[str], re.Match[str]]], list[str]]:
    """The runs of lines each closed by a line that fullmatches ``pattern`` ("<sponsor>", "OTHER", then "Sponsor
    Role lead"), as (the run's lines, the closing line's match), and the lines after the last closing line."""
    runs: list[tuple[list[str], re.Match[str]]] = []
    pending: list[str] = []
    for line in texts:
        m = pattern.fullmatch(line)
        if m is None:
            pending.append(line)
        else:
            runs.append((pending, m))
            pending = []
    return runs, pending


def walk_pairs(texts: list[str], take: Callable[[str, str], bool]) -> None:
    """Call ``take(line, next line)`` on each line (the next line is "" at the end); where it returns True, the next
    line was used with it and is skipped ("<name>" then "Group Type EXPERIMENTAL" / "Role: CONTACT")."""
    i = 0
    while i < len(texts):
        nxt = texts[i + 1] if i + 1 < len(texts) else ""
        i += 2 if take(texts[i], nxt) else 1
