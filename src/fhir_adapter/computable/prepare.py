"""Before the atoms are read: the criterion's items split into parts (";", circled numbers, sentences) and the
words that carry no condition of their own taken out -- an introduction before ":" naming what the list defines
("adequate organ function as follows:"), parentheticals of method or example ("(based on ...)", "(e.g. ...)"),
a condition defined by its own parenthetical ("uncontrolled hypertension (systolic ... )"), a permission or a
future clause at the end ("allowing ...", "or expected to ..."; the latter only where it adds exclusions), a clause
that says why or how ("because of ...", "based on ..."), an exclusion's exceptions ("except ..."), the head of an
example list ("any anticancer therapy, including A, B"). A threshold with an alternative for a subgroup is made
unreadable; further requirements after an and/or list of an inclusion become parts of their own.
What is left must be fully understood, else the criterion stays text (the computable contract, docs/computable.md,
"Precision first")."""

from __future__ import annotations

from itertools import accumulate, pairwise
from operator import itemgetter

from fhir_adapter.computable.alternatives import Reading, alternatives
from fhir_adapter.computable.clauses import concrete_example, disease_free_window, resplit, run_on_sentence
from fhir_adapter.computable.lexer import Item, Token
from fhir_adapter.computable.phrases import (
    _DEPTH,
    _closings,
    _concepts,
    _first_words,
    _matched,
    _paren_end,
    _phrases,
    _phrases_flat,
    _starts_with,
    _words,
)

__all__ = ["parts_of"]

_CONDITION_KINDS = {"condition", "pregnancy"}
_MEASURED = {"lab", "vital", "performance-status", "age", "life-expectancy"}
_DESCRIPTION = frozenset({"word", "filler", "blocker"})
_OPENERS = frozenset({"i.e.", "ie", "i.e", "defined as"})  # blockers that open a definition
_CARVE_OUTS = frozenset({"except", "except for", "excluding", "with the exception of", "other than", "apart from"})
# each starts with the word "including": a criterion without that word has no example list (_rewritten skips it)
_INCLUDING = frozenset({"including", "including but not limited to", "including, but not limited to"})
_SUCH_AS = frozenset({"such as", "e.g.", "e.g", "eg", "for example"})
# words in the head of an example list that limit what the examples mean: a carve-out, or a state the examples
# would have to be in ("uncontrolled conditions such as hypertension" does not exclude every hypertension)
_HEAD_LIMITS = _CARVE_OUTS | {"unless", "if", "when", "provided", "only", "but", "however", "including"}
_HEAD_LIMITS |= {"uncontrolled", "controlled", "decompensated", "unstable", "poorly", "active", "untreated"}
_HEAD_LIMITS |= {"symptomatic", "chronic", "acute", "recent"}
_PRESENCE = frozenset({"condition", "therapy", "pregnancy"})
_low = itemgetter(1)  # a token's lower-case form (Token.low), in C


def _drop_preamble(toks: list[Token], items: list[Item]) -> list[Item]:
    """Items after the first ':' when everything before it is an introduction of the list."""
    colon = next((k for k, it in enumerate(items) if it.cat == "colon"), None)
    if colon is None or colon + 1 >= len(items):
        return items
    allowed = _phrases("preamble")
    head = items[:colon]
    if all(it.cat in ("filler", "comma", "and", "neg") or _words(toks, it) in allowed for it in head):
        return items[colon + 1 :]
    return items


