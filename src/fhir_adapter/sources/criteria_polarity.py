"""What a criterion's own wording says about its sub-list and its polarity (used by ``sources.criteria``).

The computable contract (docs/computable.md, section 1, "Nesting and polarity") reads a criterion's ``exclude``
relative to the item holding it, as FHIR does for a characteristic nested in a ``definitionByCombination``
(https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic.exclude), and combines a
sub-list as the text says (``definitionByCombination.code`` all-of / any-of,
https://hl7.org/fhir/R5/valueset-characteristic-combination.html). Three readings, all from the words alone:

* ``sub_list``: how an item's sub-items read. "any of the following", "one of the following", "at least one of",
  "one or both of", "either:" say the sub-items are alternatives (``any-of``); "all of the following" says they are
  all required (``all-of``). A plain list is ``all-of`` under an item that includes (each sub-item is required:
  "Adequate organ function:" ANC, platelets ...) and ``any-of`` under an item that excludes (each sub-item is a
  reason to exclude: "Diagnoses of the following conditions:", "Inadequate organ function defined as:"). A
  sub-item means what its parent means (``exclude=False``) unless the parent's line ends
  by carving the sub-list out ("Prior malignancy, except:") or clearly negates the alternatives ("must not have any
  of the following:", "none of the following:"): then each sub-item is ``exclude=True``, combined all-of. Where a
  negation is further away in the clause ("no more than one of the following") the list is left as a plain one.
* ``header_sub_list``: the items under a header kept as a criterion ("Exclusion criteria for cohort B:") are
  criteria of that heading, relative to it: under an exclusion header each one excludes on its own (``any-of``).
* ``whole_item_exclusion``: an item that as a whole says it excludes ("Mucosal melanomas are excluded.", "Patients
  who ... are not eligible.") -- one sentence ending with the exclusion. ``mentions_exclusion`` is the looser test
  (the wording anywhere: "...; patients that are pregnant are excluded; ..."), which only earns a warning.
"""

from __future__ import annotations

import re

from fhir_adapter.ascii_words import holds_any, lower_ascii, may_contain

__all__ = ["header_sub_list", "may_say_excluded", "mentions_exclusion", "sub_list", "whole_item_exclusion"]

ALL_OF = "all-of"
ANY_OF = "any-of"

