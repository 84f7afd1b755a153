"""``fhir.common.prune`` against a plain recursive definition of it, on random nested elements (ele-1: no empty
elements), and its promise not to copy what it leaves unchanged; ``compact`` and ``pruned_at`` against their
definition (the top-level values dropped when None, "", [] or {})."""

from __future__ import annotations

import random
from typing import Any

from fhir_adapter.fhir.common import compact, prune, pruned_at

_LEAVES: tuple[Any, ...] = (None, "", " ", "x", 0, 1, 0.0, 2.5, False, True, (), ("a",))


def _reference(node: Any) -> Any:
    """Drop None, "" and containers that are (or come out) empty, recursively; plain dicts and lists out."""
    if isinstance(node, dict | list):
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        kept = [(k, p) for k, v in pairs if (p := _reference(v)) is not None and p != "" and p != [] and p != {}]
        return {k: p for k, p in kept} if isinstance(node, dict) else [p for _, p in kept]
    return node


def _random(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth == 0 or roll < 0.45:
        return rng.choice(_LEAVES)
    size = rng.randrange(4)
    if roll < 0.75:
        return {f"k{i}": _random(rng, depth - 1) for i in range(size)}
    return [_random(rng, depth - 1) for _ in range(size)]


def _shape(node: Any) -> Any:
    """The node with container types made visible (== does not compare them)."""
    if isinstance(node, dict):
        return ("dict", type(node) is dict, [(k, _shape(v)) for k, v in node.items()])
    if isinstance(node, list):
        return ("list", type(node) is list, [_shape(v) for v in node])
    return (type(node).__name__, node)


def test_prune_matches_its_definition() -> None:
    rng = random.Random(14)
    for _ in range(3000):
        node = {"resourceType": "X", "a": _random(rng, 5), "b": [_random(rng, 4), _random(rng, 3)]}
        assert _shape(prune(node)) == _shape(_reference(node))


def test_prune_returns_unchanged_nodes_and_converts_subclasses() -> None:
    clean = {"a": [{"b": "c", "d": 0, "e": False}], "f": {"g": 1.5}}
    assert prune(clean) is clean

    class Sub(dict[str, Any]):
        pass

    out = prune({"a": Sub(b=Sub(c=None), d=1), "e": None})
    assert out == {"a": {"d": 1}} and type(out["a"]) is dict


def test_compact_and_pruned_at_drop_exactly_the_empty_values() -> None:
    class Sub(dict[str, Any]):
        pass

    class Text(str):
        pass

    values = [*_LEAVES, [], {}, [None], {"a": None}, Sub(), Sub(a=1), Text(""), Text("x"), 0j, b"", [0], {"": ""}]
    rng = random.Random(14)
    for _ in range(2000):
        node = {f"k{i}": rng.choice(values) for i in range(rng.randrange(6))}
        expected = {k: v for k, v in node.items() if v is not None and v != "" and v != [] and v != {}}
        out = compact(**node)
        assert _shape(out) == _shape(expected)
        assert out is not node and type(out) is dict  # a new element, even where nothing is left out
        assert _shape(pruned_at(node, ())) == _shape(expected)
