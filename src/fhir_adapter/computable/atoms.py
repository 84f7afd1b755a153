"""Lexical items of one part of a criterion -> atoms (the computable contract, docs/computable.md, section 1).

A part reads as concepts with their tails: a quantity ("ANC >= 1.5 x 10^9/L", shared by "ALT and AST <= 1.5 x
ULN"), a result ("HBsAg positive", "negative pregnancy test") or nothing (the presence of a condition or a drug
exposure), joined by "and" / "or" / commas, after a negation ("no prior ...") or not, with at most one time window
for the whole part. Anything else (a stray number, a comparator without a number, two concepts side by side, "and"
mixed with "or", a measurement without a value) makes the part unreadable: the caller keeps the criterion as text.
"""

from __future__ import annotations

from fhir_adapter.computable.lexer import Item, modifiers, narrowing_modifiers
from fhir_adapter.computable.part_state import PartState, Spec
from fhir_adapter.computable.quantities import Qty, Window

__all__ = ["PartReading", "Spec", "Unreadable", "part_reading", "read_part"]

_PRESENCE = {"condition", "pregnancy", "therapy", "measurable-disease", "genomic"}
_QUANTIFIED = {"lab", "vital", "performance-status", "age", "life-expectancy"}
_RESULTS = {"result", "genomic"}
_TIME = {"h", "d", "wk", "mo", "a"}
_SEX_WORDS = {"female", "male"}
_BARE = frozenset({"filler", "qty", "cmp", "comma", "value", "and", "or", "lparen", "rparen"})


class Unreadable(Exception):
    """The part has something the parser cannot account for."""


def _joined(old: str | None, new: str) -> str:
    """ "A, B or C": commas then 'or' read as 'or'; 'or' with 'and' is unreadable."""
    if old is None or old == new or new == "comma":
        return old or new
    if old == "comma" and new != "slash":
        return new
    raise Unreadable("'and' mixed with 'or'")


def _combine(joins: list[str], measured: bool = False) -> str:
    """How a list combines: "A and B" all-of, "A, B or C" any-of; commas alone only for measurements (a list of
    requirements), since "A, B" of conditions may mean either."""
    kinds = set(joins)
    words = [j for j in joins if j != "comma"]
    if words and "comma" in joins[joins.index(words[0]) :]:
        raise Unreadable("a comma after 'and'/'or': the grouping is not written")  # "ER+ and/or PR+, HER2-"
    if kinds <= {"and", "comma"}:
        if kinds == {"comma"} and not measured:
            raise Unreadable("a list without 'and' or 'or'")
        return "all-of"
    if kinds <= {"or", "comma"}:
        return "any-of"
    raise Unreadable("'and' mixed with 'or'")


def _flush(st: PartState, qty: Qty | None, result: str | None, end: int, positive_is_presence: bool = False) -> None:
    """The pending concepts become atoms sharing ``qty`` / ``result`` (or presence atoms); with
    ``positive_is_presence`` a 'positive' written after a list of tests and conditions is the presence of the
    conditions ("HIV, HCV or HBsAg positive": HIV infection, hepatitis C, HBsAg positive)."""
    if not st.pending:
        return
    if any(s.pair for s in st.pending):
        _pair(st, qty, end)
        return
    for spec in st.pending:
        spec.qty, spec.end = qty, max(spec.end, end)
        if result is not None and not (positive_is_presence and result == "positive" and spec.kind == "condition"):
            spec.result = result
            spec.key = st.result_keys.get(spec.key, spec.key)
            spec.kind = st.kinds.get(spec.key, spec.kind)
        if spec.kind == "genomic":  # "EGFR mutation", "EGFR mutation positive": the variant is present
            spec.result = "present" if spec.result in (None, "positive") else spec.result
        _check(spec)
    # "AST/ALT <= 2.5 x ULN": each of them; "brain/meningeal metastases": either
    joins = [{"slash": "and" if qty is not None else "or"}.get(j, j) for j in st.pending_joins]
    combine = _combine(joins) if len(st.pending) > 1 else "all-of"
    if st.groups:
        st.joins.append(st.conn or "none")
    st.groups.append((combine, st.pending))
    st.read.update(s.key for s in st.pending)
    st.pending, st.pending_joins, st.conn, st.class_join = [], [], None, False


