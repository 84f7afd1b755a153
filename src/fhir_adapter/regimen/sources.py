"""Which texts speak of an arm, and which drug names to look for in them.

An arm's texts are its own description, the descriptions of the interventions the registry links to it (an
intervention linked to several arms whose text has a section headed by this arm's label gives only that section),
and the trial's detailed description and brief summary when the trial has one arm or they name the arm (the seed
NCT07236528 keeps its radiotherapy plan and maintenance phase there). Drug names come from the linked drug
interventions (name, other names, the parts of "A + B", "A/B", "A and B"), and, when the arm's text never names one
of them ("Combination group"), from the words next to its doses ("20mg lutein plus 20mg lycopene").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from fhir_adapter.ascii_words import holds_any, lower_ascii
from fhir_adapter.model import Arm, Intervention, Trial
from fhir_adapter.regimen import patterns as p
from fhir_adapter.regimen.attributes import dose_places
from fhir_adapter.regimen.terms import terms
from fhir_adapter.regimen.text import has_any

__all__ = ["ArmText", "arm_texts", "drug_interventions", "linked", "names_of", "radiation", "surgeries"]

DRUG_TYPES = frozenset({"DRUG", "BIOLOGICAL", "DIETARY_SUPPLEMENT", "COMBINATION_PRODUCT", "GENETIC"})
BRACKETS = re.compile(r"\([^()]{0,80}\)|\[[^\[\]]{0,80}\]")
ARM_PREFIX = re.compile(r"^\s*(?:arm|group|cohort)\s+\w{1,3}\s*:\s*", re.IGNORECASE)
SEPARATORS = re.compile(r"\+|/|,|;|->|\band\b|\bplus\b|\bwith\b", re.IGNORECASE)
CUT_WORDS = re.compile(r"\s(?:administered|given|in|for|to|at|as|versus|vs)\s.*$", re.IGNORECASE)
NEXT_WORD = re.compile(r"\s*(?:of\s+)?([A-Za-z][\w-]{2,40})")
COHORT_HEAD = re.compile(r"\b(?:cohort|group|arm|part)\s+[A-Za-z0-9]{1,3}\s?:", re.IGNORECASE)
PRIORITY_ARM, PRIORITY_INTERVENTION, PRIORITY_TRIAL = 3, 2, 1


@dataclass(slots=True)
class ArmText:
    """One text about the arm: its words, the drug a text naming none speaks of, how much it is trusted on a tie."""

    text: str
    implicit: str | None
    priority: int
    extra_names: list[str] = field(default_factory=list)


def linked(trial: Trial, arm: Arm) -> list[Intervention]:
    """The interventions the registry links to ``arm``: by arm label; by name only where an intervention lists no
    arm (several interventions may share a name, each linked to its own arm: "AKB-6548" x 3). The functions below
    take it from the caller (``regimen_of``: one look-up per arm, not four)."""
    if all(i.arm_labels for i in trial.interventions):
        return [i for i in trial.interventions if arm.label in i.arm_labels]  # most trials: no name needed
    written = {n.split(":", 1)[-1].strip().lower() for n in arm.intervention_names}
    return [
        i
        for i in trial.interventions
        if arm.label in i.arm_labels or (not i.arm_labels and i.name.strip().lower() in written)
    ]


def drug_interventions(links: list[Intervention]) -> list[Intervention]:
    """The drugs among an arm's linked interventions (``linked``; a placebo of any type included)."""
    return [i for i in links if (i.type or "").upper() in DRUG_TYPES or "placebo" in i.name.lower()]


def radiation(links: list[Intervention]) -> list[Intervention]:
    """The radiation interventions among an arm's linked interventions (``linked``)."""
    return [i for i in links if (i.type or "").upper() == "RADIATION"]


def surgeries(links: list[Intervention]) -> list[Intervention]:
    """The procedures that are surgery among an arm's linked interventions ("radical cystectomy", "Surgery or ...")."""
    return [i for i in links if (i.type or "").upper() == "PROCEDURE" and p.SURGERY_WORD.search(i.name)]


def _parts(full: str, own_name: bool) -> list[str]:
    base = BRACKETS.sub(" ", ARM_PREFIX.sub("", full))
    for start, end, _, _ in reversed(dose_places(base)):
        base = base[:start] + " " + base[end:]
    out = [" ".join(base.split())]
    for part in SEPARATORS.split(base):
        part = CUT_WORDS.sub("", " ".join(part.split()))
        words = part.split()
        if not words:
            continue
        out.append(part)
        last = words[-1]
        if own_name and len(words) > 1 and (last.isupper() or any(c.isdigit() for c in last)):
            out.append(last)
    not_drugs = terms().not_drugs
    return [w for w in out if len(w) > 1 and w.lower() not in not_drugs]


