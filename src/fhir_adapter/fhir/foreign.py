"""ResearchStudies written by other tools, brought into the shape the R5 reverse mappers read, and the Trial completed
from the HL7 elements those mappers leave aside (docs/architecture.md, "Reading FHIR").

The per-resource mappers (``fhir.r5.*``, ``fhir.r4.*``) read what fhir-adapter writes: the ct.gov token codings next
to every FHIR code, its own extensions. A study from elsewhere -- HL7's own examples
(https://hl7.org/fhir/R5/researchstudy-example-ctgov-study-record.html), the FEvIR ClinicalTrials.gov converter, an
EHR's server -- carries the HL7 codes only, spells the registry's systems its own way and keeps its parties and sites
in ``contained`` resources. This module does not change the mappers; it

1. rewrites system aliases in a copy of the bundle (``canonical_systems``): the NCT id under
   ``http://clinicaltrials.gov/``, ``https://clinicaltrials.gov/nctid`` ... and the ct.gov enumerations under
   ``https://clinicaltrials.gov/data-about-studies/study-data-structure#enum-X`` (the FEvIR converter's spelling)
   become the systems of ``mappings/systems.json``;
2. reshapes what the mappers would misread (``prepared``): a site that is a ResearchStudy (R5 allows
   ``site`` -> ResearchStudy, as HL7's ct.gov example does) or an Organization becomes a Location view, an
   associatedParty with an HL7 party-role code gets the ct.gov role coding the mappers read, FEvIR's design texts
   and outcome types their ct.gov codings, the R6 build's ``objective.outcomeMeasure`` and Group comparison groups
   the R5 shape; the record's provenance artifacts and a sponsor beside the lead sponsor are left aside, named;
3. fills what the mappers left empty from the HL7 elements (``fhir.foreign_complete.complete``): status and dates
   from ``progressStatus`` (research-study-status codes, the ``overall-study`` period) or ``period``, phase from
   research-study-phase codes, the sponsor's class, each site's recruitment status, arms' types and interventions.

Nothing here runs on a study fhir-adapter wrote (``is_ours``): our own bundles read back exactly through the mappers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, Resolver, ext_url, has_party_role, party_role
from fhir_adapter.fhir.foreign_complete import complete, state_codes
from fhir_adapter.fhir.foreign_issues import element_issues
from fhir_adapter.fhir.foreign_issues import warning as _warning
from fhir_adapter.issues import Issue
from fhir_adapter.model import Trial

# The NCT id's system as other writers spell it: HL7's ct.gov example uses https://clinicaltrials.gov (ours); the
# variants (http, www., a trailing slash, the path /nctid) are the registry's address as integrators type it, named
# in issue 11 -- not found in a published example, accepted because they can name nothing else. Linear: no nested
# quantifier.
_NCT_SYSTEM = re.compile(r"^https?://(?:www\.)?clinicaltrials\.gov(?:/nctid|/ct2/show)?/?$", re.IGNORECASE)
# An NCT id: "NCT" and 8 digits, as every id of the registry (NCT05503693 in HL7's example, the fixtures' ids).
_NCT_VALUE = re.compile(r"^NCT\d{8}$")
# The ct.gov enumeration systems as the FEvIR converter writes them (HL7/fhir source/researchstudy/
# researchstudy-example-ctgov-study-record.xml, current build): same enumerations as our data-api systems.
_FEVIR_ENUM = re.compile(r"^https?://(?:www\.)?clinicaltrials\.gov/data-about-studies/study-data-structure#enum-(\w+)$")
_CTGOV_ENUM_BASE = "https://clinicaltrials.gov/data-api/api#enum-"
# What only fhir-adapter writes: its own extensions and code systems, and the ct.gov enumeration systems under the
# data-api address it chose (mappings/systems.json; other writers spell them otherwise, e.g. FEvIR above).
_OURS = ("https://fhir-adapter.dev/", _CTGOV_ENUM_BASE)
_RS = "ResearchStudy"
# research-study-objective-type: R5 core and terminology.hl7.org spellings (HL7's R5 example uses the latter)
_OBJECTIVE_SYSTEMS = (
    terminology.system("research-study-objective-type"),
    terminology.system("research-study-objective-type-r4"),
)
_SITE_PREFIX = "#fhir-adapter-site-"  # keys of the Location views made for sites that are not Locations
# The FEvIR converter's R5 output (HL7's R5 example researchstudy-example-ctgov-study-record) writes each design fact
# as a text "<label>: <ct.gov value>"; label -> the ct.gov axis whose wording the value is. Linear: one class each.
_DESIGN_TEXT = re.compile(r"^([A-Za-z. ]+): ([A-Za-z_ ,/()-]+)$")
_DESIGN_LABELS = {
    "Design Masking": "masking",
    "Design Who Masked": "who-masked",
    "Design Allocation": "allocation",
    "Design Intervention Model": "intervention-model",
    "Design Observational Model": "observational-model",
    "Design Time Perspective": "time-perspective",
    "Design Primary Purpose": "primary-purpose",
    "CT.gov StudyType": "study-type",
}
# relatedArtifact types that say where the record came from (FEvIR: "transforms" the ct.gov API record,
# "transformed-with" its converter), not a reference of the trial: https://hl7.org/fhir/R5/valueset-related-artifact-type.html
_PROVENANCE_ARTIFACTS = frozenset({"transforms", "transformed-with", "derived-from", "replaces", "replaced-with"})


def nct_system_alias(system: str | None) -> bool:
    """True if ``system`` names the ClinicalTrials.gov NCT id, however spelled."""
    return bool(system) and bool(_NCT_SYSTEM.match(str(system)))


def _canonical_identifier(ident: JSON) -> JSON:
    nct = terminology.system("nct")
    value = str(ident.get("value", "")).strip()
    if nct_system_alias(ident.get("system")) or (not ident.get("system") and _NCT_VALUE.match(value)):
        return {**ident, "system": nct}
    return ident


def _canonical_system(system: str) -> str:
    if nct_system_alias(system):
        return terminology.system("nct")
    m = _FEVIR_ENUM.match(system)
    if m and _CTGOV_ENUM_BASE + m.group(1) in terminology.all_systems():
        return _CTGOV_ENUM_BASE + m.group(1)
    return system


def canonical_systems(node: Any) -> Any:
    """A copy of ``node`` with every NCT or ct.gov enumeration system alias replaced by ours (and an identifier
    whose value is an NCT id but that has no system given the NCT system)."""
    if isinstance(node, list):
        return [canonical_systems(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: canonical_systems(v) for k, v in node.items()}
    if isinstance(out.get("system"), str):
        out["system"] = _canonical_system(out["system"])
    if isinstance(out.get("identifier"), list):
        out["identifier"] = [_canonical_identifier(i) if isinstance(i, dict) else i for i in out["identifier"]]
    return out


def is_ours(rs: JSON) -> bool:
    """True if fhir-adapter wrote the study: an extension or a code system of its own (or its spelling of the ct.gov
    enumeration systems) anywhere outside ``contained``."""

    def ours(node: Any) -> bool:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("url", "system") and isinstance(v, str) and v.startswith(_OURS):
                    return True
                if k != "contained" and ours(v):
                    return True
        elif isinstance(node, list):
            return any(ours(v) for v in node)
        return False

    return ours({k: v for k, v in rs.items() if k != "contained"})


def study_key(rs: JSON) -> str:
    """What a study is known by: its NCT id, else its official (else first) identifier's value, else
    ``ResearchStudy-<id>`` (the file stem ``pull`` writes it under)."""
    idents = [i for i in rs.get("identifier", []) if isinstance(i, dict) and i.get("value")]
    for i in idents:
        if nct_system_alias(i.get("system")) or _NCT_VALUE.match(str(i["value"])):
            return str(i["value"])
    official = [i for i in idents if i.get("use") == "official"] + idents
    if official:
        return str(official[0]["value"])
    return f"ResearchStudy-{rs.get('id') or 'unidentified'}"


# --------------------------------------------------------------------------------------------- before the mappers


def _location_view(target: JSON) -> JSON:
    """A Location-shaped view of an Organization used as a site (R5 ``site`` allows Organization)."""
    addresses = target.get("address") or [{}]
    return {"resourceType": "Location", "name": target.get("name"), "address": addresses[0]}


def _site_targets(ref: JSON, resolve: Resolver) -> list[tuple[JSON, str | None]]:
    """(Location-shaped resource, research-study-status code of a site study) of one ``site`` reference."""
    target = resolve(ref)
    if target is None:
        return []
    kind = target.get("resourceType")
    if kind == "Organization":
        return [(_location_view(target), None)]
    if kind != "ResearchStudy":
        return [(target, None)]
    # A site study (HL7's ct.gov example): its own sites are the places, its state the site's recruitment status.
    state = state_codes(target)
    out: list[tuple[JSON, str | None]] = []
    for inner in target.get("site", []):
        found = resolve(inner)
        if found is not None and found.get("resourceType") != "ResearchStudy":
            view = found if found.get("resourceType") == "Location" else _location_view(found)
            out.append((view, state[0] if state else None))
    return out


def _named(p: JSON, resolve: Resolver) -> JSON:
    """An associatedParty with the name of its Practitioner when it has none and the person's HumanName has no
    ``text`` (the mappers read ``text``): given names then family (https://hl7.org/fhir/R5/datatypes.html#HumanName)."""
    person = resolve(p.get("party")) if not p.get("name") else None
    names = (person or {}).get("name")
    if not isinstance(names, list) or not names or not isinstance(names[0], dict) or names[0].get("text"):
        return p
    words = [*names[0].get("given", []), names[0].get("family")]
    name = " ".join(str(w) for w in words if w)
    return {**p, "name": name} if name else p


def _party(p: JSON, has_lead: bool) -> JSON | None:
    """An associatedParty as the mappers read it; None for a plain ``sponsor`` beside a lead sponsor (the mappers
    have no place for it: reported as not read)."""
    if has_party_role(p, "sponsor"):
        return {**p, "role": party_role("lead-sponsor")} if not has_lead else None
    if has_party_role(p, "recruitment-contact") or has_party_role(p, "general-contact"):
        return {**p, "extension": [*p.get("extension", []), {"url": ext_url("central-contact"), "valueBoolean": True}]}
    role = p.get("role") or {}
    codes = [str(c.get("code")) for c in role.get("coding", []) if c.get("code")]
    tokens = [terminology.from_fhir("official-role", c) for c in codes]
    if role.get("text"):
        tokens.append(terminology.normalize("official-role", str(role["text"])))
    token = next((t for t in tokens if t), None)
    if token is None:
        return p
    extra = {"system": terminology.ctgov_system("official-role"), "code": token}
    return {**p, "role": {**role, "coding": [*role.get("coding", []), extra]}}


def _design(cc: JSON) -> JSON:
    """A studyDesign concept with the ct.gov coding its FEvIR text ("Design Allocation: Randomized") names."""
    m = _DESIGN_TEXT.match(str(cc.get("text") or ""))
    axis = _DESIGN_LABELS.get(m.group(1).strip()) if m else None
    token = terminology.normalize(axis, m.group(2)) if axis and m else None
    if token is None or axis is None:
        return cc
    return {**cc, "coding": [*cc.get("coding", []), {"system": terminology.ctgov_system(axis), "code": token}]}


def _related(a: JSON) -> JSON | None:
    """A relatedArtifact as the mappers read it: None for the record's provenance, a bare documentation link as a
    see-also link (the mappers' classifier text), else as it is."""
    if a.get("type") in _PROVENANCE_ARTIFACTS:
        return None
    if a.get("type") == "documentation" and not a.get("citation") and not a.get("classifier"):
        return {**a, "classifier": [{"text": "see-also-link"}], "label": a.get("label") or a.get("display")}
    return a


@dataclass(slots=True)
class Prepared:
    """A foreign study as the R5 mappers read it (``study``), the Location views its sites now point at by
    ``#key``, each site's research-study-status code (or None) in site order, and what was left aside."""

    study: JSON
    views: dict[str, JSON] = field(default_factory=dict)
    site_states: list[str | None] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _sites(rs: JSON, resolve: Resolver, out: Prepared) -> list[JSON]:
    sites: list[JSON] = []
    for i, ref in enumerate(rs.get("site", [])):
        targets = _site_targets(ref, resolve)
        if not targets and resolve(ref) is not None:  # an unresolved one: fhir.foreign_issues.unresolved
            out.issues.append(_warning(f"{_RS}.site[{i}]", f"site {ref.get('reference')!r} names no place"))
        for view, status in targets:
            key = f"{_SITE_PREFIX}{len(sites)}"
            out.views[key] = view
            sites.append({"reference": key})
            out.site_states.append(status)
    return sites


def _group_arm(g: JSON, resolve: Resolver) -> JSON:
    """A comparisonGroup as R5 writes it, from the R6 build's shape (FEvIR's current output: ``eligibility`` ->
    a Group whose ``useContext`` holds the ct.gov arm type and whose characteristics are the exposures)."""
    ref = g.get("eligibility") or {}
    group = resolve(ref) if not g.get("name") else None
    if group is None or group.get("resourceType") != "Group":
        return g
    kinds = [uc.get("valueCodeableConcept") for uc in group.get("useContext", []) if uc.get("valueCodeableConcept")]
    exposures = [c["valueReference"] for c in group.get("characteristic", []) if c.get("valueReference")]
    arm_type = next(
        (k for k in kinds if any(c.get("system") == terminology.ctgov_system("arm-type") for c in k.get("coding", []))),
        None,
    )
    return {
        **g,
        "name": ref.get("display") or group.get("description") or group.get("title") or "",
        "type": g.get("type") or arm_type,
        "description": g.get("description") or group.get("description"),
        "intendedExposure": g.get("intendedExposure") or exposures,
    }


def _outcome_type(cc: JSON) -> JSON:
    """An outcome type with the ct.gov coding its research-study-objective-type code (primary, secondary,
    exploratory) names, which the mappers read."""
    codes = [str(c.get("code")) for c in cc.get("coding", []) if c.get("system") in _OBJECTIVE_SYSTEMS]
    tokens = [t for t in (terminology.from_fhir("outcome-type", c) for c in codes) if t]
    if not tokens or any(c.get("system") == terminology.ctgov_system("outcome-type") for c in cc.get("coding", [])):
        return cc
    return {**cc, "coding": [*cc["coding"], {"system": terminology.ctgov_system("outcome-type"), "code": tokens[0]}]}


def _outcomes(rs: JSON) -> list[JSON]:
    """``outcomeMeasure``, or, in the R6 build's shape (FEvIR's current output), those of ``objective``, with their
    ``endpoint`` as the R5 ``reference``; each type with its ct.gov coding."""
    measures = list(rs.get("outcomeMeasure", []))
    if not measures and isinstance(rs.get("objective"), list):
        measures = [
            {**m, "reference": m.get("reference") or m.get("endpoint")}
            for o in rs["objective"]
            if isinstance(o, dict)
            for m in o.get("outcomeMeasure", [])
        ]
    return [{**m, "type": [_outcome_type(cc) for cc in m.get("type", [])]} if m.get("type") else m for m in measures]


def lifted_elements(rs: JSON) -> frozenset[str]:
    """The elements of another release's shape that :func:`prepared` reads into the R5 shape (``objective``)."""
    return (
        frozenset({"objective"})
        if not rs.get("outcomeMeasure") and rs.get("objective") and _outcomes(rs)
        else frozenset()
    )


def prepared(rs: JSON, resolve: Resolver) -> Prepared:
    """The study ``rs`` (R5-shaped) as the R5 mappers read it: sites as Locations, party roles and FEvIR design
    texts with their ct.gov codings, provenance artifacts left aside (each named in ``issues``)."""
    out = Prepared(rs)
    sites = _sites(rs, resolve, out)
    has_lead = any(has_party_role(p, "lead-sponsor") for p in rs.get("associatedParty", []))
    parties = [_party(_named(p, resolve), has_lead) for p in rs.get("associatedParty", [])]
    related = [_related(a) for a in rs.get("relatedArtifact", [])]
    out.issues += [
        _warning(f"{_RS}.associatedParty[{i}]", f"sponsor {p.get('name')!r} beside the lead sponsor is not read")
        for i, (p, kept) in enumerate(zip(rs.get("associatedParty", []), parties, strict=True))
        if kept is None
    ]
    out.issues += [
        _warning(f"{_RS}.relatedArtifact[{i}]", f"{a.get('type')} artifact (the record's provenance) not read")
        for i, (a, kept) in enumerate(zip(rs.get("relatedArtifact", []), related, strict=True))
        if kept is None
    ]
    out.study = {
        **rs,
        "site": sites,
        "associatedParty": [p for p in parties if p is not None],
        "studyDesign": [_design(cc) for cc in rs.get("studyDesign", [])],
        "relatedArtifact": [a for a in related if a is not None],
        "comparisonGroup": [_group_arm(g, resolve) for g in rs.get("comparisonGroup", [])],
        "outcomeMeasure": _outcomes(rs),
    }
    return out


def resolver_with(views: dict[str, JSON], resolve: Resolver) -> Resolver:
    """``resolve`` that also finds the Location views of :func:`prepared`."""

    def find(ref: JSON | None) -> JSON | None:
        target = (ref or {}).get("reference")
        if isinstance(target, str) and target in views:
            return views[target]
        return resolve(ref)

    return find


def reading(mapper: Callable[[JSON, Resolver], Trial], rs: JSON, resolve: Resolver) -> Trial:
    """``mapper(rs, resolve)`` of a foreign R5-shaped study: prepared, mapped, completed, with a warning for each
    part not understood (``fhir.foreign_issues.element_issues``)."""
    prep = prepared(rs, resolve)
    find = resolver_with(prep.views, resolve)
    t = mapper(prep.study, find)
    complete(t, prep.study, prep.site_states, find)
    t.issues += prep.issues + element_issues(prep.study, t)
    if t.nct_id is None:
        t.issues.append(
            Issue("information", f"{_RS}.identifier", f"no NCT id: the study is known as {study_key(rs)!r}")
        )
    return t