def _drop_parentheticals(toks: list[Token], items: list[Item], kinds: dict[str, str]) -> list[Item]:
    """Parentheticals of method or example dropped; a condition defined by measured atoms in its parenthetical
    ("Insufficient control of hypertension (systolic BP >= 140 mmHg ...)") replaced by them."""
    out: list[Item] = []
    ends = _closings(items)
    k = 0
    while k < len(items):
        it = items[k]
        end = ends[k]
        if end < 0:
            out.append(it)
            k += 1
            continue
        inner = items[k + 1 : end]
        pair = any(x.cat == "bp" for x in inner) and any(x.cat == "qty" for x in inner)  # not "(BP)" after a name
        unbound = not pair and not any(
            x.cat in ("concept", "window") for x in inner
        )  # "(15-25 mIU/mL)", "(see appendix)"
        defines = _starts_with(toks, inner, "definition_openers")
        ignorable = not defines and _starts_with(toks, inner, "ignorable_parentheticals")
        if inner and inner[0].cat == "blocker" and str(inner[0].data).lower() == "unless":
            # "<threshold> (unless <subgroup>, in which case ...)": the threshold does not hold for everyone
            out.append(Item("blocker", it.start, items[end].end, "unless"))
            k = end + 1
            continue
        if unbound or ignorable or any(x.cat == "blocker" and x.data not in _OPENERS for x in inner):
            k = end + 1
            continue
        measured = any(x.cat == "bp" or (x.cat == "concept" and kinds.get(x.data) in _MEASURED) for x in inner)
        if defines:
            inner = inner[_matched(toks, inner, "definition_openers") :]
            inner = inner[1:] if inner and inner[0].cat == "comma" else inner
        if measured and out and out[-1].cat == "concept" and kinds.get(out[-1].data) in _CONDITION_KINDS:
            qualifiers = _phrases("definition_qualifiers")
            out.pop()
            while out and (out[-1].cat == "filler" or _words(toks, out[-1]) in qualifiers):
                out.pop()
        elif measured and defines:
            out = out[: _after_connector(out)]  # "Evidence of platelet engraftment (ie, platelets >= 20 x 10^9/L)"
        elif defines and _defined_condition(out, inner, kinds):
            out.pop()  # "active hepatic disease (i.e., hepatitis B or C)": what it is defined as
        elif measured:
            out = out[: _described(out)]  # "end stage renal function (CrCl < 15 mL/min ...)", "or hypotension (...)"
        if out and out[-1].cat == "qty":
            out.append(it)  # "ECOG 0-2 (Karnofsky >= 50%)", "Hb >= 90 g/L (no transfusion ...)"
        out += inner
        k = end + 1
    return out


def _defined_condition(out: list[Item], inner: list[Item], kinds: dict[str, str]) -> bool:
    """A condition right before an "(i.e. ...)" of conditions only: the parenthetical says what it is."""
    named = _concepts(inner)
    last = out[-1] if out else None
    return (
        last is not None
        and last.cat == "concept"
        and kinds.get(last.data) in _CONDITION_KINDS
        and bool(named)
        and all(kinds.get(c) in _CONDITION_KINDS for c in named)
    )


def _after_connector(out: list[Item]) -> int:
    m = len(out)
    while m > 0 and out[m - 1].cat not in ("or", "and", "comma"):
        m -= 1
    return m


def _described(out: list[Item]) -> int:
    """Where the words before a parenthetical of measurements start, when they only name what it defines (unknown
    words back to a connector or the start); else the whole of ``out`` is kept."""
    m = len(out)
    while m > 0 and out[m - 1].cat in _DESCRIPTION:
        m -= 1
    named = any(x.cat == "word" for x in out[m:])
    return m if named and (m == 0 or out[m - 1].cat in ("or", "and", "comma")) else len(out)


def _drop_clauses(toks: list[Token], items: list[Item], kinds: dict[str, str], exclude: bool) -> list[Item]:
    """A permission clause at the end (", allowing the use of antihypertensive therapy ...") that names no
    condition or measurement; in an exclusion, a future clause (", or expected to require ..."): "breastfeeding,
    pregnant or plan to become pregnant" keeps its alternatives ("breastfeeding or pregnant")."""
    for k, it in enumerate(items):
        if it.cat not in ("comma", "or") or k + 1 >= len(items):
            continue
        at = k + 1 if it.cat == "comma" else k  # ", allowing ...", "or plan to become ..."
        # the clause's phrase first (rarely there), what the rest names only then
        if _starts_with(toks, items, "permission_clauses", at) and not any(
            x.cat == "concept" and kinds.get(x.data) != "therapy" for x in items[at:]
        ):
            return items[:k]
        if exclude and _starts_with(toks, items, "future_clauses", at):
            if it.cat == "or" and not _concepts(items[:k]):  # "have received or will receive a live vaccine"
                return items[:k] + _drop_clauses(
                    toks, items[k + _matched(toks, items[at:], "future_clauses") :], kinds, exclude
                )
            return _last_comma_as_or(items[:k]) if it.cat == "or" else items[:k]
    return items


def _last_comma_as_or(items: list[Item]) -> list[Item]:
    if any(it.cat in ("and", "or") for it in items):
        return items
    commas = [k for k, it in enumerate(items) if it.cat == "comma"]
    if not commas:
        return items
    last = items[commas[-1]]
    return [*items[: commas[-1]], Item("or", last.start, last.end, ","), *items[commas[-1] + 1 :]]


