"""The authoritative check: HAPI FHIR's validator (the InstanceValidator of HL7's official validator), offline.

A small Java entry point in ``validators/hapi`` (one shaded jar) validates R4 or R5 resources with HAPI FHIR 8.8.0's
``FhirInstanceValidator`` over a ``ValidationSupportChain``; no terminology server is used. Codes in systems the
validator cannot check offline (our ct.gov code systems, MeSH, ...) give warnings, never errors. See
``validators/README.md`` for the settings and measurements.

    hapi_available() -> bool                         java on PATH and the jar built
    build_hapi_validator() -> Path                   build the jar with Maven when missing or older than its sources
    hapi_validate(resources, fhir_version="R5")      one list of Issues per input (dicts or JSON files)

One JVM is started per ``hapi_validate`` call (its start-up and the loading of the core definitions take seconds), so
pass every resource of a run in one call. Resource content travels on standard input, never on the command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

import orjson

from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.issues import Issue, Severity

__all__ = ["HAPI_FHIR_VERSIONS", "JAR_NAME", "build_hapi_validator", "hapi_available", "hapi_jar", "hapi_validate"]

HAPI_FHIR_VERSIONS = ("R4", "R5")
JAR_NAME = "fhir-adapter-hapi-validator.jar"
JAR_ENV = "FHIR_ADAPTER_HAPI_JAR"  # optional: a prebuilt jar to use instead of validators/hapi/target/JAR_NAME
BUILD_TIMEOUT_S = 1800.0
_SEVERITIES: frozenset[str] = frozenset(get_args(Severity))


def _module_dir() -> Path:
    """``validators/hapi`` of the source checkout this package runs from (src/fhir_adapter/validate/hapi.py)."""
    return Path(__file__).resolve().parents[3] / "validators" / "hapi"


def hapi_jar() -> Path:
    """Where the validator jar is (or will be, once built)."""
    override = os.environ.get(JAR_ENV)
    if override:
        return Path(override)
    return _module_dir() / "target" / JAR_NAME


def hapi_available() -> bool:
    """True when ``java`` is on PATH and the validator jar is built."""
    return shutil.which("java") is not None and hapi_jar().is_file()


def _newest_source_mtime(module: Path) -> float:
    sources = [module / "pom.xml", *(p for p in (module / "src").rglob("*") if p.is_file())]
    return max(p.stat().st_mtime for p in sources)


def build_hapi_validator() -> Path:
    """Build the validator jar with Maven if it is missing or older than ``pom.xml`` or a source, and return its path.

    Runs ``mvn -q -f validators/hapi/pom.xml package -DskipTests`` from the repository root. The first build downloads
    HAPI FHIR and its dependencies from Maven Central (about a minute); later builds are offline and take seconds.
    Raises ``FhirAdapterError`` when Java or Maven is missing, the sources are not there (an installed package has
    no ``validators/``: set ``FHIR_ADAPTER_HAPI_JAR``), or the build fails.
    """
    override = os.environ.get(JAR_ENV)
    if override:
        jar = Path(override)
        if not jar.is_file():
            raise FhirAdapterError(f"{JAR_ENV} is set to {jar}, which is not a file")
        return jar
    module = _module_dir()
    pom = module / "pom.xml"
    if not pom.is_file():
        raise FhirAdapterError(
            f"The HAPI validator sources are not in {module} (fhir-adapter is not running from its source checkout); "
            f"build the jar there or set {JAR_ENV} to a prebuilt {JAR_NAME}"
        )
    jar = module / "target" / JAR_NAME
    if jar.is_file() and jar.stat().st_mtime >= _newest_source_mtime(module):
        return jar
    if shutil.which("java") is None:
        raise FhirAdapterError("Java is not on PATH: the HAPI FHIR validator needs a Java 17+ JDK (and Maven to build)")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FhirAdapterError("Maven (mvn) is not on PATH: it is needed to build the HAPI FHIR validator jar")
    repo_root = module.parents[1]
    cmd = [mvn, "-q", "-f", str(pom.relative_to(repo_root)), "package", "-DskipTests"]
    try:
        done = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FhirAdapterError(
            f"Building the HAPI validator timed out after {BUILD_TIMEOUT_S:.0f} s: {' '.join(cmd)}"
        ) from exc
    if done.returncode != 0 or not jar.is_file():
        tail = (done.stdout + done.stderr).strip()[-3000:]
        raise FhirAdapterError(f"Building the HAPI validator failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")
    return jar


def _to_line(item: dict[str, Any] | Path) -> bytes:
    if isinstance(item, Path):
        return str(item.resolve()).encode()
    if isinstance(item, dict):
        return orjson.dumps(item)  # compact: one line, JSON escapes any newline inside strings
    raise TypeError(f"hapi_validate takes resource dicts or Paths, not {type(item).__name__}")


def _to_issue(raw: dict[str, Any]) -> Issue:
    severity = str(raw.get("severity", "error"))
    return Issue(
        severity=severity if severity in _SEVERITIES else "information",  # type: ignore[arg-type]
        location=str(raw.get("location") or ""),
        message=str(raw.get("message") or ""),
        code=str(raw.get("code") or "invalid"),
    )


def hapi_validate(
    resources: Sequence[dict[str, Any]] | Sequence[Path] | Sequence[dict[str, Any] | Path],
    fhir_version: str = "R5",
    *,
    timeout: float | None = None,
) -> list[list[Issue]]:
    """Validate each resource (a dict, or a Path to a JSON file) with HAPI FHIR; one list of Issues per input, in order.

    Locations are HAPI's FHIRPath locations, e.g. ``Bundle.entry[0].resource/*ResearchStudy/abc*/.status`` (the
    ``/*Type/id*/`` comment names the resource inside a bundle). Severities are fatal, error, warning, information.
    The JVM is started once for the whole list; ``timeout`` (seconds) defaults to 300 s plus 5 s per input.
    Raises ``FhirAdapterError`` when Java or the jar is missing (see ``build_hapi_validator``) or the validator fails.
    """
    version = fhir_version.upper()
    if version not in HAPI_FHIR_VERSIONS:
        raise FhirAdapterError(f"FHIR version {fhir_version!r} is not supported by the HAPI validator (R4, R5)")
    items = list(resources)
    if not items:
        return []
    java = shutil.which("java")
    if java is None:
        raise FhirAdapterError("Java is not on PATH: the HAPI FHIR validator needs a Java 17+ runtime")
    jar = hapi_jar()
    if not jar.is_file():
        raise FhirAdapterError(f"The HAPI validator jar {jar} is not built: call build_hapi_validator() first")
    stdin = b"\n".join(_to_line(item) for item in items) + b"\n"
    limit = timeout if timeout is not None else 300.0 + 5.0 * len(items)
    cmd = [java, "-jar", str(jar), "--version", version, "-"]
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FhirAdapterError(f"The HAPI validator timed out after {limit:.0f} s on {len(items)} input(s)") from exc
    stderr = done.stderr.decode(errors="replace").strip()[-2000:]
    if done.returncode != 0:
        raise FhirAdapterError(f"The HAPI validator failed (exit {done.returncode}): {stderr}")
    results = [orjson.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(results) != len(items):
        raise FhirAdapterError(
            f"The HAPI validator returned {len(results)} result(s) for {len(items)} input(s): {stderr}"
        )
    return [[_to_issue(raw) for raw in result.get("issues", [])] for result in results]
