"""Score the regimen reader against the hand-labelled development set (tests/data/regimen/devset.json, rules in
tests/data/regimen/README.md).

Each dev-set arm names its source file and arm label, and lists its phases in order with their activities as a
person read them. The source is read with the project's reader and ``fhir_adapter.regimen.regimen_of`` gives the
predicted regimen. Each labelled activity is matched to a predicted activity of the same kind and drug (same phase
first, then any phase); an unmatched label counts wrong in every field. Per field accuracy is the share of labelled
activities whose field is equal; an activity is "fully right" when the drug is found and its dose, unit, route,
frequency and cycle (the phase's number of cycles and cycle length) are all equal (issue 10's measure; for
radiotherapy: total dose, unit and fractions).

``python tests/regimen_score.py`` prints the table; ``--details`` adds every miss and every extra activity.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapter import read_trials
from fhir_adapter.model import Dose, DrugActivity, Phase, Radiotherapy, Trial
from fhir_adapter.regimen import regimen_of

HERE = Path(__file__).resolve().parent
DEVSET = HERE / "data" / "regimen" / "devset.json"
FIXTURES = HERE / "data"  # the repository's copies of ../shared/fixtures, same relative paths
SEEDS = HERE.parent / "seeds"

DRUG_FIELDS = ("found", "phase", "dose", "unit", "route", "frequency", "days", "cycles", "cycle_length")
RT_FIELDS = ("found", "phase", "dose", "unit", "fractions")
FULL_DRUG = ("found", "dose", "unit", "route", "frequency", "cycles", "cycle_length")
FULL_RT = ("found", "dose", "unit", "fractions")
TARGET_FULLY_RIGHT = 0.90  # issue 10's target


def source_path(source: str) -> Path:
    """The file of a dev-set ``source``: ``seeds/...`` in the repository, anything else under tests/data."""
    return SEEDS / source.removeprefix("seeds/") if source.startswith("seeds/") else FIXTURES / source


def _number(v: float) -> str:
    return f"{v:g}"


def dose_text(doses: list[Dose]) -> str | None:
    """Doses in the dev set's form: "200", "18-25", "10|5" (levels)."""
    out = []
    for d in doses:
        if d.value is not None:
            out.append(_number(d.value))
        elif d.low is not None and d.high is not None:
            out.append(f"{_number(d.low)}-{_number(d.high)}")
    return "|".join(out) or None


def _label_dose(text: str | None) -> str | None:
    if text is None:
        return None
    return "|".join("-".join(_number(float(x)) for x in level.split("-")) for level in text.split("|"))


def same_drug(label: str, found: str) -> bool:
    """A labelled drug name and a name as the reader wrote it denote the same drug (case, salts, qualifiers)."""
    a, b = label.lower().strip(), found.lower().strip()
    return a == b or a in b or b in a or a.split()[0] == b.split()[0]


@dataclass(slots=True)
class Flat:
    """One activity with what its phase says of the cycle."""

    kind: str
    phase: int
    fields: dict[str, Any]
    name: str = ""


def _phase_fields(i: int, phase: Phase) -> dict[str, Any]:
    cycles = [phase.cycles.low, phase.cycles.high] if phase.cycles else None
    length = phase.cycle_length.value if phase.cycle_length else None
    return {"phase": i, "cycles": cycles, "cycle_length": length}


def predicted(phases: list[Phase]) -> list[Flat]:
    """The reader's activities, flattened."""
    out = []
    for i, phase in enumerate(phases):
        for a in phase.activities:
            base = _phase_fields(i, phase)
            if isinstance(a, DrugActivity):
                freq = [a.frequency.count, a.frequency.period, a.frequency.unit] if a.frequency else None
                days = [[r.first, r.last] for r in a.days]
                unit = a.doses[0].unit if a.doses else None
                base |= {"dose": dose_text(a.doses), "unit": unit, "route": a.route, "frequency": freq, "days": days}
                out.append(Flat("drug", i, base, a.name))
            elif isinstance(a, Radiotherapy):
                total = a.total_dose
                fr = [a.fractions.low, a.fractions.high] if a.fractions else None
                base |= {"dose": dose_text([total]) if total else None, "unit": total.unit if total else None}
                out.append(Flat("rt", i, base | {"fractions": fr}, a.name))
    return out


