"""Start-up of ``fhir-adapter convert`` (issue 14, item 6): what a conversion of one file loads depends on what it
does. ``--no-validate`` loads no validator (neither ``fhir_adapter.validate`` nor its FHIRPath engine), and one
worker loads no worker pool. bench/bench_startup.py measures the times; this checks the imports only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"

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


def _modules_after(*args: str) -> tuple[int, list[str]]:
    """Run the console entry point in a fresh interpreter; its exit code and the modules it imported."""
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["modules"]


def _loaded(modules: list[str], *names: str) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_convert_without_validation_loads_no_validator_and_no_pool(tmp_path: Path) -> None:
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    code, modules = _modules_after(
        "convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1", "--no-validate"
    )
    assert code == 0 and (tmp_path / "out" / "NCT00763412.json").is_file()
    assert _loaded(modules, "fhir_adapter.validate", "fhirpathpy", "fhir.resources", "fhir_adapter.pipeline.pool") == []


def test_convert_with_validation_loads_the_validator(tmp_path: Path) -> None:
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    code, modules = _modules_after("convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1")
    assert code == 0 and "fhir_adapter.validate" in modules
