"""The computable layer of eligibility criteria: atoms extracted from a criterion's text (the computable contract,
docs/computable.md, section 1). Knows no registry format and no FHIR: it reads ``Criterion.text`` and sets
``Criterion.definition`` (``fhir_adapter.model.Atom`` / ``AtomGroup``). See docs/architecture.md.

The parser is deterministic and explains itself: every atom keeps the words that gave it (``Atom.evidence``) and
``annotate_criteria`` returns one ``information`` issue per atom. Precision first: a criterion with anything the
parser cannot account for stays text only."""

from __future__ import annotations

from fhir_adapter.computable.extract import definition_of
from fhir_adapter.computable.flat import flat_atoms
from fhir_adapter.computable.vocabulary import concept_for, concept_key, kind_of
from fhir_adapter.issues import Issue
from fhir_adapter.model import Atom, AtomGroup, Criterion


def _atoms(definition: Atom | AtomGroup) -> list[Atom]:
    if isinstance(definition, Atom):
        return [definition]
    return [a for m in definition.members for a in _atoms(m)]


def _describe(atom: Atom) -> str:
    """ "atom: lab anc >= 1.5 10*9/L <- 'Absolute neutrophil count ≥ 1.5 × 109/L'"."""
    q = atom.quantity
    if q is not None:
        what = f"{q.comparator or '='} {q.value:g} {q.unit or ''}".rstrip()
    elif atom.low is not None and atom.high is not None:
        what = f"{atom.low.value:g}..{atom.high.value:g} {atom.low.unit or ''}".rstrip()
    else:
        what = f"= {concept_key(atom.value)}" if atom.value is not None else "present"
    window = ""
    if atom.windows:
        w = atom.windows[0]
        window = f" within {w.low:g}..{w.high:g} {w.unit}" + (f" of {concept_key(w.event)}" if w.event.text else "")
    neg = "not " if atom.exclude else ""
    return f"atom: {atom.kind} {neg}{concept_key(atom.concept)} {what}{window} <- '{atom.evidence}'"


def _annotate(criterion: Criterion) -> None:
    if criterion.children:
        criterion.definition = None  # an item with children has no definition of its own
        for child in criterion.children:
            _annotate(child)
        return
    criterion.definition = definition_of(criterion.text, criterion.exclude)


def _issues(criterion: Criterion, location: str, issues: list[Issue]) -> None:
    for j, child in enumerate(criterion.children):
        _issues(child, f"{location}.children[{j}]", issues)
    if criterion.definition is not None:
        issues += [Issue("information", location, _describe(a), "informational") for a in _atoms(criterion.definition)]


def atom_issues(criteria: list[Criterion], *, location: str = "eligibilityCriteria") -> list[Issue]:
    """One ``information`` issue (code ``informational``) per atom of the criteria, saying which words gave it:
    "atom: lab anc >= 1.5 10*9/L <- 'Absolute neutrophil count ≥ 1.5 × 109/L'" (``location[i].children[j]``
    locations, as ``split_criteria``), for ``convert -v``."""
    issues: list[Issue] = []
    for i, criterion in enumerate(criteria):
        _issues(criterion, f"{location}[{i}]", issues)
    return issues


def annotate_criteria(criteria: list[Criterion], *, location: str = "eligibilityCriteria") -> list[Issue]:
    """Set the ``definition`` of every criterion (nested ones too) whose text is computable. Text that is unclear
    stays text. Returns the issues found: none today -- the per-atom explanations are ``atom_issues`` (kept out of
    the reader's issue list until its tests and ``convert -v`` take ``information`` issues; see the report of
    issue 9)."""
    for criterion in criteria:
        _annotate(criterion)
    return []


__all__ = ["annotate_criteria", "atom_issues", "concept_for", "concept_key", "flat_atoms", "kind_of"]
