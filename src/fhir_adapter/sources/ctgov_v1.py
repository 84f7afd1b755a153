"""Reader for the retired ClinicalTrials.gov API v1 ``FullStudiesResponse`` JSON (``/api/query/full_studies``).

API v1 (retired in 2023) sent the same study modules as API v2 under PascalCase names, with every list wrapped in
an object (``ConditionList: {Condition: [...]}``), every value a string (``"63"``, ``"Yes"``) and the legacy
wording of the classic site (``"Not yet recruiting"``, ``"Phase 2"``, ``"None (Open Label)"``, dates like
``"March 4, 2021"``). This reader gives the ``Trial`` a v2 record of the same study gives
(``fhir_adapter.sources.ctgov_json``): codes go through :func:`fhir_adapter.terminology.normalize` to v2 tokens,
dates become ISO 8601 at the precision given, counts and flags become numbers and booleans.

A value that cannot be read (unknown code: kept as given; unreadable date, count or flag; wrong JSON type) and every
field no step reads is reported as an ``Issue`` on the trial and, when not used, kept verbatim in
``Trial.unmapped`` under its v1 path relative to the study object (``ProtocolSection.OversightModule.
OversightHasDMC``). Registry bookkeeping listed in ``IGNORED`` is left out on purpose.

Shapes read (:func:`iter_v1_studies`): a ``{"FullStudiesResponse": {..., "FullStudies": [{"Rank": 1, "Study":
{...}}, ...]}}`` page (what the API sent, for one study too), a ``{"FullStudy": {"Rank": .., "Study": {...}}}`` or
``{"Study": {...}}`` wrapper, a bare study object (``{"ProtocolSection": ...}``), or a JSON list of any of these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from fhir_adapter import terminology
from fhir_adapter.errors import SourceError
from fhir_adapter.issues import Issue
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import (
    AgeLimit,
    Arm,
    Contact,
    DateInfo,
    Design,
    Eligibility,
    Intervention,
    Link,
    Mesh,
    Official,
    Organization,
    Outcome,
    Reference,
    ResponsibleParty,
    SecondaryId,
    Site,
    Source,
    Trial,
)
from fhir_adapter.sources.criteria import split_criteria
from fhir_adapter.sources.guards import check_items, check_nct_id, check_text_items, parse_count, read_age
from fhir_adapter.sources.wording import parse_registry_date

__all__ = [
    "IGNORED",
    "PAGE_KEYS",
    "iter_v1_studies",
    "looks_like_ctgov_v1",
    "one_item_per_line",
    "read_v1_study",
]

# Search-page metadata of a FullStudiesResponse (not about any one study) and the bookkeeping key of each
# FullStudies entry: read past on purpose, never reported.
PAGE_KEYS = frozenset(
    {
        "APIVrs",
        "DataVrs",
        "Expression",
        "NStudiesAvail",
        "NStudiesFound",
        "MinRank",
        "MaxRank",
        "NStudiesReturned",
        "FullStudies",
    }
)
_ENTRY_BOOKKEEPING = frozenset({"Rank"})

# Study fields left out without a report: registry bookkeeping (QC and submission dates, version info, MeSH tree
# context), the same set the v2 reader ignores, under their v1 names. Results and documents are not mapped (an
# ``information`` issue says so, as for v2).
IGNORED = frozenset(
    {
        "ProtocolSection.StatusModule.StudyFirstSubmitQCDate",
        "ProtocolSection.StatusModule.ResultsFirstSubmitDate",
        "ProtocolSection.StatusModule.ResultsFirstSubmitQCDate",
        "ProtocolSection.StatusModule.LastUpdateSubmitDate",
        "ProtocolSection.StatusModule.DispFirstSubmitDate",
        "ProtocolSection.StatusModule.DispFirstSubmitQCDate",
        "ProtocolSection.StatusModule.DispFirstPostDateStruct",
        "DerivedSection.MiscInfoModule",
        "DerivedSection.ConditionBrowseModule.ConditionAncestorList",
        "DerivedSection.ConditionBrowseModule.ConditionBrowseLeafList",
        "DerivedSection.ConditionBrowseModule.ConditionBrowseBranchList",
        "DerivedSection.InterventionBrowseModule.InterventionAncestorList",
        "DerivedSection.InterventionBrowseModule.InterventionBrowseLeafList",
        "DerivedSection.InterventionBrowseModule.InterventionBrowseBranchList",
        "ResultsSection",
        "DocumentSection",
    }
)

# API v1 flag wording: "Yes"/"No", and HealthyVolunteers "Accepts Healthy Volunteers".
_TRUE = frozenset({"yes", "true", "accepts healthy volunteers"})
_FALSE = frozenset({"no", "false"})
# Age wording that means "no limit" (v2 leaves the field out).
_NO_AGE_LIMIT = frozenset({"n/a", "none"})
# API v2 SamplingMethod enum (not a mappings/ axis: the model keeps sampling method as text).
_SAMPLING_METHODS = frozenset({"PROBABILITY_SAMPLE", "NON_PROBABILITY_SAMPLE"})


class _Reader:
    """Per-study state: issues, the paths consumed (``used``) and the objects/lists looked into (``seen``)."""

    def __init__(self, source: Source, nct_id: str, limits: Limits) -> None:
        self.source, self.nct_id, self.limits = source, nct_id, limits
        self.issues: list[Issue] = []
        self.used: set[str] = set()
        self.seen: set[str] = set()

    def warn(self, path: str, message: str, code: str = "value") -> None:
        self.issues.append(Issue("warning", path, message, code))


class _Node:
    """One object of the study with its path; typed accessors record what was consumed."""

    __slots__ = ("data", "path", "r")

    def __init__(self, r: _Reader, path: str, data: dict[str, Any]) -> None:
        self.r, self.path, self.data = r, path, data
        r.seen.add(path)

    def p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def child(self, key: str) -> _Node | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.r.warn(self.p(key), f"expected an object, got {type(value).__name__}; value kept in unmapped")
            return None
        return _Node(self.r, self.p(key), value)

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        path = self.p(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.r.warn(path, f"expected text, got {type(value).__name__}; value kept in unmapped")
            return None
        self.r.used.add(path)
        return str(value).strip() or None

    def _reject(self, key: str, message: str) -> None:
        self.r.warn(self.p(key), message)
        self.r.used.discard(self.p(key))

    def flag(self, key: str) -> bool | None:
        raw = self.text(key)
        if raw is None:
            return None
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        self._reject(key, f"cannot read yes/no value {raw[:40]!r}; kept in unmapped")
        return None

    def code(self, axis: str, key: str) -> str | None:
        raw = self.text(key)
        if raw is None:
            return None
        token = terminology.normalize(axis, raw)
        if token is None:
            self.r.warn(self.p(key), f"unknown {axis} code {raw[:40]!r}; kept as given")
            return raw
        return token

    def date(self, key: str) -> str | None:
        raw = self.text(key)
        if raw is None:
            return None
        iso = parse_registry_date(raw)
        if iso is None:
            self._reject(key, f"cannot read date {raw[:40]!r}; kept in unmapped")
        return iso

    def date_struct(self, key: str) -> DateInfo | None:
        """``XxxDateStruct: {XxxDate, XxxDateType}`` -> DateInfo (the v1 field names repeat the struct's name)."""
        struct = self.child(f"{key}Struct")
        if struct is None:
            return None
        iso = struct.date(key)
        if iso is None:
            return None
        return DateInfo(date=iso, type=struct.code("date-type", f"{key}Type"))

    def count(self, key: str) -> int | None:
        raw = self.text(key)
        if raw is None:
            return None
        count = parse_count(raw)
        if count is None:
            self._reject(key, "cannot read count (a whole number 0..2147483647); kept in unmapped")
        return count

    def age(self, key: str) -> AgeLimit | None:
        raw = self.text(key)
        if raw is None or raw.lower() in _NO_AGE_LIMIT:
            return None
        age = read_age(raw)
        if age is None:
            self._reject(key, f"cannot read age {raw[:30]!r}; kept in unmapped")
        return age

    def items(self, list_key: str, item_key: str) -> list[tuple[str, Any]]:
        """The elements of ``list_key.item_key[]`` (v1 wraps every list in an object) with their paths; a list over
        ``limits.max_list_items`` raises ``LimitExceeded`` (every list-valued field is read here)."""
        wrapper = self.child(list_key)
        if wrapper is None:
            return []
        value = wrapper.data.get(item_key)
        path = wrapper.p(item_key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.r.warn(path, f"expected a list, got {type(value).__name__}; value kept in unmapped")
            return []
        check_items(len(value), path, self.r.limits.max_list_items, self.r.source, self.r.nct_id)
        self.r.seen.add(path)
        return [(f"{path}[{i}]", v) for i, v in enumerate(value)]

    def texts(self, list_key: str, item_key: str) -> list[str]:
        return [text for _, text in self.texts_with_paths(list_key, item_key)]

    def texts_with_paths(self, list_key: str, item_key: str) -> list[tuple[str, str]]:
        out = []
        for path, v in self.items(list_key, item_key):
            if isinstance(v, str) and v.strip():
                out.append((path, v.strip()))
                self.r.used.add(path)
            elif v is not None:
                self.r.warn(path, f"expected text, got {type(v).__name__}; value kept in unmapped")
        return out

    def codes(self, axis: str, list_key: str, item_key: str) -> list[str]:
        out = []
        for path, raw in self.texts_with_paths(list_key, item_key):
            token = terminology.normalize(axis, raw)
            if token is None:
                self.r.warn(path, f"unknown {axis} code {raw[:40]!r}; kept as given")
            out.append(token or raw)
        return out

    def objects(self, list_key: str, item_key: str) -> list[_Node]:
        out = []
        for path, v in self.items(list_key, item_key):
            if isinstance(v, dict):
                out.append(_Node(self.r, path, v))
            else:
                self.r.warn(path, f"expected an object, got {type(v).__name__}; value kept in unmapped")
        return out


# --------------------------------------------------------------------------------------------------- documents


def _unwrap(obj: Any) -> Any:
    """A FullStudy / FullStudies entry / Study wrapper -> the study object (``{"ProtocolSection": ...}``)."""
    if isinstance(obj, dict) and isinstance(obj.get("FullStudy"), dict) and "ProtocolSection" not in obj:
        obj = obj["FullStudy"]
    if isinstance(obj, dict) and isinstance(obj.get("Study"), dict) and "ProtocolSection" not in obj:
        obj = obj["Study"]
    return obj


def _is_v1_study(obj: Any) -> bool:
    obj = _unwrap(obj)
    return isinstance(obj, dict) and isinstance(obj.get("ProtocolSection"), dict)


def iter_v1_studies(doc: Any, path: str) -> Iterator[tuple[int | None, Any]]:
    """The study records of a parsed v1 document, with their index in it (None for a single study).

    A ``FullStudiesResponse`` page yields its ``FullStudies`` entries (``{"Rank", "Study"}``, indices from 0; a page
    with no ``FullStudies`` -- zero hits -- yields nothing); a JSON list yields its elements; a ``FullStudy`` or
    ``Study`` wrapper or a bare study yields itself. :func:`read_v1_study` takes each record as yielded.
    """
    if isinstance(doc, dict) and "FullStudiesResponse" in doc:
        page = doc["FullStudiesResponse"]
        if not isinstance(page, dict):
            raise SourceError(
                f"FullStudiesResponse is a {type(page).__name__}, expected an object",
                path=path,
                field="FullStudiesResponse",
            )
        studies = page.get("FullStudies")
        if studies is None:
            return
        if not isinstance(studies, list):
            raise SourceError(
                f"FullStudies is a {type(studies).__name__}, expected a list",
                path=path,
                field="FullStudiesResponse.FullStudies",
            )
        yield from enumerate(studies)
    elif isinstance(doc, list):
        yield from enumerate(doc)
    elif isinstance(doc, dict):
        yield None, doc
    else:
        raise SourceError(f"expected a v1 FullStudiesResponse, study or list, got {type(doc).__name__}", path=path)


def looks_like_ctgov_v1(doc: Any) -> bool:
    """True for a v1 ``FullStudiesResponse`` page (even one with no studies), a ``FullStudy``/``Study`` wrapper, a
    bare v1 study (``ProtocolSection``, PascalCase) or a list whose first element is one of these."""
    if isinstance(doc, dict) and isinstance(doc.get("FullStudiesResponse"), dict):
        return True
    if isinstance(doc, list):
        doc = doc[0] if doc else None
    return _is_v1_study(doc)


# --------------------------------------------------------------------------------------------------- one study


def _nct_of(study: Any) -> str | None:
    try:
        value = study["ProtocolSection"]["IdentificationModule"]["NCTId"]
    except (KeyError, TypeError):
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def read_v1_study(study: Any, source: Source, *, limits: Limits = DEFAULT_LIMITS) -> Trial:
    """One v1 study record (a ``FullStudies`` entry, a ``FullStudy``/``Study`` wrapper or the study object) ->
    Trial. Raises ``SourceError`` (with path, index, field) when it is not a study or has no plausible NCT id,
    ``LimitExceeded`` for a list-valued field over ``limits.max_list_items``."""
    wrapper_extra: dict[str, Any] = {}
    if isinstance(study, dict) and "ProtocolSection" not in study:
        inner = study.get("FullStudy", study)
        if isinstance(inner, dict):
            wrapper_extra = {k: v for k, v in inner.items() if k != "Study" and k not in _ENTRY_BOOKKEEPING}
    study = _unwrap(study)
    if not isinstance(study, dict) or not isinstance(study.get("ProtocolSection"), dict):
        raise SourceError(
            "not a ClinicalTrials.gov API v1 study (no ProtocolSection)",
            path=source.path,
            index=source.index,
            field="ProtocolSection",
        )
    nct = _nct_of(study)
    if not nct:
        raise SourceError(
            "study has no NCT id",
            path=source.path,
            index=source.index,
            field="ProtocolSection.IdentificationModule.NCTId",
        )
    nct = check_nct_id(nct, "ProtocolSection.IdentificationModule.NCTId", source)
    r = _Reader(source, nct, limits)
    root = _Node(r, "", study)
    ps = root.child("ProtocolSection")
    assert ps is not None
    trial = Trial(nct_id=nct, source=source)
    ident = ps.child("IdentificationModule")
    assert ident is not None
    ident.text("NCTId")
    _identification(ident, trial)
    _status(ps.child("StatusModule"), trial)
    _sponsors(ps.child("SponsorCollaboratorsModule"), trial)
    _description_conditions(ps, trial)
    _design(ps.child("DesignModule"), trial)
    _arms(ps.child("ArmsInterventionsModule"), trial)
    _outcomes(ps.child("OutcomesModule"), trial)
    _eligibility(ps.child("EligibilityModule"), trial)
    _contacts_locations(ps.child("ContactsLocationsModule"), trial)
    _references(ps.child("ReferencesModule"), trial)
    _derived(root.child("DerivedSection"), trial)
    # v2 states hasResults on every record; v1 has no such field but sends the ResultsSection when there are results.
    trial.has_results = bool(study.get("ResultsSection"))
    if study.get("ResultsSection"):
        r.issues.append(
            Issue("information", "ResultsSection", "results are not mapped to FHIR (hasResults is)", "not-supported")
        )
    if study.get("DocumentSection"):
        r.issues.append(Issue("information", "DocumentSection", "study documents are not mapped", "not-supported"))
    _collect_unmapped(r, study, trial)
    for key, value in wrapper_extra.items():  # unknown keys next to "Study" in a FullStudies entry
        if value not in (None, "", [], {}):
            trial.unmapped[key] = value if isinstance(value, str) else orjson.dumps(value).decode()
            r.warn(key, "field not mapped to FHIR; kept as text (ResearchStudy.note)", "not-supported")
    trial.issues = r.issues
    return trial


def _identification(m: _Node, t: Trial) -> None:
    org_id = m.child("OrgStudyIdInfo")
    if org_id is not None and (oid := org_id.text("OrgStudyId")):
        t.org_study_id = SecondaryId(
            id=oid,
            type=org_id.code("secondary-id-type", "OrgStudyIdType"),
            domain=org_id.text("OrgStudyIdDomain"),
            link=org_id.text("OrgStudyIdLink"),
        )
    for s in m.objects("SecondaryIdInfoList", "SecondaryIdInfo"):
        if sid := s.text("SecondaryId"):
            t.secondary_ids.append(
                SecondaryId(
                    id=sid,
                    type=s.code("secondary-id-type", "SecondaryIdType"),
                    domain=s.text("SecondaryIdDomain"),
                    link=s.text("SecondaryIdLink"),
                )
            )
    org = m.child("Organization")
    if org is not None and (name := org.text("OrgFullName")):
        t.organization = Organization(name, org.code("sponsor-class", "OrgClass"))
    t.brief_title = m.text("BriefTitle")
    t.official_title = m.text("OfficialTitle")
    t.acronym = m.text("Acronym")
    t.nct_aliases = m.texts("NCTIdAliasList", "NCTIdAlias")


def _status(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    t.overall_status = m.code("overall-status", "OverallStatus")
    t.last_known_status = m.code("overall-status", "LastKnownStatus")
    t.why_stopped = m.text("WhyStopped")
    t.status_verified_date = m.date("StatusVerifiedDate")
    t.start_date = m.date_struct("StartDate")
    t.primary_completion_date = m.date_struct("PrimaryCompletionDate")
    t.completion_date = m.date_struct("CompletionDate")
    t.first_submitted_date = m.date("StudyFirstSubmitDate")
    t.first_posted_date = m.date_struct("StudyFirstPostDate")
    t.last_update_posted_date = m.date_struct("LastUpdatePostDate")
    t.results_first_posted_date = m.date_struct("ResultsFirstPostDate")


def _sponsors(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    rp = m.child("ResponsibleParty")
    if rp is not None:
        t.responsible_party = ResponsibleParty(
            type=rp.code("responsible-party-type", "ResponsiblePartyType"),
            name=rp.text("ResponsiblePartyInvestigatorFullName"),
            title=rp.text("ResponsiblePartyInvestigatorTitle"),
            affiliation=rp.text("ResponsiblePartyInvestigatorAffiliation"),
            old_name_title=rp.text("ResponsiblePartyOldNameTitle"),
            old_organization=rp.text("ResponsiblePartyOldOrganization"),
        )
    lead = m.child("LeadSponsor")
    if lead is not None and (name := lead.text("LeadSponsorName")):
        t.lead_sponsor = Organization(name, lead.code("sponsor-class", "LeadSponsorClass"))
    for c in m.objects("CollaboratorList", "Collaborator"):
        if name := c.text("CollaboratorName"):
            t.collaborators.append(Organization(name, c.code("sponsor-class", "CollaboratorClass")))


def _description_conditions(ps: _Node, t: Trial) -> None:
    d = ps.child("DescriptionModule")
    if d is not None:
        t.brief_summary = d.text("BriefSummary")
        t.detailed_description = d.text("DetailedDescription")
    c = ps.child("ConditionsModule")
    if c is not None:
        t.conditions = c.texts("ConditionList", "Condition")
        t.keywords = c.texts("KeywordList", "Keyword")


def _single(node: _Node, axis: str, list_key: str, item_key: str) -> str | None:
    """A v1 list (``DesignObservationalModelList``) that v2 holds as one value: the first; more are reported."""
    values = node.codes(axis, list_key, item_key)
    if len(values) > 1:
        path = f"{node.p(list_key)}.{item_key}"
        for i in range(1, len(values)):
            node.r.used.discard(f"{path}[{i}]")
        node.r.warn(
            path, f"{len(values)} values where API v2 has one; the first is mapped, the others kept in unmapped"
        )
    return values[0] if values else None


def _design(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    t.study_type = m.code("study-type", "StudyType")
    for path, raw in m.texts_with_paths("PhaseList", "Phase"):
        tokens = terminology.normalize_phase(raw)
        if not tokens:
            m.r.warn(path, f"unknown phase {raw[:30]!r}; kept as given")
            tokens = [raw]
        t.phases.extend(tok for tok in tokens if tok not in t.phases)
    d = Design()
    di = m.child("DesignInfo")
    if di is not None:
        d.allocation = di.code("allocation", "DesignAllocation")
        d.intervention_model = di.code("intervention-model", "DesignInterventionModel")
        d.intervention_model_description = di.text("DesignInterventionModelDescription")
        d.primary_purpose = di.code("primary-purpose", "DesignPrimaryPurpose")
        d.observational_model = _single(
            di, "observational-model", "DesignObservationalModelList", "DesignObservationalModel"
        )
        d.time_perspective = _single(di, "time-perspective", "DesignTimePerspectiveList", "DesignTimePerspective")
        mi = di.child("DesignMaskingInfo")
        if mi is not None:
            masking = mi.text("DesignMasking")
            if masking is not None:
                d.masking, who = terminology.legacy_masking(masking)
                if d.masking is None:
                    mi.r.warn(mi.p("DesignMasking"), f"unknown masking code {masking[:40]!r}; kept as given")
                    d.masking = masking
                d.who_masked = who
            d.masking_description = mi.text("DesignMaskingDescription")
            listed = mi.codes("who-masked", "DesignWhoMaskedList", "DesignWhoMasked")
            if listed:
                d.who_masked = listed
    t.design = d
    ei = m.child("EnrollmentInfo")
    if ei is not None:
        t.enrollment_count = ei.count("EnrollmentCount")
        t.enrollment_type = ei.code("date-type", "EnrollmentType")


def _arms(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    for a in m.objects("ArmGroupList", "ArmGroup"):
        label = a.text("ArmGroupLabel")
        if not label:
            a.r.warn(a.path, "arm group without a label; kept in unmapped")
            continue
        t.arms.append(
            Arm(
                label=label,
                type=a.code("arm-type", "ArmGroupType"),
                description=a.text("ArmGroupDescription"),
                intervention_names=a.texts("ArmGroupInterventionList", "ArmGroupInterventionName"),
            )
        )
    for i in m.objects("InterventionList", "Intervention"):
        name = i.text("InterventionName")
        if not name:
            i.r.warn(i.path, "intervention without a name; kept in unmapped")
            continue
        t.interventions.append(
            Intervention(
                name=name,
                type=i.code("intervention-type", "InterventionType"),
                description=i.text("InterventionDescription"),
                arm_labels=i.texts("InterventionArmGroupLabelList", "InterventionArmGroupLabel"),
                other_names=i.texts("InterventionOtherNameList", "InterventionOtherName"),
            )
        )


def _outcomes(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    for prefix, kind in (("Primary", "PRIMARY"), ("Secondary", "SECONDARY"), ("Other", "OTHER_PRE_SPECIFIED")):
        for o in m.objects(f"{prefix}OutcomeList", f"{prefix}Outcome"):
            measure = o.text(f"{prefix}OutcomeMeasure")
            if not measure:
                o.r.warn(o.path, "outcome without a measure; kept in unmapped")
                continue
            t.outcomes.append(
                Outcome(
                    measure=measure,
                    type=kind,
                    description=o.text(f"{prefix}OutcomeDescription"),
                    time_frame=o.text(f"{prefix}OutcomeTimeFrame"),
                )
            )


def _eligibility(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    text = m.text("EligibilityCriteria")
    e = Eligibility(criteria_text=text)
    if text:
        field, r = m.p("EligibilityCriteria"), m.r
        check_text_items(text, field, r.limits.max_list_items, r.source, r.nct_id)
        e.criteria, found = split_criteria(one_item_per_line(text))
        check_items(len(e.criteria), field, r.limits.max_list_items, r.source, r.nct_id)
        # split_criteria names its items in v2 terms (eligibilityCriteria[2]...): given here under the v1 name.
        for i in found:
            where = i.location.replace("eligibilityCriteria", "EligibilityCriteria", 1)
            m.r.issues.append(Issue(i.severity, f"{m.path}.{where}", i.message, i.code))
    e.sex = m.code("sex", "Gender")
    e.gender_based = m.flag("GenderBased")
    e.gender_description = m.text("GenderDescription")
    e.minimum_age = m.age("MinimumAge")
    e.maximum_age = m.age("MaximumAge")
    e.healthy_volunteers = m.flag("HealthyVolunteers")
    e.study_population = m.text("StudyPopulation")
    raw = m.text("SamplingMethod")
    if raw is not None:
        token = re.sub(r"[\s\-]+", "_", raw.upper())
        if token not in _SAMPLING_METHODS:
            m.r.warn(m.p("SamplingMethod"), f"unknown sampling method {raw[:40]!r}; kept as given")
            token = raw
        e.sampling_method = token
    e.std_ages = m.codes("std-age", "StdAgeList", "StdAge")
    t.eligibility = e


def one_item_per_line(text: str) -> str:
    """API v1 criteria text has one list item per line, list markers and indentation stripped, never wrapped (in
    NCT00023673 every line is exactly one item of the legacy XML list). ``split_criteria`` would join a line to a
    long line above it as a wrapped continuation, so each line is made a paragraph of its own before splitting;
    ``criteria_text`` keeps the text as sent. (The nesting the markers showed is not in the v1 text.)"""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def _contact(c: _Node, prefix: str) -> Contact:
    return Contact(
        name=c.text(f"{prefix}Name"),
        role=c.code("contact-role", f"{prefix}Role"),
        phone=c.text(f"{prefix}Phone"),
        phone_ext=c.text(f"{prefix}PhoneExt"),
        email=c.text(f"{prefix}EMail"),
    )


def _contacts_locations(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    t.central_contacts = [_contact(c, "CentralContact") for c in m.objects("CentralContactList", "CentralContact")]
    for o in m.objects("OverallOfficialList", "OverallOfficial"):
        if name := o.text("OverallOfficialName"):
            t.officials.append(
                Official(
                    name=name,
                    role=o.code("official-role", "OverallOfficialRole"),
                    affiliation=o.text("OverallOfficialAffiliation"),
                )
            )
    for s in m.objects("LocationList", "Location"):
        site = Site(
            facility=s.text("LocationFacility"),
            status=s.code("recruitment-status", "LocationStatus"),
            city=s.text("LocationCity"),
            state=s.text("LocationState"),
            zip=s.text("LocationZip"),
            country=s.text("LocationCountry"),
        )
        site.contacts = [_contact(c, "LocationContact") for c in s.objects("LocationContactList", "LocationContact")]
        t.sites.append(site)


def _references(m: _Node | None, t: Trial) -> None:
    if m is None:
        return
    for ref in m.objects("ReferenceList", "Reference"):
        t.references.append(
            Reference(
                citation=ref.text("ReferenceCitation"),
                pmid=ref.text("ReferencePMID"),
                type=ref.code("reference-type", "ReferenceType"),
            )
        )
    for link in m.objects("SeeAlsoLinkList", "SeeAlsoLink"):
        if url := link.text("SeeAlsoLinkURL"):
            t.see_also_links.append(Link(url=url, label=link.text("SeeAlsoLinkLabel")))


def _derived(d: _Node | None, t: Trial) -> None:
    if d is None:
        return
    for kind, target in (("Condition", t.condition_meshes), ("Intervention", t.intervention_meshes)):
        module = d.child(f"{kind}BrowseModule")
        if module is None:
            continue
        for mesh in module.objects(f"{kind}MeshList", f"{kind}Mesh"):
            mid, term = mesh.text(f"{kind}MeshId"), mesh.text(f"{kind}MeshTerm")
            if mid and term:
                target.append(Mesh(id=mid, term=term))


def _collect_unmapped(r: _Reader, study: dict[str, Any], t: Trial) -> None:
    """Every value of the study no step consumed is reported and kept verbatim in ``Trial.unmapped``: the walk goes
    into sections, modules and every object or list a step looked into; anything else is kept whole (JSON text)."""

    def ignored(path: str) -> bool:
        return path in IGNORED or any(path.startswith((p + ".", p + "[")) for p in IGNORED)

    def walk(path: str, node: Any) -> None:
        if node in (None, "", [], {}) or ignored(path):
            return
        known = path in r.seen or (path.count(".") < 2 and "[" not in path)
        if isinstance(node, dict) and known:
            for k, v in node.items():
                walk(f"{path}.{k}" if path else k, v)
        elif isinstance(node, list) and known:
            for i, v in enumerate(node):
                walk(f"{path}[{i}]", v)
        elif path not in r.used:
            t.unmapped[path] = node if isinstance(node, str) else orjson.dumps(node).decode()
            r.warn(path, "field not mapped to FHIR; kept as text (ResearchStudy.note)", "not-supported")

    walk("", study)
