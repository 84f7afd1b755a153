"""Clauses of a criterion that change what its atoms mean, rewritten before the atoms are read (the computable
contract, docs/computable.md, section 1: time windows, "Precision first"):

- a disease-free interval that limits an exclusion ("history of cancer, unless free of the disease for >= 5
  years", "... unless cured with no evidence of recurrence for 5 years"): the condition within that many years;
- a sentence that runs on after a closing bracket without its full stop ("(i.e., Hepatitis B or C) Systematic
  serologies ... are not required"): the first sentence ends at the bracket.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import cache

from fhir_adapter.computable.lexer import Item, Token, _lexicon, _token_start
from fhir_adapter.computable.quantities import Qty, Window

__all__ = ["concrete_example", "disease_free_window", "resplit", "run_on_sentence"]

_CARVE_OUTS = frozenset({"except", "except for", "excluding", "with the exception of", "other than", "apart from"})
_YEARS_OR_MONTHS = frozenset({"a", "mo"})
_TAIL_CATS = frozenset({"filler", "neg", "and", "comma"})
_MEASURED = frozenset({"lab", "vital", "performance-status", "age", "life-expectancy"})
_PRESENCE = frozenset({"condition", "therapy", "pregnancy"})


@cache
def _free_words() -> frozenset[str]:
    """Words of a disease-free clause ("cured", "recurrence", "disease-free") besides filler and negations."""
    return frozenset(_lexicon()["disease_free_words"])


def _interval(tail: list[Item]) -> Qty | None:
    """The interval of an "unless <disease-free> for [>=] N years" clause, or None when the clause says anything
    else: only filler, negations ("free of", "no evidence of"), the words of ``disease_free_words`` and one
    interval in years or months, as a minimum or as written."""
    qty: Qty | None = None
    freed = False
    for k, it in enumerate(tail):
        if it.cat == "qty" and qty is None and it.data.unit in _YEARS_OR_MONTHS and it.data.high is None:
            cmp = tail[k - 1].data if k and tail[k - 1].cat == "cmp" else None
            if cmp not in (None, ">=", ">") or it.data.post not in (None, ">="):
                return None
            qty = it.data
        elif it.cat == "cmp" and k + 1 < len(tail) and tail[k + 1].cat == "qty":
            continue
        elif it.cat == "neg" or (it.cat == "word" and str(it.data).lower() in _free_words()):
            freed = True
        elif it.cat not in _TAIL_CATS and not (it.cat == "stop" and k == len(tail) - 1):
            return None
    return qty if freed else None


def disease_free_window(items: list[Item], kinds: dict[str, str], exclude: bool) -> list[Item]:
    """ "Prior history of cancer, other than MDS, unless ... free of the disease for >= 5 years": the unless-clause
    becomes a window of the past 5 years on the conditions named before it (before any carve-out, which the
    caller drops later); in an exclusion or after a negation only ("No other malignancy unless disease-free for 3
    years"). Anything else in the clause leaves the items as they are (the 'unless' then keeps them text)."""
    k = next((k for k, it in enumerate(items) if it.cat == "blocker" and str(it.data).lower() == "unless"), None)
    if k is None or not (exclude or any(it.cat == "neg" for it in items[:k])):
        return items
    qty = _interval(items[k + 1 :])
    carve = next((m for m, it in enumerate(items[:k]) if str(it.data).lower() in _CARVE_OUTS), k)
    targets = [m for m, it in enumerate(items[:carve]) if it.cat == "concept" and kinds.get(it.data) == "condition"]
    if qty is None or not targets or any(it.cat == "window" for it in items[:k]):
        return items
    last = targets[-1]
    at = items[last]
    window = Item("window", at.end, at.end, Window(-qty.value, qty.unit or "a", None))
    head = items[:k]
    if head and head[-1].cat == "comma":
        head = head[:-1]
    return [*head[: last + 1], window, *head[last + 1 :]]


def run_on_sentence(toks: list[Token], items: list[Item]) -> list[Item]:
    """The items up to a ')' directly followed by a capitalised word that starts a new sentence (a full stop lost
    in the registry's text), else all of them."""
    for k in range(1, len(items) - 1):
        nxt = items[k + 1]
        if items[k].cat == "rparen" and nxt.cat in ("word", "filler") and _capitalised(toks, nxt):
            return items[: k + 1]
    return items


def _capitalised(toks: list[Token], it: Item) -> bool:
    """A word written "Systematic" (not "HIV", not "serologies")."""
    k = bisect_left(toks, it.start, key=_token_start)
    text = toks[k].text if k < len(toks) else ""
    return len(text) > 1 and text[0].isupper() and text[1:].islower()


def concrete_example(example: list[Item], kinds: dict[str, str]) -> bool:
    """An example of a list ("such as A, B") that is one condition or exposure with nothing that qualifies it, at
    most its own window after it ("myocardial infarction within the past 6 months"), or a measurement with its
    own value ("NYHA grade II or above"), or both ("Class III or IV heart failure as defined by the New York Heart
    Association classification": a concept named again counts once). A measurement without a value of its own is
    none (its value may be shared)."""
    body = [it for it in (example[:-1] if example[-1].cat == "window" else example) if it.cat != "filler"]
    seen: set[str] = set()
    presence = values = 0
    for k, it in enumerate(body):
        if it.cat == "concept" and it.data in seen:
            continue
        if it.cat == "concept" and kinds.get(it.data) in _MEASURED:
            after = [x.cat for x in body[k + 1 : k + 3]]
            if after[:1] != ["qty"] and after != ["cmp", "qty"]:
                return False
        elif it.cat == "concept" and kinds.get(it.data) in _PRESENCE:
            presence += 1
        elif it.cat == "qty":
            values += 1
        elif it.cat != "cmp":
            return False
        if it.cat == "concept":
            seen.add(it.data)
    measured = len(seen) - presence
    return bool(seen) and presence <= 1 and values == measured


def resplit(part: list[Item]) -> list[list[Item]]:
    """A part cut at the 'semi' items an example list put between its alternatives, each piece with the part's
    opening window ("Within the past 3 months, ...")."""
    if not any(it.cat == "semi" for it in part):
        return [part]
    pieces: list[list[Item]] = [[]]
    for it in part:
        if it.cat == "semi":
            pieces.append([])
        else:
            pieces[-1].append(it)
    lead = pieces[0][:1] if pieces[0] and pieces[0][0].cat == "window" else []
    return [pieces[0], *(lead + p for p in pieces[1:] if p)]
