"""ResearchStudy (R4 4.0.1) <-> the R5 ResearchStudy. https://hl7.org/fhir/R4/researchstudy.html

``down`` converts the R5 study (and reads the R5 resources it references: exposures, people) to R4; it never sees
the Trial, so R4 output is a function of the R5 resources. ``lift`` is the way back: the R4 study in the R5 shape
the R5 reverse mapper reads. Both directions read the same tables of ``mappings/fhir-r4-r5.json`` (renamed and
unchanged elements, the children of complex extensions, the R4 value sets) and the same ``-r4`` ConceptMaps.

Native R4 elements: identifier, title, status (the R4 column of ``mappings/ctgov-overall-status-r4.conceptmap.json`` for
the current overall status; an UNKNOWN, missing or code-less status gets the UNKNOWN row's code, ``closed-to-accrual``,
never one that reads as recruiting, flagged by the ``r4-status-reason`` extension on ``_status``), phase
(``terminology.hl7.org`` research-study-phase + ct.gov codings), category (R5 ``studyDesign``), primaryPurposeType,
focus (a concept per intervention and the intervention MeSH terms), condition, keyword, location (R5 ``region``),
description (the brief summary when there is no detailed description, marked by the ``description-from-summary``
extension on ``_description`` so that the way back is exact), period, sponsor, principalInvestigator (the first official
whose role is principal investigator), contact (central contacts), site, enrollment (the eligibility Group), arm,
objective (outcome measures, R4 objective-type), protocol, relatedArtifact, reasonStopped (R5 ``whyStopped``), note.

R5-element extensions (see :mod:`.common`): ``ResearchStudy.label``, ``.progressStatus`` (state, actual, period),
``.descriptionSummary``, ``.classifier``, ``.focus`` (valueReference to the intervention EvidenceVariable),
``.associatedParty`` (name, role, classifier, party + our own extensions), ``.recruitment`` (targetNumber, actualNumber
+ our ``enrollment-type``), ``.comparisonGroup.linkId`` and ``.comparisonGroup.intendedExposure`` on each arm,
``.outcomeMeasure.description`` and ``.outcomeMeasure.reference`` on each objective, ``RelatedArtifact.classifier`` and
``RelatedArtifact.type`` (when R5's type, e.g. cited-by, is not an R4 code).
"""

from __future__ import annotations

from fhir_adapter import terminology
from fhir_adapter.fhir.common import (
    JSON,
    coded,
    ext_url,
    extension,
    get_extension,
    has_party_role,
    party_role,
    pruned,
    pruned_at,
    token_of,
    tokens_of,
)
from fhir_adapter.fhir.r4 import comparison, group, results
from fhir_adapter.fhir.r4.common import (
    OFFICIAL_XVER_BASE,
    XVER_BASE,
    complex_down,
    complex_lift,
    without_xver,
    xver_all,
    xver_first_value,
    xver_value,
)
from fhir_adapter.fhir.r5 import evidence_variable, parties
from fhir_adapter.release import FhirRelease

_RS = "ResearchStudy"
_STATUS = "research-study-status"
_ARTIFACT = "related-artifact-type"
# The one R4 status code that is also an R5 ResearchStudy.status (publication-status,
# https://hl7.org/fhir/R5/valueset-publication-status.html): it tells no release apart.
_SHARED_STATUS = "active"
# Key order of the R4 study as fhir-adapter has always written it (output stays byte-stable).
_R4_ORDER = (
    "identifier",
    "title",
    "protocol",
    "status",
    "_status",
    "primaryPurposeType",
    "phase",
    "category",
    "focus",
    "condition",
    "contact",
    "relatedArtifact",
    "keyword",
    "location",
    "description",
    "_description",
    "enrollment",
    "period",
    "sponsor",
    "principalInvestigator",
    "site",
    "reasonStopped",
    "note",
    "arm",
    "objective",
)


def _status(rs5: JSON) -> tuple[str, JSON | None]:
    """The R4 status of the current state (R5 ``progressStatus`` with a ct.gov status that is not ``actual: false``)
    in the R4 map, and ``_status`` with the reason when the code stands in for a status R4 cannot say (UNKNOWN, none,
    no R4 code): the UNKNOWN row's target, never a code that reads as recruiting (mappings/README.md)."""
    current = next(
        (
            tok
            for p in rs5.get("progressStatus", [])
            if p.get("actual") is not False and (tok := token_of("overall-status", p.get("state")))
        ),
        None,
    )
    spec = terminology.registration_table()["r4Status"]
    coding = terminology.to_fhir("overall-status", current, FhirRelease.R4) if current else None
    if coding is not None and coding.code in terminology.r4_codes(_STATUS) and current != spec["substituteFor"]:
        return coding.code, None
    substitute = terminology.to_fhir("overall-status", spec["substituteFor"], FhirRelease.R4)
    code = substitute.code if substitute is not None else terminology.r4_fallback(_STATUS)
    if current is None:
        reason = spec["none"]
    elif current == spec["substituteFor"]:
        reason = spec["unknown"]
    else:
        reason = spec["noCode"].format(status=terminology.ctgov_display("overall-status", current))
    return code, {"extension": [extension("r4-status-reason", valueString=reason)]}


