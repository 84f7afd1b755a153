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
class Criterion:
    """One inclusion or exclusion criterion, verbatim, with the items nested under it (a lab list, say)."""

    text: str
    exclude: bool = False
    children: list[Criterion] = field(default_factory=list)


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

    references: list[Reference] = field(default_factory=list)
    see_also_links: list[Link] = field(default_factory=list)
    has_results: bool | None = None

    # Source content no mapper handles, kept verbatim as text: {source path: text}. Carried through FHIR as
    # ResearchStudy.note so that nothing is silently lost.
    unmapped: dict[str, str] = field(default_factory=dict)

    source: Source | None = field(default=None, compare=False)
    # What the reader or mapper noticed (unparsed values, unknown codes, ...), with the source field as location.
    issues: list[Issue] = field(default_factory=list, compare=False)