def _pair(st: PartState, qty: Qty | None, end: int) -> None:
    """ "BP > 140/90 mmHg": systolic and diastolic -- either out of range excludes, both are required to enter."""
    spec = st.pending[0]
    if len(st.pending) != 1 or qty is None or qty.pair is None or qty.high is not None:
        raise Unreadable("blood pressure without a systolic/diastolic pair")
    diastolic = Qty(qty.pair, None, qty.unit, qty.unit_text, cmp=qty.cmp)
    pair = [Spec(key, "vital", spec.start, end, qty=q, neg=spec.neg) for key, q in _BP_KEYS(qty, diastolic)]
    for s in pair:
        _check(s)
    if st.groups:
        st.joins.append(st.conn or "none")
    st.groups.append(("any-of" if st.exclude != spec.neg else "all-of", pair))
    st.read.update(s.key for s in pair)
    st.pending, st.pending_joins, st.conn = [], [], None


def _BP_KEYS(systolic: Qty, diastolic: Qty) -> list[tuple[str, Qty]]:
    return [("systolic-bp", systolic), ("diastolic-bp", diastolic)]


def _check(spec: Spec) -> None:
    """An atom must have what its kind needs: a value for a measurement, a result for a test."""
    q = spec.qty
    if spec.kind in _QUANTIFIED and q is None:
        raise Unreadable(f"{spec.key} without a value")
    if spec.kind == "result" and spec.result is None:
        raise Unreadable(f"{spec.key} without a result")
    if spec.kind not in _QUANTIFIED and q is not None:
        raise Unreadable(f"a number after {spec.key}")
    if q is None:
        return
    if q.or_range and spec.kind != "performance-status":
        raise Unreadable("'or' between numbers")
    if q.high is not None and q.cmp is not None:
        raise Unreadable("a comparator before a range")
    if q.high is None and q.cmp is None and spec.kind != "performance-status":
        raise Unreadable(f"{spec.key} without a comparator")
    time_unit = q.unit in _TIME
    if spec.kind == "life-expectancy" and not time_unit:
        raise Unreadable("life expectancy without a time unit")
    if spec.kind == "age" and q.unit not in ("a", None):
        raise Unreadable("age not in years")
    if spec.kind in ("lab", "vital", "performance-status") and time_unit:
        raise Unreadable(f"{spec.key} with a time unit")


def _quantity(st: PartState, it: Item) -> None:
    q: Qty = it.data
    if q.post is not None and st.cmp is not None:
        raise Unreadable("two comparators")
    q.cmp = st.cmp or q.post
    st.cmp = None
    if q.unit in _TIME and st.after is not None and str(st.after.data).lower() == "since":
        _since(st, q)
        return
    if st.pending:
        _flush(st, q, None, it.end)
        return
    last = st.groups[-1][1] if st.groups else []
    if len(last) == 1 and last[0].qty is not None and st.conn in ("comma", "and") and _as_range(last[0], q):
        last[0].end = it.end
        st.conn = None
        return
    if len(last) == 1 and last[0].qty is not None and st.conn in ("comma", "and", "or") and q.cmp is not None:
        _second_threshold(st, last[0], q, it)  # "CRP > 50 and < 150 mg/L"
        return
    if q.unit == "a" and (q.aged or st.only_quantity):  # "18 years or older", "≥ 18 years of age"
        st.pending = [Spec("age", "age", it.start, it.end, neg=st.neg)]
        _flush(st, q, None, it.end)
        return
    raise Unreadable("a number not bound to a concept")


def _since(st: PartState, q: Qty) -> None:
    """ "At least 5 years since prior chemotherapy": no chemotherapy in the past 5 years."""
    if q.cmp not in (">=", ">") or q.high is not None or st.pending or st.window is not None:
        raise Unreadable("a time since an exposure that is not a minimum")
    st.window = Window(-q.value, q.unit or "d", None)
    st.neg = True


def _second_threshold(st: PartState, first: Spec, q: Qty, it: Item) -> None:
    """A second bound on the same concept: its own atom, both in the unit written once at the end."""
    assert first.qty is not None
    if first.qty.high is not None or q.high is not None:
        raise Unreadable("a range and a bound")
    if first.qty.unit is None and q.unit is not None:
        first.qty.unit, first.qty.unit_text = q.unit, q.unit_text
    second = Spec(first.key, first.kind, it.start, it.end, qty=q, neg=st.neg)
    _check(second)
    st.joins.append(st.conn or "none")
    st.groups.append(("all-of", [second]))
    st.conn = None


