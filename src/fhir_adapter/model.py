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

# The regimen classes (an arm's treatment protocol, the schedule of assessments) live in model_regimen.py (this
# module's size limit); they are part of this model and imported from here.
from fhir_adapter.model_regimen import (
    Assessment as Assessment,
)
from fhir_adapter.model_regimen import (
    Count as Count,
)
from fhir_adapter.model_regimen import (
    DayRun as DayRun,
)
from fhir_adapter.model_regimen import (
    Dose as Dose,
)
from fhir_adapter.model_regimen import (
    DrugActivity as DrugActivity,
)
from fhir_adapter.model_regimen import (
    Frequency as Frequency,
)
from fhir_adapter.model_regimen import (
    Phase as Phase,
)
from fhir_adapter.model_regimen import (
    Radiotherapy as Radiotherapy,
)
from fhir_adapter.model_regimen import (
    Regimen as Regimen,
)
from fhir_adapter.model_regimen import (
    Sequencing as Sequencing,
)
from fhir_adapter.model_regimen import (
    Surgery as Surgery,
)


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

    value: int | float  # an int stays one: "3" is written 3, not 3.0 (mypyc would make it a float)
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
class AgeLimit:
    """An age bound: ``value`` in ``unit`` (``"years"``, ``"months"``, ``"weeks"``, ``"days"``, ``"hours"``,
    ``"minutes"``)."""

    value: int | float  # an int stays one: "3" is written 3, not 3.0 (mypyc would make it a float)
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
class Oversight:
    """The registry's oversight facts (API v2 ``oversightModule``, legacy XML ``oversight_info``); None: not given."""

    has_dmc: bool | None = None  # a data monitoring committee
    fda_regulated_drug: bool | None = None
    fda_regulated_device: bool | None = None
    unapproved_device: bool | None = None
    ppsd: bool | None = None  # pediatric postmarket surveillance of a device
    us_export: bool | None = None  # a product manufactured in and exported from the US
    fdaaa801_violation: bool | None = None


@dataclass(slots=True)
class DataSharing:
    """The plan to share individual participant data (API v2 ``ipdSharingStatementModule``, legacy XML
    ``patient_data``)."""

    ipd_sharing: str | None = None  # ct.gov IpdSharing: YES, NO, UNDECIDED
    description: str | None = None
    info_types: list[str] = field(default_factory=list)  # ct.gov IpdSharingInfoType: STUDY_PROTOCOL, SAP, ICF, ...
    time_frame: str | None = None
    access_criteria: str | None = None
    url: str | None = None


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
    oversight: Oversight = field(default_factory=Oversight)
    data_sharing: DataSharing | None = None
    # The posted results (API v2 ``resultsSection``) and the study documents (``documentSection``), verbatim as
    # compact JSON text (orjson, keys in source order): kept losslessly, mapped by fhir.r5.results.
    results: str | None = None
    documents: str | None = None

    # Source content no mapper handles, kept verbatim as text: {source path: text}. Carried through FHIR as
    # ResearchStudy.note so that nothing is silently lost.
    unmapped: dict[str, str] = field(default_factory=dict)

    source: Source | None = field(default=None, compare=False)
    # What the reader or mapper noticed (unparsed values, unknown codes, ...), with the source field as location.
    issues: list[Issue] = field(default_factory=list, compare=False)
