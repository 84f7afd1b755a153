"""Posted results (API v2 ``resultsSection``) and study documents (``documentSection``) in R5, both ways.

Results: one EvidenceReport (https://hl7.org/fhir/R5/evidencereport.html) referenced from
``ResearchStudy.result`` (https://hl7.org/fhir/R5/researchstudy-definitions.html#ResearchStudy.result). It keeps the
section losslessly: the verbatim compact JSON text of ``Trial.results`` as one attachment (``relatedArtifact``
``derived-from``, ``document.data`` base64, ``contentType`` application/json), read back byte for byte by
:func:`read_results`. Nothing else carries the text, so it is written once. Its ``section``s reference the Evidence
resources the results are mapped to (:mod:`.results_evidence`: participant flow, baseline and outcome measures,
adverse events), derived one way from the same text.

Documents: each ``largeDocumentModule.largeDocs`` entry is a ``documentation`` RelatedArtifact of the study
(https://hl7.org/fhir/R5/metadatatypes.html#RelatedArtifact) whose Attachment points at ct.gov's document URL
(``mappings/ctgov-results.json``): label as ``title``, document date as ``creation``, size, the upload time (no FHIR
dateTime: ct.gov gives it without seconds or zone) in the ``document-upload-date`` extension, ``typeAbbrev`` as
``classifier`` text. When those elements do not rebuild the section exactly (a field fhir-adapter does not know,
another key order), the section is also kept verbatim as a JSON attachment: never a silent loss.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

import orjson

from fhir_adapter.fhir.common import JSON, Context, Resolver, extension, get_extension
from fhir_adapter.fhir.r5.results_evidence import sections
from fhir_adapter.model import Trial
from fhir_adapter.terminology import mappings_dir

_TABLE = "ctgov-results.json"
_JSON = "application/json"
# Titles of the verbatim attachments: how the reader tells them from other attachments.
RESULTS_TITLE = "ClinicalTrials.gov resultsSection (API v2), verbatim"
DOCUMENTS_TITLE = "ClinicalTrials.gov documentSection (API v2), verbatim"
_UPLOAD = "document-upload-date"
# The keys of a largeDocs entry, in ct.gov's order, that the artifact elements rebuild.
# A FHIR date (https://hl7.org/fhir/R5/datatypes.html#date), the only form of ``date`` written as ``creation``.
_FHIR_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_DOC_KEYS = ("typeAbbrev", "hasProtocol", "hasSap", "hasIcf", "label", "date", "uploadDate", "filename", "size")


@cache
def table() -> dict[str, Any]:
    """``mappings/ctgov-results.json``: the codes and the document URL pattern, each with its source."""
    data: dict[str, Any] = orjson.loads((mappings_dir() / _TABLE).read_bytes())
    return data


def _coded(key: str) -> JSON:
    row = table()[key]
    return {"coding": [{"system": row["system"], "code": row["code"], "display": row["display"]}]}


def _artifact_type(kind: str) -> str:
    return str(table()["related-artifact-type"][kind])


def verbatim_attachment(text: str, title: str) -> JSON:
    """An Attachment holding ``text`` (compact JSON) verbatim: base64 ``data``, ``contentType`` application/json."""
    return {"contentType": _JSON, "data": base64.b64encode(text.encode("utf-8")).decode("ascii"), "title": title}


def verbatim_text(attachment: JSON | None, title: str) -> str | None:
    """The text of a :func:`verbatim_attachment` with ``title`` (None if ``attachment`` is another one)."""
    if not attachment or attachment.get("title") != title or attachment.get("contentType") != _JSON:
        return None
    try:
        return base64.b64decode(str(attachment.get("data", "")), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------------------------------------------- results


def to_results(ctx: Context, t: Trial) -> list[JSON]:
    """The references for ``ResearchStudy.result``: the EvidenceReport of the posted results, added to ``ctx`` with
    the Evidence resources of its sections (none when the record has no results section). Call it after the
    outcome EvidenceVariables are in ``ctx``: an outcome result then observes its outcome."""
    if t.results is None:
        return []
    section = orjson.loads(t.results)
    report: JSON = {
        "status": "active",
        "type": _coded("evidence-report-type"),
        "subject": {"note": [{"text": f"Results posted on ClinicalTrials.gov for {ctx.nct_id}"}]},
        "relatedArtifact": [
            {"type": _artifact_type("verbatim"), "document": verbatim_attachment(t.results, RESULTS_TITLE)}
        ],
        "section": sections(ctx, table(), section, _outcome_variables(ctx, t)) if isinstance(section, dict) else None,
    }
    return [ctx.add("EvidenceReport", "results", report)]


def _outcome_variables(ctx: Context, t: Trial) -> dict[str, JSON]:
    """The study's outcome EvidenceVariables already in ``ctx``, by title (``evidence_variable.to_outcome``'s keys)."""
    out: dict[str, JSON] = {}
    for i, o in enumerate(t.outcomes):
        ref = ctx.ref("EvidenceVariable", f"outcome-{i}")
        if o.measure and ref["reference"] in ctx.resources:
            out.setdefault(o.measure, ref)
    return out


def results_text(resource: JSON | None) -> str | None:
    """The verbatim results section an EvidenceReport (R5) or its R4 DiagnosticReport carries, if any."""
    if not resource:
        return None
    attachments = [a.get("document") for a in resource.get("relatedArtifact", [])]
    attachments += resource.get("presentedForm", [])  # the R4 DiagnosticReport (fhir.r4.results)
    return next((text for a in attachments if (text := verbatim_text(a, RESULTS_TITLE)) is not None), None)


def read_results(rs: JSON, resolve: Resolver, t: Trial) -> None:
    """Set ``t.results`` and ``t.documents`` back from a ResearchStudy (the way back of :func:`to_results` and
    :func:`document_artifacts`): the exact text they were written from."""
    for ref in rs.get("result", []):
        text = results_text(resolve(ref))
        if text is not None:
            t.results = text
            break
    t.documents = documents_of(rs.get("relatedArtifact", []))


# -------------------------------------------------------------------------------------------------- documents


def _document_url(nct_id: str, filename: str) -> str:
    pattern = str(table()["large-document-url"]["pattern"])
    return pattern.format(last2=nct_id[-2:], nct=nct_id, filename=quote(filename, safe=""))


def _url_base(nct_id: str) -> str:
    return _document_url(nct_id, "")


def _content_type(filename: str) -> str | None:
    types: dict[str, str] = {k: v for k, v in table()["large-document-content-types"].items() if k != "source"}
    return types.get(filename.rsplit(".", 1)[-1].lower()) if "." in filename else None


def _artifact(nct_id: str, doc: JSON) -> JSON:
    filename = str(doc.get("filename", ""))
    size = doc.get("size")
    document = {
        "extension": [extension(_UPLOAD, valueString=doc["uploadDate"])] if "uploadDate" in doc else None,
        "contentType": _content_type(filename),
        "url": _document_url(nct_id, filename),
        "size": str(size) if isinstance(size, int) else None,
        "title": doc.get("label"),
        "creation": doc["date"] if _FHIR_DATE.fullmatch(str(doc.get("date"))) else None,
    }
    return {
        "type": _artifact_type("document"),
        "classifier": [{"text": doc["typeAbbrev"]}] if doc.get("typeAbbrev") else None,
        "document": {k: v for k, v in document.items() if v is not None},
    }


def _parts(type_abbrev: str | None) -> dict[str, bool]:
    """hasProtocol / hasSap / hasIcf as ``typeAbbrev`` names them (the rule is checked per record)."""
    parts = set((type_abbrev or "").split("_"))
    return {key: abbrev in parts for key, abbrev in table()["document-parts"].items() if key != "source"}


def _doc_of(nct_id: str, artifact: JSON) -> JSON:
    """The largeDocs entry an artifact of :func:`_artifact` was written from."""
    document: JSON = artifact.get("document") or {}
    classifiers = artifact.get("classifier") or [{}]
    type_abbrev = classifiers[0].get("text")
    upload = get_extension(document, _UPLOAD)
    url = str(document.get("url", ""))
    size = document.get("size")
    values: JSON = {
        "typeAbbrev": type_abbrev,
        **(_parts(type_abbrev) if type_abbrev else {}),
        "label": document.get("title"),
        "date": document.get("creation"),
        "uploadDate": upload.get("valueString") if upload else None,
        "filename": unquote(url[len(_url_base(nct_id)) :]) if url.startswith(_url_base(nct_id)) else None,
        "size": int(size) if size is not None else None,
    }
    return {k: values[k] for k in _DOC_KEYS if values.get(k) is not None}


def _rebuilt(nct_id: str, artifacts: list[JSON]) -> str:
    docs = [_doc_of(nct_id, a) for a in artifacts]
    return orjson.dumps({"largeDocumentModule": {"largeDocs": docs}}).decode("utf-8")


def document_artifacts(t: Trial) -> list[JSON]:
    """``ResearchStudy.relatedArtifact`` entries for the study documents: one ``documentation`` artifact per large
    document, plus the section verbatim when those do not rebuild it exactly."""
    if t.documents is None:
        return []
    section = orjson.loads(t.documents)
    docs = (section.get("largeDocumentModule") or {}).get("largeDocs") or [] if isinstance(section, dict) else []
    artifacts = [_artifact(t.nct_id, d) for d in docs if isinstance(d, dict)] if t.nct_id else []
    if not t.nct_id or _rebuilt(t.nct_id, artifacts) != t.documents:
        artifacts.append(
            {"type": _artifact_type("document"), "document": verbatim_attachment(t.documents, DOCUMENTS_TITLE)}
        )
    return artifacts


def is_document_artifact(artifact: JSON) -> bool:
    """True for a RelatedArtifact of :func:`document_artifacts` (the ResearchStudy reader skips these)."""
    document: JSON = artifact.get("document") or {}
    url = str(document.get("url", ""))
    base = str(table()["large-document-url"]["pattern"]).split("{", 1)[0]
    return url.startswith(base) or verbatim_text(document, DOCUMENTS_TITLE) is not None


def documents_of(artifacts: list[JSON]) -> str | None:
    """The ``Trial.documents`` text the study's RelatedArtifacts carry (None if they carry none)."""
    ours = [a for a in artifacts if is_document_artifact(a)]
    if not ours:
        return None
    for a in ours:
        text = verbatim_text(a.get("document"), DOCUMENTS_TITLE)
        if text is not None:
            return text
    url = str((ours[0].get("document") or {}).get("url", ""))
    nct_id = url.split("/")[-2] if url.count("/") >= 2 else ""
    return _rebuilt(nct_id, ours)