def labelled(arm: dict[str, Any]) -> list[Flat]:
    """The dev set's activities of one arm, flattened in the same form."""
    out = []
    for i, ph in enumerate(arm["phases"]):
        base = {"phase": i, "cycles": ph["cycles"], "cycle_length": ph["cycle_days"]}
        for a in ph["activities"]:
            dose = _label_dose(a["dose"])
            if a.get("rt"):
                out.append(Flat("rt", i, base | {"dose": dose, "unit": a["unit"], "fractions": a["fractions"]}))
                continue
            freq = [a["freq"][0], float(a["freq"][1]), a["freq"][2]] if a["freq"] else None
            fields = {"dose": dose, "unit": a["unit"], "route": a["route"], "frequency": freq, "days": a["days"]}
            out.append(Flat("drug", i, base | fields, a["drug"]))
    return out


def _match(label: Flat, pool: list[Flat]) -> Flat | None:
    same = [p for p in pool if p.kind == label.kind and (label.kind == "rt" or same_drug(label.name, p.name))]
    hit = next((p for p in same if p.phase == label.phase), same[0] if same else None)
    if hit is not None:
        pool.remove(hit)
    return hit


@dataclass
class Score:
    right: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    fully: int = 0
    activities: int = 0
    extra: int = 0
    arms: int = 0
    phases_right: int = 0
    details: list[str] = field(default_factory=list)

    def add(self, where: str, label: Flat, hit: Flat | None) -> None:
        names = DRUG_FIELDS if label.kind == "drug" else RT_FIELDS
        full = FULL_DRUG if label.kind == "drug" else FULL_RT
        ok = {f: hit is not None and (f == "found" or hit.fields.get(f) == label.fields.get(f)) for f in names}
        for f in names:
            self.total[f"{label.kind}.{f}"] += 1
            self.right[f"{label.kind}.{f}"] += ok[f]
        self.activities += 1
        self.fully += all(ok[f] for f in full)
        if not all(ok[f] for f in names):
            wrong = {f: (label.fields.get(f), hit.fields.get(f) if hit else None) for f in names if not ok[f]}
            self.details.append(f"MISS {where} {label.kind} {label.name or ''} {wrong}")


def trial_of(source: str, cache: dict[str, list[Trial]]) -> list[Trial]:
    if source not in cache:
        cache[source] = list(read_trials(source_path(source)))
    return cache[source]


def score() -> Score:
    """Score every dev-set arm."""
    devset = json.loads(DEVSET.read_text(encoding="utf-8"))
    s, cache = Score(), {}  # type: ignore[var-annotated]
    for arm in devset["arms"]:
        trial = trial_of(arm["source"], cache)[0]
        target = next(a for a in trial.arms if a.label == arm["arm"])
        phases = regimen_of(trial, target).phases
        pool = predicted(phases)
        s.arms += 1
        s.phases_right += len(phases) == len(arm["phases"])
        where = f"{arm['source']} [{arm['arm']}]"
        for label in labelled(arm):
            s.add(where, label, _match(label, pool))
        for extra in pool:
            s.extra += 1
            s.details.append(f"EXTRA {where} {extra.kind} {extra.name} {extra.fields}")
    return s


def field_accuracy(s: Score) -> dict[str, float]:
    """Share right per field (``drug.dose``, ``rt.fractions``, ...)."""
    return {f: s.right[f] / s.total[f] for f in sorted(s.total)}


def main(argv: list[str]) -> None:
    s = score()
    print(f"arms {s.arms}, labelled activities {s.activities}, extra activities {s.extra}")
    print(f"phase count right: {s.phases_right}/{s.arms}")
    for f, v in field_accuracy(s).items():
        print(f"  {f:<20} {v:6.1%}  ({s.right[f]}/{s.total[f]})")
    print(f"fully right: {s.fully}/{s.activities} = {s.fully / s.activities:.1%} (target {TARGET_FULLY_RIGHT:.0%})")
    if "--details" in argv:
        print("\n".join(s.details))


if __name__ == "__main__":
    main(sys.argv[1:])
