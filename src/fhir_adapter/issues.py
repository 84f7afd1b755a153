"""``Issue``: one finding of a reader, a mapper or a validator, with where it was found.

Issues are collected, never raised one at a time, so a user sees every problem of a record at once.
See https://hl7.org/fhir/R5/operationoutcome.html for the severity and code vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True, slots=True)
class Issue:
    """A finding. ``location`` is a FHIRPath expression for FHIR content (``ResearchStudy.status``) or the source
    field for input records (``protocolSection.statusModule.overallStatus``)."""

    severity: Severity
    location: str
    message: str
    code: str = "invalid"  # OperationOutcome issue-type: invalid, required, value, code-invalid, invariant, ...

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message}"