def _as_range(spec: Spec, q: Qty) -> bool:
    """ ">= 18 years, <= 80 years" on one concept: an inclusive range."""
    first = spec.qty
    assert first is not None
    pair = {first.cmp, q.cmp}
    if pair != {">=", "<="} or first.high is not None or q.high is not None or first.unit != q.unit:
        return False
    low, high = (first, q) if first.cmp == ">=" else (q, first)
    spec.qty = Qty(low.value, high.value, first.unit, first.unit_text)
    return True


def _concept(st: PartState, it: Item) -> None:
    key: str = it.data
    if _named_elsewhere(st, key):
        return
    if st.pending and st.pending[-1].key == key:  # "Absolute neutrophil count (ANC)", "(AST or SGOT)"
        st.pending[-1].end = it.end
        st.conn = None
        return
    if st.cmp is not None:
        raise Unreadable("a comparator before a concept")
    if st.pending:
        if st.conn is None and _with(st, key):
            st.conn = "and"  # required "X with Y": both ("cystic fibrosis with pancreatic insufficiency")
        if st.conn is None:
            raise Unreadable("two concepts side by side")
        st.pending_joins.append(st.conn)
        st.conn = None
    elif st.groups and st.groups[-1][1][-1].key == key and st.conn in (None, "or"):
        st.conn = None
        return  # "18 years or older ... of age": the age already read
    elif st.groups and st.conn is None and _classifies(st.groups[-1][1], st.kinds.get(key)):
        st.conn, st.class_join = "and", True  # "NYHA class III or IV heart failure": the failure and its class
    elif st.groups and st.conn is None and _with_after(st, key):
        st.conn = "and"  # "adults aged 18 to 64 years with atopic dermatitis": both required
    st.pending.append(Spec(key, st.kinds.get(key, ""), it.start, it.end, neg=st.neg))
    if st.prefix_result is None and st.kinds.get(key) == "result" and st.conn in ("and", "comma", "or"):
        st.prefix_result = st.shared_result  # the result written before the first test of the list
    if st.prefix_result is not None and not _screened_for(st, key):
        _prefixed(st, key, it)


def _prefixed(st: PartState, key: str, it: Item) -> None:
    """The result written before the concept ("negative pregnancy test", "positive for HIV") binds to it."""
    if st.kinds.get(key) not in _RESULTS and key not in st.result_keys:
        raise Unreadable("a result before a condition")  # "positive hepatitis ...": which test
    result, st.prefix_result = st.prefix_result, None
    _flush(st, None, result, it.end)
    st.shared_result = result


def _screened_for(st: PartState, key: str) -> bool:
    """ "Screen negative for tuberculosis", "positive for COVID-19" of a condition that has no test of its own in the
    vocabulary: the condition is absent (present); "negative for HIV" stays the test's result."""
    if st.joiner != "for" or st.kinds.get(key) != "condition" or key in st.result_keys:
        return False
    if st.prefix_result not in ("negative", "positive"):
        return False
    spec = st.pending[-1]
    spec.neg = spec.neg != (st.prefix_result == "negative")
    st.prefix_result = None
    _flush(st, None, None, spec.end)
    return True


def _named_elsewhere(st: PartState, key: str) -> bool:
    """ "hepatitis B (HBsAg) test": the test that follows names what is tested; "... heart failure - New York Heart
    Association (NYHA)": named again."""
    named = st.after is not None and st.after.cat == "concept" and st.kinds.get(st.after.data) in _RESULTS
    if named and st.kinds.get(key) == "condition":
        return True
    return key in st.read and (st.conn is None or st.class_join)


def _with(st: PartState, key: str) -> bool:
    """ "X with Y" of conditions where both are required; "X patients on Y therapy": both, in any item."""
    kinds = {*(s.kind for s in st.pending)}
    if st.neg or not kinds <= {"condition", "pregnancy"}:
        return False
    if st.joiner == "on":
        return st.kinds.get(key) == "therapy"
    return st.joiner == "with" and not st.exclude and st.kinds.get(key) in ("condition", "pregnancy")


def _with_after(st: PartState, key: str) -> bool:
    """ "<a finished age> with <condition>" in an inclusion, not under a negation: both required."""
    last = st.groups[-1][1]
    return (
        st.joiner == "with"
        and not st.exclude
        and not st.neg
        and all(s.kind == "age" for s in last)
        and st.kinds.get(key) in ("condition", "pregnancy")
    )


def _classifies(group: list[Spec], kind: str | None) -> bool:
    return len(group) == 1 and group[0].kind == "performance-status" and kind == "condition"