def _drop_subgroups(toks: list[Token], items: list[Item]) -> list[Item]:
    """An alternative threshold for a subgroup ("<= 2.5 x ULN or <= 5 x ULN (for patients with liver
    metastases)", "... OR a stable bilirubin in patients who ...") makes the part unreadable: the main threshold
    alone would rule out a patient of the subgroup wrongly. A subgroup that is the complement of the first
    alternative ("creatinine < 1.5 x ULN or CrCl >= 60 mL/min for patients with creatinine above normal") keeps
    both alternatives and only loses its clause; "..., or in women with ..." (the same requirement for another
    subgroup) goes. Every change starts where a phrase of ``subgroup_clauses`` starts (``_rewritten`` skips a
    criterion without such a first word)."""
    for m in range(1, len(items) - 1):
        if items[m].cat == "or" and _starts_with(toks, items, "subgroup_clauses", m + 1):
            return items[: m - 1] if items[m - 1].cat == "comma" else items[:m]
    # the 'or' after a threshold, or the one that opens a part ("...; or total bilirubin <= 3 x ULN in ...")
    k = next((k for k, it in enumerate(items) if it.cat == "or" and (k == 0 or items[k - 1].cat == "qty")), None)
    if k is None:
        return items
    for s in range(k + 1, len(items)):
        paren = items[s].cat == "lparen"
        if not _starts_with(toks, items, "subgroup_clauses", s + 1 if paren else s):
            continue
        end = _paren_end(items, s) if paren else -1
        inner, after = (items[s + 1 : end], items[end + 1 :]) if end > 0 else (items[s:], [])
        if _concepts(inner) & _concepts(items[:k]):
            return items[:s] + after
        opener = items[:1] if k == 0 else []  # a part that opens with 'or' stays an alternative
        return [*opener, Item("blocker", items[k].start, items[k].end, "subgroup alternative")]
    return items


def _drop_exceptions(items: list[Item], exclude: bool) -> list[Item]:
    """What excludes ("Malignancy within 3 years except ...", "No other malignancy ... except ...") loses the
    exceptions after its atoms (the exclusion stays, wider). "<threshold> unless <subgroup> ..." stays text (the
    'unless' blocks): the threshold does not hold for the subgroup."""
    negated = False
    for k, it in enumerate(items):
        negated = negated or it.cat == "neg"
        if it.cat != "blocker" or k == 0:
            continue
        before = items[k - 1] if items[k - 1].cat != "comma" else items[k - 2] if k > 1 else items[k - 1]
        word = str(it.data).lower()
        excluding = exclude or negated
        if word in _CARVE_OUTS and excluding and before.cat in ("concept", "window"):
            return items[:k]
    return items


def _examples(items: list[Item]) -> list[Item]:
    """ "X, including (but not limited to) A, B": X alone when X is a concept; else A, B with the negation and the
    window of the head ("any anti-tumour therapy within the past month, including chemotherapy, radiotherapy")."""
    k = next((k for k, it in enumerate(items) if it.cat == "filler" and it.data in _INCLUDING), None)
    if k is None or any(it.cat == "lparen" for it in items[:k]):
        return items
    head, rest = items[:k], items[k + 1 :]
    if _concepts(head):
        return head[:-1] if head and head[-1].cat == "comma" else head
    while rest and (rest[-1].cat in ("comma", "stop") or str(rest[-1].data).lower() == "etc"):
        rest = rest[:-1]
    permits = any(str(it.data).lower() in _phrases_flat("permission_words") for it in head)
    if not _concepts(rest) or permits:
        return items
    depth = list(accumulate(_DEPTH.get(x.cat, 0) for x in rest))
    if not any(it.cat in ("and", "or") and d == 0 for it, d in zip(rest, depth, strict=True)):  # examples: any
        rest = [
            Item("or", it.start, it.end, ",") if it.cat == "comma" and d == 0 else it
            for it, d in zip(rest, depth, strict=True)
        ]
    return [it for it in head if it.cat in ("neg", "window")] + rest


