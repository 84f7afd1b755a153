"""``fhir_adapter.read_trials`` takes a path, a dict, a str or bytes (issue 12 item 11): content in memory is read as
the same content in a file would be, its format detected the same way."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import fhir_adapter
from fhir_adapter import SourceError, read_trials
from fhir_adapter.limits import DEFAULT_LIMITS
from fhir_adapter.trials import is_content

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
ONE_OF_EACH = [  # one file of each input format
    REPO / "seeds" / "001_6fa90757b4c221a6.txt",
    DATA / "ctgov-v2" / "NCT00763412.json",
    DATA / "ctgov-v1" / "NCT00023673.json",
    DATA / "ctgov-xml" / "NCT03133988.xml",
]


def test_the_package_exports_the_reader_of_any_input() -> None:
    from fhir_adapter.trials import read_trials as reader

    assert fhir_adapter.read_trials is reader


@pytest.mark.parametrize("path", ONE_OF_EACH, ids=lambda p: p.parent.name)
def test_bytes_and_str_read_as_the_file_does(path: Path) -> None:
    from_file = list(read_trials(path))
    assert from_file and from_file == list(read_trials(str(path)))
    assert list(read_trials(path.read_bytes())) == from_file
    assert list(read_trials(path.read_text(encoding="utf-8"))) == from_file


@pytest.mark.parametrize("path", ONE_OF_EACH[1:3], ids=lambda p: p.parent.name)
def test_parsed_json_reads_as_the_file_does(path: Path) -> None:
    document = json.loads(path.read_bytes())
    assert list(read_trials(document)) == list(read_trials(path))


def test_a_search_page_and_a_list_give_every_study() -> None:
    study = json.loads((DATA / "ctgov-v2" / "NCT00763412.json").read_bytes())
    other = json.loads((DATA / "ctgov-v2" / "NCT02210780.json").read_bytes())
    page = {"studies": [study, other]}
    assert [t.nct_id for t in read_trials(page)] == ["NCT00763412", "NCT02210780"]
    assert [t.nct_id for t in read_trials([study, other])] == ["NCT00763412", "NCT02210780"]
    lines = b"\n".join(json.dumps(s).encode() for s in (study, other))  # JSON lines
    assert [t.nct_id for t in read_trials(lines)] == ["NCT00763412", "NCT02210780"]


def test_a_byte_order_mark_is_accepted() -> None:
    data = (DATA / "ctgov-v2" / "NCT00763412.json").read_bytes()
    assert [t.nct_id for t in read_trials(b"\xef\xbb\xbf" + data)] == ["NCT00763412"]
    assert [t.nct_id for t in read_trials("\ufeff" + data.decode())] == ["NCT00763412"]


def test_content_that_is_no_trial_raises_a_source_error_naming_the_input() -> None:
    with pytest.raises(SourceError, match="<dict>"):
        list(read_trials({"resourceType": "Patient"}))
    with pytest.raises(SourceError, match="<str>"):
        list(read_trials("<html><body>no trial</body></html>"))
    with pytest.raises(SourceError, match="<bytes>"):
        list(read_trials(b"just some words\nwithout an NCT id"))
    with pytest.raises(SourceError, match="not a JSON document"):
        list(read_trials({"when": {1, 2}}))


def test_a_str_without_line_breaks_is_a_path() -> None:
    assert not is_content("seeds/001_6fa90757b4c221a6.txt") and not is_content("C:\\trials\\x.json")
    assert is_content('{"protocolSection": {}}') and is_content("  <clinical_study>") and is_content("a\nb")
    with pytest.raises(SourceError, match=r"no-such-file\.json"):
        list(read_trials("no-such-file.json"))


def test_content_obeys_the_limits() -> None:
    data = (DATA / "ctgov-v2" / "NCT00763412.json").read_bytes()
    with pytest.raises(SourceError, match="record size"):
        list(read_trials(data, limits=dataclasses.replace(DEFAULT_LIMITS, max_record_bytes=100)))


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError, match="path, bytes, str, dict or list"):
        list(read_trials(42))  # type: ignore[arg-type]
