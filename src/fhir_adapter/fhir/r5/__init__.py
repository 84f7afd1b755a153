"""FHIR R5 (5.0.0) mappers: ``to_*`` build plain dicts from a ``Trial``, ``from_*`` read them back."""
