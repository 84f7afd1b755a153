"""Offline FHIR validation: every issue of a resource or Bundle at once, never an exception for bad content.

Layers (run in this order, all offline):

1. Structure, datatypes, cardinality, required elements: with ``engine="fast"`` (the default) :mod:`.fast`, a walker
   driven by the official R5 definitions (it also makes the empty checks of layer 3; a resource type outside the
   definitions subset falls back to its fhir.resources model); with ``engine="fhir.resources"`` :mod:`.structure`,
   the fhir.resources R5 models (the reference, kept for ``fhir-adapter validate --engine fhir.resources``).
2. :mod:`.profile`: required bindings and error-level invariants from the official R5 definitions, with fhirpathpy.
3. :mod:`.bundle`: no empty elements (any resource); references, unique fullUrl / Type/id, transaction requests
   (Bundles).

An issue found by a later layer at a location where an earlier layer already reported an error is dropped, so a
problem is reported once (an empty string fails the string regex of layer 1 and ele-1 of layer 3).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.issues import Issue
from fhir_adapter.release import FhirRelease
from fhir_adapter.validate.bundle import check_bundle, check_empty
from fhir_adapter.validate.profile import check_profile

__all__ = ["ENGINES", "has_errors", "to_operation_outcome", "validate"]

# The R5 structure engines: "fast" (the default) and "fhir.resources" (the pydantic models, the reference).
ENGINES = ("fast", "fhir.resources")


def validate(
    resource: dict[str, Any],
    fhir_version: FhirRelease | str = FhirRelease.R5,
    *,
    authoritative: bool = False,
    engine: str = "fast",
) -> list[Issue]:
    """Every issue of ``resource`` (a Bundle: of the Bundle and every entry resource), errors and warnings.

    Locations are FHIRPath with indices (``Bundle.entry[3].resource.comparisonGroup[0].name``).
    ``fhir_version``: a FhirRelease or its name (``"R5"``, ``"r4"`` ...). R4: HAPI FHIR's validator when
    ``authoritative`` is true and it is available (``validate.hapi.hapi_available()``; one JVM per call), otherwise
    the fast Python check of :mod:`.r4` (its docstring says what it misses).
    ``engine`` (one of ``ENGINES``) picks the R5 structure check: ``"fast"`` (the definitions-driven walker) or
    ``"fhir.resources"`` (the pydantic models, kept as the reference); R4 ignores it.
    """
    if engine not in ENGINES:
        raise FhirAdapterError(f"unknown validation engine {engine!r} (one of: {', '.join(ENGINES)})")
    try:
        release = FhirRelease.parse(fhir_version)
    except ValueError:
        supported = ", ".join(FhirRelease)
        raise FhirAdapterError(f"FHIR {fhir_version} validation is not available (supported: {supported})") from None
    if release is FhirRelease.R4:
        from fhir_adapter.validate import hapi, r4

        if authoritative and hapi.hapi_available():
            return hapi.hapi_validate([resource], FhirRelease.R4)[0]
        return r4.check_r4(resource)
    if not isinstance(resource, dict):
        return [
            Issue("error", "", f"a FHIR resource must be a JSON object, got {type(resource).__name__}", "structure")
        ]
    rtype = resource.get("resourceType")
    if engine == "fast":
        from fhir_adapter.validate.fast import check_fast, check_layers, is_resource_type

        if not is_resource_type(rtype):
            return check_fast(resource)
        # one walk makes every layer's checks (the empty checks included); None: the later layers walk again
        issues, done = check_layers(resource)
        if done is not None:
            return _merged(issues, done)
        later: list[Issue] = []
    else:
        from fhir_adapter.validate.structure import check_structure, is_resource_type

        issues = check_structure(resource)
        if not is_resource_type(rtype):
            return issues
        assert isinstance(rtype, str)
        later = check_empty(resource, rtype)
    assert isinstance(rtype, str)
    if rtype == "Bundle":
        later += check_bundle(resource, rtype)
    later += check_profile(resource, rtype)
    return _merged(issues, later)


def _merged(issues: list[Issue], later: list[Issue]) -> list[Issue]:
    """``issues`` and then each of ``later`` at a location where no error was reported before it."""
    reported = {i.location for i in issues if i.is_error}
    for issue in later:
        if issue.location not in reported:
            issues.append(issue)
            if issue.is_error:
                reported.add(issue.location)
    return issues


def has_errors(issues: list[Issue]) -> bool:
    """True if any issue is an error (or fatal)."""
    return any(i.is_error for i in issues)


def to_operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """An R5 OperationOutcome with one issue per ``Issue`` (or one ``information`` issue "No issues")."""
    if not issues:
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": "No issues"}],
        }
    out: list[dict[str, Any]] = []
    for i in issues:
        entry: dict[str, Any] = {
            "severity": i.severity,
            "code": i.code or "invalid",
            "diagnostics": i.message or str(i),
        }
        if i.location.strip():
            entry["expression"] = [i.location]
        out.append(entry)
    return {"resourceType": "OperationOutcome", "issue": out}


class _Package(types.ModuleType):
    """This package, callable as :func:`validate`.

    ``fhir_adapter.validate`` names both this package and the public function (loaded lazily by
    ``fhir_adapter/__init__.py``). Importing the package (or a module in it, e.g. ``validate.hapi``) binds the package
    to that name, so ``from fhir_adapter import validate`` can give the package: calling it validates all the same.
    https://docs.python.org/3/reference/datamodel.html#customizing-module-attribute-access
    """

    def __call__(
        self,
        resource: dict[str, Any],
        fhir_version: FhirRelease | str = FhirRelease.R5,
        *,
        authoritative: bool = False,
        engine: str = "fast",
    ) -> list[Issue]:
        return validate(resource, fhir_version, authoritative=authoritative, engine=engine)


sys.modules[__name__].__class__ = _Package
