"""What a criterion's own wording says about its sub-list and its polarity (used by ``sources.criteria``).

The computable contract (docs/computable.md, section 1, "Nesting and polarity") reads a criterion's ``exclude``
relative to the item holding it, as FHIR does for a characteristic nested in a ``definitionByCombination``
(https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic.exclude): a sub-item of
an exclusion item is not an exclusion of its own, unless its parent's line carves the sub-list out ("Prior
malignancy, except:").
"""

from __future__ import annotations

import re

__all__ = ["children_exclude"]

# The parent's line ends by introducing the sub-list as exceptions: "Prior malignancy, except:", "... with the
# exception of the following:", "... other than:". Matched against the text without its trailing colon.
_CARVE_OUT = re.compile(
    r"\b(?:except(?:\s+for)?|with\s+the\s+exceptions?\s+of|other\s+than|excluding|apart\s+from)"
    r"(?:\s+the\s+following)?\Z",
    re.IGNORECASE,
)


def children_exclude(parent_text: str) -> bool:
    """The ``exclude`` of the sub-items of an item with this text, relative to it: True only when the text
    introduces them as exceptions ("except:"), else False (a sub-item means what its parent means)."""
    lead = parent_text.rstrip().rstrip(":：").rstrip()
    return _CARVE_OUT.search(lead) is not None
