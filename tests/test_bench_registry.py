"""The registry-like benchmark corpus (bench/registry_corpus.py) at small N: distinct NCT ids, the distributions its
docstring states (within tolerance), records that really carry what was drawn, every record converting without
errors, and the same corpus for the same seed. No timings (bench/registry.py measures them)."""

from __future__ import annotations

import statistics
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from lxml import etree

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
try:
    import registry_corpus as rc
finally:
    sys.path.remove(str(BENCH))

from fhir_adapter.pipeline import ConvertOptions, convert_paths  # noqa: E402


@pytest.fixture(scope="module")
def corpus() -> rc.Corpus:
    return rc.build(40, seed=3)


def _parsed(study: rc.Study) -> tuple[str, int, int, int, str, bool]:
    """(NCT id, sites, primary outcomes, secondary outcomes, criteria, results) as the record itself says."""
    if study.fmt == "xml":
        root = etree.fromstring(study.data)
        return (
            root.findtext("id_info/nct_id"),
            len(root.findall("location")),
            len(root.findall("primary_outcome")),
            len(root.findall("secondary_outcome")),
            root.findtext("eligibility/criteria/textblock") or "",
            root.find("clinical_results") is not None,
        )
    if study.fmt == "v1":
        doc = orjson.loads(study.data)["Study"]
        p = doc["ProtocolSection"]
        om = p.get("OutcomesModule", {})
        return (
            p["IdentificationModule"]["NCTId"],
            len(p.get("ContactsLocationsModule", {}).get("LocationList", {}).get("Location", [])),
            len(om.get("PrimaryOutcomeList", {}).get("PrimaryOutcome", [])),
            len(om.get("SecondaryOutcomeList", {}).get("SecondaryOutcome", [])),
            p.get("EligibilityModule", {}).get("EligibilityCriteria", ""),
            "ResultsSection" in doc,
        )
    doc = orjson.loads(study.data)
    p = doc["protocolSection"]
    om = p.get("outcomesModule", {})
    return (
        p["identificationModule"]["nctId"],
        len(p.get("contactsLocationsModule", {}).get("locations", [])),
        len(om.get("primaryOutcomes", [])),
        len(om.get("secondaryOutcomes", [])),
        p.get("eligibilityModule", {}).get("eligibilityCriteria", ""),
        "resultsSection" in doc,
    )


def test_ids_are_distinct_and_in_the_records(corpus: rc.Corpus) -> None:
    ids = [s.nct_id for s in corpus.studies]
    assert len(set(ids)) == len(ids) == 40
    assert [_parsed(s)[0] for s in corpus.studies] == ids
    assert {s.fmt for s in corpus.studies} == {"v2", "v1", "xml"}


def test_records_carry_what_they_drew(corpus: rc.Corpus) -> None:
    for s in corpus.studies:
        _, sites, primary, secondary, criteria, results = _parsed(s)
        assert (sites, primary, secondary, results) == (
            s.shape.sites,
            s.shape.primary,
            s.shape.secondary,
            s.shape.results,
        ), s.template
        # cut at a line, or extended by whole lines: within one line of the drawn length
        assert abs(len(criteria) - s.shape.criteria_chars) < 1000, s.template


@pytest.mark.parametrize("fmt", ["v2", "v1", "xml"])
def test_repeated_sites_have_distinct_facility_names(fmt: str) -> None:
    templates = rc.load_templates()
    template = next(t for t in templates if t.fmt == fmt and t.study_type == "interventional")
    shape = rc.Shape("interventional", False, 300, 1, 0, 500)
    study = rc.Study("NCT90000000", fmt, template.name, shape, b"")
    study.data = rc.study_bytes(template, shape, rc.stock_items(templates), study.nct_id)
    if fmt == "xml":
        names = [e.text for e in etree.fromstring(study.data).findall("location/facility/name")]
    elif fmt == "v2":
        names = [
            loc.get("facility")
            for loc in orjson.loads(study.data)["protocolSection"]["contactsLocationsModule"]["locations"]
        ]
    else:
        p = orjson.loads(study.data)["Study"]["ProtocolSection"]
        names = [loc.get("LocationFacility") for loc in p["ContactsLocationsModule"]["LocationList"]["Location"]]
    assert len(names) == 300 == _parsed(study)[1]
    assert len(set(names)) == 300


def test_distributions_match_the_docstring() -> None:
    shapes = rc.shapes(2000, seed=14)
    n = len(shapes)

    def share(pred: Callable[[rc.Shape], bool]) -> float:
        return sum(map(pred, shapes)) / n

    assert share(lambda s: s.study_type == "interventional") == pytest.approx(0.785, abs=0.002)
    assert share(lambda s: s.study_type == "observational") == pytest.approx(0.205, abs=0.002)
    assert share(lambda s: s.study_type == "expanded") == pytest.approx(0.01, abs=0.002)
    assert share(lambda s: s.results) == pytest.approx(0.785 * 0.15 + 0.205 * 0.035, abs=0.002)
    assert not any(s.results for s in shapes if s.study_type == "expanded")
    assert share(lambda s: s.sites == 0) == pytest.approx(0.11, abs=0.002)
    assert share(lambda s: s.sites == 1) == pytest.approx(0.89 * 0.60, abs=0.002)
    multi = [s.sites for s in shapes if s.sites > 1]
    assert sum(2 <= x <= 10 for x in multi) / len(multi) == pytest.approx(0.74, abs=0.01)
    assert sum(x > 200 for x in multi) / len(multi) == pytest.approx(0.015, abs=0.005)
    assert any(s.sites > 1000 for s in shapes)  # the long tail
    assert 7 <= statistics.mean(s.sites for s in shapes) <= 11
    trials = [s for s in shapes if s.study_type != "expanded"]
    assert sum(s.primary == 1 for s in trials) / len(trials) == pytest.approx(0.80, abs=0.01)
    assert sum(s.secondary == 0 for s in trials) / len(trials) == pytest.approx(0.24, abs=0.01)
    for kind, median in (("interventional", 1100), ("observational", 380)):
        chars = [s.criteria_chars for s in shapes if s.study_type == kind]
        assert statistics.median(chars) == pytest.approx(median, rel=0.02)


