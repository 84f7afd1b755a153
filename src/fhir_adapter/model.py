"""The neutral ``Trial`` model: one clinical trial, independent of the registry format and of FHIR.

Readers (``fhir_adapter.sources``) build it; mappers (``fhir_adapter.fhir``) turn it into FHIR resources and back.
``Trial == Trial`` is the round-trip criterion, so every field here is something the mappers must carry both ways.

Coded values use the ClinicalTrials.gov API v2 enumeration tokens as the neutral vocabulary (``"RECRUITING"``,
``"PHASE2"``, ``"RANDOMIZED"``...): they are the best-known registry vocabulary and every reader can normalise to
them (legacy XML wording goes through the ConceptMaps in ``mappings/``). A value outside the vocabulary is kept as
given and reported by the reader, never dropped.

Dates are ISO 8601 strings at the precision the source gives (``"2025-11"``, ``"2025-11-30"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_adapter.issues import Issue


@dataclass(slots=True)
class Source:
    """Where a trial was read from. Not part of equality: the same trial may come from many places."""

    format: str  # "ctgov-json", "ctgov-xml", "text-page", "fhir-bundle", ...
    path: str = ""  # file path (or "-" for stdin, "<memory>" for in-memory input)
    index: int | None = None  # position of the record inside a multi-record input


@dataclass(slots=True)
class DateInfo:
    """A registry date with its certainty (``type``: ``"ACTUAL"`` or ``"ESTIMATED"``, or None when not stated)."""

    date: str
    type: str | None = None


@dataclass(slots=True)
class SecondaryId:
    """An identifier other than the NCT id (organisation's study id, EudraCT number, grant number...)."""

    id: str
    type: str | None = None  # ct.gov SecondaryIdType (e.g. "EUDRACT_NUMBER", "OTHER"); None for org study id
    domain: str | None = None  # who assigned it
    link: str | None = None


@dataclass(slots=True)
class Organization:
    name: str
    agency_class: str | None = None  # ct.gov AgencyClass: NIH, FED, OTHER_GOV, INDIV, INDUSTRY, NETWORK, ...


@dataclass(slots=True)
class ResponsibleParty:
    type: str | None = None  # SPONSOR, PRINCIPAL_INVESTIGATOR, SPONSOR_INVESTIGATOR
    name: str | None = None  # investigatorFullName
    title: str | None = None  # investigatorTitle
    affiliation: str | None = None  # investigatorAffiliation
    old_name_title: str | None = None  # oldNameTitle (pre-2017 records)
    old_organization: str | None = None


@dataclass(slots=True)
class Official:
    """An overall official (principal investigator, study chair, study director)."""

    name: str
    role: str | None = None  # ct.gov OfficialRole
    affiliation: str | None = None


@dataclass(slots=True)
class Contact:
    """A central or site contact."""

    name: str | None = None
    role: str | None = None  # ct.gov ContactRole (CONTACT, PRINCIPAL_INVESTIGATOR, ...)
    phone: str | None = None
    phone_ext: str | None = None
    email: str | None = None


@dataclass(slots=True)
class Site:
    facility: str | None = None
    status: str | None = None  # ct.gov RecruitmentStatus of the site
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    contacts: list[Contact] = field(default_factory=list)


@dataclass(slots=True)
class Arm:
    label: str
    type: str | None = None  # ct.gov ArmGroupType
    description: str | None = None
    intervention_names: list[str] = field(default_factory=list)  # "Drug: Placebo" as the registry writes it
    # The arm's treatment as read from its texts (fhir_adapter.regimen); None when they give no phase structure.
    regimen: Regimen | None = None


@dataclass(slots=True)
class Intervention:
    name: str
    type: str | None = None  # ct.gov InterventionType
    description: str | None = None
    arm_labels: list[str] = field(default_factory=list)
    other_names: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    measure: str
    type: str = "PRIMARY"  # ct.gov OutcomeMeasureType: PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    description: str | None = None
    time_frame: str | None = None


@dataclass(slots=True)
class Code:
    """One coding: ``system`` is a short name of ``mappings/systems.json`` (``"loinc"``, ``"snomed"``, ``"rxnorm"``,
    ``"atc"``, ``"hgnc"`` ...), never a URL."""

    system: str
    code: str
    display: str | None = None


@dataclass(slots=True)
class Concept:
    """What an atom is about, or a coded value: codings that translate one meaning (never alternatives) and/or the
    text as written. A concept with only ``text`` has no standard code (life expectancy, RECIST measurable disease)."""

    codes: list[Code] = field(default_factory=list)
    text: str | None = None


@dataclass(slots=True)
class Quantity:
    """A threshold or a range bound. ``unit`` is the UCUM code (``"10*9/L"``, ``"g/L"``, ``"{ULN}"`` for multiples
    of the upper normal limit, ``"{LLN}"`` of the lower); ``unit_text`` the unit as written, kept for display."""

    value: float
    comparator: str | None = None  # "<", "<=", ">=", ">"; None: exactly (or a range bound)
    unit: str | None = None
    unit_text: str | None = None


@dataclass(slots=True)
class TimeWindow:
    """When the atom must hold, relative to an event: "within 4 weeks before randomization" is low -4 wk, high 0 wk,
    event randomization. ``low``/``high`` in ``unit`` (UCUM time: ``"h"``, ``"d"``, ``"wk"``, ``"mo"``, ``"a"``);
    negative is before the event (https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic.timeFromEvent)."""

    low: float | None = None
    high: float | None = None
    unit: str = "d"
    event: Concept = field(default_factory=Concept)  # coded where the table has the event, else text


@dataclass(slots=True)
class Atom:
    """One computable condition of a criterion (docs/computable.md section 1).

    ``kind`` is the vocabulary kind of ``concept`` (``"age"``, ``"sex"``, ``"performance-status"``, ``"lab"``,
    ``"vital"``, ``"result"``, ``"genomic"``, ``"condition"``, ``"pregnancy"``, ``"therapy"``,
    ``"life-expectancy"``, ``"measurable-disease"`` ...). A measured atom has ``quantity`` (a threshold) or
    ``low``/``high`` (an inclusive range), or ``value`` (a coded result); an atom with none of them is the presence
    of ``concept`` (a condition, finding, procedure or drug exposure). ``exclude`` is relative to the criterion (or
    group) holding it: "no prior systemic therapy" inside an inclusion is an atom with ``exclude=True``.
    ``evidence`` is the words of the criterion that gave the atom (for ``-v``; not carried through FHIR)."""

    kind: str
    concept: Concept
    quantity: Quantity | None = None
    low: Quantity | None = None
    high: Quantity | None = None
    value: Concept | None = None
    exclude: bool = False
    windows: list[TimeWindow] = field(default_factory=list)
    evidence: str = field(default="", compare=False)


@dataclass(slots=True)
class AtomGroup:
    """Atoms (or groups) combined: ``"all-of"`` ("ALT and AST <= 1.5 x ULN") or ``"any-of"`` ("stage III or IV").
    ``exclude`` negates the whole group, relative to what holds it."""

    combine: str = "all-of"
    members: list[Atom | AtomGroup] = field(default_factory=list)
    exclude: bool = False


@dataclass(slots=True)
class Criterion:
    """One inclusion or exclusion criterion, verbatim, with the items nested under it (a lab list, say).

    ``exclude`` is what the text means, relative to the item holding it: a top-level exclusion item is ``True``, a
    sub-item of an exclusion item is ``False`` unless the text carves it out ("except:"). ``heading_exclude`` is
    the polarity of the heading a top-level item sat under, set only when it differs from ``exclude`` ("Mucosal
    melanomas are excluded." under "Inclusion Criteria"), so that the item keeps its place. ``combine`` says how
    the children combine (``"any-of"`` for "any of the following"). ``definition`` is the computable content of the
    item's own text (None: text only); an item with children has none of its own."""

    text: str
    exclude: bool = False
    children: list[Criterion] = field(default_factory=list)
    combine: str = "all-of"
    heading_exclude: bool | None = None
    definition: Atom | AtomGroup | None = None


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
    period: float
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


@dataclass(slots=True)
class AgeLimit:
    """An age bound: ``value`` in ``unit`` (``"years"``, ``"months"``, ``"weeks"``, ``"days"``, ``"hours"``,
    ``"minutes"``)."""

    value: float
    unit: str = "years"


@dataclass(slots=True)
class Eligibility:
    criteria_text: str | None = None  # the registry's verbatim eligibility text
    criteria: list[Criterion] = field(default_factory=list)  # items in source order
    sex: str | None = None  # ct.gov Sex: ALL, FEMALE, MALE
    gender_based: bool | None = None
    gender_description: str | None = None
    minimum_age: AgeLimit | None = None
    maximum_age: AgeLimit | None = None
    healthy_volunteers: bool | None = None
    std_ages: list[str] = field(default_factory=list)  # CHILD, ADULT, OLDER_ADULT
    study_population: str | None = None
    sampling_method: str | None = None


@dataclass(slots=True)
class Mesh:
    id: str
    term: str


@dataclass(slots=True)
class Reference:
    """A publication about the study."""

    citation: str | None = None
    pmid: str | None = None
    type: str | None = None  # ct.gov ReferenceType: BACKGROUND, RESULT, DERIVED


@dataclass(slots=True)
class Link:
    url: str
    label: str | None = None


@dataclass(slots=True)
class Design:
    allocation: str | None = None
    intervention_model: str | None = None
    intervention_model_description: str | None = None
    primary_purpose: str | None = None
    observational_model: str | None = None
    time_perspective: str | None = None
    masking: str | None = None
    who_masked: list[str] = field(default_factory=list)
    masking_description: str | None = None


@dataclass(slots=True)
class Trial:
    """One clinical trial. See the module docstring for the vocabulary of coded fields."""

    nct_id: str | None = None
    nct_aliases: list[str] = field(default_factory=list)  # NCT ids this record was formerly known as
    org_study_id: SecondaryId | None = None
    secondary_ids: list[SecondaryId] = field(default_factory=list)
    brief_title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    organization: Organization | None = None  # the organisation that registered the study

    overall_status: str | None = None  # ct.gov OverallStatus
    last_known_status: str | None = None
    why_stopped: str | None = None
    status_verified_date: str | None = None
    start_date: DateInfo | None = None
    primary_completion_date: DateInfo | None = None
    completion_date: DateInfo | None = None
    first_submitted_date: str | None = None
    first_posted_date: DateInfo | None = None
    last_update_posted_date: DateInfo | None = None
    results_first_posted_date: DateInfo | None = None

    study_type: str | None = None  # ct.gov StudyType
    phases: list[str] = field(default_factory=list)  # ct.gov Phase tokens, every one of a combined phase
    design: Design = field(default_factory=Design)
    enrollment_count: int | None = None
    enrollment_type: str | None = None  # ACTUAL or ESTIMATED

    conditions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    condition_meshes: list[Mesh] = field(default_factory=list)
    intervention_meshes: list[Mesh] = field(default_factory=list)

    brief_summary: str | None = None
    detailed_description: str | None = None

    lead_sponsor: Organization | None = None
    collaborators: list[Organization] = field(default_factory=list)
    responsible_party: ResponsibleParty | None = None
    officials: list[Official] = field(default_factory=list)
    central_contacts: list[Contact] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)

    arms: list[Arm] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    eligibility: Eligibility = field(default_factory=Eligibility)
    # The study's schedule of assessments read from its texts (fhir_adapter.regimen.schedule), in text order.
    schedule: list[Assessment] = field(default_factory=list)

    references: list[Reference] = field(default_factory=list)
    see_also_links: list[Link] = field(default_factory=list)
    has_results: bool | None = None

    # Source content no mapper handles, kept verbatim as text: {source path: text}. Carried through FHIR as
    # ResearchStudy.note so that nothing is silently lost.
    unmapped: dict[str, str] = field(default_factory=dict)

    source: Source | None = field(default=None, compare=False)
    # What the reader or mapper noticed (unparsed values, unknown codes, ...), with the source field as location.
    issues: list[Issue] = field(default_factory=list, compare=False)
