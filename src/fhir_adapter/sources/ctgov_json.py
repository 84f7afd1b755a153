"""Reader for ClinicalTrials.gov API v2 study JSON (``/studies/{nctId}`` and ``/studies`` pages).

https://clinicaltrials.gov/data-api/about-api/study-data-structure describes the modules read here. Records may lack
whole modules (field-limited API responses): what is there is read, nothing is invented. Values of the wrong type
and fields no mapper handles are reported as ``Issue`` s on the trial and kept verbatim in ``Trial.unmapped``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from fhir_adapter.issues import Issue
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import (
    AgeLimit,
    Arm,
    Contact,
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
from fhir_adapter.sources.fields import (
    JsonObject,
    JsonReader,
    collect_json_unmapped,
    indexed_records,
    not_mapped_sections,
    phases_or_given,
    record_error,
)
from fhir_adapter.sources.guards import check_items, check_nct_id, check_text_items, may_hold_long_list, read_age
from fhir_adapter.sources.mesh import canonical_mesh_ui
from fhir_adapter.sources.oversight import read_json_oversight

# Modules and fields that carry nothing the FHIR mapping needs and may be left out without a report: bookkeeping
# of the registry itself (QC dates, versions, model predictions).
_IGNORED = frozenset(
    {
        "protocolSection.statusModule.studyFirstSubmitQcDate",
        "protocolSection.statusModule.resultsFirstSubmitDate",
        "protocolSection.statusModule.resultsFirstSubmitQcDate",
        "protocolSection.statusModule.lastUpdateSubmitDate",
        "protocolSection.statusModule.dispFirstSubmitDate",
        "protocolSection.statusModule.dispFirstSubmitQcDate",
        "protocolSection.statusModule.dispFirstPostDateStruct",
        "derivedSection.miscInfoModule",
        "derivedSection.conditionBrowseModule.ancestors",
        "derivedSection.conditionBrowseModule.browseLeaves",
        "derivedSection.conditionBrowseModule.browseBranches",
        "derivedSection.interventionBrowseModule.ancestors",
        "derivedSection.interventionBrowseModule.browseLeaves",
        "derivedSection.interventionBrowseModule.browseBranches",
        "resultsSection",  # kept whole in Trial.results (see _kept_sections)
        "documentSection",  # kept whole in Trial.documents
    }
)


def _age(module: JsonObject, key: str) -> AgeLimit | None:
    raw = module.text(key)
    if raw is None:
        return None
    age = read_age(raw)
    if age is None:
        path = f"{module.path}.{key}"
        module.reader.warn(path, f"cannot read age {raw[:30]!r}; kept in unmapped")
        module.reader.used.discard(path)
    return age


@dataclass
class Reading:
    """A study read by the v2 steps, before its unread fields are collected: the trial, the paths of the values
    consumed (``used``) and of the objects and lists looked into (``seen``)."""

    trial: Trial
    used: set[str]
    seen: set[str]


def read_study(study: Any, source: Source, *, limits: Limits = DEFAULT_LIMITS) -> Trial:
    """One API v2 study object -> Trial. Raises ``SourceError`` when it is not a study or has no plausible NCT id,
    ``LimitExceeded`` for a list-valued field over ``limits.max_list_items``."""
    reading = reading_of(study, source, limits)
    t = reading.trial
    collect_json_unmapped(
        study, t, t.issues, seen=reading.used.__contains__, used=reading.used.__contains__, ignored=_IGNORED
    )
    return t


def reading_of(
    study: Any,
    source: Source,
    limits: Limits = DEFAULT_LIMITS,
    criteria_text: Callable[[str], str] = str,
    *,
    keep_sections: bool = True,
) -> Reading:
    """Every v2 field the mapping needs, read from one study object (``criteria_text`` prepares the eligibility
    criteria for ``split_criteria``; ``keep_sections``: keep resultsSection / documentSection in the Trial, else
    only report them). Raises as ``read_study``; unread fields are left to the caller."""
    if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
        raise record_error("not a ClinicalTrials.gov study object (no protocolSection)", source, "protocolSection")
    r = JsonReader(study, source, limits, criteria_text)
    nct_field = "protocolSection.identificationModule.nctId"
    raw_nct = r.node(nct_field)
    if raw_nct is not None and not isinstance(raw_nct, str):
        raise record_error(f"NCT id is a {type(raw_nct).__name__}, not text", source, nct_field)
    nct = r.text(nct_field)
    if not nct:
        raise record_error("study has no NCT id", source, nct_field)
    r.nct_id = check_nct_id(nct, nct_field, source)
    trial = Trial(nct_id=nct, source=source)
    for step in _STEPS:
        step(r, trial)
    trial.has_results = r.flag("hasResults")
    if keep_sections:
        _kept_sections(r, trial)
    else:
        r.issues += not_mapped_sections(
            ("resultsSection", bool(study.get("resultsSection"))),
            ("documentSection", bool(study.get("documentSection"))),
        )
    trial.issues = r.issues
    return Reading(trial, r.used, r.seen)


def _kept_sections(r: JsonReader, t: Trial) -> None:
    """The posted results and the study documents, kept verbatim as compact JSON (orjson keeps the keys in source
    order) for the results mapper; each list in them is bounded by ``limits.max_list_items`` like every list read
    (the record's size and depth were checked before it was parsed)."""
    for key, attr, what in (
        ("resultsSection", "results", "posted results kept verbatim in ResearchStudy.result (an EvidenceReport)"),
        ("documentSection", "documents", "study documents kept verbatim as ResearchStudy.relatedArtifact"),
    ):
        section = r.study.get(key)
        if not section:
            continue
        kept = orjson.dumps(section)
        if may_hold_long_list(kept, r.limits.max_list_items):
            _check_lists(section, key, r)
        setattr(t, attr, kept.decode())
        r.issues.append(
            Issue(
                "information",
                key,
                f"{what} (Trial.{attr})",
                "informational",
            )
        )


def _check_lists(node: Any, path: str, r: JsonReader) -> None:
    """``LimitExceeded`` for a list longer than ``limits.max_list_items`` anywhere in ``node`` (iterative). This
    pass builds no paths (a results section holds tens of thousands of nodes); only a section with a list over the
    limit is walked again with paths, in the same order, to name the first one."""
    limit = r.limits.max_list_items
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            if len(value) > limit:
                _check_list_paths(node, path, r)
                return
            stack.extend([v for v in value if isinstance(v, _CONTAINERS)])
        elif isinstance(value, dict):
            stack.extend([v for v in value.values() if isinstance(v, _CONTAINERS)])


_CONTAINERS = (list, dict)


def _check_list_paths(node: Any, path: str, r: JsonReader) -> None:
    """``_check_lists`` naming the path of the list over the limit."""
    stack = [(path, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, list):
            check_items(len(value), where, r.limits.max_list_items, r.source, r.nct_id)
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value) if isinstance(v, list | dict))
        elif isinstance(value, dict):
            stack.extend((f"{where}.{k}", v) for k, v in value.items() if isinstance(v, list | dict))


