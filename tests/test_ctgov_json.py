"""The API v2 JSON reader, on minimal inputs (each test's study holds only the fields it is about)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fhir_adapter.errors import SourceError
from fhir_adapter.model import AgeLimit, DateInfo, Source
from fhir_adapter.sources import read_bytes
from fhir_adapter.sources.ctgov_json import read_study
from fhir_adapter.sources.wording import parse_age


def study(**modules: Any) -> dict[str, Any]:
    """A study with an NCT id plus the given protocolSection modules."""
    ps: dict[str, Any] = {"identificationModule": {"nctId": "NCT00000001"}}
    for name, body in modules.items():
        ps.setdefault(name, {}).update(body)
    return {"protocolSection": ps}


def read(doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    return read_study(doc, Source("ctgov-json", "t.json"))


def test_only_nct_id_reads_without_inventing_anything() -> None:
    t = read(study())
    assert t.nct_id == "NCT00000001"
    assert t.brief_title is None and t.overall_status is None and t.phases == [] and t.arms == []
    assert t.eligibility.criteria == [] and t.enrollment_count is None and t.unmapped == {}


def test_status_dates_keep_actual_vs_estimated() -> None:
    t = read(
        study(
            statusModule={
                "overallStatus": "RECRUITING",
                "startDateStruct": {"date": "2020-01", "type": "ACTUAL"},
                "completionDateStruct": {"date": "2030-12-31", "type": "ESTIMATED"},
            }
        )
    )
    assert t.overall_status == "RECRUITING"
    assert t.start_date == DateInfo("2020-01", "ACTUAL")
    assert t.completion_date == DateInfo("2030-12-31", "ESTIMATED")


def test_combined_phases_are_all_kept() -> None:
    t = read(study(designModule={"phases": ["PHASE1", "PHASE2"]}))
    assert t.phases == ["PHASE1", "PHASE2"]


def test_unknown_code_is_kept_and_reported() -> None:
    t = read(study(statusModule={"overallStatus": "SOMETHING_NEW"}))
    assert t.overall_status == "SOMETHING_NEW"
    assert any(i.location.endswith("overallStatus") and "unknown" in i.message for i in t.issues)


def test_wrong_type_is_reported_and_kept_as_text() -> None:
    t = read(study(identificationModule={"briefTitle": {"oops": 1}}))
    assert t.brief_title is None
    path = "protocolSection.identificationModule.briefTitle"
    assert any(i.location == path for i in t.issues)
    assert json.loads(t.unmapped[path]) == {"oops": 1}


def test_unknown_module_is_kept_not_dropped() -> None:
    t = read(study(futureModule={"answer": 42}))
    assert t.unmapped == {"protocolSection.futureModule.answer": "42"}
    assert any(i.location == "protocolSection.futureModule.answer" for i in t.issues)


def test_eligibility_items_ages_and_flags() -> None:
    text = "Inclusion Criteria:\n\n* Adults\n* Signed consent\n\nExclusion Criteria:\n\n* Pregnancy"
    t = read(
        study(
            eligibilityModule={
                "eligibilityCriteria": text,
                "sex": "FEMALE",
                "minimumAge": "18 Years",
                "maximumAge": "6 Months",
                "healthyVolunteers": False,
            }
        )
    )
    e = t.eligibility
    assert [(c.text, c.exclude) for c in e.criteria] == [
        ("Adults", False),
        ("Signed consent", False),
        ("Pregnancy", True),
    ]
    assert e.criteria_text == text and e.sex == "FEMALE" and e.healthy_volunteers is False
    assert e.minimum_age == AgeLimit(18, "years") and e.maximum_age == AgeLimit(6, "months")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18 Years", AgeLimit(18, "years")),
        ("1 Day", AgeLimit(1, "days")),
        ("N/A", None),
        ("eighteen", None),
        ("2.5 Years", AgeLimit(2.5)),
    ],
)
def test_parse_age(text: str, expected: AgeLimit | None) -> None:
    assert parse_age(text) == expected


def test_arms_interventions_outcomes() -> None:
    t = read(
        study(
            armsInterventionsModule={
                "armGroups": [{"label": "A", "type": "EXPERIMENTAL", "interventionNames": ["Drug: X"]}],
                "interventions": [{"type": "DRUG", "name": "X", "armGroupLabels": ["A"], "otherNames": ["X-1"]}],
            },
            outcomesModule={
                "primaryOutcomes": [{"measure": "OS", "timeFrame": "5 years"}],
                "otherOutcomes": [{"measure": "QoL"}],
            },
        )
    )
    assert t.arms[0].label == "A" and t.arms[0].intervention_names == ["Drug: X"]
    assert t.interventions[0].other_names == ["X-1"] and t.interventions[0].arm_labels == ["A"]
    assert [(o.measure, o.type, o.time_frame) for o in t.outcomes] == [
        ("OS", "PRIMARY", "5 years"),
        ("QoL", "OTHER_PRE_SPECIFIED", None),
    ]


def test_mesh_terms_and_results_presence() -> None:
    doc = study()
    doc["derivedSection"] = {"conditionBrowseModule": {"meshes": [{"id": "D000001", "term": "Thing"}]}}
    doc["hasResults"] = True
    t = read(doc)
    assert [(m.id, m.term) for m in t.condition_meshes] == [("D000001", "Thing")]
    assert t.has_results is True


def test_study_without_nct_id_is_an_error_naming_the_field() -> None:
    with pytest.raises(SourceError) as e:
        read({"protocolSection": {"identificationModule": {"briefTitle": "x"}}})
    assert e.value.field == "protocolSection.identificationModule.nctId"


def test_search_page_and_list_give_every_study_with_its_index() -> None:
    page = {"studies": [study(), {"protocolSection": {}}, study()], "nextPageToken": "abc"}
    records = list(read_bytes(json.dumps(page).encode(), "page.json"))
    assert [r.source.index for r in records] == [0, 1, 2]
    assert records[0].trial is not None and records[2].trial is not None
    assert records[1].error is not None and "NCT id" in records[1].error.message
    listed = list(read_bytes(json.dumps([study(), study()]).encode(), "list.json"))
    assert [r.trial is not None for r in listed] == [True, True]


# -- the fast paths of reading (issue 14): same answers as the plain walks they replace ---------------------------


def test_results_list_over_the_limit_is_named_and_a_large_object_is_not_refused() -> None:
    from fhir_adapter.errors import LimitExceeded
    from fhir_adapter.limits import Limits

    limits = Limits(max_list_items=3)
    doc = study()
    doc["resultsSection"] = {"outcomeMeasuresModule": {"outcomeMeasures": [{"classes": [{"a": 1}] * 4}]}}
    with pytest.raises(LimitExceeded) as e:
        read_study(doc, Source("ctgov-json", "t.json"), limits=limits)
    assert e.value.field == "resultsSection.outcomeMeasuresModule.outcomeMeasures[0].classes"
    doc["resultsSection"] = {"baselineCharacteristicsModule": {f"k{i}": [1, 2, 3] for i in range(10)}}
    t = read_study(doc, Source("ctgov-json", "t.json"), limits=limits)  # an object of 10 members is no list
    assert t.results is not None and '"k9":[1,2,3]' in t.results


def test_may_hold_long_list_never_misses_a_list_over_the_limit() -> None:
    import random

    import orjson

    from fhir_adapter.sources.guards import may_hold_long_list

    rng = random.Random(14)
    texts = ["a", "a,b", "[", "]{,}", '"', "\\", '\\"', "x\\\\", ",,,", ""]

    def value(depth: int) -> Any:
        r = rng.random()
        if depth == 0 or r < 0.25:
            return rng.choice([1, None, True, rng.choice(texts)])
        if r < 0.6:
            return [value(depth - 1) for _ in range(rng.choice([0, 1, 2, 3, 5, 8]))]
        return {f"{rng.choice(texts)}{i}": value(depth - 1) for i in range(rng.choice([0, 1, 2, 4, 9]))}

    def longest(v: Any) -> int:
        if isinstance(v, list):
            return max([len(v)] + [longest(x) for x in v])
        if isinstance(v, dict):
            return max([0] + [longest(x) for x in v.values()])
        return 0

    for _ in range(3000):
        v, limit = value(rng.randint(1, 6)), rng.randint(1, 9)
        if longest(v) > limit:
            assert may_hold_long_list(orjson.dumps(v), limit)
    assert not may_hold_long_list(orjson.dumps({"a": [[1]] * 50, "b": "x," * 100}), 50)


def test_json_depth_of_deep_unbalanced_and_string_heavy_input() -> None:
    from itertools import accumulate

    from fhir_adapter.sources.guards import json_depth

    def summed(data: bytes) -> int:  # the definition: brackets outside strings summed, +1 open, -1 close
        plain = data.replace(b"\\\\", b"").replace(b'\\"', b"")
        outside = [c for c in b"".join(plain.split(b'"')[::2]) if c in b"[]{}"]
        return max([0, *accumulate(1 if c in b"[{" else -1 for c in outside)])

    for data in (
        b"[" * 300 + b"]" * 300,  # deeper than the peeling passes
        b"]]]]{{{{",
        b'{"a": "[[{", "b": [[], {"c": "]]\\"[["}], "d": "\\\\"}',
        b'["a[", "b]", ["{"], "" , "x"]',
        b'{"a": [1, [2, [3, {"b": "}}}"}]]]}',
        b'["unterminated [',
    ):
        assert json_depth(data) == summed(data), data


def test_unmapped_report_ignores_below_an_ignored_path_even_through_dotted_keys() -> None:
    doc = study()
    doc["derivedSection"] = {"miscInfoModule.extra": "x", "other.module": {"k": "v"}}
    t = read(doc)
    assert "derivedSection.miscInfoModule.extra" not in t.unmapped
    assert t.unmapped["derivedSection.other.module"] == '{"k":"v"}'