def _value(st: PartState, it: Item) -> None:
    if it.data in _SEX_WORDS:  # "pregnant women", "male or female": who, not a result
        st.sexes.append(it.data)
        return
    if st.pending and st.conn is not None and all(s.kind not in _RESULTS for s in st.pending):
        conn, st.conn = st.conn, None  # "Pregnant women, or ... without a negative pregnancy test"
        _flush(st, None, None, 0)
        st.conn = conn
    if st.pending and all(s.kind not in _RESULTS for s in st.pending):
        if it.data != "positive":  # "HIV positivity" is the condition; "HIV negative" is not read
            raise Unreadable("a negative result on a condition")
        return
    if st.pending:
        _flush(st, None, it.data, it.end, positive_is_presence=True)
    elif st.groups and st.conn is None and all(s.result is None for s in st.groups[-1][1]):
        raise Unreadable("a result after a finished atom")
    else:
        st.prefix_result = it.data


def _connector(st: PartState, it: Item) -> None:
    """A connector between atoms; '(' right after a finished atom opens an equivalent alternative ("ECOG 0-2
    (Karnofsky >= 50%)")."""
    cat = it.cat
    if cat == "lparen":
        if st.groups and not st.pending and st.conn is None:
            st.conn = "and" if st.after is not None and st.after.cat == "neg" else "or"
        return
    if cat == "slash" and not st.pending:
        raise Unreadable("'/' after a finished atom")
    st.conn = _joined(st.conn, cat)


def _window(st: PartState, it: Item) -> None:
    """A window belongs to the atoms just before it ("A or B within 6 months") that have none yet ("A within 6
    months or B within 3 months"); one before any atom ("Within the past 3 months, ...") to all of the part."""
    targets = st.pending or (st.groups[-1][1] if st.groups else [])
    if not targets:
        if st.window is not None:
            raise Unreadable("two time windows")
        st.window = it.data
        return
    targets = [s for s in targets if s.window is None]
    if not targets:
        raise Unreadable("two time windows on one atom")
    for s in targets:
        s.window = it.data


def _step(st: PartState, it: Item) -> None:
    cat = it.cat
    if cat in ("and", "or", "comma", "slash", "lparen"):
        _connector(st, it)
    elif cat == "neg" or (cat == "prohibit" and not st.exclude):
        st.neg = True  # "may not be receiving X": no X to enter; under an exclusion, X excludes
    elif cat == "window":
        _window(st, it)
    elif cat == "value":
        _value(st, it)
    elif cat == "cmp":
        if st.cmp is not None:
            raise Unreadable("two comparators")
        st.cmp = it.data
    elif cat == "qty":
        _quantity(st, it)
    elif cat == "concept":
        _concept(st, it)
    elif cat == "bp":
        _concept(st, Item("concept", it.start, it.end, "systolic-bp"))
        st.pending[-1].pair = True
    elif cat == "blocker":
        raise Unreadable(f"{cat} {it.data!r}")
    # other words ("word", an event outside a window) carry no condition the atoms would miss: the blockers of the
    # lexicon name the words that do
    if cat == "concept" or (cat == "filler" and it.data in ("with", "on", "for")):
        st.joiner = it.data if cat == "filler" else None


def _neighbour(items: list[Item], k: int, step: int, skip: frozenset[str]) -> Item | None:
    k += step
    while 0 <= k < len(items) and items[k].cat in skip:
        k += step
    return items[k] if 0 <= k < len(items) else None


_SKIP_BEFORE = frozenset({"filler", "comma", "lparen", "rparen"})
_SKIP_AFTER = frozenset({"filler", "lparen", "rparen", "neg"})
_SCOPE = {"to", "for"}
_CHAIN = frozenset({"filler", "comma", "or"})


def _check_binding(items: list[Item], kinds: dict[str, str], exclude: bool) -> None:
    """ "A or <words we do not know>" cannot be bound; "for patients with ...", "for cisplatin" name a subgroup or a
    purpose; a concept inside a longer name ("diabetes insipidus") or scoped ("radiotherapy to the thorax") is
    another concept: each makes the part unreadable."""
    for k, it in enumerate(items):
        if it.cat == "or":
            before, after = _neighbour(items, k, -1, _SKIP_BEFORE), _neighbour(items, k, 1, _SKIP_AFTER)
            unknown = [x for x in (before, after) if x is not None and x.cat == "word"]
            if unknown and not _qualifies_a_concept(items, k, unknown, exclude):
                raise Unreadable("'or' with an alternative the vocabulary does not know")
        elif it.cat == "filler" and it.data == "for":
            after = _neighbour(items, k, 1, _SKIP_AFTER)
            result = any(x.cat == "value" for x in items[max(0, k - 3) : k])  # "positive (blood screen) for HIV"
            if after is not None and after.cat in ("word", "concept") and not result:
                raise Unreadable("'for <someone or something>': a subgroup or a purpose")
        elif it.cat == "concept":
            _check_concept(items, k, kinds.get(it.data))