def _identification(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.identificationModule")
    org_id = m.sub("orgStudyIdInfo")
    if org_id and (oid := org_id.text("id")):
        t.org_study_id = SecondaryId(
            id=oid,
            type=org_id.code("secondary-id-type", "type"),
            domain=org_id.text("domain"),  # not in v2; API v1 (OrgStudyIdDomain) has it
            link=org_id.text("link"),
        )
    for s in m.objects("secondaryIdInfos"):
        sid = s.text("id")
        if sid:
            t.secondary_ids.append(
                SecondaryId(
                    id=sid, type=s.code("secondary-id-type", "type"), domain=s.text("domain"), link=s.text("link")
                )
            )
    org = m.sub("organization")
    if org and org.text("fullName"):
        t.organization = Organization(org.text("fullName") or "", org.code("sponsor-class", "class"))
    t.brief_title, t.official_title, t.acronym = (m.text(k) for k in ("briefTitle", "officialTitle", "acronym"))
    t.nct_aliases = m.texts("nctIdAliases")


def _status(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.statusModule")
    t.overall_status = m.code("overall-status", "overallStatus")
    t.last_known_status = m.code("overall-status", "lastKnownStatus")
    t.why_stopped = m.text("whyStopped")
    t.status_verified_date = m.text("statusVerifiedDate")
    t.start_date, t.primary_completion_date, t.completion_date = (
        m.date(f"{k}DateStruct") for k in ("start", "primaryCompletion", "completion")
    )
    t.first_submitted_date = m.text("studyFirstSubmitDate")
    t.first_posted_date, t.last_update_posted_date, t.results_first_posted_date = (
        m.date(f"{k}PostDateStruct") for k in ("studyFirst", "lastUpdate", "resultsFirst")
    )


def _sponsors(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.sponsorCollaboratorsModule")
    rp = m.sub("responsibleParty")
    if rp is not None:
        t.responsible_party = ResponsibleParty(
            type=rp.code("responsible-party-type", "type"),
            name=rp.text("investigatorFullName"),
            title=rp.text("investigatorTitle"),
            affiliation=rp.text("investigatorAffiliation"),
            old_name_title=rp.text("oldNameTitle"),
            old_organization=rp.text("oldOrganization"),
        )
    lead = m.sub("leadSponsor")
    if lead and lead.text("name"):
        t.lead_sponsor = Organization(lead.text("name") or "", lead.code("sponsor-class", "class"))
    for c in m.objects("collaborators"):
        if c.text("name"):
            t.collaborators.append(Organization(c.text("name") or "", c.code("sponsor-class", "class")))


def _description_conditions(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.descriptionModule")
    t.brief_summary, t.detailed_description = m.text("briefSummary"), m.text("detailedDescription")
    m = r.module("protocolSection.conditionsModule")
    t.conditions, t.keywords = m.texts("conditions"), m.texts("keywords")


def _design(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.designModule")
    t.study_type = m.code("study-type", "studyType")
    for p, v in m.items("phases"):
        if (raw := r.text_at(p, v)) is not None:
            t.phases.extend(tok for tok in phases_or_given(raw, p, r.issues) if tok not in t.phases)
    d = Design()
    di = m.sub("designInfo")
    if di is not None:
        d.allocation = di.code("allocation", "allocation")
        d.intervention_model = di.code("intervention-model", "interventionModel")
        d.intervention_model_description = di.text("interventionModelDescription")
        d.primary_purpose = di.code("primary-purpose", "primaryPurpose")
        d.observational_model = di.code("observational-model", "observationalModel")
        d.time_perspective = di.code("time-perspective", "timePerspective")
        mi = di.sub("maskingInfo")
        if mi is not None:
            d.masking = mi.code("masking", "masking")
            d.masking_description = mi.text("maskingDescription")
            d.who_masked = mi.codes("who-masked", "whoMasked")
    t.design = d
    ei = m.sub("enrollmentInfo")
    if ei is not None:
        t.enrollment_count = ei.count("count")
        t.enrollment_type = ei.code("date-type", "type")


def _named(m: JsonObject, path: str, key: str, what: str) -> Iterator[tuple[JsonObject, str]]:
    """The objects of a module's list with their ``key`` (label, name, measure); one without it is reported and
    kept."""
    r = m.reader
    for o in m.objects(path):
        if value := o.text(key):
            yield o, value
        else:
            r.warn(o.path, f"{what} without a {key}; kept in unmapped")
            r.used.discard(o.path)


def _arms(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.armsInterventionsModule")
    for a, label in _named(m, "armGroups", "label", "arm group"):
        arm = Arm(label, a.code("arm-type", "type"), a.text("description"), a.texts("interventionNames"))
        t.arms.append(arm)
    for i, name in _named(m, "interventions", "name", "intervention"):
        kind, description = i.code("intervention-type", "type"), i.text("description")
        t.interventions.append(Intervention(name, kind, description, i.texts("armGroupLabels"), i.texts("otherNames")))


def _outcomes(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.outcomesModule")
    for key, kind in (
        ("primaryOutcomes", "PRIMARY"),
        ("secondaryOutcomes", "SECONDARY"),
        ("otherOutcomes", "OTHER_PRE_SPECIFIED"),
    ):
        for o, measure in _named(m, key, "measure", "outcome"):
            t.outcomes.append(Outcome(measure, kind, o.text("description"), o.text("timeFrame")))


def _eligibility(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.eligibilityModule")
    text = m.text("eligibilityCriteria")
    e = Eligibility(criteria_text=text)
    if text:
        field = f"{m.path}.eligibilityCriteria"
        check_text_items(text, field, r.limits.max_list_items, r.source, r.nct_id)
        e.criteria, found = split_criteria(r.criteria_text(text))
        check_items(len(e.criteria), field, r.limits.max_list_items, r.source, r.nct_id)
        r.issues.extend(Issue(i.severity, f"{m.path}.{i.location}", i.message, i.code) for i in found)
    e.sex = m.code("sex", "sex")
    e.gender_based = m.flag("genderBased")
    e.gender_description = m.text("genderDescription")
    e.minimum_age = _age(m, "minimumAge")
    e.maximum_age = _age(m, "maximumAge")
    e.healthy_volunteers = m.flag("healthyVolunteers")
    e.study_population = m.text("studyPopulation")
    e.sampling_method = m.text("samplingMethod")
    e.std_ages = m.codes("std-age", "stdAges")
    t.eligibility = e


def _contact(s: JsonObject) -> Contact:
    return Contact(
        name=s.text("name"),
        role=s.code("contact-role", "role"),
        phone=s.text("phone"),
        phone_ext=s.text("phoneExt"),
        email=s.text("email"),
    )


def _contacts_locations(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.contactsLocationsModule")
    t.central_contacts = [_contact(c) for c in m.objects("centralContacts")]
    for o in m.objects("overallOfficials"):
        name = o.text("name")
        if name:
            t.officials.append(
                Official(name=name, role=o.code("official-role", "role"), affiliation=o.text("affiliation"))
            )
    for s in m.objects("locations"):
        site = Site(
            facility=s.text("facility"),
            status=s.code("recruitment-status", "status"),
            city=s.text("city"),
            state=s.text("state"),
            zip=s.text("zip"),
            country=s.text("country"),
        )
        geo = s.sub("geoPoint")
        if geo is not None:
            site.latitude, site.longitude = geo.number("lat", 90), geo.number("lon", 180)
        site.contacts = [_contact(c) for c in s.objects("contacts")]
        t.sites.append(site)


def _references(r: JsonReader, t: Trial) -> None:
    m = r.module("protocolSection.referencesModule")
    for ref in m.objects("references"):
        t.references.append(
            Reference(citation=ref.text("citation"), pmid=ref.text("pmid"), type=ref.code("reference-type", "type"))
        )
    for link in m.objects("seeAlsoLinks"):
        url = link.text("url")
        if url:
            t.see_also_links.append(Link(url=url, label=link.text("label")))


def _derived(r: JsonReader, t: Trial) -> None:
    for key, target in (
        ("conditionBrowseModule", t.condition_meshes),
        ("interventionBrowseModule", t.intervention_meshes),
    ):
        for mesh in r.module(f"derivedSection.{key}").objects("meshes"):
            mid, term = mesh.text("id"), mesh.text("term")
            if mid and term:
                target.append(Mesh(id=canonical_mesh_ui(mid), term=term))


_STEPS: tuple[Callable[[JsonReader, Trial], None], ...] = (
    _identification,
    _status,
    _sponsors,
    _description_conditions,
    _design,
    _arms,
    _outcomes,
    _eligibility,
    _contacts_locations,
    _references,
    _derived,
    read_json_oversight,
)


def iter_studies(data: Any, path: str) -> Iterator[tuple[int | None, Any]]:
    """The study objects of a parsed v2 document: one study, a list of studies, or a search page."""
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        yield from enumerate(data["studies"])
    else:
        yield from indexed_records(data, path, "a study object, a list or a search page")


def looks_like_ctgov_json(data: Any) -> bool:
    """True for a v2 study, a list of them, or a v2 search page."""
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        data = data["studies"][0] if data["studies"] else {"protocolSection": {}}
    elif isinstance(data, list):
        data = data[0] if data else None
    return isinstance(data, dict) and "protocolSection" in data