def _description(rs5: JSON) -> tuple[str | None, JSON | None]:
    """R4 ``description`` and ``_description``: the brief summary when the study has no detailed description (R4 has
    no descriptionSummary; ``description`` must not be empty), marked so that the way back is exact."""
    if rs5.get("description") or not rs5.get("descriptionSummary"):
        return rs5.get("description"), None
    marker = terminology.registration_table()["r4Status"]["descriptionFromSummary"]
    return rs5["descriptionSummary"], {"extension": [extension(marker, valueBoolean=True)]}


def _phase(rs5: JSON) -> JSON | None:
    """R5 ``phase`` with its R5 research-study-phase coding replaced by the R4 one (``terminology.hl7.org``)."""
    phase = rs5.get("phase")
    if phase is None:
        return None
    tokens = tokens_of("phase", phase)
    r4 = terminology.phase_code(tokens, FhirRelease.R4) if tokens else None
    r5_system = terminology.system("research-study-phase")
    codings = [c for c in phase.get("coding", []) if c.get("system") != r5_system]
    return dict(phase, coding=([r4.to_fhir()] if r4 is not None else []) + codings)


def _focus(rs5: JSON, resources: dict[str, JSON]) -> list[JSON]:
    """A concept per intervention (its type and name, from the R5 exposure EvidenceVariable), then the MeSH terms."""
    out: list[JSON] = []
    for f in rs5.get("focus", []):
        if f.get("reference"):
            ev = resources.get(f["reference"].get("reference", ""), {})
            token = evidence_variable.intervention_type_of(ev)
            out.append(coded("intervention-type", token, ev.get("title")) or {"text": ev.get("title")})
    return out + [f["concept"] for f in rs5.get("focus", []) if f.get("concept")]


def _related(a: JSON) -> JSON:
    kind = a.get("type", terminology.r4_fallback(_ARTIFACT))
    r4 = kind in terminology.r4_codes(_ARTIFACT)
    return {
        "extension": [
            *(xver_value("RelatedArtifact.classifier", valueCodeableConcept=c) for c in a.get("classifier", [])),
            None if r4 else xver_value("RelatedArtifact.type", valueCode=kind),
        ],
        "type": kind if r4 else terminology.r4_fallback(_ARTIFACT),
        "label": a.get("label"),
        "citation": a.get("citation"),
        "document": results.down_document(a.get("document")),
    }


def _parties(rs5: JSON, resources: dict[str, JSON]) -> JSON:
    """R4 ``sponsor``, ``principalInvestigator`` and ``contact`` from the R5 ``associatedParty`` list."""
    parties5 = rs5.get("associatedParty", [])
    sponsor = next((p.get("party") for p in parties5 if has_party_role(p, "lead-sponsor")), None)
    pi = next(
        (
            p.get("party")
            for p in parties5
            if has_party_role(p, "primary-investigator")
            and not get_extension(p, "responsible-party")
            and not get_extension(p, "central-contact")
        ),
        None,
    )
    contacts = []
    for p in parties5:
        if get_extension(p, "central-contact"):
            person = resources.get((p.get("party") or {}).get("reference", ""), {})
            telecom = parties.telecom_of(person, lambda r: resources.get((r or {}).get("reference", "")))
            contacts.append({"name": p.get("name"), "telecom": telecom})
    return {"sponsor": sponsor, "principalInvestigator": pi, "contact": contacts}


def _overall_study_down(p: JSON) -> JSON:
    """A progressStatus entry for R4: HL7's ``overall-study`` state as its text alone. R4's research-study-status code
    system (4.0.1) has no ``overall-study`` (R5 added it) and HAPI's R4 validator rejects the coding as an unknown
    code; :func:`_overall_study_up` gives the coding back."""
    spec = terminology.registration_table()["overallStudy"]
    codes = {c.get("code") for c in (p.get("state") or {}).get("coding", [])}
    return dict(p, state={"text": spec["display"]}) if spec["code"] in codes else p