def _such_as(items: list[Item], kinds: dict[str, str], exclude: bool) -> list[Item]:
    """In an exclusion, "X (such as A, B, severe C)" or "X, e.g. A, B" where X names no concept: the concrete,
    unqualified examples are the reasons to exclude, one alternative each; an example the vocabulary does not know
    or that carries a qualifier is left out (the dev set's labelling rules: examples are labelled when concrete and
    unqualified). A bracketed list of two or more after such an X ("pulmonary disease (A, B, C)") names its members
    the same way. What follows the closing bracket stays as written."""
    if not exclude:
        return items
    k = _example_opener(items)
    if k is None:
        return items
    listed = items[k].cat == "lparen" and (k + 1 == len(items) or str(items[k + 1].data).lower() not in _SUCH_AS)
    k += 1 if items[k].cat == "lparen" and not listed else 0
    opened = listed or (k > 0 and items[k - 1].cat == "lparen")
    head = items[:k] if listed else items[: k - 1] if opened else items[:k]
    end = _paren_end(items, len(head)) if opened else len(items)
    if end < 0 or not _plain_head(head) or (listed and not _a_list(items[k + 1 : end])):
        return items
    # an example with its own window first: a window belongs to the atoms before it that have none
    examples = [e for e in _segments(items[k + 1 : end]) if concrete_example(e, kinds)]
    # an example of two atoms ("Class III or IV heart failure": both) is an alternative of its own: a part
    sep = "semi" if any(len(_concepts(e)) > 1 for e in examples) else "or"
    kept: list[Item] = []
    for example in sorted(examples, key=lambda e: e[-1].cat != "window"):
        kept += [Item(sep, example[0].start, example[0].start, ","), *example] if kept else example
    if not kept:
        return items
    return [it for it in head if it.cat == "window"] + kept + items[end + 1 :]


def _example_opener(items: list[Item]) -> int | None:
    """Where the first '(' or "such as", "e.g." ... is, if anywhere."""
    for k, it in enumerate(items):
        data = it.data
        if it.cat == "lparen" or (isinstance(data, str) and data.lower() in _SUCH_AS):
            return k
    return None


def _plain_head(head: list[Item]) -> bool:
    """A head naming no concept, one thing (no list, no negation), nothing that limits what the examples mean
    ("other than", "unless", "uncontrolled")."""
    inner = head[:-1] if head and head[-1].cat == "comma" else head
    if inner and inner[0].cat == "window":  # "Within the past 3 months, there has been ...": the examples' window
        inner = inner[2:] if len(inner) > 1 and inner[1].cat == "comma" else inner[1:]
    bad = ("lparen", "rparen", "colon", "neg", "comma", "or", "and", "semi")
    return not _concepts(head) and not any(it.cat in bad or str(it.data).lower() in _HEAD_LIMITS for it in inner)


def _a_list(items: list[Item]) -> bool:
    """A bracketed list of two or more members, none measured ("(A, B or C)", not "(eGFR < 30 or dialysis)")."""
    return len(_segments(items)) > 1 and not any(it.cat in ("qty", "cmp", "value") for it in items)


def _segments(items: list[Item]) -> list[list[Item]]:
    """The members of a list at bracket depth 0 (between commas, 'or' and 'and'), without a closing 'etc'."""
    out: list[list[Item]] = [[]]
    depth = 0
    for it in items:
        depth += _DEPTH.get(it.cat, 0)
        if it.cat in ("comma", "or", "and") and depth == 0:
            out.append([])
        elif str(it.data).lower() != "etc":
            out[-1].append(it)
    return [seg for seg in out if seg]


def _first_sentence(items: list[Item]) -> list[Item]:
    """The criterion's first sentence, before a ':' that follows it: what comes after is explanation,
    exceptions or examples ("Pregnant or lactating women: the effects of ... on the fetus ...")."""
    for k, it in enumerate(items):
        if it.cat in ("stop", "colon") and any(x.cat != "filler" for x in items[:k]):
            return items[:k]
    return items