def _qualifies_a_concept(items: list[Item], k: int, unknown: list[Item], exclude: bool) -> bool:
    """ "histologically or cytologically confirmed", "acquired or congenital immunodeficiency": alternatives among
    the words that do not change which concept follows, up to that concept -- not the concept itself ("advanced
    or metastatic disease"), and not narrowing ones in an exclusion ("stage I or IV", "recurrent or metastatic")."""
    words = {str(x.data).lower() for x in unknown}
    for it in items[k + 1 : k + 16]:  # a qualifier is a few words long: the scan stays linear
        if it.cat == "concept":
            return it is not items[k + 1] and words <= modifiers() and not (exclude and words & narrowing_modifiers())
        if it.cat == "word":
            words.add(str(it.data).lower())
        elif it.cat not in _CHAIN:
            return False
    return False


def _check_concept(items: list[Item], k: int, kind: str | None) -> None:
    before = items[k - 1] if k > 0 else None
    after = items[k + 1] if k + 1 < len(items) else None
    if after is not None and after.cat == "word":
        raise Unreadable("a concept followed by a word the vocabulary does not know")  # "diabetes insipidus"
    unknown_before = before is not None and before.cat == "word" and str(before.data).lower() not in modifiers()
    if kind == "condition" and unknown_before:
        raise Unreadable("a condition after a word the vocabulary does not know")  # "nephrogenic diabetes"
    if kind == "therapy" and after is not None and after.cat == "filler" and after.data in _SCOPE:
        raise Unreadable("a scoped therapy")  # "radiotherapy to the thorax"


def read_part(
    items: list[Item], kinds: dict[str, str], result_keys: dict[str, str], exclude: bool = False
) -> tuple[str, list[Spec]]:
    """The atoms of one part and how they combine ("all-of" / "any-of"); negated atoms under one negation combine
    as all-of ("no A or B": neither). ``exclude``: the part belongs to an exclusion item."""
    _check_binding(items, kinds, exclude)
    st = PartState(kinds, result_keys, exclude=exclude)
    st.only_quantity = _BARE.issuperset([it.cat for it in items])
    for k, it in enumerate(items):
        st.after = items[k + 1] if k + 1 < len(items) else None
        _step(st, it)
    if st.cmp is not None or st.prefix_result is not None:
        raise Unreadable("a comparator or result without its concept")
    _flush(st, None, None, 0)
    specs = [s for _, group in st.groups for s in group]
    if not specs:
        raise Unreadable("no atom")
    for s in specs:
        if s.window is None:
            s.window = st.window
    if len(st.sexes) == 1 and all(s.kind == "age" for s in specs):  # "women aged >= 65 years"
        specs.append(Spec("sex", "sex", specs[0].start, specs[0].end, result=st.sexes[0]))
    if len(st.groups) == 1:
        combine = st.groups[0][0]
    else:
        combine = _combine(st.joins, all(s.qty is not None for s in specs))
        if any(len(g) > 1 and c != combine for c, g in st.groups):
            raise Unreadable("nested 'and' and 'or'")
    if all(s.neg for s in specs):
        combine = "all-of"
    return combine, _unique(specs)


def _unique(specs: list[Spec]) -> list[Spec]:
    """One atom per meaning: "deep venous thrombosis or pulmonary embolus" are both thromboembolism."""
    seen: set[tuple[object, ...]] = set()
    out: list[Spec] = []
    for s in specs:
        q = s.qty
        key = (s.key, s.result, s.neg, None if q is None else (q.value, q.high, q.unit, q.cmp))
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


PartReading = tuple[str, list[Spec]] | Unreadable  # what read_part returns, or the Unreadable it raised


def part_reading(
    items: list[Item], kinds: dict[str, str], result_keys: dict[str, str], exclude: bool = False
) -> PartReading:
    """``read_part(items, ...)``, or the ``Unreadable`` it raised (a reading handed on, to be looked at later)."""
    try:
        return read_part(items, kinds, result_keys, exclude)
    except Unreadable as e:
        return e
