"""ResearchStudy (R5) <-> Trial. https://hl7.org/fhir/R5/researchstudy.html

``to_research_study`` also adds the resources the study references (EvidenceVariables, PlanDefinitions,
Organizations, Practitioners, Locations) to the context; ``from_research_study`` follows the references back.
Choices where FHIR has no element of its own are fhir-adapter extensions, listed in ``mappings/README.md``.
"""

from __future__ import annotations

from fhir_adapter import terminology
from fhir_adapter.fhir.common import (
    JSON,
    Context,
    Resolver,
    coded,
    compact,
    extension,
    get_extension,
    prune,
    text_cc,
    token_of,
    tokens_of,
)
from fhir_adapter.fhir.r5 import associated_party, comparison_group, parties, progress, results, study_facts
from fhir_adapter.fhir.r5 import evidence_variable as ev
from fhir_adapter.fhir.r5.schedule import is_schedule, schedule_of_plan, to_schedule
from fhir_adapter.model import Design, Link, Mesh, Outcome, Reference, SecondaryId, Trial
from fhir_adapter.sources.mesh import canonical_mesh_ui

_SEE_ALSO = "see-also-link"
# The ResearchStudy elements built without empty elements below their top level (``bundle`` walks only the others
# with ``prune``; an empty top-level value is still dropped): constants, strings, the titles, the site references,
# the outcome measures, the associated parties, the extensions (registering organisation, registration milestones),
# the design and purpose concepts (``coded`` holds no empty value), the classifiers, the reason stopped, the focus,
# conditions, keywords and regions (empty texts left out as they are built), the identifiers, the recruitment, the
# progress states, the period, the comparison groups, the results and protocol references, the phase, the related
# artifacts (the study documents' pruned: they copy the registry's JSON) and the notes.
BUILT_CLEAN = frozenset(
    (
        "resourceType",
        "extension",
        "identifier",
        "status",
        "title",
        "label",
        "whyStopped",
        "studyDesign",
        "primaryPurposeType",
        "focus",
        "condition",
        "keyword",
        "region",
        "progressStatus",
        "period",
        "descriptionSummary",
        "description",
        "site",
        "recruitment",
        "comparisonGroup",
        "associatedParty",
        "classifier",
        "outcomeMeasure",
        "result",
        "protocol",
        "phase",
        "relatedArtifact",
        "note",
    )
)
# (Design attribute, ct.gov axis, attribute holding a free-text description of it) for studyDesign.
_DESIGN = (
    ("allocation", "allocation", None),
    ("intervention_model", "intervention-model", "intervention_model_description"),
    ("observational_model", "observational-model", None),
    ("time_perspective", "time-perspective", None),
    ("masking", "masking", "masking_description"),
)


def _ctgov_phase_text(tokens: list[str]) -> str:
    return "/".join(terminology.ctgov_display("phase", t) for t in tokens)


def _identifiers(t: Trial, registering: JSON | None) -> list[JSON]:
    """The NCT id (and former ones), the org study id (assigned by the registering organisation: its
    ``Identifier.assigner``), the secondary ids (assigner: the registry's domain text). Without empty elements (an
    empty value, domain or link left out, as ``prune`` did): ``bundle`` does not prune them."""
    nct = terminology.system("nct")
    ids: list[JSON] = [compact(use="official", system=nct, value=t.nct_id)]
    ids += [compact(use="old", system=nct, value=a) for a in t.nct_aliases]

    def other(s: SecondaryId, use: str, assigner: JSON | None = None) -> JSON:
        return compact(
            use=use,
            type=coded("secondary-id-type", s.type),
            value=s.id,
            assigner={**(assigner or {}), "display": s.domain} if s.domain else dict(assigner or {}),
            extension=[extension("identifier-link", valueUri=s.link)] if s.link else None,
        )

    if t.org_study_id:
        ids.append(other(t.org_study_id, "usual", registering))
    ids += [other(s, "secondary") for s in t.secondary_ids]
    return ids


