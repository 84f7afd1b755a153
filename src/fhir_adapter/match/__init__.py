"""Pre-screening a patient against trials (``fhir-adapter match``; the computable contract, docs/computable.md,
section 3): the patient's FHIR data (R4 or R5) against each trial's computable criteria, per criterion met /
not-met / unknown with evidence and reason, per trial a verdict and a score.

Modules: ``patient`` (FHIR resources -> facts), ``units`` (UCUM conversion), ``values`` (age, sex, results),
``evaluate`` (one atom), ``verdict`` (criteria, verdict, score, ``match``), ``output`` (searchset Bundle, JSON,
table). See docs/architecture.md.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from datetime import date
from typing import Any

from fhir_adapter.match.evaluate import Evidence
from fhir_adapter.match.patient import PatientFacts, read_patient, resources_of
from fhir_adapter.match.verdict import CriterionResult, TrialMatch, match
from fhir_adapter.model import Trial

__all__ = ["CriterionResult", "Evidence", "PatientFacts", "TrialMatch", "match", "read_patient", "resources_of"]


class _Package(types.ModuleType):
    """This package, callable as :func:`match` (as ``fhir_adapter.validate`` is as ``validate``): once the package is
    imported, ``fhir_adapter.match`` names it, so ``from fhir_adapter import match`` may give the package; calling it
    screens all the same. https://docs.python.org/3/reference/datamodel.html#customizing-module-attribute-access"""

    def __call__(
        self,
        patient_resources: list[dict[str, Any]],
        trials: list[Trial],
        *,
        on: date | None = None,
        clock: Callable[[], date] = date.today,
    ) -> list[TrialMatch]:
        return match(patient_resources, trials, on=on, clock=clock)


sys.modules[__name__].__class__ = _Package
