"""Layer 2: required bindings and error-level invariants from the official FHIR R5 definitions.

The definitions are a trimmed subset of the npm package ``hl7.fhir.r5.core@5.0.0`` shipped in
``definitions/r5-core-subset.json.gz`` (built by ``tools/build_r5_definitions.py``). The instance is walked through
the StructureDefinition snapshot of its type, descending into BackboneElements, contentReferences, choice types
(``value[x]`` -> ``valueQuantity``), complex datatypes and nested resources (Bundle entries, contained). At every
element present in the instance:

* codes (``code``, ``Coding``, ``CodeableConcept``, ``CodeableReference``) with a *required* binding are checked
  against the pre-expanded ValueSet (ValueSets that cannot be expanded offline are skipped, never guessed);
* every constraint of severity ``error`` is evaluated with fhirpathpy (compiled once per expression), with
  ``%resource`` / ``%rootResource`` set as the FHIRPath specification says.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fhir_adapter.issues import Issue
from fhir_adapter.validate._common import short
from fhir_adapter.validate._context import Context, _node
from fhir_adapter.validate._native import native_check

log = logging.getLogger(__name__)

DEFINITIONS = Path(__file__).parent / "definitions" / "r5-core-subset.json.gz"

# Error-level constraints this layer does not evaluate, with the reason. A test keeps this list honest.
SKIPPED_CONSTRAINTS: dict[str, str] = {
    "ele-1": "checked natively for every element by bundle.check_empty (reported once, with the exact location)",
    "bdl-7": "checked natively by bundle.check_bundle (duplicate fullUrl, with the entry location)",
    "txt-1": "htmlChecks() is not implemented by fhirpathpy",
    "txt-2": "htmlChecks() is not implemented by fhirpathpy",
}

# Constraints that raised in fhirpathpy at run time, by key (each is logged at DEBUG and treated as passed).
EVALUATION_FAILURES: Counter[str] = Counter()

_CODED = frozenset({"code", "Coding", "CodeableConcept", "CodeableReference"})


@dataclass(slots=True)
class Constraint:
    key: str
    human: str
    expression: str
    # Names the expression can navigate from its focus (a superset), or None if it may look at the focus as a
    # whole (children(), %resource, $this ...). A node with none of these keys gives the same result as {}.
    guard: tuple[str, ...] | None = None
    # Sound shortcuts read off the expression's top level (see _shortcuts): the constraint passes when any of
    # ``pass_if_present`` is a key of the node (``X.exists() or ...``) or any of ``pass_if_absent`` is not
    # (``X.empty() or ...``, ``X.exists() implies ...``).
    pass_if_present: tuple[str, ...] = ()
    pass_if_absent: tuple[str, ...] = ()
    empty_result: dict[str, bool] = field(default_factory=dict)  # by fhirpath type path: passes on {}?
    # A native fast path for exactly this expression (see _native): True/False decides, None defers to fhirpathpy.
    native: Callable[[dict[str, Any]], bool | None] | None = None
    compiled: Callable[..., list[Any]] | None = None  # fhirpathpy's, made on first use (see fn)

    @property
    def fn(self) -> Callable[..., list[Any]]:
        """The expression compiled by fhirpathpy (once; only for a constraint the native paths do not decide)."""
        if self.compiled is None:
            import fhirpathpy
            from fhirpathpy.models import models

            from fhir_adapter.validate._fhirpath_ext import OPTIONS

            self.compiled = fhirpathpy.compile(self.expression, models["r5"], OPTIONS)
        return self.compiled


# A string literal, possessive and closing quote optional: an unclosed one is consumed once (and kept, see _blank)
# instead of being re-scanned from every escaped quote inside it (quadratic). No string can start inside it anyway.
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*+(')?")
_ROOT_CALL = re.compile(r"(?<![\w.])[A-Za-z_]\w*\s*\(")
_NAME = re.compile(r"(?<![\w%$])[A-Za-z_]\w*(?!\w|\s*\()")
_KEYWORDS = frozenset({"and", "or", "xor", "implies", "in", "contains", "is", "as", "div", "mod"})
_FOCUS_WIDE = ("%resource", "%rootResource", "%context", "$this", "$index", "$total")


def _top_level(text: str, op: str) -> list[str]:
    """``text`` split at ``op`` where it is not inside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text.startswith(op, i):
            parts.append(text[start:i])
            start = i + len(op)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _wrapped(term: str) -> bool:
    """True if ``term`` is ``( ... )`` with the first parenthesis closed by the last one."""
    if not (term.startswith("(") and term.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(term):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i < len(term) - 1:
            return False
    return True


def _unwrap(term: str) -> str:
    while _wrapped(term):
        term = term[1:-1].strip()
    return term


_EXISTS = re.compile(r"^([A-Za-z_]\w*)\.exists\(\)$")
_EMPTY = re.compile(r"^([A-Za-z_]\w*)\.empty\(\)$")
# "X.exists()" or "X.f().g(…).exists()" through functions that give an empty collection on an empty one.
_EXISTS_PATH = re.compile(r"^([A-Za-z_]\w*)(?:\.(?:resolve|ofType|where|first|last)\(\)|\.[A-Za-z_]\w*)*\.exists\(\)$")
_PATH_ONLY = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*(\(\))?)*$")


