"""FHIR R4 (4.0.1) mappers: the R5 resources converted down to R4, and R4 resources lifted back to the R5 shape.

Design: R4 output is a function of the R5 output (``convert.to_r4``, which ``fhir_adapter.bundle.to_bundle`` runs
on the R5 resources; it never reads the Trial). The way back lifts each R4 resource to the R5 shape the R5 reverse
mappers read (``convert.from_research_study``). Every R5 element that R4 lacks travels in an extension named like
the official cross-version extensions (see :mod:`.common`), so R4 -> Trial keeps everything R5 -> Trial keeps
(tested on every seed and fixture in ``tests/test_r4.py``). What differs between the releases is data in
``mappings/fhir-r4-r5.json``, read by both directions.
"""