def _overall_study_up(p: JSON) -> JSON:
    spec = terminology.registration_table()["overallStudy"]
    state = p.get("state") or {}
    if state.get("coding") or state.get("text") != spec["display"]:
        return p
    coding = {"system": terminology.system(_STATUS), "code": spec["code"], "display": spec["display"]}
    return dict(p, state={"coding": [coding]})


def _extensions(rs5: JSON) -> list[JSON | None]:
    """The study's own extensions, then one R5-element extension per R5-only element."""
    refs = [f["reference"] for f in rs5.get("focus", []) if f.get("reference")]
    return [
        *rs5.get("extension", []),
        *(complex_down(f"{_RS}.label", lb) for lb in rs5.get("label", [])),
        *(complex_down(f"{_RS}.progressStatus", _overall_study_down(p)) for p in rs5.get("progressStatus", [])),
        xver_value(f"{_RS}.descriptionSummary", valueMarkdown=rs5.get("descriptionSummary")),
        *(xver_value(f"{_RS}.classifier", valueCodeableConcept=c) for c in rs5.get("classifier", [])),
        *(xver_value(f"{_RS}.focus", valueReference=r) for r in refs),
        *(complex_down(f"{_RS}.associatedParty", p) for p in rs5.get("associatedParty", [])),
        complex_down(f"{_RS}.recruitment", rs5.get("recruitment") or {}),
        *results.result_extensions(rs5),
    ]


def nct_id_of(rs5: JSON) -> str | None:
    """The NCT id of a study (its official NCT identifier)."""
    nct = terminology.system("nct")
    ids = rs5.get("identifier", [])
    return next((i.get("value") for i in ids if i.get("system") == nct and i.get("use") != "old"), None)


def down(rs5: JSON, resources: dict[str, JSON]) -> JSON:
    """The R4 ResearchStudy of an R5 one; ``resources`` are the R5 resources of its bundle by fullUrl."""
    nct_id = nct_id_of(rs5)
    eligibility = (rs5.get("recruitment") or {}).get("eligibility")
    copied: JSON = {r4: rs5.get(r5) for r4, r5 in terminology.renamed_elements(_RS).items()}
    copied |= {name: rs5.get(name) for name in terminology.unchanged_elements(_RS)}
    built = _parties(rs5, resources)
    status, status_reason = _status(rs5)
    description, description_marker = _description(rs5)
    built |= {
        "status": status,
        "_status": status_reason,
        "description": description,
        "_description": description_marker,
        "primaryPurposeType": coded(
            "primary-purpose", token_of("primary-purpose", rs5.get("primaryPurposeType")), release=FhirRelease.R4
        ),
        "phase": _phase(rs5),
        "focus": _focus(rs5, resources),
        "relatedArtifact": [_related(a) for a in rs5.get("relatedArtifact", [])],
        "enrollment": [group.reference(nct_id)] if eligibility and nct_id else None,
        "arm": [comparison.to_arm(g) for g in rs5.get("comparisonGroup", [])],
        "objective": [comparison.to_objective(o) for o in rs5.get("outcomeMeasure", [])],
    }
    values = copied | built
    rs = {"resourceType": _RS, "id": rs5.get("id"), "extension": _extensions(rs5)}
    # copied elements come from the pruned R5 study: only the ones built here are pruned (fhir.r4.convert)
    return pruned_at(rs | {name: values.get(name) for name in _R4_ORDER}, [*built, "extension"])


# ---------------------------------------------------------------------------------------------------- reverse


def _ours(rs: JSON) -> bool:
    """True if the study carries R5-element extensions (written by fhir-adapter or a cross-version converter)."""
    return any(str(e.get("url", "")).startswith((XVER_BASE, OFFICIAL_XVER_BASE)) for e in rs.get("extension", []))


def _lift_progress(rs: JSON) -> list[JSON]:
    out = [complex_lift(f"{_RS}.progressStatus", p) for p in xver_all(rs, f"{_RS}.progressStatus")]
    out = [_overall_study_up(p) for p in out]
    substitute = get_extension(rs.get("_status"), "r4-status-reason")  # a stand-in, no status (see _status)
    if not out and rs.get("status") and not _ours(rs) and not substitute:  # an R4 study from elsewhere
        token = terminology.from_fhir("overall-status", str(rs["status"]), FhirRelease.R4)
        if token:
            out.append({"state": coded("overall-status", token)})
    return out


