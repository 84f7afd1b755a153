"""What a read of a foreign ResearchStudy did not understand, as ``Trial.issues`` warnings with a FHIRPath location
(https://hl7.org/fhir/R5/fhirpath.html), so that a partial read is never silent (docs/architecture.md, "Reading
FHIR").

Reported: each top-level element no mapper reads, each top-level extension that is neither fhir-adapter's nor an
R5-element extension the R4 reader lifts, and, element by element, what was there but yielded nothing (a phase in a
code system without a ct.gov equivalent, a status code that is not a state, a design concept in text only).
``fhir.foreign.prepared`` adds what it leaves aside (a site that does not resolve, a sponsor beside the lead
sponsor, a provenance artifact). ``empty`` tells a study that yielded nothing at all.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, Resolver
from fhir_adapter.fhir.r4.common import OFFICIAL_XVER_BASE, XVER_BASE
from fhir_adapter.issues import Issue
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease

_RS = "ResearchStudy"
# Resource bookkeeping, never data about the trial: not reported. ``text`` is the narrative, which readers ignore
# by contract (issue 11: round trips stay exact); R5 ``status`` is the record's publication status.
_BOOKKEEPING = frozenset({"resourceType", "id", "meta", "text", "language", "implicitRules", "contained", "extension"})
# Top-level elements the mappers (and fhir.foreign) read, per release: fhir.r5.research_study.from_research_study,
# fhir.r4.research_study.lift. ``region`` (R4 ``location``) is derived from the sites' countries on the way out.
_READ = {
    FhirRelease.R5: frozenset(
        [
            "identifier",
            "title",
            "label",
            "status",
            "progressStatus",
            "whyStopped",
            "phase",
            "studyDesign",
            "primaryPurposeType",
            "focus",
            "condition",
            "keyword",
            "region",
            "descriptionSummary",
            "description",
            "period",
            "associatedParty",
            "site",
            "recruitment",
            "comparisonGroup",
            "outcomeMeasure",
            "protocol",
            "relatedArtifact",
            "note",
            "classifier",
        ]
    ),
    FhirRelease.R4: frozenset(
        [
            "identifier",
            "title",
            "status",
            "phase",
            "category",
            "primaryPurposeType",
            "focus",
            "condition",
            "keyword",
            "location",
            "description",
            "period",
            "sponsor",
            "principalInvestigator",
            "contact",
            "site",
            "reasonStopped",
            "enrollment",
            "arm",
            "objective",
            "protocol",
            "relatedArtifact",
            "note",
        ]
    ),
}
_DESIGN_AXES = ("study-type", "allocation", "intervention-model", "observational-model", "time-perspective", "masking")


def warning(location: str, message: str) -> Issue:
    return Issue("warning", location, message, code="not-supported")


def unread_elements(rs: JSON, release: FhirRelease, also: frozenset[str] = frozenset()) -> list[Issue]:
    """A warning for each top-level element and extension of ``rs`` (as written, before any lift) not read (``also``:
    elements read beyond the release's own, e.g. the R6 build's ``objective``)."""
    out = [
        warning(f"{_RS}.{name}", f"element {name} ({release}) is not read by fhir-adapter; its content is not kept")
        for name in rs
        if name not in _BOOKKEEPING and name not in _READ[release] and name not in also
    ]
    ours = terminology.system("fhir-adapter-ext")
    for ext in rs.get("extension", []):
        url = str(ext.get("url", ""))
        if not url.startswith((ours, XVER_BASE, OFFICIAL_XVER_BASE)):
            out.append(warning(f"{_RS}.extension('{url}')", "extension not read; its content is not kept"))
    return out


def _codes(cc: JSON | None) -> str:
    codings = (cc or {}).get("coding", [])
    found = [f"{c.get('system', '')}|{c.get('code', '')}" for c in codings]
    if (cc or {}).get("text"):
        found.append(repr(cc["text"]))  # type: ignore[index]
    return ", ".join(found) or "nothing"


def _design_issues(rs: JSON) -> list[Issue]:
    systems = {terminology.ctgov_system(a) for a in (*_DESIGN_AXES, "who-masked")}
    return [
        warning(f"{_RS}.studyDesign[{i}]", f"design concept not understood (no ct.gov design coding): {_codes(cc)}")
        for i, cc in enumerate(rs.get("studyDesign", []))
        if not any(c.get("system") in systems for c in cc.get("coding", []))
    ]


def element_issues(rs: JSON, t: Trial) -> list[Issue]:
    """Warnings for elements of the R5-shaped study ``rs`` that were there but yielded nothing in ``t``."""
    out: list[Issue] = []
    if rs.get("phase") and not t.phases:
        out.append(warning(f"{_RS}.phase", f"phase not understood: {_codes(rs['phase'])}"))
    if rs.get("progressStatus") and t.overall_status is None:
        states = "; ".join(_codes(p.get("state")) for p in rs["progressStatus"])
        out.append(warning(f"{_RS}.progressStatus", f"no overall status understood among: {states}"))
    out += _design_issues(rs)
    for i, cc in enumerate(rs.get("condition", [])):
        mesh = any("mesh" in str(c.get("system", "")).lower() for c in cc.get("coding", []))
        if cc.get("coding") and not cc.get("text") and not mesh:
            out.append(warning(f"{_RS}.condition[{i}]", f"coded condition without text not read: {_codes(cc)}"))
    return out


def unresolved(rs: JSON, resolve: Resolver) -> list[Issue]:
    """A warning for each literal reference of ``rs`` (outside ``contained``) that names nothing in the bundle: what
    it points at is not read (HL7's ct.gov example points its eligibility at a FEvIR server, for one)."""
    out: list[Issue] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        elif isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref and resolve(node) is None:
                out.append(warning(path, f"reference {ref!r} is not in the bundle; what it names is not read"))
            for k, v in node.items():
                if k != "contained" and not isinstance(v, str):
                    walk(v, f"{path}.{k}")

    walk({k: v for k, v in rs.items() if k != "contained"}, _RS)
    return out


def empty(t: Trial) -> bool:
    """True if the read yielded no field at all (issues and source aside)."""
    return t == Trial()
