"""ResearchStudy (R4 4.0.1) <-> Trial. https://hl7.org/fhir/R4/researchstudy.html

``to_research_study`` runs the R5 mapper (which fills the context with the referenced resources), then converts
the study and every resource in the context down to R4. ``from_research_study`` lifts the R4 study (and, through
the resolver, every resource it references) to the R5 shape and runs the R5 reverse mapper.

Native R4 elements: identifier, title, status (DESIGN.md section 3, R4 column; an UNKNOWN study's last known
status; ``active`` when nothing maps), phase (``terminology.hl7.org`` research-study-phase + ct.gov codings),
category (study type and design facets: the R5 ``studyDesign`` concepts), primaryPurposeType, focus (a concept per
intervention and the intervention MeSH terms), condition, keyword, location (countries), description, period,
sponsor, principalInvestigator (the first official whose role is principal investigator), contact (central
contacts), site, enrollment (the eligibility Group), arm, objective (outcome measures, R4 objective-type),
protocol, relatedArtifact, reasonStopped (R5 whyStopped), note.

R5-element extensions (see :mod:`.common`): ``ResearchStudy.label``, ``.progressStatus`` (state, actual, period),
``.descriptionSummary``, ``.focus`` (valueReference to the intervention EvidenceVariable), ``.associatedParty``
(name, role, classifier, party + our own extensions), ``.recruitment`` (targetNumber, actualNumber + our
``enrollment-type``), ``.comparisonGroup.linkId`` and ``.comparisonGroup.intendedExposure`` on each arm,
``.outcomeMeasure.description`` and ``.outcomeMeasure.reference`` on each objective, ``RelatedArtifact.classifier``
and ``RelatedArtifact.type`` (when R5's type, e.g. cited-by, is not an R4 code).
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.r4 import evidence_variable, group, parties, plan_definition
from fhir_adapter.fhir.r4.common import (
    OFFICIAL_XVER_BASE,
    XVER_BASE,
    absolute_subs,
    pruned,
    sub_value,
    sub_values,
    without_xver,
    xver_all,
    xver_complex,
    xver_first_value,
    xver_value,
)
from fhir_adapter.fhir.r5 import research_study as r5
from fhir_adapter.fhir.r5.common import JSON, Context, Resolver, coded, get_extension
from fhir_adapter.model import Trial

# R4 related-artifact-type codes (required binding); other R5 codes are written as "citation" + the R5 type.
_R4_ARTIFACT_TYPES = frozenset(
    {
        "documentation",
        "justification",
        "citation",
        "predecessor",
        "successor",
        "derived-from",
        "depends-on",
        "composed-of",
    }
)
# Elements only an R4 ResearchStudy has (release detection, see ``fhir_adapter.bundle.fhir_release``).
R4_ONLY = frozenset(
    {
        "arm",
        "objective",
        "enrollment",
        "sponsor",
        "principalInvestigator",
        "location",
        "category",
        "reasonStopped",
        "contact",
    }
)
R5_ONLY = frozenset(
    {
        "progressStatus",
        "comparisonGroup",
        "outcomeMeasure",
        "recruitment",
        "associatedParty",
        "label",
        "descriptionSummary",
        "studyDesign",
        "region",
        "classifier",
        "whyStopped",
        "result",
        "name",
    }
)
_R4_STATUSES = frozenset(
    {
        "active",
        "administratively-completed",
        "approved",
        "closed-to-accrual",
        "closed-to-accrual-and-intervention",
        "completed",
        "disapproved",
        "in-review",
        "temporarily-closed-to-accrual",
        "temporarily-closed-to-accrual-and-intervention",
        "withdrawn",
    }
)
_FALLBACK_STATUS = "active"


def _status(t: Trial) -> str:
    for token in (t.overall_status, t.last_known_status):
        coding = terminology.to_fhir("overall-status", token, "R4") if token else None
        if coding is not None and coding.code in _R4_STATUSES:
            return coding.code
    return _FALLBACK_STATUS


def _with_r4_coding(concept: JSON | None, r5_system: str, coding: Any) -> JSON | None:
    """``concept`` with its R5 coding of ``r5_system`` replaced by the R4 ``coding`` (terminology.Coding or None)."""
    if concept is None:
        return None
    codings = [c for c in concept.get("coding", []) if c.get("system") != r5_system]
    return dict(concept, coding=([coding.to_fhir()] if coding is not None else []) + codings)


def _has_role(party: JSON, code: str) -> bool:
    system = terminology.system("research-study-party-role")
    return any(c.get("system") == system and c.get("code") == code for c in (party.get("role") or {}).get("coding", []))


def _related(a: JSON) -> JSON:
    kind = a.get("type", "citation")
    return {
        "extension": [
            *(xver_value("RelatedArtifact.classifier", valueCodeableConcept=c) for c in a.get("classifier", [])),
            xver_value("RelatedArtifact.type", valueCode=kind) if kind not in _R4_ARTIFACT_TYPES else None,
        ],
        "type": kind if kind in _R4_ARTIFACT_TYPES else "citation",
        "label": a.get("label"),
        "citation": a.get("citation"),
        "document": a.get("document"),
    }


def _down_resources(ctx: Context, rs5: JSON, nct_id: str) -> str | None:
    """Convert every resource of ``ctx`` to R4 in place; returns the fullUrl of the eligibility EvidenceVariable."""
    eligibility = ((rs5.get("recruitment") or {}).get("eligibility") or {}).get("reference")
    out: dict[str, JSON] = {}
    for url, res in ctx.resources.items():
        rtype = res.get("resourceType")
        if url == eligibility:
            out[group.reference(nct_id)["reference"]] = group.down(res, nct_id)
        elif rtype == "EvidenceVariable":
            out[url] = evidence_variable.down(res)
        elif rtype == "PlanDefinition":
            out[url] = plan_definition.down(res)
        else:
            out[url] = parties.down(res)
    ctx.resources = out
    return eligibility


def to_research_study(ctx: Context, t: Trial) -> JSON:
    """The R4 ResearchStudy of a trial (a plain dict), adding every resource it references (R4) to ``ctx``."""
    rs5 = pruned(r5.to_research_study(ctx, t))
    assert t.nct_id is not None
    _down_resources(ctx, rs5, t.nct_id)
    parties5 = rs5.get("associatedParty", [])
    sponsor = next((p.get("party") for p in parties5 if _has_role(p, "lead-sponsor")), None)
    pi = next(
        (
            p.get("party")
            for p in parties5
            if _has_role(p, "primary-investigator")
            and not get_extension(p, "responsible-party")
            and not get_extension(p, "central-contact")
        ),
        None,
    )
    contacts = []
    for p in parties5:
        if get_extension(p, "central-contact"):
            person = ctx.resources.get((p.get("party") or {}).get("reference", ""), {})
            contacts.append({"name": p.get("name"), "telecom": person.get("telecom")})
    rec = rs5.get("recruitment") or {}
    focus = rs5.get("focus", [])
    refs = [f["reference"] for f in focus if f.get("reference")]
    rs: JSON = {
        "resourceType": "ResearchStudy",
        "extension": [
            *rs5.get("extension", []),
            *(
                xver_complex(
                    "ResearchStudy.label",
                    [("type", "CodeableConcept", lb.get("type")), ("value", "String", lb.get("value"))],
                )
                for lb in rs5.get("label", [])
            ),
            *(
                xver_complex(
                    "ResearchStudy.progressStatus",
                    [
                        ("state", "CodeableConcept", p.get("state")),
                        ("actual", "Boolean", p.get("actual")),
                        ("period", "Period", p.get("period")),
                    ],
                )
                for p in rs5.get("progressStatus", [])
            ),
            xver_value("ResearchStudy.descriptionSummary", valueMarkdown=rs5.get("descriptionSummary")),
            *(xver_value("ResearchStudy.focus", valueReference=r) for r in refs),
            *(
                xver_complex(
                    "ResearchStudy.associatedParty",
                    [
                        ("name", "String", p.get("name")),
                        ("role", "CodeableConcept", p.get("role")),
                        ("classifier", "CodeableConcept", p.get("classifier")),
                        ("party", "Reference", p.get("party")),
                    ],
                    extra=p.get("extension"),
                )
                for p in parties5
            ),
            xver_complex(
                "ResearchStudy.recruitment",
                [
                    ("targetNumber", "UnsignedInt", rec.get("targetNumber")),
                    ("actualNumber", "UnsignedInt", rec.get("actualNumber")),
                ],
                extra=rec.get("extension"),
            ),
        ],
        "identifier": rs5.get("identifier"),
        "title": rs5.get("title"),
        "protocol": rs5.get("protocol"),
        "status": _status(t),
        "primaryPurposeType": coded("primary-purpose", t.design.primary_purpose, release="R4"),
        "phase": _with_r4_coding(
            rs5.get("phase"),
            terminology.system("research-study-phase"),
            terminology.phase_code(t.phases, "R4") if t.phases else None,
        ),
        "category": rs5.get("studyDesign"),
        "focus": [coded("intervention-type", iv.type, iv.name) or {"text": iv.name} for iv in t.interventions]
        + [f["concept"] for f in focus if f.get("concept")],
        "condition": rs5.get("condition"),
        "contact": contacts,
        "relatedArtifact": [_related(a) for a in rs5.get("relatedArtifact", [])],
        "keyword": rs5.get("keyword"),
        "location": rs5.get("region"),
        "description": rs5.get("description"),
        "enrollment": [group.reference(t.nct_id)] if rec.get("eligibility") else None,
        "period": rs5.get("period"),
        "sponsor": sponsor,
        "principalInvestigator": pi,
        "site": rs5.get("site"),
        "reasonStopped": rs5.get("whyStopped"),
        "note": rs5.get("note"),
        "arm": [
            {
                "extension": [
                    xver_value("ResearchStudy.comparisonGroup.linkId", valueId=g.get("linkId")),
                    *(
                        xver_value("ResearchStudy.comparisonGroup.intendedExposure", valueReference=r)
                        for r in g.get("intendedExposure", [])
                    ),
                ],
                "name": g.get("name"),
                "type": g.get("type"),
                "description": g.get("description"),
            }
            for g in rs5.get("comparisonGroup", [])
        ],
        "objective": [
            {
                "extension": [
                    xver_value("ResearchStudy.outcomeMeasure.description", valueMarkdown=o.get("description")),
                    xver_value("ResearchStudy.outcomeMeasure.reference", valueReference=o.get("reference")),
                ],
                "name": o.get("name"),
                "type": coded("outcome-type", t.outcomes[i].type, release="R4"),
            }
            for i, o in enumerate(rs5.get("outcomeMeasure", []))
        ],
    }
    return pruned(rs)


# ---------------------------------------------------------------------------------------------------- reverse


def lift_resource(resource: JSON | None) -> JSON | None:
    """An R4 resource this package wrote -> the R5 shape the R5 reverse mappers read."""
    if resource is None:
        return None
    rtype = resource.get("resourceType")
    if rtype == "Group":
        return group.lift(resource)
    if rtype == "EvidenceVariable":
        return evidence_variable.lift(resource)
    if rtype == "PlanDefinition":
        return plan_definition.lift(resource)
    return parties.lift(resource)


def _ours(rs: JSON) -> bool:
    """True if the study carries R5-element extensions (written by fhir-adapter or a cross-version converter)."""
    return any(str(e.get("url", "")).startswith((XVER_BASE, OFFICIAL_XVER_BASE)) for e in rs.get("extension", []))


def _lift_progress(rs: JSON) -> list[JSON]:
    out = [
        {"state": sub_value(p, "state"), "actual": sub_value(p, "actual"), "period": sub_value(p, "period")}
        for p in xver_all(rs, "ResearchStudy.progressStatus")
    ]
    if not out and rs.get("status") and not _ours(rs):  # an R4 study from elsewhere: its status is all there is
        token = terminology.from_fhir("overall-status", str(rs["status"]), "R4")
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
        tok for c in codings if c.get("system") == r4 for tok in terminology.phase_tokens(c.get("code", ""), "R4")
    ]
    return dict(phase, coding=codings + [{"system": terminology.ctgov_system("phase"), "code": tok} for tok in tokens])


def _lift_parties(rs: JSON) -> list[JSON]:
    out = [
        {
            "name": sub_value(p, "name"),
            "role": sub_value(p, "role"),
            "classifier": sub_values(p, "classifier"),
            "party": sub_value(p, "party"),
            "extension": absolute_subs(p),
        }
        for p in xver_all(rs, "ResearchStudy.associatedParty")
    ]
    if not out and rs.get("sponsor") and not _ours(rs):  # an R4 study from elsewhere
        role = {"coding": [{"system": terminology.system("research-study-party-role"), "code": "lead-sponsor"}]}
        out.append({"role": role, "party": rs["sponsor"]})
    return out


def lift_research_study(rs: JSON) -> JSON:
    """An R4 ResearchStudy -> the R5 shape ``r5.research_study.from_research_study`` reads."""
    recruitment = xver_all(rs, "ResearchStudy.recruitment")
    rec = recruitment[0] if recruitment else {}
    mesh = terminology.system("mesh")
    return pruned(
        {
            "resourceType": "ResearchStudy",
            "id": rs.get("id"),
            "extension": without_xver(rs),
            "identifier": rs.get("identifier"),
            "title": rs.get("title"),
            "label": [
                {"type": sub_value(lb, "type"), "value": sub_value(lb, "value")}
                for lb in xver_all(rs, "ResearchStudy.label")
            ],
            "status": "active",
            "progressStatus": _lift_progress(rs),
            "whyStopped": rs.get("reasonStopped"),
            "phase": _lift_phase(rs),
            "studyDesign": rs.get("category"),
            "primaryPurposeType": rs.get("primaryPurposeType"),
            "focus": [{"reference": e.get("valueReference")} for e in xver_all(rs, "ResearchStudy.focus")]
            + [
                {"concept": c} for c in rs.get("focus", []) if any(x.get("system") == mesh for x in c.get("coding", []))
            ],
            "condition": rs.get("condition"),
            "keyword": rs.get("keyword"),
            "region": rs.get("location"),
            "descriptionSummary": xver_first_value(rs, "ResearchStudy.descriptionSummary"),
            "description": rs.get("description"),
            "period": rs.get("period"),
            "associatedParty": _lift_parties(rs),
            "site": rs.get("site"),
            "recruitment": {
                "extension": absolute_subs(rec),
                "targetNumber": sub_value(rec, "targetNumber"),
                "actualNumber": sub_value(rec, "actualNumber"),
                "eligibility": (rs.get("enrollment") or [None])[0],
            },
            "comparisonGroup": [
                {
                    "linkId": xver_first_value(a, "ResearchStudy.comparisonGroup.linkId"),
                    "name": a.get("name"),
                    "type": a.get("type"),
                    "description": a.get("description"),
                    "intendedExposure": [
                        e.get("valueReference") for e in xver_all(a, "ResearchStudy.comparisonGroup.intendedExposure")
                    ],
                }
                for a in rs.get("arm", [])
            ],
            "outcomeMeasure": [
                {
                    "name": o.get("name"),
                    "type": [o.get("type")],
                    "description": xver_first_value(o, "ResearchStudy.outcomeMeasure.description"),
                    "reference": xver_first_value(o, "ResearchStudy.outcomeMeasure.reference"),
                }
                for o in rs.get("objective", [])
            ],
            "protocol": rs.get("protocol"),
            "relatedArtifact": [
                {
                    "type": xver_first_value(a, "RelatedArtifact.type") or a.get("type"),
                    "label": a.get("label"),
                    "citation": a.get("citation"),
                    "document": a.get("document"),
                    "classifier": [e.get("valueCodeableConcept") for e in xver_all(a, "RelatedArtifact.classifier")],
                }
                for a in rs.get("relatedArtifact", [])
            ],
            "note": rs.get("note"),
        }
    )


def from_research_study(rs: JSON, resolve: Resolver) -> Trial:
    """The Trial an R4 ResearchStudy (and the R4 resources ``resolve`` finds for its references) describes."""
    return r5.from_research_study(lift_research_study(rs), lambda ref: lift_resource(resolve(ref)))


def release_of(rs: JSON) -> str:
    """``"R4"`` or ``"R5"``: the release a ResearchStudy is written in (see ``fhir_adapter.bundle.fhir_release``).

    R4 if it has an element only R4 defines (``enrollment``, which this package always writes, ``arm``,
    ``objective``, ``sponsor`` ...), an R4-only status code, or an R5-element extension; else R5 (also the answer
    for a study with neither kind of element, where both readings agree except on ``status``)."""
    if set(rs) & R4_ONLY or rs.get("status") in _R4_STATUSES - {"active"}:
        return "R4"
    if set(rs) & R5_ONLY:
        return "R5"
    return "R4" if _ours(rs) else "R5"