def _design(d: Design, t: Trial) -> list[JSON]:
    out = [coded("study-type", t.study_type)]
    for attr, axis, described in _DESIGN:
        concept = coded(axis, getattr(d, attr))
        text = getattr(d, described) if described else None
        if concept is not None and text:
            concept["extension"] = [extension("design-description", valueMarkdown=text)]
        out.append(concept)
    out += [coded("who-masked", w) for w in d.who_masked]
    return [c for c in out if c]


def _related(t: Trial) -> list[JSON]:
    """The references and see-also links, without empty elements (``coded`` holds no empty value)."""
    out: list[JSON] = []
    for r in t.references:
        kind = terminology.to_fhir("reference-type", r.type) if r.type else None
        out.append(
            compact(
                type=kind.code if kind else "citation",
                citation=r.citation,
                classifier=[coded("reference-type", r.type)] if r.type else None,
                document={"url": f"{terminology.system('pubmed')}/{r.pmid}/"} if r.pmid else None,
            )
        )
    for link in t.see_also_links:
        out.append(
            compact(
                type="documentation",
                label=link.label,
                document={"url": link.url} if link.url else None,
                classifier=[text_cc(_SEE_ALSO)],
            )
        )
    return out


def _mesh(m: Mesh) -> JSON:
    """A MeSH concept without empty elements (an empty id or term is left out, as ``prune`` did)."""
    return compact(coding=[compact(system=terminology.system("mesh"), code=m.id, display=m.term)], text=m.term)


def _phase(t: Trial) -> JSON | None:
    """The phase concept, without empty elements (an empty code or display left out, as ``prune`` did)."""
    if not t.phases:
        return None
    phase = terminology.phase_code(t.phases)
    system = terminology.ctgov_system("phase")
    codings = [compact(**phase.to_fhir())] if phase else []
    codings += [compact(system=system, code=p) for p in t.phases]
    return compact(coding=[c for c in codings if c], text=_ctgov_phase_text(t.phases))


def _extensions(t: Trial, registering: JSON | None) -> list[JSON]:
    """HL7's study-registration milestones; the registering organisation only when no org study id carries it (a
    reference: not empty). Without empty elements: ``bundle`` does not prune them."""
    milestones = progress.to_registration(t)
    if registering and not t.org_study_id:
        return [extension("registering-organization", valueReference=registering), *milestones]
    return milestones


def _recruitment(ctx: Context, t: Trial) -> JSON:
    """``ResearchStudy.recruitment`` without empty elements (``coded`` holds no empty value; the eligibility is a
    reference): ``bundle`` does not prune it."""
    title = t.brief_title or t.official_title or t.nct_id or ""
    return compact(
        extension=[extension("enrollment-type", valueCodeableConcept=coded("date-type", t.enrollment_type))]
        if t.enrollment_type
        else None,
        targetNumber=t.enrollment_count if t.enrollment_type != "ACTUAL" else None,
        actualNumber=t.enrollment_count if t.enrollment_type == "ACTUAL" else None,
        eligibility=ev.to_eligibility(ctx, t.eligibility, title),
    )


def _present(reference: JSON | None) -> list[JSON]:
    return [reference] if reference else []


def _outcome_measure(ctx: Context, index: int, o: Outcome) -> JSON:
    """An ``outcomeMeasure`` without empty elements (``coded`` holds no empty value)."""
    kind = coded("outcome-type", o.type)
    return compact(
        name=o.measure,
        type=[kind] if kind else None,
        description=o.description,
        reference=ev.to_outcome(ctx, index, o),
    )


def _notes(t: Trial) -> list[JSON]:
    """The data-sharing note and one note per unmapped source field, without empty elements."""
    sharing = study_facts.to_data_sharing_note(t)
    notes = [sharing] if sharing else []
    for path, text in t.unmapped.items():
        field = extension("source-field", valueString=path) if path else extension("source-field")
        notes.append(compact(extension=[field], text=text))
    return notes