def _split(toks: list[Token], items: list[Item], exclude: bool) -> list[list[Item]]:
    """The parts: at ';', and in an exclusion at ', and <new subject>' ("pregnant or breastfeeding, and males and
    females who cannot comply ...": two reasons to exclude); in an inclusion at a relative clause (``_Relative``)."""
    if not _split_points(items, exclude):
        return [list(items)] if items else []  # one part (most criteria): no ';', no new subject, no clause
    parts: list[list[Item]] = [[]]
    subjects = _phrases_flat("new_subjects")
    relative = _Relative()
    clauses = not exclude and any(it.cat == "filler" and it.data in ("who", "that") for it in items)
    for k, it in enumerate(items):
        nxt = items[k + 2] if k + 2 < len(items) else None
        another = exclude and it.cat == "comma" and nxt is not None and items[k + 1].cat == "and"
        # in an inclusion, "... who has X and who agrees to Y": two requirements, each read (or not) on its own
        clause = not exclude and it.cat == "and" and k + 1 < len(items) and items[k + 1].data == "who"
        clause = clause or (clauses and relative.opens(it))  # "NSCLC who present with ...": as above
        if clause or it.cat == "semi" or (another and nxt is not None and " ".join(_words(toks, nxt)) in subjects):
            parts.append([])
            relative = _Relative()
        else:
            parts[-1].append(it)
    return [p for p in parts if p]


def _may_split(items: list[Item], found: tuple[set[str], frozenset[str]], exclude: bool) -> bool:
    """False when ``_split_points(items, exclude)`` is, read off ``found`` (the categories and lower-case words of
    the criterion whose items ``items`` are: some of them, a blocker perhaps made 'neg') without a pass over
    ``items``: no ';', in an exclusion no comma or no 'and', in an inclusion no word "who" or "that" (only such a
    token gives an item those data: the vocabulary's phrases "who" and "that", or a word written so)."""
    cats, lows = found
    return "semi" in cats or (("comma" in cats and "and" in cats) if exclude else not lows.isdisjoint(_CLAUSES))


def _split_points(items: list[Item], exclude: bool) -> bool:
    """Whether ``_split`` can split ``items`` anywhere (a quick test): a ';'; in an exclusion a ', and'; in an
    inclusion a 'who' or 'that' (after 'and', or opening a relative clause)."""
    cats = [it.cat for it in items]  # searched in C below, not one generator step per item
    if "semi" in cats:
        return True
    if exclude:
        return "comma" in cats and "and" in cats and ("comma", "and") in pairwise(cats)
    datas = [it.data for it in items]
    return "who" in datas or "that" in datas


_CLAUSES = ("who", "that")  # the data of the items that open a clause _split splits at


class _Relative:
    """Whether an item opens a relative clause ("who ...", "that ...") right after a condition (or after the
    condition's bracket: "Chronic AD (according to ...) that has been present ..."), outside brackets and
    negations: in an inclusion both are required, so the clause is a requirement of its own. Fed every item of a
    part in order (constant work per item)."""

    def __init__(self) -> None:
        self.depth = 0
        self.negated = False
        self.anchor: Item | None = None  # the last item at bracket depth 0 that is no bracket

    def opens(self, it: Item) -> bool:
        anchored = self.anchor is not None and self.anchor.cat == "concept" and not self.negated
        if anchored and self.depth == 0 and it.cat == "filler" and it.data in ("who", "that"):
            return True
        self.negated = self.negated or it.cat in ("neg", "prohibit")
        if it.cat in ("lparen", "rparen"):
            self.depth = max(0, self.depth + (1 if it.cat == "lparen" else -1))
        elif self.depth == 0:
            self.anchor = it
        return False


def _drop_explanations(toks: list[Token], items: list[Item]) -> list[Item]:
    """A clause that says why or how ("... are ineligible because of ...", "PCOS based on clinical criteria"),
    after a concept: it adds no condition."""
    firsts = _first_words("explanation_clauses")
    for k in range(1, len(items)):
        it = items[k]
        if it.cat in ("word", "filler") and str(it.data).partition(" ")[0].lower() in firsts:
            if not _starts_with(toks, items, "explanation_clauses", k):
                continue
            return items[:k] if _concepts(items[:k]) else items
    return items


def _requirements(items: list[Item], exclude: bool, kinds: dict[str, str]) -> list[list[Item]]:
    """In an inclusion, "ER+ and/or PR+, HER2-, early breast cancer": the commas after an 'and'/'or' list separate
    further requirements (each one a part, all required); not under a negation, whose scope they would cut."""
    if exclude:
        return [items]
    first = next((k for k, it in enumerate(items) if it.cat in ("and", "or")), None)
    if first is None or any(it.cat in ("neg", "lparen", "colon") for it in items):
        return [items]
    parts: list[list[Item]] = [items[:first]]
    for k in range(first, len(items)):
        it, nxt = items[k], items[k + 1] if k + 1 < len(items) else None
        if it.cat == "comma" and nxt is not None and nxt.cat not in ("and", "or"):
            parts.append([])
        else:
            parts[-1].append(it)
    tests = [p for p in parts if any(kinds.get(str(x.data)) == "result" for x in p if x.cat == "concept")]
    return [items] if any(not any(x.cat == "value" for x in p) for p in tests) else parts


