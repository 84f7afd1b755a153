"""MeSH unique identifiers in NLM's own form, the one rule every reader applies to the ids it reads.

NLM lengthened new MeSH unique identifiers from 7 to 10 characters (a letter and 9 digits) in 2014 and left the
existing ones as they were; the numbering went on from the last short one ("If D009710 is the last descriptor UI
on April 15, then the next descriptor UI would be D000009711", NLM Technical Bulletin 2013 Mar-Apr (391) e1,
http://www.nlm.nih.gov/pubs/techbull/ma13/ma13_mesh_ui_expand.html). So each number has one form only: numbers
given out before the change are 7 characters (D003731), numbers given out after it are 10 (D000086382).

ClinicalTrials.gov API v2 (and the retired API v1) pad every id to 10 characters (D000003731 for NLM's D003731).
The same bulletin gives D064418 (descriptors) and C578561 (supplementary concept records) as existing
7-character ids, so a padded id whose number is at most that was given out before the change: its canonical form
is the 7-character one. Any other id is kept as given: a real 10-character id, and the few padded ids numbered
between those examples and the first 10-character ids (D000066388 is the lowest descriptor id in MeSH 2018), whose
form the bulletin does not settle.
"""

from __future__ import annotations

import re

__all__ = ["canonical_mesh_ui"]

# A 10-character descriptor (D) or supplementary concept record (C) id whose first three digits are zeros: the
# form API v2 writes for a 7-character id (fullmatch only).
_PADDED = re.compile(r"([CD])000(\d{6})")
# The numbers of ids NLM's bulletin (see the module docstring) shows in the existing 7-character form: every number
# up to them was given out before the change.
_SHORT_UNTIL = {"D": 64418, "C": 578561}


def canonical_mesh_ui(ui: str) -> str:
    """NLM's MeSH unique identifier for an id as a registry wrote it: ``"D000003731"`` -> ``"D003731"``,
    ``"C000072379"`` -> ``"C072379"``; ``"D000086382"`` (a real 10-character id), ``"D003731"`` and anything
    else unchanged (surrounding spaces removed)."""
    ui = ui.strip()
    m = _PADDED.fullmatch(ui)
    if m is None or int(m.group(2)) > _SHORT_UNTIL[m.group(1)]:
        return ui
    return m.group(1) + m.group(2)
