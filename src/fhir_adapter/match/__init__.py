"""Pre-screening a patient against trials (``fhir-adapter match``; the computable contract, docs/computable.md,
section 3): the patient's FHIR data (R4 or R5) against each trial's computable criteria, per criterion met /
not-met / unknown with evidence and reason, per trial a verdict and a score.

Modules: ``patient`` (FHIR resources -> facts), ``units`` (UCUM conversion), ``values`` (age, sex, results),
``evaluate`` (one atom), ``verdict`` (criteria, verdict, score, ``match``), ``output`` (searchset Bundle, JSON,
table). See docs/architecture.md.
"""

from __future__ import annotations

from fhir_adapter.match.evaluate import Evidence
from fhir_adapter.match.patient import PatientFacts, read_patient, resources_of
from fhir_adapter.match.verdict import CriterionResult, TrialMatch, match

__all__ = ["CriterionResult", "Evidence", "PatientFacts", "TrialMatch", "match", "read_patient", "resources_of"]
