"""CPU cost and output digest of ``fhir_adapter.validate.validate(bundle, FhirRelease.R5)`` (issue 14).

Usage (PYTHONPATH selects the tree under test, so the same inputs time and check old and new code)::

    python bench/bench_validate.py build corpus.json --studies 400   # once: R5 bundles + the mutation corpus
    PYTHONPATH=<tree>/src python bench/bench_validate.py time corpus.json [--repeat 3]
    PYTHONPATH=<tree>/src python bench/bench_validate.py digest corpus.json
    python bench/bench_validate.py startup   # import time and first call of the validate package, fresh process

``build`` maps N registry-like studies (bench/registry_corpus.py) to R5 collection bundles and adds every mutant of
tests/validate_mutations.py (broken resources: the issues they get exercise every error path). ``time`` prints the
CPU ms per resource of validating the registry bundles (time.process_time, best of ``--repeat``); ``digest`` prints
a digest of every issue of every input (bundles and mutants), which must not change with a speed-up.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent


def build(out: Path, studies: int) -> None:
    sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
    from datetime import datetime

    import registry_corpus

    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.limits import DEFAULT_LIMITS
    from fhir_adapter.release import FhirRelease
    from fhir_adapter.sources import iter_units, read_unit
    from validate_mutations import mutants

    clock = datetime(2026, 1, 1, tzinfo=UTC)
    bundles: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = registry_corpus.write(registry_corpus.build(studies, 14), Path(tmp))
        for unit in iter_units(inputs, DEFAULT_LIMITS):
            for record in read_unit(unit, DEFAULT_LIMITS):
                assert record.trial is not None, record.error
                bundles.append(to_bundle(record.trial, FhirRelease.R5, "collection", clock=clock))
    broken = [m.resource for m in mutants()]
    out.write_bytes(orjson.dumps({"bundles": bundles, "mutants": broken}))
    print(f"{len(bundles)} bundles, {sum(len(b['entry']) for b in bundles)} resources, {len(broken)} mutants")


def timed(corpus: Path, repeat: int) -> None:
    from fhir_adapter.release import FhirRelease
    from fhir_adapter.validate import validate

    bundles = orjson.loads(corpus.read_bytes())["bundles"]
    resources = sum(len(b["entry"]) for b in bundles)
    validate(bundles[0], FhirRelease.R5)  # definitions loaded, expressions compiled
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for bundle in bundles:
            validate(bundle, FhirRelease.R5)
        best = min(best, time.process_time() - t0)
    print(f"validate: {best * 1000 / resources:.4f} ms CPU per resource ({resources} resources, best of {repeat})")


_BAD_REFS = ("Organization/nowhere", "http://example.org/fhir/Group/1", "#c1", "#missing", "urn:uuid:nope", "x y")


def _later_broken(value: Any, counter: list[int]) -> None:
    """Faults in structurally valid places, which only the later layers report: references that do not resolve,
    local references, periods that end before they start, extensions with a value and extensions, a reference in
    a primitive's ``_name`` part."""
    if isinstance(value, list):
        for item in value:
            _later_broken(item, counter)
        return
    if not isinstance(value, dict):
        return
    counter[0] += 1
    n = counter[0]
    if isinstance(value.get("reference"), str) and n % 3 == 0:
        value["reference"] = _BAD_REFS[n % len(_BAD_REFS)]
    if isinstance(value.get("start"), str) and isinstance(value.get("end"), str) and n % 2 == 0:
        value["start"], value["end"] = "2030-01-01", "2001-01-01"
    if isinstance(value.get("url"), str) and "valueString" in value and n % 2 == 1:
        value["extension"] = [{"url": "http://example.org/x", "valueBoolean": True}]
    if isinstance(value.get("status"), str) and n % 4 == 1:
        ext = {"url": "http://example.org/r", "valueReference": {"reference": "Patient/none"}}
        value["_status"] = {"extension": [ext]}
    for item in value.values():
        _later_broken(item, counter)


def later_mutants(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the first 60 bundles with faults of the later layers (and contained resources added)."""
    out = []
    for k, bundle in enumerate(bundles[:60]):
        copy = orjson.loads(orjson.dumps(bundle))
        _later_broken(copy, [k])
        entries = copy["entry"]
        if len(entries) > 1 and k % 2 == 0:
            res = entries[1]["resource"]
            org = {"resourceType": "Organization", "id": "c1", "name": "x", "partOf": {"reference": "Organization/o"}}
            res["contained"] = [org]
        if len(entries) > 2 and k % 3 == 0:
            entries[2]["fullUrl"] = entries[0]["fullUrl"]
        out.append(copy)
    return out


def digest(corpus: Path) -> None:
    from fhir_adapter.release import FhirRelease
    from fhir_adapter.validate import validate

    data = orjson.loads(corpus.read_bytes())
    data["later"] = later_mutants(data["bundles"])
    for part in ("bundles", "mutants", "later"):
        h, n = hashlib.sha256(), 0
        for resource in data[part]:
            issues = validate(resource, FhirRelease.R5)
            n += len(issues)
            h.update(repr([(i.severity, i.location, i.message, i.code) for i in issues]).encode())
        print(f"{part:8} {len(data[part])} inputs, {n} issues, digest {h.hexdigest()[:16]}")


STARTUP = """
import time
t0 = time.perf_counter(); c0 = time.process_time()
import fhir_adapter.validate as v
t1 = time.perf_counter()
from fhir_adapter.release import FhirRelease
bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:0b7ea2a4-4a63-4f6c-9c3e-1f\
8a1d1c2b3e", "resource": {"resourceType": "ResearchStudy", "status": "active", "title": "T"}}]}
issues = v.validate(bundle, FhirRelease.R5)
t2 = time.perf_counter()
print(f"import {1000 * (t1 - t0):.1f} ms, first validate() {1000 * (t2 - t1):.1f} ms, issues {len(issues)}")
"""


def startup() -> None:
    subprocess.run([sys.executable, "-c", STARTUP], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "time", "digest", "startup"])
    parser.add_argument("corpus", type=Path, nargs="?")
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.command == "startup":
        startup()
    elif args.command == "build":
        build(args.corpus, args.studies)
    elif args.command == "time":
        timed(args.corpus, args.repeat)
    else:
        digest(args.corpus)


if __name__ == "__main__":
    main()
