"""fhir-adapter's published definitions (issue 11 item 1): mappings/definitions/ is what tools/build_definitions.py
builds, every resource is valid FHIR, every extension URL and every code system of ours or ClinicalTrials.gov's in the
golden bundles is published, ``fhir-adapter definitions`` writes them and ``push`` sends the ones a bundle uses."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
import responses
from fhir.resources import get_fhir_model_class
from fhir.resources.R4B import get_fhir_model_class as r4b_model_class
from typer.testing import CliRunner

from conftest import GOLDEN, REPO
from fhir_adapter import definitions as published
from fhir_adapter.cli import app
from fhir_adapter.sinks.server import FhirClient, PushResult, TrialBundle, push_bundles
from fhir_adapter.terminology import enum_values, system

BASE = "http://fhir.test/fhir"
R5_BUNDLES = sorted([*GOLDEN.glob("*.bundle.json"), *(GOLDEN / "legacy").glob("*.bundle.json")])
R4_BUNDLES = sorted((GOLDEN / "r4").glob("*.bundle.json"))
# Code systems of others that we use and do not publish: HL7's own (core and terminology.hl7.org) and the external
# terminologies (HL7 Terminology lists their URIs: https://terminology.hl7.org/external_terminologies.html).
EXTERNAL = (
    "http://hl7.org/fhir/",
    "http://terminology.hl7.org/",
    "http://loinc.org",
    "http://snomed.info/sct",
    "http://unitsofmeasure.org",
    "http://www.nlm.nih.gov/research/umls/",
    "https://www.nlm.nih.gov/mesh",
    "http://www.whocc.no/atc",
    "urn:iso:std:iso:3166",
    "https://pubmed.ncbi.nlm.nih.gov",
)


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_definitions", REPO / "tools" / "build_definitions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ours(url: str) -> bool:
    """An extension URL or code system that is neither HL7's nor an external terminology's."""
    return not url.startswith(EXTERNAL)


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_files_are_what_the_generator_builds(release: str) -> None:
    builder = _builder()
    built = {name: builder.text_of(r) for name, r in builder.build(release).items()}
    folder = REPO / "mappings" / "definitions" / release
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.json")}
    assert on_disk == built, "run .venv/bin/python tools/build_definitions.py"


def test_definitions_are_valid_fhir() -> None:
    for resource in published.definitions("R5"):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert resource.get("fhirVersion", "5.0.0") == "5.0.0"
    for resource in published.definitions("R4"):  # R4B's models: the conformance resources are R4's
        r4b_model_class(resource["resourceType"]).model_validate(resource)
        assert resource.get("fhirVersion", "4.0.1") == "4.0.1"


def test_ctgov_code_systems_are_the_whole_enums() -> None:
    by_url = {r["url"]: r for r in published.definitions("R5") if r["resourceType"] == "CodeSystem"}
    contact = by_url[system("ctgov-contact-role")]
    assert contact["content"] == "complete"
    assert [c["code"] for c in contact["concept"]] == list(enum_values("contact-role"))
    assert {"code": "PRINCIPAL_INVESTIGATOR", "display": "Principal Investigator"} in contact["concept"]
    assert by_url[system("ctgov-legacy-study-type")]["content"] == "fragment"
    milestone = by_url[system("ctgov-milestone")]
    assert {c["code"] for c in milestone["concept"]} >= {"start", "completion", "status-verified"}


def test_extension_definitions_have_context_and_type() -> None:
    by_url = {r["url"]: r for r in published.definitions("R5") if r["resourceType"] == "StructureDefinition"}
    has_results = by_url["https://fhir-adapter.dev/StructureDefinition/has-results"]
    assert has_results["context"] == [{"type": "element", "expression": "ResearchStudy"}]
    value = next(e for e in has_results["differential"]["element"] if e["id"] == "Extension.value[x]")
    assert value["type"] == [{"code": "boolean"}]
    r4 = {r["url"]: r for r in published.definitions("R4") if r["resourceType"] == "StructureDefinition"}
    category = r4["https://fhir-adapter.dev/StructureDefinition/r5-EvidenceVariable.category"]
    slices = [e["sliceName"] for e in category["differential"]["element"] if "sliceName" in e]
    assert slices == ["name", "value"]
    assert "https://fhir-adapter.dev/StructureDefinition/r5-EvidenceVariable.category" not in by_url  # R4 only


@pytest.mark.parametrize(("release", "bundles"), [("R5", R5_BUNDLES), ("R4", R4_BUNDLES)])
def test_every_url_the_goldens_use_is_published(release: str, bundles: list[Path]) -> None:
    assert bundles
    used: dict[str, str] = {}
    for path in bundles:
        for url in published.used_urls(orjson.loads(path.read_bytes())):
            used.setdefault(url, path.name)
    missing = {
        url: where for url, where in used.items() if _ours(url) and url not in published.definition_urls(release)
    }
    assert missing == {}, "add a row to mappings/extensions.json and run tools/build_definitions.py"


def test_definitions_used_brings_bound_value_sets_and_their_code_systems() -> None:
    study = {
        "resourceType": "Location",
        "extension": [
            {
                "url": "https://fhir-adapter.dev/StructureDefinition/site-recruitment-status",
                "valueCodeableConcept": {"coding": [{"system": system("ctgov-recruitment-status"), "code": "X"}]},
            }
        ],
    }
    used = [(r["resourceType"], r["url"]) for r in published.definitions_used([study], "R5")]
    assert used == [
        ("CodeSystem", system("ctgov-recruitment-status")),
        ("ValueSet", "https://fhir-adapter.dev/ValueSet/ctgov-recruitment-status"),
        ("StructureDefinition", "https://fhir-adapter.dev/StructureDefinition/site-recruitment-status"),
    ]
    assert published.definitions_used([{"resourceType": "Basic"}], "R4") == []


def test_cli_writes_every_definition(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["definitions", "-o", str(tmp_path), "--fhir-version", "R4"])
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == len(published.definitions("R4"))
    sd = json.loads((tmp_path / "StructureDefinition-criterion-atom.json").read_text())
    assert sd["fhirVersion"] == "4.0.1"


def _bundle(nct: str) -> TrialBundle:
    path = next(p for p in R5_BUNDLES if nct in p.name)
    return TrialBundle(nct, str(path), orjson.loads(path.read_bytes())["entry"])


def _reply(n: int) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": [{"response": {"status": "201"}}] * n}


@responses.activate
def test_push_sends_the_definitions_a_chunk_uses_once_before_it() -> None:
    responses.get(f"{BASE}/metadata", json={"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"})
    trials = [_bundle("NCT02210780"), _bundle("NCT02552212")]
    posted: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        body = orjson.loads(request.body)
        posted.append(body)
        return 200, {}, orjson.dumps(_reply(len(body["entry"]))).decode()

    responses.add_callback(responses.POST, BASE, callback=answer)
    with FhirClient(BASE) as client:
        summary = push_bundles(client, trials, definitions=True)
    assert summary.pushed == 2 and summary.failed == 0
    first = [e["request"]["url"] for e in posted[0]["entry"]]
    assert all(url.startswith(("CodeSystem?url=", "ValueSet?url=", "StructureDefinition?url=")) for url in first)
    assert "CodeSystem?url=https%3A%2F%2Fclinicaltrials.gov%2Fdata-api%2Fapi%23enum-AgencyClass" in first
    assert all("id" not in e["resource"] for e in posted[0]["entry"])
    assert posted[1]["entry"][0]["resource"]["resourceType"] == "ResearchStudy"
    again = [e["request"]["url"] for body in posted[2:] for e in body["entry"] if "?url=" in e["request"]["url"]]
    assert not set(again) & set(first), "a definition already sent is not sent again"
    assert summary.requests == len(posted)


@responses.activate
def test_a_refused_definition_upload_is_said_and_the_trial_still_pushed() -> None:
    responses.get(f"{BASE}/metadata", json={"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"})
    responses.post(BASE, status=422, json={"resourceType": "OperationOutcome", "issue": []})
    responses.post(BASE, json=_reply(len(_bundle("NCT02210780").entries)))
    results: list[PushResult] = []
    with FhirClient(BASE) as client:
        summary = push_bundles(client, [_bundle("NCT02210780")], definitions=True, on_result=results.append)
    assert summary.pushed == 1 and summary.failed == 0
    assert "definitions not stored" in str(results[0].issues[0]) and not results[0].ok


@responses.activate
@pytest.mark.parametrize("flag", [True, False])
def test_push_cli_sends_the_definitions_with_definitions_only(flag: bool) -> None:
    """``fhir-adapter push --definitions`` sends the definitions first; without the flag only the trial goes."""
    responses.get(f"{BASE}/metadata", json={"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"})
    posted: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        body = orjson.loads(request.body)
        posted.append(body)
        return 200, {}, orjson.dumps(_reply(len(body["entry"]))).decode()

    responses.add_callback(responses.POST, BASE, callback=answer)
    path = next(p for p in R5_BUNDLES if "NCT02210780" in p.name)
    args = ["push", str(path), "--server", BASE, *(["--definitions"] if flag else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    first = [e["request"]["url"] for e in posted[0]["entry"]]
    if flag:
        assert len(posted) == 2 and all("?url=" in u and not u.startswith("ResearchStudy") for u in first)
    else:
        assert len(posted) == 1 and first[0].startswith("ResearchStudy?identifier=")