def to_research_study(ctx: Context, t: Trial) -> JSON:
    """The ResearchStudy of a trial (a plain dict), adding every resource it references to ``ctx``."""
    groups, protocols, exposures = comparison_group.to_comparison_groups(ctx, t)
    registering = parties.to_organization(ctx, t.organization) if t.organization else None
    # before sites and people: organisations keep the sponsor's class
    sponsors = associated_party.associated_parties(ctx, t)
    countries = dict.fromkeys(s.country for s in t.sites if s.country)
    return {
        "resourceType": "ResearchStudy",
        "extension": _extensions(t, registering),
        "identifier": _identifiers(t, registering),
        "title": t.brief_title,  # no fallback: a missing title must read back as missing
        "label": [
            {"type": {"coding": [{"system": terminology.system("title-type"), "code": code}]}, "value": v}
            for code, v in (("official", t.official_title), ("acronym", t.acronym))
            if v
        ],
        "status": "active",
        "progressStatus": progress.to_progress(t),
        "whyStopped": text_cc(t.why_stopped) if t.why_stopped else None,
        "phase": _phase(t),
        "studyDesign": _design(t.design, t),
        "primaryPurposeType": coded("primary-purpose", t.design.primary_purpose),
        "focus": [{"reference": r} for r in exposures] + [{"concept": _mesh(m)} for m in t.intervention_meshes],
        "condition": [text_cc(c) for c in t.conditions if c] + [_mesh(m) for m in t.condition_meshes],
        "keyword": [text_cc(k) for k in t.keywords if k],
        "region": [parties.to_region(c) for c in countries],
        "descriptionSummary": t.brief_summary,
        "description": t.detailed_description,
        "period": compact(
            start=t.start_date.date if t.start_date else None,
            end=t.completion_date.date if t.completion_date else None,
        ),
        "associatedParty": sponsors,
        "classifier": study_facts.to_classifiers(t),
        "site": [parties.to_location(ctx, i, s) for i, s in enumerate(t.sites)],
        "recruitment": _recruitment(ctx, t),
        "comparisonGroup": groups,
        "outcomeMeasure": [_outcome_measure(ctx, i, o) for i, o in enumerate(t.outcomes)],
        "result": results.to_results(ctx, t),  # after the outcomes: an outcome's result observes its variable
        "protocol": [*protocols, *_present(to_schedule(ctx, t.schedule))],  # the arms', then the study's schedule
        "relatedArtifact": _related(t) + prune(results.document_artifacts(t)),
        "note": _notes(t),
    }


# ---------------------------------------------------------------------------------------------------- reverse


def _from_identifiers(rs: JSON, t: Trial, resolve: Resolver) -> None:
    nct = terminology.system("nct")
    for ident in rs.get("identifier", []):
        use, value = ident.get("use"), ident.get("value", "")
        if ident.get("system") == nct:
            if use == "old":
                t.nct_aliases.append(value)
            elif t.nct_id is None:
                t.nct_id = value
            continue
        link = get_extension(ident, "identifier-link")
        assigner = ident.get("assigner") or {}
        sid = SecondaryId(
            id=value,
            type=token_of("secondary-id-type", ident.get("type")),
            domain=assigner.get("display"),
            link=link.get("valueUri") if link else None,
        )
        if use == "usual" and t.org_study_id is None:
            t.org_study_id = sid
            t.organization = parties.from_organization(resolve(assigner)) if assigner.get("reference") else None
        else:
            t.secondary_ids.append(sid)


def mesh_systems() -> tuple[str, str]:
    """The MeSH systems read: HL7 Terminology's (https://terminology.hl7.org/CodeSystem-MeSH.html, written) and the
    UMLS URI fhir-adapter wrote before issue 11."""
    return terminology.system("mesh"), terminology.system("mesh-umls")


def _mesh_of(coding: JSON) -> Mesh:
    """A MeSH term of a coding; under the pre-issue-11 URI the id is read as NLM's canonical descriptor UI (the
    readers' rule, ``canonical_mesh_ui``: those bundles carry API v2's padded ids), else exactly as written."""
    code = str(coding["code"])
    old = coding.get("system") == terminology.system("mesh-umls")
    return Mesh(canonical_mesh_ui(code) if old else code, coding.get("display", ""))


