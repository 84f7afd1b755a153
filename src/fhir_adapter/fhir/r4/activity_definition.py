"""ActivityDefinition (R4): a drug, radiotherapy or surgery of an arm's regimen, both ways.
https://hl7.org/fhir/R4/activitydefinition.html

The R5 ActivityDefinition of ``r5.activity_definition`` is valid R4 as it is: ``kind`` MedicationRequest and
ServiceRequest are R4 RequestResourceType codes, and ``productCodeableConcept``, ``code`` and ``dosage`` (R4 Dosage
with ``doseAndRate``, ``route``, ``timing``, ``additionalInstruction``: https://hl7.org/fhir/R4/dosage.html) have
the same shape, so both directions keep the resource unchanged.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON


def down(ad: JSON) -> JSON:
    return ad


def lift(ad: JSON) -> JSON:
    return ad
