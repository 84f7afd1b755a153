"""What ``pull`` asks the server and what it checks itself: :func:`plan_search` turns a :class:`SearchQuery` (our
words: ``recruiting``, ``phase 2``, ``melanoma``) into the ResearchStudy search parameters of the server's release,
as far as its CapabilityStatement offers them, plus the filters applied here to what comes back.

- **Status**: any spelling ``terminology.normalize`` reads (``recruiting``, ``RECRUITING``, ``Not yet recruiting``)
  or a research-study-status code of the release. R4 searches ``status`` with the R4 code
  (``mappings/ctgov-overall-status-r4.conceptmap.json``: recruiting is ``active``, which also covers enrolling by
  invitation), then keeps the studies whose ClinicalTrials.gov status, carried in the R5 ``progressStatus``
  extension, is the one asked for (a study without it is kept on the server's word). R5 has no search parameter on
  ``progressStatus`` (its ``status`` is the publication status), so the state is checked here.
  https://hl7.org/fhir/R4/researchstudy.html#search, https://hl7.org/fhir/R5/researchstudy.html#search
- **Phase**: any phase spelling (``phase 2``, ``phase2``, ``2``, ``II``, ``PHASE2``, ``phase-2``, ``1/2``;
  ``mappings/search-words.json`` adds the numbers and Roman numerals) -> the research-study-phase code, searched as
  a token without system (R4 and R5 name the code system differently, the code is the same).
- **Condition**: ``condition:text`` on the server.

A stock R4 server has no ``condition`` and no ``phase`` search parameter on ResearchStudy (R5 added them). Where
the CapabilityStatement lists ResearchStudy's parameters and one is missing, that criterion is checked here on every
study the rest of the search returns, and :attr:`SearchPlan.notes` says so. R4's ``keyword``, ``focus`` and
``category`` would not do: fhir-adapter's R4 mapping (``fhir.r4.research_study``) writes the registry's keywords,
the interventions and the study design there, so searching them for a condition or a phase would return another set
of studies. ``servers/search-parameters-r4.json`` is the SearchParameter bundle an administrator can load to give
an R4 server both parameters (``servers/README.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.release import FhirRelease

__all__ = ["Filter", "SearchPlan", "SearchWordError", "phase_code", "plan_search", "status_codes"]

JSON = dict[str, Any]
_PROGRESS_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ResearchStudy.progressStatus"
# R4 requires a status; where the registry gives none, or UNKNOWN, fhir-adapter writes a stand-in code flagged with
# this extension on ``_status`` (mappings/README.md): it is no status of the study, so no status search matches it.
_STAND_IN = "r4-status-reason"
_LOAD_HINT = (
    "an administrator can add it with the SearchParameter bundle servers/search-parameters-r4.json of fhir-adapter"
)


class SearchWordError(ValueError):
    """A ``--status`` or ``--phase`` word that names no status or phase (the message lists examples)."""


@dataclass(frozen=True, slots=True)
class Filter:
    """A criterion checked here, on each ResearchStudy the server returned: ``what`` says which, in words."""

    what: str
    keep: Callable[[JSON], bool]


@dataclass(slots=True)
class SearchPlan:
    """The server-side parameters (besides identifiers, paging and ``_include``), the filters applied here, and one
    line per choice worth telling the user (a criterion checked here instead of on the server)."""

    params: dict[str, str] = field(default_factory=dict)
    filters: list[Filter] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def keeps(self, study: JSON) -> bool:
        return all(f.keep(study) for f in self.filters)


@cache
def _extra_phase_words() -> dict[str, str]:
    data = json.loads((terminology.mappings_dir() / "search-words.json").read_text(encoding="utf-8"))
    return {_key(k): v for k, v in data["phase"].items()}


def _key(word: str) -> str:
    return " ".join(word.replace("-", " ").replace("_", " ").casefold().split())


def phase_code(word: str, release: FhirRelease) -> str:
    """The research-study-phase code a ``--phase`` word names in ``release`` (``"2"`` -> ``phase-2``)."""
    tokens = terminology.normalize_phase(word)
    if not tokens and _key(word) in _extra_phase_words():
        tokens = _extra_phase_words()[_key(word)].split("|")
    if not tokens and terminology.phase_tokens(word.strip().lower(), release):
        tokens = terminology.phase_tokens(word.strip().lower(), release)
    coding = terminology.phase_code(tokens, release) if tokens else None
    if coding is None:
        raise SearchWordError(
            f"{word!r} names no phase (e.g. 2, phase 2, phase2, II, PHASE2, phase-2, 1/2, early 1, NA)"
        )
    return coding.code


def _codings(concept: Any) -> Iterator[JSON]:
    if isinstance(concept, dict):
        yield from (c for c in concept.get("coding", []) if isinstance(c, dict))


def _past(entry: JSON) -> bool:
    return entry.get("actual") is False and entry.get("state") is not None


def status_codes(study: JSON) -> set[tuple[str, str]]:
    """(system, code) of every overall-status coding a study carries: R5 ``progressStatus.state``, or the R5
    ``progressStatus`` extension fhir-adapter writes on R4 (milestones included; their system tells them apart).
    An entry with ``actual: false`` is left out: an UNKNOWN study's last known status is history, not its state."""
    concepts = [p.get("state") for p in study.get("progressStatus", []) if isinstance(p, dict) and not _past(p)]
    for ext in study.get("extension", []):
        if isinstance(ext, dict) and ext.get("url") == _PROGRESS_EXTENSION:
            parts = [e for e in ext.get("extension", []) if isinstance(e, dict)]
            if any(e.get("url") == "actual" and e.get("valueBoolean") is False for e in parts):
                continue
            concepts += [e.get("valueCodeableConcept") for e in parts if e.get("url") == "state"]
    return {(str(c.get("system", "")), str(c.get("code", ""))) for concept in concepts for c in _codings(concept)}