def _from_design(rs: JSON, t: Trial) -> None:
    d = Design()
    for cc in rs.get("studyDesign", []):
        if token_of("study-type", cc):
            t.study_type = token_of("study-type", cc)
        d.who_masked += tokens_of("who-masked", cc)
        for attr, axis, described in _DESIGN:
            token = token_of(axis, cc)
            if token:
                setattr(d, attr, token)
                text = get_extension(cc, "design-description")
                if described and text:
                    setattr(d, described, text.get("valueMarkdown"))
    d.primary_purpose = token_of("primary-purpose", rs.get("primaryPurposeType"))
    t.design = d


def _from_related(rs: JSON, t: Trial) -> None:
    for r in rs.get("relatedArtifact", []):
        if results.is_document_artifact(r):  # the study documents: results.read_results reads them
            continue
        url = (r.get("document") or {}).get("url")
        classifiers = r.get("classifier") or []
        if any(c.get("text") == _SEE_ALSO for c in classifiers):
            t.see_also_links.append(Link(url=url or "", label=r.get("label")))
            continue
        pubmed = terminology.system("pubmed") + "/"
        pmid = url[len(pubmed) :].strip("/") if url and url.startswith(pubmed) else None
        t.references.append(
            Reference(
                citation=r.get("citation"),
                pmid=pmid,
                type=token_of("reference-type", classifiers[0] if classifiers else None),
            )
        )


def from_research_study(rs: JSON, resolve: Resolver) -> Trial:
    """The Trial a ResearchStudy (and the resources ``resolve`` finds for its references) describes."""
    t = Trial()
    _from_identifiers(rs, t, resolve)
    labels = {
        c.get("code"): lb.get("value") for lb in rs.get("label", []) for c in (lb.get("type") or {}).get("coding", [])
    }
    t.brief_title, t.official_title, t.acronym = rs.get("title"), labels.get("official"), labels.get("acronym")
    reg = get_extension(rs, "registering-organization")  # a study without org study id (and before issue 11)
    if reg:
        t.organization = parties.from_organization(resolve(reg.get("valueReference")))
    progress.read_progress(rs, t)
    study_facts.read_classifiers(rs, t)
    study_facts.read_data_sharing(rs, t)
    t.why_stopped = (rs.get("whyStopped") or {}).get("text")
    t.phases = tokens_of("phase", rs.get("phase"))
    _from_design(rs, t)
    mesh = mesh_systems()
    for f in rs.get("focus", []):
        if f.get("reference"):
            t.interventions.append(ev.from_exposure(resolve(f["reference"]) or {}))
        for c in (f.get("concept") or {}).get("coding", []):
            if c.get("system") in mesh:
                t.intervention_meshes.append(_mesh_of(c))
    for cc in rs.get("condition", []):
        codes = [c for c in cc.get("coding", []) if c.get("system") in mesh]
        if codes:
            t.condition_meshes.append(_mesh_of(codes[0]))
        elif cc.get("text"):
            t.conditions.append(cc["text"])
    t.keywords = [k["text"] for k in rs.get("keyword", []) if k.get("text")]
    t.brief_summary, t.detailed_description = rs.get("descriptionSummary"), rs.get("description")
    associated_party.read_associated_parties(rs, t, resolve)
    t.sites = [parties.from_location(resolve(s)) for s in rs.get("site", [])]
    rec = rs.get("recruitment") or {}
    t.enrollment_count = rec.get("actualNumber", rec.get("targetNumber"))
    etype = get_extension(rec, "enrollment-type")
    t.enrollment_type = token_of("date-type", etype.get("valueCodeableConcept")) if etype else None
    t.eligibility = ev.from_eligibility(resolve(rec.get("eligibility")))
    plans = [resolve(p) for p in rs.get("protocol", [])]
    protocols = [pd for pd in plans if not is_schedule(pd)]  # the arms' PlanDefinitions, in arm order
    t.schedule = [a for pd in plans if is_schedule(pd) for a in schedule_of_plan(pd)]
    t.arms = comparison_group.arms_of(rs, protocols, resolve)
    t.outcomes = [ev.from_outcome(m, resolve(m.get("reference"))) for m in rs.get("outcomeMeasure", [])]
    _from_related(rs, t)
    results.read_results(rs, resolve, t)
    for note in rs.get("note", []):
        path = get_extension(note, "source-field")
        if path:
            t.unmapped[path.get("valueString", "")] = note.get("text", "")
    return t
