"""Score the criteria extractor against the hand-labelled development set (tests/data/eligibility/devset.json).

Each dev-set item names a criterion by ``<source>#<path>`` (``exc-3.2``: the 2nd sub-item of the 3rd item under the
exclusion heading), carries its exact ``Criterion.text`` and the atoms a person read in that text, in the flat form
of ``fhir_adapter.computable.flat_atoms`` (tests/data/eligibility/README.md). The source is read again with the
project's reader; the extractor's flat atoms of every labelled top-level criterion (its children included, so that
the effective polarity of a sub-item is computed where it sits) are compared with the labels of that item and its
sub-items. An atom is a true positive only when every field is equal; "wrong polarity" counts predicted atoms equal
to an unmatched label in every field but ``polarity``.

``python tests/eligibility_score.py`` prints the table; ``--details`` adds every miss and every extra atom.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapter import read_trials
from fhir_adapter.model import Criterion

HERE = Path(__file__).resolve().parent
DEVSET = HERE / "data" / "eligibility" / "devset.json"
# the repository's copies of ../shared/fixtures (byte-identical, same relative paths)
FIXTURES = HERE / "data"
SEEDS = HERE.parent / "seeds"

FIELDS = ("kind", "concept", "comparator", "value", "low", "high", "unit", "result", "window", "polarity")
MIN_PRECISION = 0.95  # issue 9's target, met
TARGET_RECALL = 0.85  # issue 9's target: met (0.885 = 331/374 after helper R's recall pass; 0.873 = 331/379 before
# its four label corrections, each justified in the item's note)
MIN_RECALL = 0.88  # the floor the test holds: recall measured (0.885 after the recall pass), never lowered silently

Atom = tuple[Any, ...]  # an atom as a hashable tuple of FIELDS, numbers as floats


def source_path(source: str) -> Path:
    """The file of a dev-set ``source``: ``seeds/...`` in the repository, anything else (a path relative to
    ../shared/fixtures) in its copy under tests/data."""
    return SEEDS / source.removeprefix("seeds/") if source.startswith("seeds/") else FIXTURES / source


def heading_of(criterion: Criterion) -> str:
    """The heading a top-level criterion sat under (``heading_exclude`` when it differs from its meaning)."""
    under_exclusion = criterion.exclude if criterion.heading_exclude is None else criterion.heading_exclude
    return "exclusion" if under_exclusion else "inclusion"


def walk(criteria: list[Criterion]) -> Iterator[tuple[str, Criterion, Criterion]]:
    """Every criterion of a trial as (path, criterion, its top-level criterion), in source order."""
    counts = {"inclusion": 0, "exclusion": 0}

    def below(children: list[Criterion], prefix: str, top: Criterion) -> Iterator[tuple[str, Criterion, Criterion]]:
        for j, child in enumerate(children, 1):
            yield f"{prefix}.{j}", child, top
            yield from below(child.children, f"{prefix}.{j}", top)

    for top in criteria:
        heading = heading_of(top)
        counts[heading] += 1
        path = f"{heading[:3]}-{counts[heading]}"
        yield path, top, top
        yield from below(top.children, path, top)


def _number(x: Any) -> Any:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else x


def as_tuple(atom: dict[str, Any]) -> Atom:
    """A flat atom as a comparable tuple (missing fields are None, numbers floats)."""
    window = atom.get("window")
    if window is not None:
        window = tuple(_number(window.get(k)) for k in ("low", "high", "unit", "event"))
    return tuple(window if f == "window" else _number(atom.get(f)) for f in FIELDS)


@dataclass
class Group:
    """One labelled top-level criterion: the labels of it and its sub-items, and what the extractor gave."""

    source: str
    top_id: str
    top: Criterion
    labels: list[Atom] = field(default_factory=list)
    predicted: list[Atom] = field(default_factory=list)


@dataclass
class Score:
    groups: list[Group]
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    wrong_polarity: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, Atom]] = field(default_factory=list)
    extras: list[tuple[str, Atom]] = field(default_factory=list)

    def totals(self) -> tuple[int, int, int, int]:
        return sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()), sum(self.wrong_polarity.values())

    @property
    def precision(self) -> float:
        tp, fp, _, _ = self.totals()
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def recall(self) -> float:
        tp, _, fn, _ = self.totals()
        return tp / (tp + fn) if tp + fn else 1.0


def load_devset(path: Path = DEVSET) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return items


def locate(items: list[dict[str, Any]]) -> tuple[list[Group], list[tuple[dict[str, Any], Criterion]], list[str]]:
    """Find every dev-set item in its re-read source: by path, or (when the splitter renumbered) by its exact text.
    Returns the groups (one per top-level criterion), the (item, criterion) pairs found, and the problems: items
    whose text no longer matches anything in the source."""
    problems: list[str] = []
    groups: dict[tuple[str, int], Group] = {}
    found: list[tuple[dict[str, Any], Criterion]] = []
    cache: dict[str, list[tuple[str, Criterion, Criterion]]] = {}
    for item in items:
        source = item["source"]
        if source not in cache:
            cache[source] = [w for trial in read_trials(source_path(source)) for w in walk(trial.eligibility.criteria)]
        walked = cache[source]
        path = item["id"].split("#", 1)[1]
        hit = next(((c, top) for p, c, top in walked if p == path and c.text == item["text"]), None)
        if hit is None:
            same = [(c, top) for _, c, top in walked if c.text == item["text"]]
            if len(same) != 1:
                at = next((c.text for p, c, _ in walked if p == path), None)
                problems.append(
                    f"{item['id']}: the labelled text is no longer a criterion of {source} "
                    f"({len(same)} items have it; at {path} now: {at!r}); relabel this item"
                )
                continue
            hit = same[0]
        criterion, top = hit
        group = groups.setdefault((source, id(top)), Group(source, f"{source}#{path.split('.')[0]}", top))
        group.labels.extend(as_tuple(a) for a in item["atoms"])
        found.append((item, criterion))
    return list(groups.values()), found, problems


def score(items: list[dict[str, Any]], flat_atoms: Callable[[Criterion], list[dict[str, Any]]]) -> Score:
    """Score ``flat_atoms`` on the dev set. Raises ``LookupError`` listing the items whose text no longer matches."""
    groups, _, problems = locate(items)
    if problems:
        raise LookupError("\n".join(problems))
    result = Score(groups)
    for group in groups:
        group.predicted = [as_tuple(a) for a in flat_atoms(group.top)]
        _compare(group, result)
    return result


def _compare(group: Group, result: Score) -> None:
    labels, predicted = Counter(group.labels), Counter(group.predicted)
    matched = labels & predicted
    missing, extra = labels - matched, predicted - matched
    kind = FIELDS.index("kind")
    for atom, n in matched.items():
        result.tp[atom[kind]] += n
    polarity = FIELDS.index("polarity")
    unmatched = Counter(a[:polarity] for a in missing.elements())
    for atom in extra.elements():
        result.fp[atom[kind]] += 1
        result.extras.append((group.top_id, atom))
        if unmatched[atom[:polarity]] > 0:
            unmatched[atom[:polarity]] -= 1
            result.wrong_polarity[atom[kind]] += 1
    for atom in missing.elements():
        result.fn[atom[kind]] += 1
        result.misses.append((group.top_id, atom))


def table(result: Score) -> str:
    """The per-kind table: labelled, predicted, exact, precision, recall, wrong polarity."""
    kinds = sorted(set(result.tp) | set(result.fp) | set(result.fn))
    rows = [f"{'kind':<20}{'labels':>7}{'found':>7}{'exact':>7}{'prec':>8}{'recall':>8}{'wrong pol':>10}"]
    for k in [*kinds, "ALL"]:
        if k == "ALL":
            tp, fp, fn, wp = result.totals()
        else:
            tp, fp, fn, wp = result.tp[k], result.fp[k], result.fn[k], result.wrong_polarity[k]
        prec = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
        rec = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
        rows.append(f"{k:<20}{tp + fn:>7}{tp + fp:>7}{tp:>7}{prec:>8}{rec:>8}{wp:>10}")
    n_items = sum(1 for g in result.groups)
    rows.append(f"({n_items} top-level criteria; held: precision >= {MIN_PRECISION}, recall >= {MIN_RECALL},")
    rows.append(f" wrong polarity 0; issue 9's recall target {TARGET_RECALL})")
    return "\n".join(rows)


def details(result: Score) -> str:
    """Every label the extractor missed and every atom it gave that no label has."""
    lines = ["missed (labelled, not found exactly):"]
    lines += [f"  {where}  {dict(zip(FIELDS, a, strict=True))}" for where, a in result.misses]
    lines.append("extra (found, not labelled):")
    lines += [f"  {where}  {dict(zip(FIELDS, a, strict=True))}" for where, a in result.extras]
    return "\n".join(lines)


def extractor() -> Callable[[Criterion], list[dict[str, Any]]]:
    """``fhir_adapter.computable.flat_atoms``; ``ImportError`` with a clear message while it does not exist."""
    from fhir_adapter import computable

    flat = getattr(computable, "flat_atoms", None)
    if flat is None:
        raise ImportError(
            "fhir_adapter.computable.flat_atoms does not exist yet (the extractor of issue 9 provides it: "
            "criterion -> list of flat atoms, see tests/data/eligibility/README.md); nothing to score"
        )
    return flat  # type: ignore[no-any-return]


def main(argv: list[str]) -> int:
    result = score(load_devset(), extractor())
    print(table(result))
    if "--details" in argv:
        print(details(result))
    ok = result.precision >= MIN_PRECISION and result.recall >= MIN_RECALL and not result.totals()[3]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
