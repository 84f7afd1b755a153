"""FHIR mappers, one package per release (``r5`` from the Trial, ``r4`` converted from R5), one module per resource,
both directions (docs/architecture.md)."""