def stand_in_status(study: JSON) -> bool:
    """True when an R4 study's ``status`` is the stand-in fhir-adapter writes for an UNKNOWN or missing registry
    status (flagged by the ``r4-status-reason`` extension on ``_status``)."""
    flags = (study.get("_status") or {}).get("extension", []) if isinstance(study.get("_status"), dict) else []
    base = terminology.system("fhir-adapter-ext")
    return any(isinstance(e, dict) and e.get("url") == base + _STAND_IN for e in flags)


def _status_filter(word: str, release: FhirRelease, offered: frozenset[str] | None, plan: SearchPlan) -> None:
    """The server-side ``status`` (R4) and the filter here for a ``--status`` word."""
    code = word.strip().lower()
    r4_code = code in terminology.r4_codes("research-study-status")
    if release == FhirRelease.R4:
        plan.filters.append(Filter("a status of the study's own (not a stand-in)", lambda s: not stand_in_status(s)))
    if release == FhirRelease.R4 and r4_code:  # the server's own code: its match is the answer
        if offered is None or "status" in offered:
            plan.params["status"] = code
        else:
            plan.filters.append(Filter(f"status {code}", lambda s: s.get("status") == code))
        return
    ctgov = terminology.ctgov_system("overall-status")
    if release == FhirRelease.R5 and terminology.from_fhir("overall-status", code, release) is not None:
        plan.filters.append(
            Filter(f"status {code}", lambda s: code in {c for system, c in status_codes(s) if system != ctgov})
        )
        return
    token = terminology.normalize("overall-status", word)
    if token is None and not r4_code:
        raise SearchWordError(
            f"{word!r} names no study status (e.g. recruiting, RECRUITING, 'not yet recruiting', completed, or a "
            "research-study-status code such as closed-to-accrual)"
        )
    if token is None:  # an R4 code on an R5 server: its progressStatus states are checked
        plan.filters.append(Filter(f"status {code}", lambda s: code in {c for _, c in status_codes(s)}))
        return
    if release == FhirRelease.R4:
        coding = terminology.to_fhir("overall-status", token, FhirRelease.R4)
        if coding is not None and (offered is None or "status" in offered):
            plan.params["status"] = coding.code
    r5 = terminology.to_fhir("overall-status", token, FhirRelease.R5)

    def same_status(study: JSON) -> bool:
        codes = status_codes(study)
        ours = {c for system, c in codes if system == ctgov}
        if ours:
            return token in ours
        # a study from elsewhere: on R4 the server matched its status; on R5 its state must be the R5 code
        return release == FhirRelease.R4 or (r5 is not None and (r5.system, r5.code) in codes)

    plan.filters.append(Filter(f"ClinicalTrials.gov status {token}", same_status))


def _phase_filter(word: str, release: FhirRelease, offered: frozenset[str] | None, plan: SearchPlan) -> None:
    code = phase_code(word, release)
    if offered is None or "phase" in offered:
        plan.params["phase"] = code
        return
    plan.notes.append(
        f"the server offers no ResearchStudy search parameter 'phase' (R4 core has none): phase {code} is "
        f"checked here on every study the rest of the search returns; {_LOAD_HINT}"
    )
    plan.filters.append(Filter(f"phase {code}", lambda s: any(c.get("code") == code for c in _codings(s.get("phase")))))


def _condition_texts(study: JSON) -> Iterator[str]:
    for concept in study.get("condition", []):
        if isinstance(concept, dict):
            yield str(concept.get("text", ""))
            for c in _codings(concept):
                yield str(c.get("display", ""))
                yield str(c.get("code", ""))


def _condition_filter(text: str, modifier: str, offered: frozenset[str] | None, plan: SearchPlan) -> None:
    if offered is None or "condition" in offered:
        plan.params[f"condition{modifier}"] = text
        return
    wanted = text.casefold()
    plan.notes.append(
        f"the server offers no ResearchStudy search parameter 'condition' (R4 core has none): the condition "
        f"'{text}' is checked here (a case-insensitive substring of a condition's text, display or code) on every "
        f"study the rest of the search returns; {_LOAD_HINT}"
    )
    plan.filters.append(
        Filter(f"condition '{text}'", lambda s: any(wanted in t.casefold() for t in _condition_texts(s)))
    )


def plan_search(
    *,
    condition: str | None,
    status: str | None,
    phase: str | None,
    release: FhirRelease,
    offered: frozenset[str] | None,
    condition_modifier: str = ":text",
) -> SearchPlan:
    """The plan for these criteria on a server of ``release`` offering the ResearchStudy search parameters
    ``offered`` (None: the CapabilityStatement does not say, so every criterion is sent). A word that names no
    status or phase is a :class:`SearchWordError`."""
    plan = SearchPlan()
    if condition:
        _condition_filter(condition, condition_modifier, offered, plan)
    if status:
        _status_filter(status, release, offered, plan)
    if phase:
        _phase_filter(phase, release, offered, plan)
    return plan
