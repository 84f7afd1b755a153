"""The regimen part of the neutral model (``fhir_adapter.model``): an arm's treatment protocol and the study's
schedule of assessments, read from the registry's texts by ``fhir_adapter.regimen``.

Import these classes from ``fhir_adapter.model``, which re-exports them. The encoding is fixed in the computable
contract (docs/computable.md, section 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only in annotations: model.py imports this module
    from fhir_adapter.model import Quantity


@dataclass(slots=True)
class Dose:
    """One dose level: ``value`` (fixed) or ``low``/``high`` (an inclusive range, "18-25 Gy"), in ``unit`` (UCUM:
    ``"mg"``, ``"mg/m2"``, ``"mg/kg"``, ``"Gy"``, ``"{AUC}"`` for a carboplatin target AUC ...); ``unit_text`` the
    unit as written (https://hl7.org/fhir/R5/dosage.html#Dosage.doseAndRate)."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    unit_text: str | None = None


@dataclass(slots=True)
class Count:
    """A number of cycles or fractions: ``low == high`` when exact, "3-6 fractions" is 3..6
    (Timing.repeat.count/countMax, https://hl7.org/fhir/R5/datatypes.html#Timing)."""

    low: int
    high: int


@dataclass(slots=True)
class Frequency:
    """``count`` administrations per ``period`` ``unit`` (UCUM time: ``"h"``, ``"d"``, ``"wk"``, ``"mo"``): "every 2
    weeks" is 1 per 2 wk, "twice daily" 2 per 1 d (Timing.repeat frequency/period/periodUnit)."""

    count: int
    period: int | float  # an int stays one (written 3, not 3.0)
    unit: str
    text: str = ""  # the words as written


@dataclass(slots=True)
class DayRun:
    """Days within a cycle, 1-based and inclusive: "days 1 and 8" is two runs (1, 1) and (8, 8), "days 1-14" one."""

    first: int
    last: int


@dataclass(slots=True)
class Sequencing:
    """When an activity runs relative to another of the same phase: "infusion within 48 h after the end of
    radiotherapy" is relationship ``"after-end"``, target ``"radiotherapy"`` (the other activity's ``name``), offset
    high 48 h. ``relationship`` is a FHIR action-relationship-type code
    (https://hl7.org/fhir/R5/valueset-action-relationship-type.html); offsets are Quantities in UCUM time units."""

    relationship: str
    target: str
    offset_low: Quantity | None = None
    offset_high: Quantity | None = None
    text: str = ""


@dataclass(slots=True)
class DrugActivity:
    """One drug in a phase. ``name`` as written; ``doses`` one entry per dose level (usually one; empty when the
    text gives none); ``route`` a key of ``mappings/regimen-terms.json`` ``routes`` (``"intravenous"``, ``"oral"``
    ...), None when not stated; ``days`` the days within the cycle; ``text`` the verbatim sentence (evidence)."""

    name: str
    doses: list[Dose] = field(default_factory=list)
    route: str | None = None
    frequency: Frequency | None = None
    days: list[DayRun] = field(default_factory=list)
    sequencing: list[Sequencing] = field(default_factory=list)
    text: str = ""


@dataclass(slots=True)
class Radiotherapy:
    """Radiotherapy in a phase: ``total_dose`` in Gy (value or range), ``fractions`` (count or range),
    ``dose_per_fraction`` in Gy, ``techniques`` as written ("IMRT", "3D-CRT", "SBRT"); ``name`` is the key
    Sequencing targets use (``"radiotherapy"``)."""

    name: str = "radiotherapy"
    total_dose: Dose | None = None
    fractions: Count | None = None
    dose_per_fraction: Dose | None = None
    techniques: list[str] = field(default_factory=list)
    days: list[DayRun] = field(default_factory=list)
    sequencing: list[Sequencing] = field(default_factory=list)
    text: str = ""


@dataclass(slots=True)
class Surgery:
    """A surgical procedure in a phase, ``name`` as written ("radical cystectomy"), with its timing and evidence."""

    name: str
    sequencing: list[Sequencing] = field(default_factory=list)
    text: str = ""


@dataclass(slots=True)
class Phase:
    """One phase of a regimen, in order (its place in ``Regimen.phases``). ``title`` as written ("Induction phase"),
    "Treatment" when the text names none; ``cycles`` the number of cycles; ``cycle_length`` a Quantity in UCUM time
    (21 ``"d"``, 4 ``"wk"``); ``stop_condition`` verbatim ("until progression or unacceptable toxicity");
    ``max_duration`` a Quantity ("at most 2 years": 2 ``"a"``); ``text`` the verbatim evidence of the phase."""

    title: str = "Treatment"
    cycles: Count | None = None
    cycle_length: Quantity | None = None
    stop_condition: str | None = None
    max_duration: Quantity | None = None
    activities: list[DrugActivity | Radiotherapy | Surgery] = field(default_factory=list)
    text: str = ""


@dataclass(slots=True)
class Regimen:
    """One arm's treatment as a computable protocol (docs/computable.md section 2): its phases in order. Read from
    text by ``fhir_adapter.regimen``; what the text says but these fields cannot hold stays in the ``text`` fields."""

    phases: list[Phase] = field(default_factory=list)


@dataclass(slots=True)
class Assessment:
    """One line of the study's schedule of assessments (issue 10 item 3, read by ``fhir_adapter.regimen.schedule``):
    ``name`` the assessment as written ("imaging examinations", "Survival follow-up"); ``every`` its period in UCUM
    time (3 ``"mo"``, 6 ``"wk"``) or ``every_cycles`` a number of treatment cycles ("every 2 cycles"); ``cycle_day``
    the day within each cycle ("on day 1 of each cycle"); ``duration`` how long it lasts ("for 2 years": 2 ``"a"``);
    ``applies`` when it applies, as written ("After 12 months", "from week 9"); ``stop`` the stop words as written
    ("until death, loss to follow-up ...");
    ``follows`` True when it takes over from the assessment before it ("..., then every 12 weeks");
    ``text`` the verbatim sentence."""

    name: str
    every: Quantity | None = None
    every_cycles: int | None = None
    cycle_day: int | None = None
    duration: Quantity | None = None
    applies: str | None = None
    stop: str | None = None
    follows: bool = False
    text: str = ""
