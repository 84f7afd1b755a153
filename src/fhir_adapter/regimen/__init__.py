"""The regimen reader (issue 10): an arm's texts -> its ``Regimen`` (phases, cycles, drugs with dose, route,
frequency and days, radiotherapy, surgery), per the computable contract (docs/computable.md section 2).

It knows no FHIR and no registry format: it reads a ``Trial`` and one of its ``Arm`` s. The FHIR mappers call
``regimen_of``; nothing stores the regimen on the Trial (https://hl7.org/fhir/R5/plandefinition.html is where it
goes). Deterministic: the same texts always give the same regimen. Unclear text stays text: no dose, route or
frequency is guessed.
"""

from __future__ import annotations

from fhir_adapter.model import Arm, DrugActivity, Phase, Regimen, Surgery, Trial
from fhir_adapter.regimen.fill import append_missing, fill_from
from fhir_adapter.regimen.reader import DEFAULT_TITLE, read_phases
from fhir_adapter.regimen.sources import (
    ArmText,
    arm_texts,
    drug_interventions,
    linked,
    names_of,
    radiation,
    surgeries,
)

__all__ = ["read_phases", "regimen_of"]


def _score(text: ArmText, phases: list[Phase]) -> tuple[int, bool, int, int]:
    titled = sum(1 for p in phases if p.title != DEFAULT_TITLE)
    filled = 0
    for phase in phases:
        for a in phase.activities:
            if isinstance(a, DrugActivity):
                filled += bool(a.doses) + bool(a.route) + bool(a.frequency) + bool(a.days)
            else:
                filled += 2
    return titled, filled > 0, text.priority, filled


def regimen_of(trial: Trial, arm: Arm) -> Regimen:
    """The regimen of ``arm``: read from the text that describes it best (the one with the most named phases, then
    one that doses anything, the arm's own description first), completed from the descriptions of the arm's
    interventions (a route "Given PO", a dose the arm text leaves out), with the arm's drug interventions the texts
    never name appended to the first phase."""
    links = linked(trial, arm)
    drugs = drug_interventions(links)
    cut = surgeries(links)
    if not drugs and not cut and not radiation(links):
        return Regimen()  # no drug, radiation or surgery: no regimen to read (behavioural, device, diagnostic arms)
    names = {n: key for i in drugs for n, key in names_of(i).items()}
    texts = arm_texts(trial, arm, links, drugs)
    read = [(t, read_phases(t.text, {n: n for n in t.extra_names} | names, t.implicit)) for t in texts]
    if not read:
        phases: list[Phase] = []
    else:
        best = max(range(len(read)), key=lambda k: _score(*read[k]))
        phases = read[best][1]
        for k, (t, other) in enumerate(read):
            if k != best and t.priority > 1:
                fill_from(phases, other)
    append_missing(phases, drugs, read)
    for surgery in cut:
        if not phases:
            phases.append(Phase(title=DEFAULT_TITLE))
        phases[0].activities.append(Surgery(name=surgery.name, text=surgery.description or ""))
    return Regimen(phases=phases)