# The parent's line ends by introducing the sub-list as exceptions: "Prior malignancy, except:", "... with the
# exception of the following:", "... other than:". Matched against the text without its trailing colon.
_CARVE_OUT = re.compile(
    r"\b(?:except(?:\s+for)?|with\s+the\s+exceptions?\s+of|other\s+than|excluding|apart\s+from)"
    r"(?:\s+the\s+following)?\Z",
    re.IGNORECASE,
)
# Wording that says the sub-items are alternatives. Not "any 2 of", "exactly one of", "only one of", "no more than
# one of", "at most one of" (neither all-of nor any-of), not "none of" / "neither of" (\b keeps "one"/"either" from
# matching inside them).
_ALTERNATIVES = re.compile(
    r"(?<!exactly )(?<!only )(?<!than )(?<!most )"
    r"\b(?:any(?:\s+one)?|(?:at\s+least\s+)?(?:one|1)(?:\s+or\s+(?:more|both))?|either)"
    r"\s+of\s+(?:the\s+|these\s+)?(?:following|below)\b"
    r"|\bany\s+of\s+the\s+\w+\s+(?:listed|given|shown)\s+below\b",
    re.IGNORECASE,
)
_ALL_OF = re.compile(r"\b(?:all|both)\s+(?:of\s+)?(?:the\s+|these\s+)?(?:following|below)\b", re.IGNORECASE)
_EITHER_AT_END = re.compile(r"\beither\Z", re.IGNORECASE)  # "... an adult carer who is either:"
_NONE_OF = re.compile(r"\b(?:none|neither)\s+of\s+(?:the\s+|these\s+)?(?:following|below)\b", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[.;:]")
_NEGATIONS = frozenset(("not", "no", "never", "without", "nor", "free", "cannot", "neither", "none"))
_NEGATION_NEAR = 3  # a negation among the words right before "any of" ("no history of any of") negates them

# The looser test: the wording anywhere in the item.
_EXCLUSION_WORDING = re.compile(
    r"\b(?:(?:is|are|will\s+be|shall\s+be|would\s+be|be)\s+(?:also\s+|therefore\s+)?(?:excluded|ineligible)"
    r"|not\s+eligible)\b",
    re.IGNORECASE,
)
# The whole item is one statement that ends by excluding: "<who> are excluded", "<who> is not eligible", optionally
# "from the study" / "for this trial". Matched against the item's one sentence without its final "." or ":".
_ENDS_EXCLUDING = re.compile(
    r"\S\s+(?:are|is|(?:will|shall|would|should|must)\s+(?:also\s+)?be)"
    r"\s+(?:also\s+|therefore\s+)?(?:excluded|ineligible|not\s+eligible)"
    r"(?:\s+(?:from|for|to\s+participate\s+in)\s+(?:the\s+|this\s+)?(?:study|trial|participation|enrol?ment))?\Z",
    re.IGNORECASE,
)
_INNER_SENTENCE = re.compile(r"[.;]\s")  # "X are excluded. Y are eligible if ..." is more than one statement

# The words without which the case-blind patterns above cannot match. In ASCII text a case-blind pattern of ASCII
# words matches only where those words are in the lower-case text, so a plain substring test skips the regex search
# (most items name none of them); other text ("K", the Kelvin sign, matches "k") is always searched.
_LIST_WORDS = ("following", "below")  # _ALTERNATIVES, _ALL_OF, _NONE_OF
_CARVE_OUT_ENDS = ("except", "for", "of", "than", "excluding", "from", "following")  # the last word of _CARVE_OUT
_EXCLUDING_WORDS = ("excluded", "eligible")  # _EXCLUSION_WORDING, _ENDS_EXCLUDING ("ineligible", "not eligible")


def may_say_excluded(text: str) -> bool:
    """False when the text has none of the words without which neither ``whole_item_exclusion`` nor
    ``mentions_exclusion`` can hold (most items): the caller can skip both."""
    return may_contain(text, _EXCLUDING_WORDS)


def _lead(text: str) -> str:
    """The text without its trailing colon and spaces: what introduces a sub-list."""
    return text.rstrip().rstrip(":：").rstrip()


def _negation_before(text: str, start: int) -> tuple[bool, bool]:
    """(a negation right before ``start``, a negation anywhere earlier in the same clause)."""
    clause = _CLAUSE_BREAK.split(text[:start])[-1]
    words = [w.strip("(),").lower() for w in clause.split()]
    negated = [w in _NEGATIONS or w.endswith("n't") for w in words]
    return any(negated[-_NEGATION_NEAR:]), any(negated)


def sub_list(parent_text: str, excluding: bool = False) -> tuple[bool, str]:
    """(``exclude`` of the sub-items relative to the item, how they combine) for an item with this text;
    ``excluding``: the item's effective polarity is an exclusion (a plain list then reads any-of)."""
    lead = _lead(parent_text)
    low = lower_ascii(lead)
    names_list = holds_any(low, _LIST_WORDS)
    carves = low is None or low.endswith(_CARVE_OUT_ENDS)
    if (carves and _CARVE_OUT.search(lead)) or (names_list and _NONE_OF.search(lead)):
        return True, ALL_OF
    m = _ALTERNATIVES.search(lead) if names_list else None
    if m is not None:
        near, anywhere = _negation_before(lead, m.start())
        if near:  # "must not have any of the following": none of them
            return True, ALL_OF
        return False, ALL_OF if anywhere else ANY_OF
    if (low is None or low.endswith("either")) and _EITHER_AT_END.search(lead):
        return False, ANY_OF
    if names_list and _ALL_OF.search(lead):
        return False, ALL_OF
    return False, ANY_OF if excluding else ALL_OF


def header_sub_list(exclude: bool) -> tuple[bool, str]:
    """(``exclude`` of the items, how they combine) under a header kept as a criterion: each item of an exclusion
    header excludes on its own, the items of an inclusion header are all required."""
    return False, ANY_OF if exclude else ALL_OF


def whole_item_exclusion(text: str) -> bool:
    """True when the item as a whole says it excludes ("Mucosal or ocular melanomas are excluded.")."""
    if not may_contain(text, _EXCLUDING_WORDS):
        return False
    sentence = text.strip()
    sentence = sentence[:-1] if sentence.endswith((".", ":", "：")) else sentence
    if _INNER_SENTENCE.search(sentence):
        return False
    return _ENDS_EXCLUDING.search(sentence.rstrip()) is not None


def mentions_exclusion(text: str) -> bool:
    """True when the item says somewhere that someone is excluded or not eligible."""
    return may_contain(text, _EXCLUDING_WORDS) and _EXCLUSION_WORDING.search(text) is not None
