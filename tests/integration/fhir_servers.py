"""The real-server handle of the integration tests (imported by conftest.py and the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import requests

from fhir_adapter.sinks.server import FhirClient, SearchQuery, pull

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "fhir-server"
KINDS = {"hapi-r5": "R5", "hapi-r4": "R4", "medplum": "R4"}
START_TIMEOUT = {"hapi-r5": 300.0, "hapi-r4": 300.0, "medplum": 60.0}  # first HAPI use may build the jar


@dataclass(frozen=True)
class Server:
    kind: str
    base: str
    fhir_version: str

    @property
    def is_hapi(self) -> bool:
        return self.kind.startswith("hapi")

    def reset(self) -> None:
        if self.is_hapi:
            body = {"resourceType": "Parameters", "parameter": [{"name": "expungeEverything", "valueBoolean": True}]}
            r = requests.post(f"{self.base}/$expunge", json=body, timeout=120)
        else:
            r = requests.delete(f"{self.base}/$reset", timeout=60)
        assert r.status_code == 200, f"{self.kind} reset: HTTP {r.status_code}: {r.text[:300]}"

    def count(self, resource_type: str, **params: str) -> int:
        r = requests.get(f"{self.base}/{resource_type}", params={**params, "_summary": "count"}, timeout=60)
        assert r.status_code == 200, r.text[:300]
        total: int = r.json()["total"]
        return total

    def pulled(self, tmp: Path, query: SearchQuery) -> dict[str, dict[str, Any]]:
        """What ``pull`` writes for ``query`` into ``tmp``, by file stem (the NCT id); a pull problem fails the test."""
        with FhirClient(self.base, fhir_version=self.fhir_version) as client:
            summary = pull(client, tmp, query)
        assert not summary.problems, summary.problems
        return {p.stem: orjson.loads(p.read_bytes()) for p in summary.written}
