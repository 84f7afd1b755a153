"""Posted results and study documents (issue 11 item 5): kept losslessly in R5 and R4, valid, wired by reference.

Trials are built by hand from the API v2 fixtures (``Trial.results`` / ``Trial.documents`` = the compact orjson text
of ``resultsSection`` / ``documentSection``, as the readers store them), so these tests do not depend on a reader.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhir_adapter.fhir.common import JSON, Context
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.fhir.r4 import results as r4_results
from fhir_adapter.fhir.r4.common import xver_all, xver_value
from fhir_adapter.fhir.r5 import results
from fhir_adapter.model import Trial
from fhir_adapter.validate import validate

V2 = Path(__file__).resolve().parent / "data" / "ctgov-v2"


def _studies() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(V2.glob("*.json")):
        data = orjson.loads(path.read_bytes())
        out += data.get("studies", [data]) if isinstance(data, dict) else data
    return out


def _trial(study: dict[str, Any]) -> Trial:
    t = Trial()
    t.nct_id = study["protocolSection"]["identificationModule"]["nctId"]
    if "resultsSection" in study:
        t.results = orjson.dumps(study["resultsSection"]).decode()
    if "documentSection" in study:
        t.documents = orjson.dumps(study["documentSection"]).decode()
    return t


WITH_RESULTS = [s for s in _studies() if "resultsSection" in s]
WITH_DOCUMENTS = [s for s in _studies() if "documentSection" in s]
WITH_EITHER = [s for s in _studies() if "resultsSection" in s or "documentSection" in s]


def _ids(studies: list[dict[str, Any]]) -> list[str]:
    return [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]


def _study_and_context(t: Trial) -> tuple[JSON, Context]:
    ctx = Context(t.nct_id or "")
    rs_id = resource_id(t.nct_id or "", "ResearchStudy", "")
    rs: JSON = {"resourceType": "ResearchStudy", "id": rs_id, "status": "active"}
    rs |= {"result": results.to_results(ctx, t), "relatedArtifact": results.document_artifacts(t)}
    return {k: v for k, v in rs.items() if v}, ctx


def _bundle(rs: JSON, resources: dict[str, JSON]) -> JSON:
    entries = [{"fullUrl": full_url(rs["id"]), "resource": rs}]
    entries += [{"fullUrl": url, "resource": r} for url, r in resources.items()]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _r4(rs: JSON, ctx: Context) -> tuple[JSON, dict[str, JSON]]:
    """The R4 study and resources as the R4 conversion writes them with the helpers of fhir.r4.results."""
    artifacts = [
        {
            "extension": [
                xver_value("RelatedArtifact.classifier", valueCodeableConcept=c) for c in a.get("classifier", [])
            ]
        }
        | {k: v for k, v in a.items() if k != "classifier"}
        | {"document": r4_results.down_document(a.get("document"))}
        for a in rs.get("relatedArtifact", [])
    ]
    rs4: JSON = {"resourceType": "ResearchStudy", "id": rs["id"], "status": "completed"}
    rs4 |= {"extension": r4_results.result_extensions(rs), "relatedArtifact": artifacts}
    resources = {url: down for url, r in ctx.resources.items() if (down := r4_results.down(r)) is not None}
    return {k: v for k, v in rs4.items() if v}, resources


def _read(rs: JSON, resources: dict[str, JSON]) -> Trial:
    back = Trial()
    results.read_results(rs, lambda ref: resources.get((ref or {}).get("reference", "")), back)
    return back


def test_fixtures_have_results_and_documents() -> None:
    assert len(WITH_RESULTS) >= 4 and len(WITH_DOCUMENTS) >= 2


@pytest.mark.parametrize("study", WITH_EITHER, ids=_ids(WITH_EITHER))
def test_round_trip_is_exact_r5(study: dict[str, Any]) -> None:
    t = _trial(study)
    rs, ctx = _study_and_context(t)
    back = _read(rs, ctx.resources)
    assert back.results == t.results
    assert back.documents == t.documents


@pytest.mark.parametrize("study", WITH_EITHER, ids=_ids(WITH_EITHER))
def test_round_trip_is_exact_r4(study: dict[str, Any]) -> None:
    t = _trial(study)
    rs, ctx = _study_and_context(t)
    rs4, resources4 = _r4(rs, ctx)
    lifted = dict(rs4, result=r4_results.results_of(rs4))
    lifted["relatedArtifact"] = [
        {"type": a["type"], "document": r4_results.lift_document(a.get("document"))}
        | {"classifier": [e["valueCodeableConcept"] for e in xver_all(a, "RelatedArtifact.classifier")]}
        for a in rs4.get("relatedArtifact", [])
    ]
    back = _read(lifted, resources4)
    assert back.results == t.results
    assert back.documents == t.documents


@pytest.mark.parametrize("study", WITH_RESULTS, ids=_ids(WITH_RESULTS))
def test_results_are_one_attachment_referenced_from_the_study(study: dict[str, Any]) -> None:
    t = _trial(study)
    rs, ctx = _study_and_context(t)
    assert len(rs["result"]) == 1
    report = ctx.resources[rs["result"][0]["reference"]]
    assert report["resourceType"] == "EvidenceReport"
    datas = [a["document"]["data"] for a in report["relatedArtifact"] if "data" in a.get("document", {})]
    assert len(datas) == 1  # the verbatim text once, nowhere else
    assert base64.b64decode(datas[0]).decode() == t.results
    assert orjson.dumps(ctx.resources).count(datas[0].encode()) == 1


def test_no_results_no_report() -> None:
    t = Trial()
    t.nct_id = "NCT00000001"
    ctx = Context("NCT00000001")
    assert results.to_results(ctx, t) == [] and ctx.resources == {}
    assert results.document_artifacts(t) == []
    back = _read({"resourceType": "ResearchStudy"}, {})
    assert back.results is None and back.documents is None


def test_document_artifact_points_at_ctgov() -> None:
    t = _trial(next(s for s in WITH_DOCUMENTS if _ids([s]) == ["NCT02513394"]))
    artifacts = results.document_artifacts(t)
    assert artifacts == [
        {
            "type": "documentation",
            "classifier": [{"text": "Prot_SAP"}],
            "document": {
                "extension": [
                    {
                        "url": "https://fhir-adapter.dev/StructureDefinition/document-upload-date",
                        "valueString": "2021-11-10T11:05",
                    }
                ],
                "contentType": "application/pdf",
                "url": "https://cdn.clinicaltrials.gov/large-docs/94/NCT02513394/Prot_SAP_000.pdf",
                "size": "2719041",
                "title": "Study Protocol and Statistical Analysis Plan",
                "creation": "2020-12-23",
            },
        }
    ]
    assert all(results.is_document_artifact(a) for a in artifacts)
    assert not results.is_document_artifact({"type": "documentation", "document": {"url": "https://example.org/x"}})


@pytest.mark.parametrize(
    "section",
    [
        {"largeDocumentModule": {"noSap": True}},
        {"largeDocumentModule": {"largeDocs": [{"typeAbbrev": "Prot", "hasProtocol": False, "filename": "a b.pdf"}]}},
        {"largeDocumentModule": {"largeDocs": [{"label": "x", "date": "Dec 2020", "extra": 1}]}},
    ],
)
def test_documents_the_elements_cannot_say_are_kept_verbatim(section: JSON) -> None:
    t = Trial()
    t.nct_id = "NCT00000042"
    t.documents = orjson.dumps(section).decode()
    rs, ctx = _study_and_context(t)
    assert _read(rs, ctx.resources).documents == t.documents


@pytest.mark.parametrize("study", WITH_EITHER, ids=_ids(WITH_EITHER))
def test_own_validators_accept_r5_and_r4(study: dict[str, Any]) -> None:
    rs, ctx = _study_and_context(_trial(study))
    assert not [str(i) for i in validate(_bundle(rs, ctx.resources), "R5") if i.is_error]
    rs4, resources4 = _r4(rs, ctx)
    assert not [str(i) for i in validate(_bundle(rs4, resources4), "R4") if i.is_error]


@pytest.mark.hapi
def test_hapi_finds_no_errors_r5_and_r4() -> None:
    from fhir_adapter.validate.hapi import hapi_validate

    bundles5, bundles4 = [], []
    for study in WITH_EITHER:
        rs, ctx = _study_and_context(_trial(study))
        bundles5.append(_bundle(rs, ctx.resources))
        bundles4.append(_bundle(*_r4(rs, ctx)))
    for release, bundles in (("R5", bundles5), ("R4", bundles4)):
        for issues in hapi_validate(bundles, release):
            assert not [f"{i.location}: {i.message}" for i in issues if i.severity in ("error", "fatal")]


def _outcome_trial(study: dict[str, Any]) -> tuple[Trial, Context]:
    """A trial whose first outcome has the title of the first posted outcome result, its EvidenceVariable in ctx."""
    from fhir_adapter.fhir.r5.evidence_variable import to_outcome
    from fhir_adapter.model import Outcome

    t = _trial(study)
    title = study["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]["title"]
    t.outcomes = [Outcome(measure=title, type="PRIMARY")]
    ctx = Context(t.nct_id or "")
    to_outcome(ctx, 0, t.outcomes[0])
    return t, ctx


@pytest.mark.parametrize("study", WITH_RESULTS, ids=_ids(WITH_RESULTS))
def test_report_sections_reference_one_evidence_per_measure(study: dict[str, Any]) -> None:
    t, ctx = _outcome_trial(study)
    (ref,) = results.to_results(ctx, t)
    report = ctx.resources[ref["reference"]]
    titles = [s["title"] for s in report["section"]]
    assert titles == ["Participant flow", "Baseline characteristics", "Outcome measures", "Adverse events"]
    section = study["resultsSection"]
    counts = {
        "Baseline characteristics": len(section["baselineCharacteristicsModule"]["measures"]),
        "Outcome measures": len(section["outcomeMeasuresModule"]["outcomeMeasures"]),
    }
    for s in report["section"]:
        assert len(s["entryReference"]) == counts.get(s["title"], 1)
        assert all(ctx.resources[r["reference"]]["resourceType"] == "Evidence" for r in s["entryReference"])
    first = ctx.resources[report["section"][2]["entryReference"][0]["reference"]]
    observed = [v["observed"] for v in first["variableDefinition"] if "observed" in v]
    assert observed == [ctx.ref("EvidenceVariable", "outcome-0")]
    # deterministic: the same ids and content on a second run
    t2, ctx2 = _outcome_trial(study)
    results.to_results(ctx2, t2)
    assert orjson.dumps(ctx2.resources) == orjson.dumps(ctx.resources)


def test_statistics_of_a_measure() -> None:
    from fhir_adapter.fhir.r5.results_evidence import measure_evidence

    measure = {
        "title": "Age",
        "paramType": "MEAN",
        "dispersionType": "95% Confidence Interval",
        "unitOfMeasure": "years",
        "denoms": [{"units": "Participants", "counts": [{"groupId": "OG000", "value": "12"}]}],
        "groups": [{"id": "OG000", "title": "Arm A"}],
        "classes": [
            {
                "categories": [
                    {
                        "title": "Female",
                        "measurements": [
                            {"groupId": "OG000", "value": "40.5", "lowerLimit": "38", "upperLimit": "43.1"},
                            {"groupId": "OG001", "value": "NA", "comment": "not analysed"},
                        ],
                    }
                ]
            }
        ],
    }
    ev = measure_evidence(results.table(), measure, {}, None)
    first, second = ev["statistic"]
    assert first["description"] == "Arm A — Female" and first["category"] == {"text": "Female"}
    assert first["statisticType"]["coding"][0]["code"] == "C53319"
    assert first["quantity"] == {"value": 40.5, "unit": "years"}
    assert first["sampleSize"] == {"numberOfParticipants": 12}
    (ci,) = first["attributeEstimate"]
    assert ci["type"]["coding"][0]["code"] == "C53324" and ci["level"] == 0.95
    assert ci["range"] == {"low": {"value": 38, "unit": "years"}, "high": {"value": 43.1, "unit": "years"}}
    assert second["quantity"] is None and second["attributeEstimate"] == []
    assert [n["text"] for n in second["note"]] == ["Value as posted: NA", "not analysed"]


@pytest.mark.parametrize("study", WITH_RESULTS, ids=_ids(WITH_RESULTS))
def test_r4_leaves_the_evidence_out_and_keeps_no_dangling_reference(study: dict[str, Any]) -> None:
    rs, ctx = _study_and_context(_trial(study))
    rs4, resources4 = _r4(rs, ctx)
    kinds = {r["resourceType"] for r in resources4.values()}
    assert kinds == {"DiagnosticReport"}
    refs = [e["valueReference"]["reference"] for e in rs4["extension"]]
    assert refs == [r["reference"] for r in rs["result"]] and all(r in resources4 for r in refs)


def test_an_analysis_is_a_statistic() -> None:
    from fhir_adapter.fhir.r5.results_evidence import measure_evidence

    analysis = {
        "groupIds": ["OG000", "OG001"],
        "pValue": "<0.001",
        "statisticalMethod": "Regression, Logistic",
        "paramType": "Odds Ratio (OR)",
        "paramValue": "15.231",
        "ciPctValue": "95",
        "ciNumSides": "TWO_SIDED",
        "ciLowerLimit": "7.336",
        "ciUpperLimit": "31.623",
    }
    measure = {"title": "x", "groups": [{"id": "OG000", "title": "A"}, {"id": "OG001", "title": "B"}]}
    (stat,) = measure_evidence(results.table(), measure | {"analyses": [analysis]}, {}, None)["statistic"]
    assert stat["description"] == "A vs B — Odds Ratio (OR) (Regression, Logistic)"
    assert stat["statisticType"]["coding"][0]["code"] == "C16932" and stat["quantity"] == {"value": 15.231}
    ci, p = stat["attributeEstimate"]
    assert ci["level"] == 0.95 and ci["range"] == {"low": {"value": 7.336}, "high": {"value": 31.623}}
    assert p["type"]["coding"][0]["code"] == "C44185" and p["quantity"] == {"value": 0.001, "comparator": "<"}


@pytest.mark.parametrize("study", WITH_RESULTS[:1], ids=_ids(WITH_RESULTS[:1]))
def test_r4_bundle_has_no_r5_only_resources(study: dict[str, Any]) -> None:
    from fhir_adapter.bundle import to_bundle

    t = _trial(study)
    kinds = {e["resource"]["resourceType"] for e in to_bundle(t, "R4")["entry"]}
    assert not kinds & {"EvidenceReport", "Evidence"}
    if t.results is not None:
        assert "DiagnosticReport" in kinds
