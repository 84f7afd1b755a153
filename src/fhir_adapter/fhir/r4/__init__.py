"""FHIR R4 (4.0.1) mappers: ``to_*`` build plain R4 dicts from a ``Trial``, ``from_*`` read them back.

Design: the R4 mappers reuse the R5 mappers and convert each R5 resource down to R4 (``to_*``); the way back lifts
each R4 resource to the R5 shape the R5 reverse mappers read (``from_*``). Every R5 element that R4 lacks travels in
an extension named like the official cross-version extensions (see :mod:`.common`), so R4 -> Trial keeps everything
R5 -> Trial keeps (tested on every seed and fixture in ``tests/test_r4.py``).
"""
