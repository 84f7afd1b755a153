"""Small helpers for the tests: converting reference inputs and walking FHIR JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import responses

from fhir_adapter.bundle import to_bundle
from fhir_adapter.model import Trial
from fhir_adapter.sources import read_trials


@cache
def trial_of(path: Path) -> Trial:
    """The single trial of a reference input (seed page or v2 fixture)."""
    trials = list(read_trials(path))
    assert len(trials) == 1, path
    return trials[0]


def bundle_of(path: Path, bundle_type: str = "collection") -> dict[str, Any]:
    return to_bundle(trial_of(path), bundle_type=bundle_type)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every node of a JSON tree."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


@pytest.fixture(autouse=True)
def no_provenance_on_the_mocked_servers() -> None:
    """pull also searches ``Provenance?target=`` (sinks/server/pull.py): the mocked servers answer an empty
    searchset (registered before ``responses.activate`` starts the mock, reset when it stops). Autouse in the
    modules that import it."""
    responses.add(
        responses.GET,
        re.compile(r"https?://[^?]*/Provenance(\?.*)?$"),
        json={"resourceType": "Bundle", "type": "searchset", "entry": []},
    )


_PROBE = """
import json, sys
sys.argv = ["fhir-adapter", *sys.argv[1:]]
from fhir_adapter.cli import main
try:
    main()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def modules_after(*args: str) -> tuple[int, list[str], str]:
    """Run the console entry point in a fresh interpreter; its exit code, the modules it imported, its stdout."""
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["modules"], done.stdout