def _depth0(text: str) -> str:
    """``text`` with what is inside parentheses removed: ``a.where(x = 1).empty()`` -> ``a.where().empty()``."""
    out, depth = [], 0
    for ch in text:
        if ch == ")":
            depth -= 1
        if depth == 0:
            out.append(ch)
        if ch == "(":
            depth += 1
    return "".join(out)


def _blank(m: re.Match[str]) -> str:
    """A closed string literal becomes '' (its content is not a name); an unclosed quote stays as written."""
    return "''" if m.group(1) else m.group(0)


_PATH_START = re.compile(r"^([A-Za-z_]\w*)\.")


def _shortcuts(expression: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(pass_if_present, pass_if_absent) names for ``expression``."""
    text = _unwrap(_STRINGS.sub(_blank, expression).strip())
    present: list[str] = []
    absent: list[str] = []
    implies = _top_level(text, " implies ")
    if len(_top_level(text, " xor ")) > 1 or len(implies) > 2:
        return (), ()  # xor has the precedence of or: no shortcut
    if len(implies) == 2:
        antecedent = _unwrap(implies[0])
        if len(_top_level(antecedent, " or ")) == 1 and len(_top_level(antecedent, " xor ")) == 1:
            # "X.….exists() and … implies …": with X absent that term is false, so is the antecedent (and binds
            # tighter than or/xor, which are excluded), and the constraint passes.
            for term in _top_level(antecedent, " and "):
                if m := _EXISTS_PATH.match(_depth0(_unwrap(term))):
                    absent.append(m.group(1))
        return tuple(present), tuple(absent)
    for term in _top_level(text, " or "):
        term = _unwrap(term)
        if m := _EXISTS.match(term):
            present.append(m.group(1))
        elif m := _EMPTY.match(term):
            absent.append(m.group(1))
    return tuple(present), tuple(absent)


def _guard(expression: str) -> tuple[str, ...] | None:
    text = _STRINGS.sub(_blank, expression).strip()
    if _PATH_ONLY.match(_depth0(text)) and (m := _PATH_START.match(text)):
        # One path from a child of the focus (dom-3: contained.where(...)): on an empty collection the rest of the
        # path (and any %resource inside its function arguments) is never evaluated.
        return (m.group(1),)
    root_calls = {m.group(0).rstrip("( ") for m in _ROOT_CALL.finditer(text)} - _KEYWORDS
    if any(v in text for v in _FOCUS_WIDE) or root_calls:
        return None
    keywords = _KEYWORDS | {"true", "false"}
    return tuple(sorted({n for n in _NAME.findall(text) if n not in keywords}))


@dataclass(slots=True, eq=False)
class Element:
    path: str
    types: tuple[str, ...]
    profiles: dict[str, str]
    binding: str | None
    constraints: tuple[Constraint, ...]
    content_reference: str | None
    fp_path: str = ""  # the path fhirpathpy's model knows this node by (for choice types, ofType, is)
    children: dict[str, tuple[Element, str]] = field(default_factory=dict)
    # the children this layer can have anything to check in: not the primitives without a required binding (a
    # JSON primitive carries no constraint here and the bindings of other primitives are not checked)
    active: dict[str, tuple[Element, str]] = field(default_factory=dict)
    inline: bool = False  # has its own child elements in this StructureDefinition (BackboneElement, Element)
    own_constraints: dict[str, tuple[Constraint, ...]] = field(default_factory=dict)  # by datatype, see Walker


@dataclass(slots=True)
class TypeDef:
    name: str
    kind: str
    root: Element
    elements: dict[str, Element] = field(default_factory=dict)  # by path


@dataclass(slots=True)
class ValueSet:
    url: str
    by_system: dict[str, frozenset[str]]
    all_codes: frozenset[str]


@cache
def _raw() -> dict[str, Any]:
    with gzip.open(DEFINITIONS, "rb") as fh:
        data: dict[str, Any] = json.loads(fh.read())
    return data


def metadata() -> dict[str, Any]:
    """Package name, version and checksums of the definitions subset."""
    meta: dict[str, Any] = _raw()["metadata"]
    return meta


@cache
def _compile(key: str, human: str, expression: str) -> Constraint:
    present, absent = _shortcuts(expression)
    return Constraint(
        key,
        human,
        expression,
        _guard(expression),
        present,
        absent,
        native=native_check(key, expression),
    )


@cache
def type_def(name: str) -> TypeDef | None:
    """The walkable definition of a resource or datatype (compiled once, cached)."""
    sd = _raw()["types"].get(name)
    if sd is None:
        return None
    by_path: dict[str, Element] = {}
    for raw in sd["elements"]:
        types = tuple(t["code"] for t in raw.get("type", []))
        profiles = {t["code"]: t["profile"][0] for t in raw.get("type", []) if t.get("profile")}
        constraints = tuple(
            _compile(c["key"], c["human"], c["expression"])
            for c in raw.get("constraint", [])
            if c["key"] not in SKIPPED_CONSTRAINTS
        )
        binding = raw.get("binding", {}).get("valueSet")
        el = Element(raw["path"], types, profiles, binding, constraints, raw.get("contentReference"), raw["path"])
        by_path[el.path] = el
        parent_path, _, name_ = el.path.rpartition(".")
        parent = by_path.get(parent_path)
        if parent is None:
            continue
        parent.inline = True
        if name_.endswith("[x]"):
            el.fp_path = el.path[:-3]
            for t in types:
                parent.children[name_[:-3] + t[0].upper() + t[1:]] = (el, t)
        else:
            parent.children[name_] = (el, types[0] if types else "")
    for el in by_path.values():
        if el.content_reference:
            target = by_path.get(el.content_reference)
            if target is not None:
                el.children, el.inline, el.fp_path = target.children, True, target.path
                el.constraints = el.constraints + target.constraints
    for el in by_path.values():
        el.active = {k: (c, t) for k, (c, t) in el.children.items() if not _inert(c, t)}
    root = by_path[sd["elements"][0]["path"]]
    root.fp_path = sd["type"]
    return TypeDef(name, sd["kind"], root, by_path)


def _inert(el: Element, tcode: str) -> bool:
    return tcode[:1].islower() and not (el.binding is not None and tcode in _CODED)


@cache
def value_set(url: str) -> ValueSet | None:
    """A required-binding ValueSet expanded to codes, or None if it cannot be expanded offline."""
    expansion = _raw()["valueSets"].get(url)
    if expansion is None:
        return None
    by_system = {system: frozenset(codes) for system, codes in expansion.items()}
    return ValueSet(url, by_system, frozenset().union(*by_system.values()))


class Walker:
    __slots__ = ("issues",)

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def resource(self, resource: dict[str, Any], location: str, root: dict[str, Any] | None) -> None:
        rtype = resource.get("resourceType")
        td = type_def(rtype) if isinstance(rtype, str) else None
        if td is None or td.kind != "resource":
            return
        ctx = Context(resource, resource if root is None else root)
        self.constraints(td.root, resource, location, ctx)
        self.children(td.root.active, resource, location, ctx, resource if root is None else root)

    def children(
        self,
        children: dict[str, tuple[Element, str]],
        node: dict[str, Any],
        location: str,
        ctx: Context,
        root: dict[str, Any],
    ) -> None:
        for key, value in node.items():
            spec = children.get(key)
            if spec is None:
                continue  # resourceType, _primitive extensions, unknown elements (layer 1 reports those)
            el, tcode = spec
            if isinstance(value, list):
                for i, item in enumerate(value):
                    self.element(el, tcode, item, f"{location}.{key}[{i}]", ctx, root)
            else:
                self.element(el, tcode, value, f"{location}.{key}", ctx, root)

    def element(self, el: Element, tcode: str, item: Any, location: str, ctx: Context, root: dict[str, Any]) -> None:
        if el.binding is not None and tcode in _CODED:
            self.binding(el.binding, tcode, item, location)
        if not isinstance(item, dict):
            return
        if el.inline:
            self.constraints(el, item, location, ctx)
            self.children(el.active, item, location, ctx, root)
            return
        if tcode == "Resource" or tcode == "DomainResource":
            # Bundle.entry.resource is a resource of its own; contained resources live in their container.
            self.resource(item, location, root if el.path.endswith(".contained") else None)
            return
        td = type_def(el.profiles.get(tcode, tcode))
        if td is None or td.kind == "resource":
            if td is not None:
                self.resource(item, location, root)
            return
        if el.constraints:  # the element's own constraints, unless the datatype declares them too (ext-1)
            own = el.own_constraints.get(td.name)
            if own is None:
                keys = {c.key for c in td.root.constraints}
                own = el.own_constraints[td.name] = tuple(c for c in el.constraints if c.key not in keys)
            self.constraints(el, item, location, ctx, own)
        if td.root.constraints:
            self.constraints(td.root, item, location, ctx)
        if td.root.active:  # a datatype of primitives only (Coding, Identifier without extensions ...): done
            self.children(td.root.active, item, location, ctx, root)

    def constraints(
        self,
        el: Element,
        item: dict[str, Any],
        location: str,
        ctx: Context,
        constraints: tuple[Constraint, ...] | None = None,
    ) -> None:
        todo = el.constraints if constraints is None else constraints
        if not todo:
            return
        keys: list[str] | None = None
        for c in todo:
            if c.pass_if_present and any(k in item for k in c.pass_if_present):
                continue
            if c.pass_if_absent and any(k not in item for k in c.pass_if_absent):
                continue
            # a native fast path decides exactly as the expression would, so it goes before the guard
            decided = c.native(item) if c.native is not None else None
            if decided is None and c.guard is not None:
                if keys is None:
                    keys = [k.lstrip("_") for k in item]
                guard = c.guard
                if not any(k.startswith(guard) for k in keys):  # the names a choice type's keys start with
                    decided = c.empty_result.get(el.fp_path)
                    if decided is None:
                        decided = c.empty_result[el.fp_path] = self.evaluate(c, {}, el.fp_path, ctx.get(), location)
            if decided is None:
                decided = self.evaluate(c, item, el.fp_path, ctx.get(), location)
            if not decided:
                self.fail(c, location or el.path)

    @staticmethod
    def evaluate(c: Constraint, item: dict[str, Any], fp_path: str, ctx: dict[str, Any], location: str) -> bool:
        """False only if the constraint evaluates to false; a failing evaluation is counted and passes."""
        try:
            result = c.fn(_node(item, fp_path), ctx)
        except Exception:
            EVALUATION_FAILURES[c.key] += 1
            log.debug("constraint %s cannot be evaluated at %s", c.key, location, exc_info=True)
            return True
        return result != [False]

    def fail(self, c: Constraint, location: str) -> None:
        self.issues.append(Issue("error", location, f"constraint {c.key} failed: {c.human}", "invariant"))

    def binding(self, url: str, tcode: str, item: Any, location: str) -> None:
        vs = value_set(url)
        if vs is None:
            return
        if tcode == "code":
            if isinstance(item, str) and item not in vs.all_codes:
                self.issues.append(_bad_code(item, None, vs, location))
        elif tcode == "Coding":
            if isinstance(item, dict):
                issue = _check_coding(item, vs, location)
                if issue is not None:
                    self.issues.append(issue)
        elif tcode == "CodeableConcept":
            self.concept(item, vs, location)
        elif tcode == "CodeableReference" and isinstance(item, dict) and "concept" in item:
            self.concept(item["concept"], vs, f"{location}.concept")

    def concept(self, item: Any, vs: ValueSet, location: str) -> None:
        codings = item.get("coding") if isinstance(item, dict) else None
        if not isinstance(codings, list) or not codings:
            return  # text only: nothing to check against the value set
        checks = [_check_coding(c, vs, f"{location}.coding[{i}]") for i, c in enumerate(codings) if isinstance(c, dict)]
        if checks and all(issue is not None for issue in checks):
            first = checks[0]
            assert first is not None
            if len(checks) == 1:
                self.issues.append(first)
            else:
                self.issues.append(
                    Issue("error", location, f"no coding is in the required value set {vs.url}", "code-invalid")
                )


def _check_coding(coding: dict[str, Any], vs: ValueSet, location: str) -> Issue | None:
    code, system = coding.get("code"), coding.get("system")
    if not isinstance(code, str):
        return None
    if isinstance(system, str):
        if code in vs.by_system.get(system, ()):
            return None
        return _bad_code(code, system, vs, f"{location}.code")
    return None if code in vs.all_codes else _bad_code(code, None, vs, f"{location}.code")


def _bad_code(code: str, system: str | None, vs: ValueSet, location: str) -> Issue:
    where = f" (system {short(system)})" if system else ""
    allowed = sorted(vs.all_codes)
    hint = f": one of {', '.join(allowed)}" if len(allowed) <= 12 else ""
    return Issue(
        "error", location, f"code {short(code)}{where} is not in the required value set {vs.url}{hint}", "code-invalid"
    )


def check_profile(resource: dict[str, Any], location: str | None = None) -> list[Issue]:
    """Layer 2 issues of ``resource`` (Bundle entries and contained resources included)."""
    rtype = resource.get("resourceType")
    walker = Walker()
    walker.resource(resource, location if location is not None else str(rtype), None)
    return walker.issues