def test_same_seed_same_corpus() -> None:
    a, b, c = rc.build(25, seed=7), rc.build(25, seed=7), rc.build(25, seed=8)
    assert [s.data for s in a.studies] == [s.data for s in b.studies]
    assert [s.data for s in a.studies] != [s.data for s in c.studies]


def test_every_record_converts_without_errors(corpus: rc.Corpus, tmp_path: Path) -> None:
    inputs = rc.write(corpus, tmp_path / "in")
    assert [p.name for p in inputs] == ["registry-v2.ndjson", "registry-v1.ndjson", "registry-xml.zip"]
    with zipfile.ZipFile(inputs[-1]) as z:
        assert len(z.namelist()) == len(corpus.of_format("xml"))
    summary = convert_paths(inputs, tmp_path / "out", ConvertOptions(ndjson=True))
    errors = tmp_path / "out" / "errors.jsonl"
    assert (summary.converted, summary.failed) == (40, 0), errors.read_text() if errors.exists() else ""
    locations = (tmp_path / "out" / "Location.ndjson").read_bytes().count(b"\n")
    assert locations == sum(s.shape.sites for s in corpus.studies)


def test_covid_corpus_cycles_the_page_with_distinct_ids() -> None:
    corpus = rc.covid(120)
    assert len({s.nct_id for s in corpus.studies}) == 120
    assert [_parsed(s)[0] for s in corpus.studies] == [s.nct_id for s in corpus.studies]
    assert corpus.studies[0].template == corpus.studies[100].template


def _items(criteria: str) -> list[str]:
    """The criterion texts of criteria, without bullets, numbers, headings and blank lines."""
    items = [rc._BULLET.sub("", line).strip() for line in criteria.splitlines()]
    return [t for t in items if t and not t.endswith(":")]


@pytest.mark.parametrize(
    ("text", "style", "gap"),
    [
        ("Inclusion Criteria:\n\n* Age 18 or older\n\nExclusion Criteria:\n\n* Pregnancy", "* ", True),
        ("Inclusion Criteria:\n  1. Age 18 or older\n  2. Signed consent", "  {n}. ", False),
        ("Inclusion Criteria:\nAge 18 or older\nSigned consent", "", False),
        ("Inclusion Criteria:\n* Age 18 or older\n  with consent", "* ", False),  # the last item's bullet
    ],
)
def test_extended_criteria_borrow_lines_once_in_the_records_style(text: str, style: str, gap: bool) -> None:
    # Real criteria hardly repeat within a study (0.8 % of the fixtures' leaf criteria): extended criteria borrow
    # other records' lines, each once, instead of repeating the record's own (which made 49 % of the corpus's leaves
    # repeats); they take the bullet of the record's last item (or continue its numbering) and its blank lines, so
    # they read as items of the same list.
    borrowed = rc.criterion_lines(rc.load_templates())
    out = rc.criteria_text(text, 5000, borrowed, "NCT90000007")
    assert out.startswith(text)
    assert 5000 <= len(out) < 5000 + max(map(len, borrowed)) + 10
    added = out[len(text) + 1 :].splitlines()
    if gap:
        assert added[0::2] == [""] * len(added[0::2])
        added = added[1::2]
    items = _items(out)
    assert len(items) == len(set(items)) > 40
    for n, line in enumerate(added, start=3):
        text_only = rc._BULLET.sub("", line)
        assert text_only in borrowed
        assert line == style.format(n=n) + text_only
    assert rc.criteria_text(text, 5000, borrowed, "NCT90000007") == out  # seeded by the id
    assert rc.criteria_text(text, 5000, borrowed, "NCT90000008") != out


def test_extended_legacy_criteria_wrap_like_the_registrys_textblocks() -> None:
    # An unwrapped long line in a legacy textblock reads as one criterion with the next: borrowed items are wrapped
    # at XML_WRAP columns, the continuation under the text, a blank line between items as in the record.
    text = "\n        Inclusion Criteria:\n\n          -  Histologically confirmed lung\n             cancer\n"
    borrowed = rc.criterion_lines(rc.load_templates())
    out = rc.criteria_text(text, 6000, borrowed, "NCT90000009", rc.XML_WRAP)
    added = out[len(text.rstrip("\n")) :].split("\n\n")[1:]
    assert len(added) > 40
    for item in added:
        first, *rest = item.split("\n")
        assert first.startswith("          -  ")
        assert all(line.startswith(" " * 13) and line[13] != " " for line in rest)
        assert max(map(len, item.split("\n"))) <= rc.XML_WRAP
        assert item.split()[1:] in [b.split() for b in borrowed]  # the same words
    assert any("\n" in item for item in added)  # some wrapped


def test_corpus_criteria_hardly_repeat_within_a_study() -> None:
    lines = repeated = 0
    for s in rc.build(60, seed=5).studies:
        items = _items(_parsed(s)[4])
        lines += len(items)
        repeated += len(items) - len(set(items))
    assert lines > 500
    assert repeated / lines < 0.02
