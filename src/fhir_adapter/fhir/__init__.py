"""FHIR mappers, one package per release (``r5``; ``r4`` later), one module per resource, both directions."""
