"""Completing the regimen read from an arm's best text with what its other texts say.

A drug of the regimen takes from another text about the same drug only what it lacks (route, dose, frequency):
"Given PO" in the intervention's description gives the route the arm's description left out. A drug intervention
of the arm that no text of the regimen names becomes an activity of the first phase, with what its own description
says ("Anti-VEGF: Administered PRN as Standard of Care")."""

from __future__ import annotations

from fhir_adapter.model import DrugActivity, Intervention, Phase
from fhir_adapter.regimen.drugs import same_drug
from fhir_adapter.regimen.reader import DEFAULT_TITLE
from fhir_adapter.regimen.sources import ArmText, names_of

__all__ = ["append_missing", "fill_from"]


def _drugs(phases: list[Phase]) -> list[DrugActivity]:
    return [a for p in phases for a in p.activities if isinstance(a, DrugActivity)]


def fill_from(phases: list[Phase], other: list[Phase]) -> None:
    """Fill what the drugs of ``phases`` lack from the same drug in ``other`` (another text about the arm), when
    that text gives the drug one value only."""
    extra = _drugs(other)
    for drug in _drugs(phases):
        same = [d for d in extra if same_drug(d.name, drug.name)]
        routes = {d.route for d in same if d.route}
        if drug.route is None and len(routes) == 1:
            drug.route = routes.pop()
        doses = [d.doses for d in same if d.doses]
        if not drug.doses and len(doses) == 1:
            drug.doses = doses[0]
        freqs = [d.frequency for d in same if d.frequency]
        if drug.frequency is None and len(freqs) == 1 and not drug.days:
            drug.frequency = freqs[0]


def _named(phases: list[Phase], intervention: Intervention) -> bool:
    names = [*names_of(intervention), intervention.name]
    return any(same_drug(d.name, n) for d in _drugs(phases) for n in names)


def append_missing(phases: list[Phase], drugs: list[Intervention], read: list[tuple[ArmText, list[Phase]]]) -> None:
    """Add each drug intervention the regimen never names, with what its own description says."""
    for intervention in drugs:
        if _named(phases, intervention):
            continue
        own = next((ph for t, ph in read if t.implicit == intervention.name and t.priority == 2), [])
        found = [d for d in _drugs(own) if same_drug(d.name, intervention.name)]
        desc = (intervention.description or "").lower()
        if any(d.name.lower() in desc for d in _drugs(phases)):
            continue  # its text speaks of drugs the regimen already has ("Lutein group": 20mg lutein per day)
        activity = found[0] if found else DrugActivity(name=intervention.name, text=intervention.description or "")
        if not phases:
            phases.append(Phase(title=DEFAULT_TITLE))
        phases[0].activities.append(activity)
