"""The authoritative check: HAPI FHIR's validator (the InstanceValidator of HL7's official validator), offline.

A small Java entry point in ``validators/hapi`` (one shaded jar) validates R4 or R5 resources with HAPI FHIR 8.8.0's
``FhirInstanceValidator`` over a ``ValidationSupportChain``; no terminology server is used. Codes in systems the
validator cannot check offline (MeSH, SEVCO, ...) give warnings, never errors; fhir-adapter's own code systems and
extensions are loaded from its published definitions (``mappings/definitions``, :mod:`fhir_adapter.definitions`), so
they are checked. See ``validators/README.md`` for the settings and measurements.

The library never builds Java: the jar is built by ``BUILD_COMMAND`` (``.ci/run`` runs it) and found through one
explicit setting, the environment variable ``FHIR_ADAPTER_HAPI_JAR`` (``JAR_ENV``). An installed wheel without Java
works with the Python validation layers; only this module needs the jar.

    hapi_jar() -> Path | None                        the jar FHIR_ADAPTER_HAPI_JAR names, when it is a file
    hapi_available() -> bool                         java on PATH and that jar there
    require_hapi() -> Path                           the jar, or HapiUnavailable saying how to build and name it
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

from fhir_adapter.definitions import definitions_dir
from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.issues import Issue, Severity

__all__ = [
    "BUILD_COMMAND",
    "HAPI_FHIR_VERSIONS",
    "JAR_ENV",
    "JAR_NAME",
    "HapiUnavailable",
    "hapi_available",
    "hapi_jar",
    "hapi_validate",
    "require_hapi",
]

HAPI_FHIR_VERSIONS = ("R4", "R5")
JAR_NAME = "fhir-adapter-hapi-validator.jar"
JAR_ENV = "FHIR_ADAPTER_HAPI_JAR"  # the one setting that names the built jar
# Run from a source checkout's root (validators/README.md); it writes validators/hapi/target/JAR_NAME.
BUILD_COMMAND = "mvn -q -B -f validators/hapi/pom.xml package -DskipTests"
_SEVERITIES: frozenset[str] = frozenset(get_args(Severity))


class HapiUnavailable(FhirAdapterError):
    """HAPI's validator cannot run here: ``java`` is not on PATH, or ``FHIR_ADAPTER_HAPI_JAR`` names no jar."""


def hapi_jar() -> Path | None:
    """The validator jar that ``FHIR_ADAPTER_HAPI_JAR`` names, or None when it is unset or names no file."""
    setting = os.environ.get(JAR_ENV)
    if not setting:
        return None
    jar = Path(setting)
    return jar if jar.is_file() else None


def hapi_available() -> bool:
    """True when ``java`` is on PATH and ``FHIR_ADAPTER_HAPI_JAR`` names the built validator jar."""
    return shutil.which("java") is not None and hapi_jar() is not None


def _unavailable_reason() -> str | None:
    """Why HAPI's validator cannot run (one line: "not installed" and how to build it, naming the setting), or None
    when it can. A wheel carries no Java: the jar is built from a source checkout."""
    how = (
        f"how to build it: in a source checkout (Java 17+ and Maven), `{BUILD_COMMAND}`, then set {JAR_ENV} to "
        f"validators/hapi/target/{JAR_NAME} (validators/README.md)"
    )
    setting = os.environ.get(JAR_ENV)
    if not setting:
        return f"HAPI validator not installed ({JAR_ENV} is not set): {how}"
    if not Path(setting).is_file():
        return f"HAPI validator not installed ({JAR_ENV}={setting} is not a file): {how}"
    if shutil.which("java") is None:
        return "HAPI validator cannot run: java is not on PATH (it needs a Java 17+ runtime)"
    return None


def require_hapi() -> Path:
    """The validator jar ``FHIR_ADAPTER_HAPI_JAR`` names; raises ``HapiUnavailable`` (one line saying which setting
    names the jar and the command that builds it) when it is missing or ``java`` is not on PATH."""
    reason = _unavailable_reason()
    jar = hapi_jar()
    if reason is not None or jar is None:
        raise HapiUnavailable(reason or f"HAPI validator not installed: {JAR_ENV} names no jar")
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
    definitions: bool = True,
) -> list[list[Issue]]:
    """Validate each resource (a dict, or a Path to a JSON file) with HAPI FHIR; one list of Issues per input, in order.

    Locations are HAPI's FHIRPath locations, e.g. ``Bundle.entry[0].resource/*ResearchStudy/abc*/.status`` (the
    ``/*Type/id*/`` comment names the resource inside a bundle). Severities are fatal, error, warning, information.
    The JVM is started once for the whole list; ``timeout`` (seconds) defaults to 300 s plus 5 s per input.
    With ``definitions`` (the default) the validator loads fhir-adapter's published CodeSystems, ValueSets and
    extension StructureDefinitions of the release (:mod:`fhir_adapter.definitions`), so that our ct.gov codes and
    extensions are checked instead of reported as unknown.
    Raises ``HapiUnavailable`` when Java or the jar is missing (see :func:`require_hapi`), ``FhirAdapterError`` when
    the validator fails.
    """
    version = fhir_version.upper()
    if version not in HAPI_FHIR_VERSIONS:
        raise FhirAdapterError(f"FHIR version {fhir_version!r} is not supported by the HAPI validator (R4, R5)")
    items = list(resources)
    if not items:
        return []
    jar = require_hapi()
    java = shutil.which("java") or "java"
    stdin = b"\n".join(_to_line(item) for item in items) + b"\n"
    limit = timeout if timeout is not None else 300.0 + 5.0 * len(items)
    cmd = [java, "-jar", str(jar), "--version", version]
    if definitions:
        cmd += ["--definitions", str(definitions_dir(version))]
    cmd.append("-")
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