def names_of(intervention: Intervention) -> dict[str, str]:
    """The names a text may use for the intervention's drugs -> the drug each names: the intervention's name when it
    names one drug (its other names are aliases: "Tecfidera" -> "Dimethyl fumarate"), else each part itself
    ("Carilizumab and Apatinib" names two)."""
    return dict(_names(intervention.name, tuple(intervention.other_names)))


@lru_cache(maxsize=1024)
def _names(name: str, other_names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    own = _parts(name, True)
    single = len(own) <= 1 or not SEPARATORS.search(name)
    names = {n: name if single else n for n in own}
    for other in other_names:
        for n in _parts(other, False):
            names.setdefault(n, name if single else n)
    return tuple(names.items())


def _word_before(text: str) -> str | None:
    # "lutein at a dose of " / "Nelfinavir " -> the word before the dose; "Dosage: 3ml" is a label, no name.
    words = text.split()
    while words and words[-1].lower() in ("at", "a", "dose", "of"):
        words.pop()
    if words and words[-1].endswith(":"):
        return None
    word = words[-1].strip(",;:()") if words else ""
    return word if len(word) > 2 and word[0].isalpha() else None


def _word_after(text: str, end: int) -> str:
    # "20mg lutein" -> "lutein"; not "0.5 ml Lactated Ringer's" or "200mL high-titre CP" (the name goes on: one
    # word of it is no name) nor "3ml Frequency:" (a label).
    after = NEXT_WORD.match(text, end)
    if after is None:
        return ""
    rest = text[after.end() : after.end() + 2].lstrip()
    return "" if rest[:1].isupper() or text[after.end() : after.end() + 1] == ":" else after.group(1)


def _dose_neighbours(text: str) -> list[str]:
    not_drugs, found = terms().not_drugs, []
    for start, end, _, _ in dose_places(text):
        for word in (_word_after(text, end), _word_before(text[max(0, start - 60) : start]) or ""):
            low = word.lower()
            if low and low not in not_drugs and low not in terms().route_words and terms().unit(low) is None:
                found.append(word)
    return found


def _section(text: str, label: str, others: list[str]) -> str:
    # "Cohort 1: ... Cohort 2: ...": the part headed by this arm's label, when the text has one; when it has none
    # and the text is written per cohort, only what precedes the cohorts (each cohort's dosing is not the arm's:
    # "Cohort 1: 0.2 mg/kg ... every other week Cohort 2: 0.2 mg/kg ... weekly" in one arm).
    low = text.lower()
    at = low.find(label.lower() + ":")
    if at < 0:
        heads = list(COHORT_HEAD.finditer(text)) if ":" in text else []
        return text[: heads[0].start()] if len(heads) > 1 else text
    ends = [i for o in others if o != label and (i := low.find(o.lower() + ":", at + 1)) > at]
    return text[at + len(label) + 1 : min(ends, default=len(text))]


def arm_texts(trial: Trial, arm: Arm, links: list[Intervention], drugs: list[Intervention]) -> list[ArmText]:
    """The texts about ``arm`` (``links``: its linked interventions), each with the drug it speaks of when it names
    none."""
    single = drugs[0].name if len(drugs) == 1 else None
    out: list[ArmText] = []
    if arm.description and arm.description.strip():
        out.append(ArmText(arm.description, single, PRIORITY_ARM))
    for i in links:
        if i.description and i.description.strip():
            implicit = i.name if i in drugs else None
            out.append(ArmText(_section(i.description, arm.label, i.arm_labels), implicit, PRIORITY_INTERVENTION))
    for desc in (trial.detailed_description, trial.brief_summary):
        # Read only when it may describe the arm better: it names phases, or the arm has no text of its own.
        if desc and (len(trial.arms) <= 1 or arm.label.lower() in desc.lower()) and (not out or _has_phases(desc)):
            out.append(ArmText(desc, single, PRIORITY_TRIAL))
    for t in out:
        if t.priority == PRIORITY_ARM and any(not _mentioned(t.text, list(names_of(i))) for i in drugs):
            t.extra_names = _dose_neighbours(t.text)
    return out


def _has_phases(text: str) -> bool:
    if ":" not in text or not has_any(text, "phase", "stage", "period", "epoch", "regimen", "day"):
        return False
    # Each pattern only where its word is (``ascii_words``: ASCII text; other text is always searched): a trial's
    # description is long, and most say "day" but no phase word.
    low = lower_ascii(text)
    headed = holds_any(low, p.PHASE_WORDS) and _phase_heading(text)
    return headed or (holds_any(low, ("day",)) and bool(p.DAY_RANGE_HEAD.search(text)))


def _phase_heading(text: str) -> bool:
    return any(p.PHASE_WORD.search(m.group(1)) for m in p.HEADING.finditer(text))


def _mentioned(text: str, names: list[str]) -> bool:
    low = text.lower()
    return any(n.lower() in low for n in names)