def _lift_phase(rs: JSON) -> JSON | None:
    phase = rs.get("phase")
    if not phase:
        return None
    codings = phase.get("coding", [])
    if any(c.get("system") == terminology.ctgov_system("phase") for c in codings):
        return dict(phase)
    r4 = terminology.system("research-study-phase-r4")
    tokens = [
        tok
        for c in codings
        if c.get("system") == r4
        for tok in terminology.phase_tokens(c.get("code", ""), FhirRelease.R4)
    ]
    return dict(phase, coding=codings + [{"system": terminology.ctgov_system("phase"), "code": tok} for tok in tokens])


def _lift_parties(rs: JSON) -> list[JSON]:
    out = [complex_lift(f"{_RS}.associatedParty", p) for p in xver_all(rs, f"{_RS}.associatedParty")]
    if not out and rs.get("sponsor") and not _ours(rs):  # an R4 study from elsewhere
        out.append({"role": party_role("lead-sponsor"), "party": rs["sponsor"]})
    return out


def _lift_focus(rs: JSON) -> list[JSON]:
    mesh = (terminology.system("mesh"), terminology.system("mesh-umls"))  # HL7's, and ours before issue 11
    refs = [{"reference": e.get("valueReference")} for e in xver_all(rs, f"{_RS}.focus")]
    return refs + [
        {"concept": c} for c in rs.get("focus", []) if any(x.get("system") in mesh for x in c.get("coding", []))
    ]


def _lift_related(a: JSON) -> JSON:
    return {
        "type": xver_first_value(a, "RelatedArtifact.type") or a.get("type"),
        "label": a.get("label"),
        "citation": a.get("citation"),
        "document": results.lift_document(a.get("document")),
        "classifier": [e.get("valueCodeableConcept") for e in xver_all(a, "RelatedArtifact.classifier")],
    }


def _is_summary(rs: JSON) -> bool:
    """True if the R4 ``description`` is the brief summary standing in for a missing detailed description."""
    marker = ext_url(terminology.registration_table()["r4Status"]["descriptionFromSummary"])
    return any(e.get("url") == marker for e in (rs.get("_description") or {}).get("extension", []))


def lift(rs: JSON) -> JSON:
    """An R4 ResearchStudy -> the R5 shape ``r5.research_study.from_research_study`` reads."""
    recruitment = xver_all(rs, f"{_RS}.recruitment")
    rec = complex_lift(f"{_RS}.recruitment", recruitment[0] if recruitment else {})
    out: JSON = {"resourceType": _RS, "id": rs.get("id"), "extension": without_xver(rs), "status": "active"}
    out |= {r5: rs.get(r4) for r4, r5 in terminology.renamed_elements(_RS).items()}
    out |= {name: rs.get(name) for name in terminology.unchanged_elements(_RS)}
    out |= {
        "label": [complex_lift(f"{_RS}.label", lb) for lb in xver_all(rs, f"{_RS}.label")],
        "progressStatus": _lift_progress(rs),
        "phase": _lift_phase(rs),
        "primaryPurposeType": rs.get("primaryPurposeType"),
        "focus": _lift_focus(rs),
        "descriptionSummary": xver_first_value(rs, f"{_RS}.descriptionSummary"),
        "description": None if _is_summary(rs) else rs.get("description"),
        "classifier": [e.get("valueCodeableConcept") for e in xver_all(rs, f"{_RS}.classifier")],
        "associatedParty": _lift_parties(rs),
        "recruitment": rec | {"eligibility": (rs.get("enrollment") or [None])[0]},
        "comparisonGroup": [comparison.comparison_group_of(a) for a in rs.get("arm", [])],
        "outcomeMeasure": [comparison.outcome_measure_of(o) for o in rs.get("objective", [])],
        "relatedArtifact": [_lift_related(a) for a in rs.get("relatedArtifact", [])],
        "result": results.results_of(rs),
    }
    return pruned(out)


def release_of(rs: JSON) -> FhirRelease:
    """The release a ResearchStudy is written in (see ``fhir_adapter.bundle.fhir_release``).

    R4 if it has an element only R4 defines (``enrollment``, which this package always writes, ``arm``,
    ``objective``, ``sponsor`` ...), an R4-only status code, or an R5-element extension; else R5 (also the answer
    for a study with neither kind of element, where both readings agree except on ``status``)."""
    r4_only_status = terminology.r4_codes(_STATUS) - {_SHARED_STATUS}
    if set(rs) & terminology.release_only_elements(FhirRelease.R4) or rs.get("status") in r4_only_status:
        return FhirRelease.R4
    if set(rs) & terminology.release_only_elements(FhirRelease.R5):
        return FhirRelease.R5
    return FhirRelease.R4 if _ours(rs) else FhirRelease.R5
