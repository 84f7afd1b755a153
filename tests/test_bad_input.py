"""Bad input gets a clear error naming file, record and field; the batch goes on; nothing is truncated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, SourceError, UnknownFormatError
from fhir_adapter.sources import detect, read_bytes, read_records, read_trials

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DATA = Path(__file__).resolve().parent / "data"


def only_error(data: bytes, name: str = "in.json") -> SourceError:
    records = list(read_bytes(data, name))
    assert len(records) == 1 and records[0].error is not None and records[0].trial is None
    assert records[0].error.path == name
    return records[0].error


def test_truncated_json() -> None:
    assert "invalid JSON" in only_error(b'{"protocolSection": {"identi').message


def test_empty_file() -> None:
    assert only_error(b"  \n").message == "empty file"


def test_binary_file() -> None:
    assert isinstance(only_error(bytes(range(256)) * 4, "x.bin"), UnknownFormatError)


def test_not_utf8_text() -> None:
    assert isinstance(only_error("caf\xe9 NCT01234567".encode("latin-1"), "x.txt"), UnknownFormatError)


def test_unknown_format() -> None:
    assert "unknown format" in only_error(b"just some words", "x.txt").message
    assert "not a ClinicalTrials.gov" in only_error(b'{"resourceType": "Patient"}').message


def test_one_table_of_formats_names_every_record() -> None:
    # the formats, how each is recognised and what reads it are one table; every record names a format of it
    assert [f.name for f in detect.FORMATS] == ["ctgov-json", "ctgov-v1", "ctgov-xml", "text-page"]
    records = list(read_records([SEEDS, *(DATA / name for name in ("ctgov-v1", "ctgov-v2", "ctgov-xml"))]))
    assert all(r.error is None for r in records), [str(r.error) for r in records if r.error]
    assert {r.source.format for r in records} == {f.name for f in detect.FORMATS}


def test_the_format_is_picked_from_the_content() -> None:
    def picked(text: str) -> str | None:
        fmt = detect.document_format(detect.Document(text.encode(), text), "in", None)
        return None if fmt is None else fmt.name

    assert picked("<clinical_study><id_info/></clinical_study>") == "ctgov-xml"
    assert picked("Title\nNCT ID: NCT01234567\n") == "text-page"
    assert picked(' {"protocolSection": {}}') is None  # JSON: picked per document after parsing
    study = {"protocolSection": {"identificationModule": {"nctId": "NCT01234567"}}}
    assert getattr(detect.study_format(study), "name", None) == "ctgov-json"
    assert getattr(detect.study_format({"FullStudiesResponse": {"FullStudies": []}}), "name", None) == "ctgov-v1"
    assert detect.study_format({"a": 1}) is None
    for text, message in [
        ("<html/>", "XML that is not a ClinicalTrials.gov clinical_study"),
        ('"NCT01234567"', "JSON is a string, not a ClinicalTrials.gov study"),
        ("no id here", "unknown format: not ClinicalTrials.gov JSON, XML or a trial page with an NCT id"),
    ]:
        with pytest.raises(UnknownFormatError) as e:
            picked(text)
        assert e.value.message == message


def test_wrong_types_are_reported_not_fatal() -> None:
    doc = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000002", "briefTitle": 7.5},
            "designModule": {"phases": "PHASE2", "enrollmentInfo": {"count": "many"}},
            "conditionsModule": {"conditions": [1, "Asthma"]},
        }
    }
    (record,) = read_bytes(json.dumps(doc).encode())
    trial = record.trial
    assert trial is not None
    assert trial.brief_title == "7.5"  # a number where text is expected is still text
    assert trial.phases == [] and trial.enrollment_count is None and trial.conditions == ["Asthma"]
    fields = {i.location for i in trial.issues}
    assert {
        "protocolSection.designModule.phases",
        "protocolSection.designModule.enrollmentInfo.count",
        "protocolSection.conditionsModule.conditions[0]",
    } <= fields
    assert trial.unmapped["protocolSection.designModule.phases"] == "PHASE2"
    assert trial.unmapped["protocolSection.designModule.enrollmentInfo.count"] == "many"
    assert trial.unmapped["protocolSection.conditionsModule.conditions[0]"] == "1"
    assert from_bundle(to_bundle(trial)) == trial  # what could not be read still travels as text


def test_study_without_nct_id_names_the_field() -> None:
    error = only_error(json.dumps({"protocolSection": {"identificationModule": {"briefTitle": "x"}}}).encode())
    assert error.field == "protocolSection.identificationModule.nctId"
    assert "in.json" in error.describe()


def test_page_without_nct_id(tmp_path: Path) -> None:
    assert "unknown format" in only_error(b"A trial page\n\nRecruitment Status\n\nRECRUITING\n", "p.txt").message


def test_huge_criteria_field_is_kept_whole() -> None:
    # about 10,600 items: under the list-item limit (20,000), which criteria count against too
    item = "* Patients with a documented history of something rather long and detailed, " * 6 + "\n"
    text = "Inclusion Criteria:\n" + item * (5_000_000 // len(item))
    assert len(text) > 4_900_000
    doc = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000003"},
            "eligibilityModule": {"eligibilityCriteria": text},
        }
    }
    (record,) = read_bytes(json.dumps(doc).encode())
    assert record.trial is not None
    assert record.trial.eligibility.criteria_text == text.strip()
    assert len(record.trial.eligibility.criteria) == 5_000_000 // len(item)
    bundle = to_bundle(record.trial)
    assert from_bundle(bundle).eligibility.criteria_text == text.strip()


def test_read_trials_raises_at_a_bad_record_but_read_records_goes_on(tmp_path: Path) -> None:
    good = {"protocolSection": {"identificationModule": {"nctId": "NCT00000004"}}}
    (tmp_path / "a.json").write_text(json.dumps([good, {"protocolSection": {}}, good]))
    records = list(read_records([tmp_path]))
    assert [r.error is None for r in records] == [True, False, True]
    with pytest.raises(SourceError):
        list(read_trials(tmp_path))


def test_cli_mixed_batch_exit_code(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "ok.json").write_text(
        json.dumps({"protocolSection": {"identificationModule": {"nctId": "NCT00000005", "briefTitle": "A study"}}})
    )
    result = CliRunner().invoke(app, ["convert", str(tmp_path), "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitCode.FAILED
    assert "empty.json: empty file" in result.stderr
    assert (tmp_path / "out" / "NCT00000005.json").exists()
