"""Posted results and study documents in R4 (4.0.1), both ways, for the R4 conversion of the R5 output.

R4 ResearchStudy has no ``result`` and R4 has no EvidenceReport or R5-shaped Evidence
(https://hl7.org/fhir/R4/researchstudy.html, https://hl7.org/fhir/R4/resourcelist.html). So in R4:

- the results EvidenceReport becomes a DiagnosticReport (https://hl7.org/fhir/R4/diagnosticreport.html) under the
  same fullUrl and id, the one R4 resource among the targets R5 allows for ``ResearchStudy.result``
  (EvidenceReport | Citation | DiagnosticReport: HAPI's validator checks the cross-version extension's reference
  against exactly that): ``status`` final (``mappings/ctgov-results.json``), ``code`` the report's subject note as
  text, ``presentedForm`` the same verbatim JSON attachment (:func:`down_report`); the Evidence resources the R5
  report's sections reference are derived from that text and are not written in R4 (:func:`is_r5_only`);
- the study names it in HL7's cross-version extension for ``ResearchStudy.result``
  (``http://hl7.org/fhir/5.0/StructureDefinition/extension-ResearchStudy.result``, valueReference:
  :func:`result_extensions`), read back by :func:`results_of`;
- a document artifact's Attachment has ``size`` as R4 unsignedInt (a JSON number) instead of R5 integer64 (a JSON
  string): :func:`down_document` / :func:`lift_document`.

The way back needs no lift of the DiagnosticReport: ``fhir.r5.results.read_results`` reads the attachment of
either form.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, pruned
from fhir_adapter.fhir.r4.common import xver_all, xver_value
from fhir_adapter.fhir.r5.results import table

_RESULT = "ResearchStudy.result"
# The R5 resources the R4 output leaves out (derived from the verbatim text the DocumentReference keeps).
_R5_ONLY = frozenset({"Evidence"})


def r4_report_status() -> str:
    """The R4 DiagnosticReport status of posted results (``mappings/ctgov-results.json``)."""
    return str(table()["r4-report-status"]["code"])


def is_r5_only(resource: JSON) -> bool:
    """True for an R5 resource of the results that has no R4 form (left out of the R4 bundle)."""
    return resource.get("resourceType") in _R5_ONLY


def down_report(report: JSON) -> JSON:
    """The R4 DiagnosticReport of the results EvidenceReport (same id; the verbatim attachment kept as is)."""
    notes = (report.get("subject") or {}).get("note") or [{}]
    attachments = [a["document"] for a in report.get("relatedArtifact", []) if a.get("document")]
    return pruned(
        {
            "resourceType": "DiagnosticReport",
            "id": report.get("id"),
            "status": r4_report_status(),
            "code": {"text": notes[0].get("text") or "Results posted on ClinicalTrials.gov"},
            "presentedForm": attachments,
        }
    )


def down(resource: JSON) -> JSON | None:
    """The R4 form of a results resource: EvidenceReport -> DiagnosticReport, Evidence -> None (left out)."""
    if is_r5_only(resource):
        return None
    return down_report(resource) if resource.get("resourceType") == "EvidenceReport" else resource


def result_extensions(rs5: JSON) -> list[JSON]:
    """The cross-version extensions that carry R5 ``ResearchStudy.result`` on the R4 study (one per reference)."""
    out = [xver_value(_RESULT, valueReference=ref) for ref in rs5.get("result", [])]
    return [e for e in out if e is not None]


def results_of(rs4: JSON) -> list[JSON]:
    """R5 ``ResearchStudy.result`` from an R4 study's cross-version extensions (the way back)."""
    return [e["valueReference"] for e in xver_all(rs4, _RESULT) if e.get("valueReference")]


def down_document(document: JSON | None) -> JSON | None:
    """An R5 Attachment (``RelatedArtifact.document``) in R4: ``size`` integer64 (string) -> unsignedInt."""
    if not document or not isinstance(document.get("size"), str):
        return document
    size = document["size"]
    return dict(document, size=int(size)) if size.isdigit() else document


def lift_document(document: JSON | None) -> JSON | None:
    """An R4 Attachment back in R5: ``size`` unsignedInt -> integer64 (string)."""
    if not document or not isinstance(document.get("size"), int):
        return document
    return dict(document, size=str(document["size"]))
