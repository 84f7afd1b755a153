"""One text -> the phases it describes (``read_phases``), and the rules that hold across phases: a phase with a
number of cycles but no cycle length takes the length another phase of the text states; a route stated for a drug
holds for that drug in every phase that does not state one; a frequency equal to the cycle length ("on day 1 every
28 days" in 28-day cycles) is the cycle, not the drug's own frequency."""

from __future__ import annotations

from fhir_adapter.model import DrugActivity, Phase, Quantity, Radiotherapy, Surgery
from fhir_adapter.regimen import patterns as p
from fhir_adapter.regimen.attributes import dose_copy, dose_places, frequency_in, route_in
from fhir_adapter.regimen.drugs import Mention, drug_activities, mentions
from fhir_adapter.regimen.phases import Segment, cycle_days, cycles, max_duration, segments, stop_condition
from fhir_adapter.regimen.radiotherapy import radiotherapy, sequence_drugs
from fhir_adapter.regimen.text import clause_ends, normalise, paren_depths

__all__ = ["DEFAULT_TITLE", "read_phases"]

DEFAULT_TITLE = "Treatment"
Activity = DrugActivity | Radiotherapy | Surgery
DAYS_PER_UNIT = {"d": 1, "wk": 7}


def _implicit(body: str, name: str) -> list[Mention]:
    # The text names no drug: it speaks of the one drug it belongs to ("Given PO", "Oral dose administered ...").
    route, ambiguous = route_in(body)
    if dose_places(body) or frequency_in(body) is not None or route or ambiguous:
        return [Mention(name, 0, 0, name, whole=True)]
    return []


def _phase(seg: Segment, names: dict[str, str], implicit: str | None) -> Phase:
    body = seg.body
    low = body.lower()  # once, for every reader of the phase's text below
    length = cycle_days(body, low)
    found = mentions(body, names, low)
    key = names.get(implicit, implicit) if implicit else None
    if implicit and found and all(m.key == key for m in found):
        first = found[0]  # its own text: all of it speaks of it (its dose is still the one after its name)
        found = [Mention(first.name, first.start, first.end, first.key, whole=True)]
    elif not found and implicit:
        found = _implicit(body, implicit)
    drugs = drug_activities(body, found, length)
    if len(drugs) == 1:
        _fill_single(body, drugs[0][1])
    acts: list[tuple[int, Activity]] = list(drugs)
    rt = radiotherapy(body, low)
    if rt is not None:
        acts.append(rt)
        sequence_drugs(body, [(m.start, m.name) for m in found], [d for _, d in drugs])
    acts.sort(key=lambda a: a[0])
    limit = max_duration(body, length, low)
    if limit is None and seg.max_days:
        limit = Quantity(value=float(seg.max_days), unit="d")
    return Phase(
        title=seg.title or DEFAULT_TITLE,
        cycles=cycles(seg.title or "") or cycles(body, low),
        cycle_length=Quantity(value=float(length), unit="d") if length else None,
        stop_condition=stop_condition(body, low),
        max_duration=limit,
        activities=[a for _, a in acts],
        text=body.strip(" :;,.·•\n"),
    )


def _fill_single(body: str, drug: DrugActivity) -> None:
    # A phase that doses one drug: a dose, route or frequency written away from its name is still its own
    # ("After 7 days, the dose should be increased to ... 240 mg twice a day").
    # A frequency is taken only from the clause of that dose: "follow-up every 3 months" elsewhere is no dosing.
    depths = paren_depths(body)
    hits = [h for h in dose_places(body) if depths[h[0]] == 0]  # shared: only a copy of one is kept
    at = body.find(drug.text) if drug.text else -1
    own = {(d.value, d.low, d.high, d.unit) for d in drug.doses}
    others = [
        h
        for h in hits
        if own and ((h[2].value, h[2].low, h[2].high, h[2].unit) not in own or not at <= h[0] < at + len(drug.text))
    ]
    if drug.route is None and not others:
        # Not when the phase doses something else too: "an I.M. injection of Lupron 3.75 mg ... Letrozole 5mg".
        drug.route = route_in(body)[0]
    # "Emtricitabine 200mg/tenofovir disoproxil fumarate 300mg (FTC/TDF, Truvada)": the doses of a combination's
    # components are not the product's dose.
    if drug.doses or not hits or any(p.COMPONENT.match(body, h[1]) for h in hits):
        return
    drug.doses = [dose_copy(hits[0][2])]
    ends = clause_ends(body)
    start = max([e + 1 for e in ends if e < hits[0][0]], default=0)
    stop = min([e for e in ends if e >= hits[0][1]], default=len(body))
    if drug.frequency is None and (freq := frequency_in(body[start:stop])) is not None:
        drug.frequency = freq[1]


def _doses_anything(text: str) -> bool:
    return bool(p.DIGIT.search(text)) or route_in(text) != (None, False) or frequency_in(text) is not None


def _cycle_from_days(phase: Phase) -> None:
    # "on days 1, 8 and 15 every 4 weeks": a drug given on days of a cycle "every N weeks" gives the cycle length.
    if phase.cycle_length is not None:
        return
    for drug in _drugs(phase):
        freq = drug.frequency
        if drug.days and freq and freq.count == 1 and freq.period * DAYS_PER_UNIT.get(freq.unit, 0) >= 7:
            phase.cycle_length = Quantity(value=freq.period * DAYS_PER_UNIT[freq.unit], unit="d")
            return


def _drugs(phase: Phase) -> list[DrugActivity]:
    return [a for a in phase.activities if isinstance(a, DrugActivity)]


def _fill_across(phases: list[Phase]) -> None:
    lengths = [p.cycle_length for p in phases if p.cycle_length is not None]
    routes: dict[str, str] = {}
    for phase in phases:
        for drug in _drugs(phase):
            if drug.route:
                routes.setdefault(drug.name.lower(), drug.route)
    for phase in phases:
        _cycle_from_days(phase)
        if phase.cycle_length is None and phase.cycles is not None and lengths:
            phase.cycle_length = lengths[0]
        for drug in _drugs(phase):
            if drug.route is None:
                drug.route = routes.get(drug.name.lower())
            freq, length = drug.frequency, phase.cycle_length
            if freq and length and freq.count == 1 and freq.period * DAYS_PER_UNIT.get(freq.unit, 0) == length.value:
                drug.frequency = None


def read_phases(text: str, names: dict[str, str], implicit: str | None = None) -> list[Phase]:
    """The phases ``text`` describes, in order, with the drugs of ``names`` (and radiotherapy) in each. ``implicit``
    is the drug a text that names none speaks of (an intervention's own description); ``names`` maps each name
    to the drug it names ("Tecfidera" -> "Dimethyl fumarate"). Phases without any activity
    are dropped."""
    text = normalise(text)
    if not _doses_anything(text):
        return []  # no number, route or frequency: nothing to structure (the drugs come from the interventions)
    phases = [_phase(seg, names, implicit) for seg in segments(text)]
    phases = [p for p in phases if p.activities]
    _fill_across(phases)
    return phases
