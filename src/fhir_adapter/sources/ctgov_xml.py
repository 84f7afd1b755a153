"""Reader for legacy ClinicalTrials.gov ``<clinical_study>`` XML (the classic bulk download and AACT exports,
2014-2021 generations; schema https://clinicaltrials.gov/ct2/html/images/info/public.xsd).

The reader gives the same ``Trial`` as the API v2 JSON reader (``ctgov_json``) for the same record: legacy wording
goes through the ConceptMaps of ``mappings/`` (``terminology.normalize``), legacy dates ("May 2019",
"March 27, 2019") become ISO 8601 at the precision given, and the indented, wrapped ``textblock`` s are reflowed to
the paragraphs and ``*`` lists that ClinicalTrials.gov shows for the same text in API v2.

Parsing is hardened (``ctgov_xml_doc``: no entity resolution, no DTD loading, no network, no huge trees; a document
that declares entities is refused before it is parsed); ``ctgov_xml_fields.XmlReader`` reads the elements.

Nothing is dropped silently. Every element and attribute is either mapped, listed in ``IGNORED`` (registry
bookkeeping, derived values, results and documents that are reported once), or kept verbatim as text in
``Trial.unmapped`` (keyed by its element path, ``oversight_info/has_dmc``, ``location[3]/investigator[0]/role``)
with a warning ``Issue``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import PurePath

from lxml import etree

from fhir_adapter import model, terminology
from fhir_adapter.errors import SourceError
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import AgeLimit, Source, Trial
from fhir_adapter.sources.criteria import split_criteria
from fhir_adapter.sources.ctgov_xml_design import read_study_design
from fhir_adapter.sources.ctgov_xml_doc import looks_like_ctgov_xml, parse_clinical_study, reflow_textblock, text_of
from fhir_adapter.sources.ctgov_xml_fields import XmlReader, plain_path
from fhir_adapter.sources.fields import HEALTHY_YES, keep_unmapped, not_mapped_sections, phases_or_given, sampling_token
from fhir_adapter.sources.guards import check_items, check_nct_id, check_text_items, parse_count, read_age
from fhir_adapter.sources.oversight import read_xml_oversight
from fhir_adapter.sources.wording import parse_registry_date

__all__ = ["IGNORED", "looks_like_ctgov_xml", "read_clinical_study", "reflow_textblock"]

# Element paths (below <clinical_study>, without indices) and attributes left out on purpose, without a report.
IGNORED = frozenset(
    {
        # registry bookkeeping of the download itself
        "required_header",  # download_date, link_text, url
        "@rank",  # position in a search result
        # QC and submission dates: the v2 reader ignores the same (studyFirstSubmitQcDate, lastUpdateSubmitDate,
        # resultsFirstSubmitDate, resultsFirstSubmitQcDate, dispFirstSubmitDate, dispFirstSubmitQcDate,
        # dispFirstPostDateStruct)
        "study_first_submitted_qc",
        "last_update_submitted",
        "last_update_submitted_qc",
        "results_first_submitted",
        "results_first_submitted_qc",
        "disposition_first_submitted",
        "disposition_first_submitted_qc",
        "disposition_first_posted",
        # pre-2017 names of the same dates (the file's own comment: "lastchanged_date becomes
        # last_update_submitted", ...); firstreceived_date is read as study_first_submitted when that is missing
        "lastchanged_date",
        "firstreceived_results_date",
        "firstreceived_results_disposition_date",
        # derived from <location> (removed countries are v2 miscInfoModule, which the v2 reader ignores too);
        # number_of_arms / number_of_groups are consumed when they agree with the arm groups, else kept
        "location_countries",
        "removed_countries",
        # reported once as an information issue (as the v2 reader does for resultsSection / documentSection)
        "clinical_results",
        "provided_document_section",
    }
)

_NCT = re.compile(r"NCT\d{8}", re.IGNORECASE)


def read_clinical_study(data: bytes, source: Source, *, limits: Limits = DEFAULT_LIMITS) -> Trial:
    """One legacy ``<clinical_study>`` document -> Trial.

    Raises ``SourceError`` for malformed XML (with line and column), a document declaring entities, a root other
    than ``clinical_study`` and a record without a plausible ``id_info/nct_id``; ``LimitExceeded`` for a document
    over the XML element or attribute limits, or a repeated element over ``limits.max_list_items``.
    """
    root = parse_clinical_study(data, source, limits)
    r = XmlReader(root, source, limits)
    id_info = r.one(root, "id_info")
    nct = r.text(id_info, "nct_id")
    if not nct:
        raise SourceError("record has no NCT id", path=source.path, index=source.index, field="id_info/nct_id")
    nct = r.nct_id = check_nct_id(nct, "id_info/nct_id", source)
    trial = Trial(nct_id=nct, source=source)
    _identification(r, trial, id_info)
    _check_file_name(r, trial)
    _status(r, trial)
    _sponsors(r, trial)
    _description_conditions(r, trial)
    _design(r, trial)
    read_study_design(r, trial)
    _arms(r, trial)
    _outcomes(r, trial)
    _eligibility(r, trial)
    _contacts_locations(r, trial)
    _references(r, trial)
    _mesh(r, trial)
    read_xml_oversight(r, trial)
    trial.has_results = r.one(root, "clinical_results") is not None
    documents = r.one(root, "provided_document_section") is not None
    r.issues += not_mapped_sections(("clinical_results", trial.has_results), ("provided_document_section", documents))
    _collect_unmapped(r, trial)
    trial.unmapped.update(r.unmapped)
    trial.issues = r.issues
    return trial


def _check_file_name(r: XmlReader, t: Trial) -> None:
    """A file named after another NCT id than the one inside is read by its content, with a warning."""
    named = _NCT.findall(PurePath(r.source.path).name) if r.source.path else []
    if not named or any(n.upper() == t.nct_id for n in named):
        return
    name_id = named[0].upper()
    alias = " (one of the record's nct_alias ids)" if name_id in t.nct_aliases else ""
    r.warn(
        "id_info/nct_id",
        f"file name says {name_id}{alias} but the record's nct_id is {t.nct_id}; read as {t.nct_id}",
        "business-rule",
    )


def _identification(r: XmlReader, t: Trial, id_info: etree._Element | None) -> None:
    org_id = r.text(id_info, "org_study_id")
    if org_id:
        t.org_study_id = model.SecondaryId(id=org_id)
    # legacy secondary ids carry neither type nor domain
    t.secondary_ids = [model.SecondaryId(id=s) for s in r.texts(id_info, "secondary_id")]
    t.nct_aliases = r.texts(id_info, "nct_alias")
    root = r.root
    t.brief_title = r.text(root, "brief_title")
    t.official_title = r.text(root, "official_title")
    t.acronym = r.text(root, "acronym")
    # <source> is what API v2 calls identificationModule.organization.fullName (the class is not in legacy XML)
    source = r.text(root, "source")
    if source:
        t.organization = model.Organization(source)


def _status(r: XmlReader, t: Trial) -> None:
    root = r.root
    t.overall_status = r.code("overall-status", root, "overall_status")
    t.last_known_status = r.code("overall-status", root, "last_known_status")
    t.why_stopped = r.text(root, "why_stopped")
    t.status_verified_date = r.date_text(root, "verification_date")
    t.start_date = r.date(root, "start_date")
    t.primary_completion_date = r.date(root, "primary_completion_date")
    t.completion_date = r.date(root, "completion_date")
    t.first_submitted_date = r.date_text(root, "study_first_submitted")
    old = r.one(root, "firstreceived_date")  # pre-2017 name of study_first_submitted
    if old is not None:
        old_iso = parse_registry_date(r.value(old) or "")
        if t.first_submitted_date is None and old_iso is not None:
            t.first_submitted_date = old_iso
        elif old_iso is None or old_iso != t.first_submitted_date:
            r.release(old)
            r.warn(r.path_of(old), "firstreceived_date differs from study_first_submitted; kept in unmapped")
    t.first_posted_date = r.date(root, "study_first_posted")
    t.last_update_posted_date = r.date(root, "last_update_posted")
    t.results_first_posted_date = r.date(root, "results_first_posted")


def _sponsors(r: XmlReader, t: Trial) -> None:
    sponsors = r.one(r.root, "sponsors")
    lead = r.one(sponsors, "lead_sponsor")
    name = r.text(lead, "agency")
    if name:
        t.lead_sponsor = model.Organization(name, r.code("sponsor-class", lead, "agency_class"))
    for c in r.all(sponsors, "collaborator"):
        name = r.text(c, "agency")
        if name:
            t.collaborators.append(model.Organization(name, r.code("sponsor-class", c, "agency_class")))
        else:
            r.release(c)
    rp = r.one(r.root, "responsible_party")
    if rp is not None:
        t.responsible_party = model.ResponsibleParty(
            type=r.code("responsible-party-type", rp, "responsible_party_type"),
            name=r.text(rp, "investigator_full_name"),
            title=r.text(rp, "investigator_title"),
            affiliation=r.text(rp, "investigator_affiliation"),
            old_name_title=r.text(rp, "name_title"),
            old_organization=r.text(rp, "organization"),
        )


def _description_conditions(r: XmlReader, t: Trial) -> None:
    t.brief_summary = r.textblock(r.root, "brief_summary")
    t.detailed_description = r.textblock(r.root, "detailed_description")
    t.conditions = r.texts(r.root, "condition")
    t.keywords = r.texts(r.root, "keyword")


def _design(r: XmlReader, t: Trial) -> None:
    root = r.root
    st = r.one(root, "study_type")
    raw_type = r.value(st)
    if st is not None and raw_type:
        t.study_type = r.code_of("study-type", raw_type, "study_type")
        if "[" in raw_type:  # "Observational [Patient Registry]": v2 has a separate patientRegistry flag
            r.unmapped["study_type"] = raw_type
            r.warn(
                "study_type",
                "the bracketed study type qualifier is not mapped; kept as text (ResearchStudy.note)",
                "not-supported",
            )
    phase = r.one(root, "phase")
    raw_phase = r.value(phase)
    if phase is not None and raw_phase:
        t.phases = phases_or_given(raw_phase, "phase", r.issues)
    d = model.Design()
    di = r.one(root, "study_design_info")
    if di is not None:
        d.allocation = r.code("allocation", di, "allocation")
        d.intervention_model = r.code("intervention-model", di, "intervention_model")
        d.intervention_model_description = r.text(di, "intervention_model_description")
        d.primary_purpose = r.code("primary-purpose", di, "primary_purpose")
        d.observational_model = r.code("observational-model", di, "observational_model")
        d.time_perspective = r.code("time-perspective", di, "time_perspective")
        masking = r.one(di, "masking")
        raw_masking = r.value(masking)
        if masking is not None and raw_masking:
            d.masking, d.who_masked = terminology.legacy_masking(raw_masking)
            if d.masking is None:
                r.warn(r.path_of(masking), f"cannot read masking {raw_masking[:60]!r}; kept in unmapped")
                r.release(masking)
        d.masking_description = r.text(di, "masking_description")
    t.design = d
    enrollment = r.one(root, "enrollment")
    raw_count = r.value(enrollment)
    if enrollment is not None and raw_count:
        t.enrollment_count = parse_count(raw_count)
        if t.enrollment_count is None:
            r.warn("enrollment", "cannot read enrollment (a whole number 0..2147483647); kept in unmapped")
            r.release(enrollment)
        else:
            t.enrollment_type = r.date_type(enrollment)


def _named(
    r: XmlReader, tag: str, name_of: Callable[[etree._Element], str | None], what: str
) -> Iterator[tuple[etree._Element, str]]:
    """The ``<tag>`` elements with their name (label, measure); one without it is reported and kept."""
    for el in r.all(r.root, tag):
        if name := name_of(el):
            yield el, name
        else:
            r.warn(r.path_of(el), f"{what}; kept in unmapped")
            r.release(el)


def _arms(r: XmlReader, t: Trial) -> None:
    root = r.root
    for iv, name in _named(r, "intervention", lambda e: r.text(e, "intervention_name"), "intervention without a name"):
        kind, description = r.code("intervention-type", iv, "intervention_type"), r.text(iv, "description")
        arm_labels, other_names = r.texts(iv, "arm_group_label"), r.texts(iv, "other_name")
        t.interventions.append(model.Intervention(name, kind, description, arm_labels, other_names))
    for a, label in _named(r, "arm_group", lambda e: r.text(e, "arm_group_label"), "arm group without a label"):
        # API v2 lists an arm's interventions as "<Type display>: <name>", in intervention order; legacy XML links
        # them the other way (intervention/arm_group_label)
        names = [
            f"{terminology.ctgov_display('intervention-type', i.type) if i.type else 'Other'}: {i.name}"
            for i in t.interventions
            if label in i.arm_labels
        ]
        t.arms.append(model.Arm(label, r.code("arm-type", a, "arm_group_type"), r.text(a, "description"), names))
    for tag in ("number_of_arms", "number_of_groups"):  # derived counts: only a disagreement is worth keeping
        el = r.one(root, tag)
        raw = r.value(el)
        if el is not None and raw is not None and raw != str(len(t.arms)):
            r.release(el)
            r.warn(tag, f"{tag} {raw[:10]} differs from the {len(t.arms)} arm groups; kept in unmapped")


def _outcomes(r: XmlReader, t: Trial) -> None:
    for tag, kind in (
        ("primary_outcome", "PRIMARY"),
        ("secondary_outcome", "SECONDARY"),
        ("other_outcome", "OTHER_PRE_SPECIFIED"),
    ):
        for o, measure in _named(r, tag, lambda e: r.text(e, "measure"), "outcome without a measure"):
            t.outcomes.append(model.Outcome(measure, kind, r.text(o, "description"), r.text(o, "time_frame")))


# ClinicalTrials.gov's age groups (https://clinicaltrials.gov/study-basics/glossary "Age group"): child is birth
# to 17 years, adult 18 to 64, older adult 65 and over. API v2 derives stdAges from the age limits this way; legacy
# XML has the limits only.
_YEARS_PER_UNIT = {
    "years": 1.0,
    "months": 1 / 12,
    "weeks": 7 / 365.25,
    "days": 1 / 365.25,
    "hours": 1 / 8766,
    "minutes": 1 / 525960,
}


def _std_ages(low: AgeLimit | None, high: AgeLimit | None) -> list[str]:
    lo = low.value * _YEARS_PER_UNIT.get(low.unit, 1.0) if low else 0.0
    hi = high.value * _YEARS_PER_UNIT.get(high.unit, 1.0) if high else float("inf")
    out = []
    if lo < 18:
        out.append("CHILD")
    if lo < 65 and hi >= 18:
        out.append("ADULT")
    if hi >= 65:
        out.append("OLDER_ADULT")
    return out


def _eligibility(r: XmlReader, t: Trial) -> None:
    el = r.one(r.root, "eligibility")
    e = model.Eligibility()
    t.eligibility = e
    if el is None:
        return
    criteria = r.one(el, "criteria")
    tb = r.one(criteria, "textblock")
    text = reflow_textblock(text_of(tb)) if tb is not None else r.value(criteria)
    e.criteria_text = text
    if text:
        field = "eligibility/criteria/textblock"
        check_text_items(text, field, r.limits.max_list_items, r.source, r.nct_id)
        e.criteria, found = split_criteria(text, location=field)
        check_items(len(e.criteria), field, r.limits.max_list_items, r.source, r.nct_id)
        r.issues.extend(found)
    e.sex = r.code("sex", el, "gender")
    e.gender_based = r.flag(el, "gender_based")
    e.gender_description = r.text(el, "gender_description")
    e.minimum_age = r.parsed(el, "minimum_age", read_age, "age", none="N/A")  # "N/A": no limit
    e.maximum_age = r.parsed(el, "maximum_age", read_age, "age", none="N/A")
    if el.find("minimum_age") is not None or el.find("maximum_age") is not None:
        e.std_ages = _std_ages(e.minimum_age, e.maximum_age)
    e.healthy_volunteers = r.flag(el, "healthy_volunteers", HEALTHY_YES)
    e.study_population = r.textblock(el, "study_pop")
    sampling = r.text(el, "sampling_method")
    # API v2 SamplingMethod tokens are the legacy wording upper-cased with "_" ("Non-Probability Sample" ->
    # "NON_PROBABILITY_SAMPLE"); the v2 reader keeps the token as text
    e.sampling_method = sampling_token(sampling) if sampling else None


def _person(r: XmlReader, el: etree._Element) -> str | None:
    """first_name middle_name last_name, degrees (legacy contact / investigator structs; recent files use
    last_name for the whole name)."""
    parts = [p for p in (r.text(el, "first_name"), r.text(el, "middle_name"), r.text(el, "last_name")) if p]
    name = " ".join(parts)
    degrees = r.text(el, "degrees")
    if degrees:
        name = f"{name}, {degrees}" if name else degrees
    return name or None


def _contact(r: XmlReader, el: etree._Element, role: str | None) -> model.Contact:
    return model.Contact(
        name=_person(r, el),
        role=role,
        phone=r.text(el, "phone"),
        phone_ext=r.text(el, "phone_ext"),
        email=r.text(el, "email"),
    )


def _contacts_locations(r: XmlReader, t: Trial) -> None:
    root = r.root
    for o, name in _named(r, "overall_official", lambda e: _person(r, e), "overall official without a name"):
        t.officials.append(
            model.Official(name=name, role=r.code("official-role", o, "role"), affiliation=r.text(o, "affiliation"))
        )
    for tag in ("overall_contact", "overall_contact_backup"):
        t.central_contacts += [_contact(r, c, "CONTACT") for c in r.all(root, tag)]
    for loc in r.all(root, "location"):
        facility = r.one(loc, "facility")
        address = r.one(facility, "address")
        site = model.Site(
            facility=r.text(facility, "name"),
            status=r.code("recruitment-status", loc, "status"),
            city=r.text(address, "city"),
            state=r.text(address, "state"),
            zip=r.text(address, "zip"),
            country=r.text(address, "country"),
        )
        for tag in ("contact", "contact_backup"):
            site.contacts += [_contact(r, c, "CONTACT") for c in r.all(loc, tag)]
        for inv in r.all(loc, "investigator"):
            site.contacts.append(model.Contact(name=_person(r, inv), role=r.code("contact-role", inv, "role")))
        t.sites.append(site)


def _references(r: XmlReader, t: Trial) -> None:
    for tag in ("reference", "results_reference"):
        kind = terminology.normalize("reference-type", tag)
        for ref in r.all(r.root, tag):
            t.references.append(model.Reference(citation=r.text(ref, "citation"), pmid=r.text(ref, "PMID"), type=kind))
    for link in r.all(r.root, "link"):
        url = r.text(link, "url")
        if url:
            t.see_also_links.append(model.Link(url=url, label=r.text(link, "description")))
        else:
            r.release(link)


def _mesh(r: XmlReader, t: Trial) -> None:
    """Legacy browse lists give MeSH terms without descriptor ids: ``Mesh`` needs an id, so the terms are kept as
    text (one note per list, terms separated by "; ") and reported, not coded."""
    for tag in ("condition_browse", "intervention_browse"):
        browse = r.one(r.root, tag)
        terms = r.texts(browse, "mesh_term")
        if terms:
            path = f"{tag}/mesh_term"
            r.unmapped[path] = "; ".join(terms)
            r.warn(
                path,
                "MeSH terms without MeSH ids (legacy XML) are not coded; kept as text (ResearchStudy.note)",
                "not-supported",
            )


def _collect_unmapped(r: XmlReader, t: Trial) -> None:
    """Every element and attribute no step consumed (and not in ``IGNORED``) goes to ``Trial.unmapped``, in document
    order: the attributes of an element, then its text if it is a leaf. One pass over each subtree not ignored
    (``iter``, in C); a path is built only for what is kept. ``LimitExceeded`` for a tag repeated more than
    ``limits.max_list_items`` times in any container walked (unknown repeated elements are bounded like the known
    ones)."""
    used, max_items = r.used, r.limits.max_list_items
    root = r.root
    _check_repeats(r, root, max_items)
    _keep_attributes(r, t, root)
    for top in root:
        tag = top.tag
        if not isinstance(tag, str) or _plain(tag) in IGNORED:  # IGNORED's element paths are all top-level
            continue
        for el in top.iter(etree.Element):  # elements only (no comments or processing instructions)
            if el.keys():
                _keep_attributes(r, t, el)
            if (n := len(el)) and (n <= max_items or _check_repeats(r, el, max_items)) and _has_elements(el):
                continue  # a container: its leaves matter (visited next)
            if el not in used:
                _keep(r, t, r.path_of(el), text_of(el))


def _has_elements(el: etree._Element) -> bool:
    """Whether ``el`` (not empty) has element children (the parser drops comments: the first child decides)."""
    return isinstance(el[0].tag, str) or any(isinstance(c.tag, str) for c in el)


def _check_repeats(r: XmlReader, el: etree._Element, max_items: int) -> bool:
    """``LimitExceeded`` for a child tag of ``el`` repeated more than ``max_items`` times; else True."""
    if len(el) <= max_items:  # no tag can repeat more often
        return True
    counts: dict[str, int] = {}
    for c in el:
        if isinstance(tag := c.tag, str):
            counts[tag] = counts.get(tag, 0) + 1
    path = r.path_of(el)
    for tag, count in counts.items():
        if count > max_items:
            check_items(count, f"{path}/{tag}" if path else tag, max_items, r.source, r.nct_id)
    return True


def _keep_attributes(r: XmlReader, t: Trial, el: etree._Element) -> None:
    path = plain = None
    for raw_name, raw_value in el.items():
        name = raw_name if isinstance(raw_name, str) else raw_name.decode()
        if (el, name) in r.used_attrs:
            continue
        if path is None:
            path = r.path_of(el)
            plain = plain_path(path)
        if f"{plain}@{_plain(name)}" in IGNORED:
            continue
        _keep(r, t, f"{path}@{name}", raw_value if isinstance(raw_value, str) else raw_value.decode())


def _keep(r: XmlReader, t: Trial, path: str, text: str) -> None:
    value = reflow_textblock(text) if "\n" in text else text.strip()
    if value:
        keep_unmapped(t, r.issues, path, value)


def _plain(name: str) -> str:
    """A tag or attribute name without anything ``plain_path`` removes (only a namespace URI can hold "[")."""
    return plain_path(name) if "[" in name else name
