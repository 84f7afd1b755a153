"""The FHIR releases fhir-adapter writes and reads: one enum, used everywhere a release is named.

``FhirRelease`` is a ``StrEnum``, so ``FhirRelease.R4 == "R4"`` and it serialises as the bare string; typer takes it
as an option type. https://hl7.org/fhir/R5/versions.html
"""

from __future__ import annotations

from enum import StrEnum


class FhirRelease(StrEnum):
    """A FHIR release: R5 (5.0.0, the default) or R4 (4.0.1, what most hospital servers run)."""

    R5 = "R5"
    R4 = "R4"

    @property
    def fhir_version(self) -> str:
        """The ``fhirVersion`` prefix a CapabilityStatement of this release starts with (``4.0``, ``5.0``)."""
        return {FhirRelease.R4: "4.0", FhirRelease.R5: "5.0"}[self]

    @classmethod
    def parse(cls, value: str | FhirRelease) -> FhirRelease:
        """The release named by ``value`` (``"R4"``, ``"r5"``); ``ValueError`` naming the supported ones otherwise."""
        try:
            return cls(value.upper() if isinstance(value, str) else value)
        except ValueError:
            supported = ", ".join(r.value for r in cls)
            raise ValueError(f"FHIR version {value!r} is not supported (supported: {supported})") from None


DEFAULT_RELEASE = FhirRelease.R5

__all__ = ["DEFAULT_RELEASE", "FhirRelease"]