def _non_pregnant(items: list[Item], kinds: dict[str, str]) -> list[Item]:
    """ "non-pregnant", "non-lactating": 'non-' right before pregnancy or breastfeeding negates it (elsewhere 'non-'
    stays a blocker: "non-small cell" is no negation of "small cell")."""
    return [
        Item("neg", it.start, it.end, "non-")
        if it.cat == "blocker"
        and str(it.data).lower() in ("non-", "non -")
        and k + 1 < len(items)
        and items[k + 1].cat == "concept"
        and kinds.get(str(items[k + 1].data)) == "pregnancy"
        else it
        for k, it in enumerate(items)
    ]


def parts_of(
    toks: list[Token], items: list[Item], kinds: dict[str, str], exclude: bool
) -> list[tuple[list[Item], Reading]]:
    """The parts of a criterion with the words that carry no condition taken out, each with its reading where an
    exclusion's alternatives were read to find them (None: not read yet)."""
    # a rewrite whose items are not there (a ':', a bracket, 'or', a blocker) leaves the items as they are:
    # skipped, most criteria have few of them
    cats = {it.cat for it in items}
    whole = _non_pregnant(items, kinds) if "blocker" in cats else items
    whole = _drop_preamble(toks, whole) if "colon" in cats else whole
    items = _first_sentence(whole) if "stop" in cats or "colon" in cats else whole
    items = run_on_sentence(toks, items) if "rparen" in cats else items
    lows = frozenset(map(_low, toks))  # what the rewrites' phrases must start with, to act at all
    may_split = _may_split(items, (cats, lows), exclude)
    split = _split(toks, items, exclude) if may_split else [list(items)] if items else []
    parts = [_rewritten(toks, p, (cats, lows), kinds, exclude) for p in split]
    if len(items) == len(whole) or whole[len(items)].cat != "colon":  # "...: all negative" may apply to all
        parts = [q for p in parts for q in _requirements(p, exclude, kinds)]
    return [q for p in parts for q in _finished(toks, p, lows, kinds, exclude)]


def _rewritten(
    toks: list[Token], part: list[Item], found: tuple[set[str], frozenset[str]], kinds: dict[str, str], exclude: bool
) -> list[Item]:
    """A part's disease-free window, explanations, subgroups, examples and exceptions rewritten (``found``: the
    categories of the criterion's items and its lower-case words, which a rewrite needs to change anything)."""
    cats, lows = found
    blocker = "blocker" in cats  # an 'unless' (a disease-free window), a carve-out (an exception)
    part = disease_free_window(part, kinds, exclude) if blocker else part
    # an explanation starts with a phrase of its section (most criteria have no word that starts one)
    part = part if _first_words("explanation_clauses").isdisjoint(lows) else _drop_explanations(toks, part)
    subgroups = "or" in cats and not _first_words("subgroup_clauses").isdisjoint(lows)
    part = _drop_subgroups(toks, part) if subgroups else part
    part = _such_as(_examples(part) if "including" in lows else part, kinds, exclude)
    return _drop_exceptions(part, exclude) if blocker else part


def _finished(
    toks: list[Token], part: list[Item], lows: frozenset[str], kinds: dict[str, str], exclude: bool
) -> list[tuple[list[Item], Reading]]:
    """A part without its parentheticals and trailing clauses, and in an exclusion cut into its alternatives; each
    step only where the part has the items it acts on (most parts have no bracket, comma, 'or' or ';') and the
    criterion a word (of ``lows``) that starts a phrase of the clauses (a clause starts with one)."""
    cats = {it.cat for it in part}
    if "lparen" in cats:
        part = _drop_parentheticals(toks, part, kinds)
    listed = "comma" in cats or "or" in cats  # dropping a clause may turn the last comma into an 'or'
    clauses = not _first_words("permission_clauses").isdisjoint(lows) or (
        exclude and not _first_words("future_clauses").isdisjoint(lows)
    )
    if listed and clauses:
        part = _drop_clauses(toks, part, kinds, exclude)
    if not exclude or not (listed or "semi" in cats):
        return [(part, None)]
    return [r for q in resplit(part) for r in alternatives(q, kinds)]
