"""The fast structure engine of ``fhir_adapter.validate`` (validate/fast.py, validate/_primitives.py), issue 14.

* Its hand-written primitive regexes accept exactly what the official ones accept (the ``primitiveRegexes`` of
  the definitions subset, from each primitive's StructureDefinition) on valid, invalid and edge samples.
* Each structural rule (https://hl7.org/fhir/R5/json.html) is reported at its FHIRPath location.
* It agrees with the fhir.resources engine on every golden output, and does not import fhir.resources.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.validate import ENGINES, profile, validate
from fhir_adapter.validate._primitives import PATTERNS, checker, primitive
from fhir_adapter.validate.fast import is_resource_type, shape_of
from fhir_adapter.validate.profile import _raw

GOLDEN = Path(__file__).parent / "data" / "golden"

SAMPLES = {
    "base64Binary": [
        "",
        "QQ==",
        "QUI=",
        "QUJD",
        "QUJDRA==",
        "Q===",
        "Q",
        "QU",
        "QUJ",
        "QU JD",
        "QUJD=",
        "====",
        "+/+/",
    ],
    "canonical": ["http://x|1.0", "a b", "x", "\t", "urn:uuid:x"],
    "code": ["a", "a b", "a  b", " a", "a ", "a\tb", "ab-c", "é", "a b c"],
    "date": [
        "2020",
        "2020-01",
        "2020-02-29",
        "2021-02-29",
        "2020-04-31",
        "2020-01-31",
        "2020-13",
        "2020-01-32",
        "0000",
        "0001",
        "20200",
        "2020-1",
        "2020-01-01T",
    ],
    "dateTime": [
        "2020",
        "2020-01",
        "2020-01Z",
        "2020-01-02T10:00:00Z",
        "2020-01-02T10:00:00+",
        "2020-01-02T10:00:00.123456789+14:00",
        "2020-01-02T10:00:00.1234567890Z",
        "2020-01-02T10:00",
        "2020-01-02T24:00:00Z",
        "2020-01-02T23:59:60-13:59",
        "2020-01-02T10:00:00+14:01",
        "2020-01-02T10:00:00",
        "2021-02-29T10:00:00Z",
        "2023-02-30",
    ],
    "id": ["a", "a-b.c", "a_b", "a" * 64, "a" * 65, "a b", ""],
    "instant": ["2020-01-02T10:00:00Z", "2020-01-02T10:00:00", "2020-01-02T10:00:00+05:30", "2020-01-02", "2020"],
    "integer64": ["0", "-1", "+1", "01", "-0", "123456789012", "1.0", "a"],
    "oid": ["urn:oid:1.2.3", "urn:oid:1", "urn:oid:3.1", "urn:oid:1.02", "urn:oid:1.0.2", "urn:oid:2.10", "1.2"],
    "time": ["10:00:00", "10:00", "24:00:00", "23:59:60.5", "10:00:00Z"],
    "uri": ["http://x", "a b", "x", "urn:uuid:1"],
    "url": ["http://x", "a b"],
    "uuid": ["urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", "x"],
}


def _calendar_day(text: str) -> bool:
    """False for a yyyy-mm-dd prefix that is no day of the calendar (datatypes.html#date: valid dates)."""
    try:
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":
            datetime.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _official(tcode: str) -> re.Pattern[str]:
    return re.compile(_raw()["primitiveRegexes"][tcode])


@pytest.mark.parametrize("tcode", sorted(PATTERNS))
def test_primitive_pattern_agrees_with_official_regex(tcode: str) -> None:
    official = _official(tcode)
    check = checker(tcode)
    for sample in SAMPLES[tcode]:
        expected = official.fullmatch(sample) is not None
        blank = not sample.strip()  # ele-1: an empty or whitespace-only string is an error whatever the regex
        # a dateTime with a time needs a timezone offset (datatypes.html#dateTime), which the regex leaves out
        unzoned = tcode == "dateTime" and "T" in sample and not re.search(r"(?:Z|[+-][0-9]{2}:[0-9]{2})$", sample)
        impossible = tcode in ("date", "dateTime", "instant") and not _calendar_day(sample)
        assert (check(sample) is None) == (expected and not (blank or unzoned or impossible)), (tcode, sample)


PRIMITIVE_TYPES = sorted({*PATTERNS, "string", "markdown", "xhtml", "boolean", "decimal", "integer", "positiveInt"})


@pytest.mark.parametrize("tcode", PRIMITIVE_TYPES)
def test_passed_values_are_what_the_check_passes(tcode: str) -> None:
    """The fast walker skips a primitive's check for a string ``primitive`` says it passes (issue 14): every value
    remembered as passed passes, and a type said plain passes every non-blank string (and only those)."""
    check, known, plain = primitive(tcode)
    samples = [*SAMPLES.get(tcode, []), "x", "a b", " ", "", "\t", "Q===", "2021-02-29", "urn:oid:1.02", "1" * 30]
    for sample in samples:
        check(sample)
    assert all(check(value) is None for value in known), tcode
    assert plain == (tcode in ("string", "markdown", "xhtml"))
    if plain:
        assert all((check(s) is None) == bool(s.strip()) for s in samples)
    if tcode in ("code", "date", "id"):
        assert known, tcode  # the common short values are remembered


def test_every_string_primitive_with_a_restrictive_regex_has_a_pattern() -> None:
    permissive = {"string", "markdown", "boolean", "integer", "decimal", "positiveInt", "unsignedInt"}
    assert set(_raw()["primitiveRegexes"]) - permissive == set(PATTERNS)


def test_engines() -> None:
    assert ENGINES == ("fast", "fhir.resources")
    with pytest.raises(Exception, match="unknown validation engine"):
        validate({"resourceType": "Group"}, engine="hapi")


GROUP = {"resourceType": "Group", "id": "g", "type": "person", "membership": "definitional"}


def _errors(resource: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i.location, i.code) for i in validate(resource) if i.is_error]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"foo": 1}, [("Group.foo", "structure")]),
        ({"_type": {"id": "x"}}, []),
        ({"_quantity": {"extension": [{"url": "http://x", "valueString": "a"}]}}, []),
        ({"_characteristic": {"id": "x"}}, [("Group._characteristic", "structure")]),
        ({"quantity": [1]}, [("Group.quantity", "structure")]),
        ({"identifier": {"value": "x"}}, [("Group.identifier", "structure")]),
        ({"quantity": "5"}, [("Group.quantity", "value")]),
        ({"quantity": 2**31}, [("Group.quantity", "value")]),
        ({"quantity": True}, [("Group.quantity", "value")]),
        ({"active": "true"}, [("Group.active", "value")]),
        ({"name": "  "}, [("Group.name", "value")]),
        ({"name": None}, [("Group.name", "value")]),
        ({"id": "a_b"}, [("Group.id", "value")]),
        ({"meta": {"lastUpdated": "2020-01-01"}}, [("Group.meta.lastUpdated", "value")]),
        ({"meta": "x"}, [("Group.meta", "structure")]),
        ({"identifier": [None]}, [("Group.identifier[0]", "value")]),
        ({"identifier": [{}]}, [("Group.identifier[0]", "value")]),
        ({"identifier": []}, [("Group.identifier", "value")]),
        ({"type": None, "membership": None}, [("Group.type", "value"), ("Group.membership", "value")]),
        (
            {"characteristic": [{"code": {"text": "x"}, "exclude": False}]},
            [("Group.characteristic[0]", "required")],
        ),
        (
            {"characteristic": [{"code": {"text": "x"}, "exclude": False, "valueBoolean": True, "valueInteger": 1}]},
            [("Group.characteristic[0].valueInteger", "structure")],
        ),
        (
            {
                "characteristic": [
                    {"code": {"text": "x"}, "exclude": False, "valueBoolean": True, "valueQuantity": {"value": 1}}
                ]
            },
            [("Group.characteristic[0]", "structure")],
        ),
        ({"extension": [{"url": "http://x", "valueFoo": 1}]}, [("Group.extension[0].valueFoo", "structure")]),
        ({"contained": [{"id": "x"}]}, [("Group.contained[0].resourceType", "required")]),
        ({"contained": [{"resourceType": "Foo"}]}, [("Group.contained[0].resourceType", "structure")]),
        ({"contained": ["x"]}, [("Group.contained[0]", "structure")]),
    ],
)
def test_structure_rule(change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    got = _errors({**GROUP, **change})
    for location, code in expected:
        assert (location, code) in got, got
    if not expected:
        assert got == []


def test_two_choice_types_at_once() -> None:
    characteristic = {
        "code": {"text": "x"},
        "exclude": False,
        "valueBoolean": True,
        "valueCodeableConcept": {"text": "x"},
    }
    group = {**GROUP, "characteristic": [characteristic]}
    assert ("Group.characteristic[0]", "structure") in _errors(group)


def test_missing_required() -> None:
    assert _errors({"resourceType": "Group", "id": "g"}) == [
        ("Group.type", "required"),
        ("Group.membership", "required"),
    ]


def test_primitive_array_with_twin_allows_aligned_nulls() -> None:
    org = {"resourceType": "Organization", "id": "o", "name": "x", "alias": ["a", None], "_alias": [None, {"id": "b"}]}
    assert _errors(org) == []
    assert _errors({**org, "_alias": None}) == [("Organization._alias", "value")]
    assert _errors({**org, "alias": ["a"], "_alias": None}) == [("Organization._alias", "value")]


def test_foreign_resource_type_falls_back_to_its_model() -> None:
    assert is_resource_type("Patient") and shape_of("Patient") is None
    patient = {"resourceType": "Patient", "id": "p", "gender": "male", "foo": 1, "name": [{"given": [""]}]}
    assert sorted(_errors(patient)) == [("Patient.foo", "structure"), ("Patient.name[0].given[0]", "value")]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:1", "resource": patient}]}
    assert ("Bundle.entry[0].resource.foo", "structure") in _errors(bundle)


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.bundle.json")), ids=lambda p: p.name)
def test_fast_engine_agrees_with_fhir_resources_on_goldens(path: Path) -> None:
    resource = json.loads(path.read_text())
    if not isinstance(resource, dict) or "resourceType" not in resource:
        pytest.skip("not an R5 resource")
    fast = [(i.severity, i.location) for i in validate(resource)]
    reference = [(i.severity, i.location) for i in validate(resource, engine="fhir.resources")]
    assert sorted(fast) == sorted(reference)


def test_fast_engine_does_not_import_fhir_resources() -> None:
    code = (
        "import sys; from fhir_adapter.validate import validate; "
        "validate({'resourceType': 'Bundle', 'type': 'collection', 'entry': [{'fullUrl': 'urn:uuid:1', "
        "'resource': {'resourceType': 'Organization', 'id': 'o', 'name': 'x'}}]}); "
        "print(any(m.startswith(('fhir.resources', 'pydantic')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _provenance_agents() -> list[dict[str, Any]]:
    agents = []
    for path in sorted(GOLDEN.glob("*.bundle.json")):
        for entry in json.loads(path.read_text())["entry"]:
            if entry["resource"]["resourceType"] == "Provenance":
                agents += entry["resource"]["agent"]
    return [*agents, {"who": {"reference": "Organization/x"}}, {"who": {"display": "x"}, "role": [{"text": "x"}]}]


@pytest.mark.parametrize("key", ["prov-1", "prov-2", "prov-3"])
def test_implies_shortcut_through_a_path_agrees_with_fhirpath(key: str) -> None:
    """``who.resolve().exists() and onBehalfOf.resolve().exists() implies ...`` passes when onBehalfOf is absent."""
    td = profile.type_def("Provenance")
    assert td is not None
    el, _ = td.root.children["agent"]
    constraint = next(c for c in el.constraints if c.key == key)
    assert "onBehalfOf" in constraint.pass_if_absent
    agents = _provenance_agents()
    assert len(agents) > 2
    for agent in agents:
        assert "onBehalfOf" not in agent
        node = profile._node(agent, el.fp_path)
        assert profile.Walker.evaluate(constraint, agent, el.fp_path, {"resource": node, "rootResource": node}, "")
