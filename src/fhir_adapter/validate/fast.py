"""Layer 1, fast engine: structure, datatypes, cardinality and required elements from the official R5 definitions.

The instance is walked once through tables precomputed from the StructureDefinition snapshots of the definitions
subset (``definitions/r5-core-subset.json.gz``, see :mod:`.profile`); at every element it checks
(https://hl7.org/fhir/R5/json.html):

* unknown elements (``_name`` is allowed only where ``name`` is a primitive: its id and extensions);
* cardinality: an element of max ``1`` is not a JSON array, one of max ``*`` is; required elements (min >= 1;
  a required primitive needs its value, as fhir.resources decides);
* choice types: only the allowed type suffixes of ``value[x]``, at most one of them;
* primitives: JSON type, range and the official regex (:mod:`._primitives`); complex datatypes are JSON objects;
* nested resources (Bundle.entry.resource, contained): resourceType present and a known R5 resource type;
* no JSON null (except aligned in a primitive array with its ``_name`` twin), no empty object, array or string
  (ele-1; the bundle layer's ``check_empty`` is not run with this engine).

A resource type outside the subset (foreign FHIR) is checked by the fhir.resources model of that resource alone
(:func:`.structure.model_issues`, imported only then) plus ``check_empty``.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhir_adapter.issues import Issue
from fhir_adapter.validate._common import Loc, at, child, short
from fhir_adapter.validate._context import Context
from fhir_adapter.validate._plan import Plan, Quick, plan_of, quick_pass
from fhir_adapter.validate._primitives import Check, primitive
from fhir_adapter.validate._walkers import Walk, walker
from fhir_adapter.validate.bundle import check_bundle, check_empty
from fhir_adapter.validate.profile import Walker, _raw, type_def

PRIMITIVE, COMPLEX, RESOURCE = 0, 1, 2
_ELE1 = "(ele-1: all FHIR elements must have a @value or children)"
_NULL = "null is not allowed in FHIR JSON (leave the element out)"
_UNKNOWN = "unknown element (not defined for this type in FHIR R5)"
_INLINE = ("BackboneElement", "Element")


@dataclass(slots=True, eq=False)
class Slot:
    """One JSON key of an element: its cardinality and what its value must be."""

    many: bool  # max is not "1": a JSON array
    kind: int  # PRIMITIVE, COMPLEX or RESOURCE
    tcode: str
    check: Check | None = None  # PRIMITIVE: the JSON value check
    shape: Shape | None = None  # COMPLEX: the element's own shape (inline), else the datatype's (resolved lazily)
    plan: Plan | None = None  # what the profile layer checks at its values (None: nothing)
    single: bool = False  # PRIMITIVE of max 1: one JSON value, checked inline by _Walker.node
    known: Set[str] = frozenset()  # PRIMITIVE: strings its check passed before (see _primitives.primitive)
    plain: bool = False  # PRIMITIVE: its check passes any non-blank string
    direct: bool = False  # COMPLEX of max 1 without a plan: a JSON object value is walked by _Walker.node directly


@dataclass(slots=True, eq=False)
class Shape:
    """The keys one JSON object of a type (or of an inline BackboneElement) may have."""

    children: dict[str, Slot] = field(default_factory=dict)
    required: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (where to report, keys)
    choices: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # ("value[x]", keys): at most one
    resource: bool = False
    refs: bool = False  # has a "reference" element (Reference, Expression ...)
    quick: Quick | None = None  # a resource's: True if its own invariants pass (see _plan.quick_pass)
    # Shortcuts of ``required`` and ``choices`` for the common case: every required non-choice key, and every key
    # of a choice element (more than one of them present needs a closer look).
    must: frozenset[str] = frozenset()
    choice_keys: frozenset[str] = frozenset()
    required_choice: bool = False
    post: bool = False  # any of the three: _Walker.post has something to check
    walk: Walk | None = None  # its generated walker (see _walkers.walker), made on first use


@cache
def resource_types() -> frozenset[str]:
    """Every R5 resource type name (from the definitions subset's ``resourceTypes``)."""
    return frozenset(_raw()["resourceTypes"])


def is_resource_type(resource_type: Any) -> bool:
    return isinstance(resource_type, str) and resource_type in resource_types()


@cache
def _primitives() -> frozenset[str]:
    return frozenset(k for k, sd in _raw()["types"].items() if sd["kind"] == "primitive-type") | {"xhtml"}


def _slot(tcode: str, many: bool) -> Slot:
    if tcode in _primitives() or not tcode[:1].isupper():
        check, known, plain = primitive(tcode)
        return Slot(many, PRIMITIVE, tcode, check, single=not many, known=known, plain=plain)
    if tcode in ("Resource", "DomainResource"):
        return Slot(many, RESOURCE, tcode)
    return Slot(many, COMPLEX, tcode)


def _add(shape: Shape, el: dict[str, Any], name: str, shapes: dict[str, Shape]) -> None:
    """Add element ``el`` (named ``name`` in its parent) to ``shape``."""
    many = el["max"] != "1"
    codes = [t["code"] for t in el.get("type", [])]
    keys: list[str] = []
    if name.endswith("[x]"):
        for code in codes:
            key = name[:-3] + code[0].upper() + code[1:]
            shape.children[key] = _slot(code, many)
            keys += [key, "_" + key] if shape.children[key].kind == PRIMITIVE else [key]
        shape.choices.append((name, tuple(k for k in keys if not k.startswith("_"))))
    else:
        if "contentReference" in el or el["path"] in shapes or (codes and codes[0] in _INLINE):
            target = el.get("contentReference", el["path"])
            slot = Slot(many, COMPLEX, codes[0] if codes else "BackboneElement", shape=shapes.get(target))
            slot.shape = slot.shape or shapes.setdefault(target, Shape())
        else:
            slot = _slot(codes[0] if codes else "string", many)
        shape.children[name] = slot
        keys = [name]
    if el["min"] >= 1 and el["max"] != "0":
        shape.required.append((name, tuple(keys)))


@cache
def shape_of(type_name: str) -> Shape | None:
    """The shape of a resource or complex datatype (its inline BackboneElements included), or None."""
    sd = _raw()["types"].get(type_name)
    if sd is None or sd["kind"] == "primitive-type":
        return None
    elements = sd["elements"]
    shapes: dict[str, Shape] = {}
    parents = {el["path"].rpartition(".")[0] for el in elements[1:]}
    for el in elements:
        if el["path"] in parents:
            shapes[el["path"]] = Shape()
    root = shapes.setdefault(elements[0]["path"], Shape())
    root.resource = sd["kind"] == "resource"
    for el in elements[1:]:
        parent_path, _, name = el["path"].rpartition(".")
        _add(shapes[parent_path], el, name, shapes)
    for shape in shapes.values():
        shape.must = frozenset(name for name, _ in shape.required if not name.endswith("[x]"))
        shape.choice_keys = frozenset(k for _, keys in shape.choices for k in keys)
        shape.required_choice = any(name.endswith("[x]") for name, _ in shape.required)
        shape.refs = "reference" in shape.children
        shape.post = bool(shape.must or shape.required_choice or shape.choice_keys)
    _plans(type_name, shapes)
    td = type_def(type_name)
    root.quick = quick_pass(td.root.constraints if td is not None else ())
    return root


def _plans(type_name: str, shapes: dict[str, Shape]) -> None:
    """Every slot's plan: the profile layer's checks at the element (see :mod:`._plan`)."""
    td = type_def(type_name)
    for path, shape in shapes.items():
        parent = td.elements.get(path) if td is not None else None
        for key, slot in shape.children.items():
            spec = parent.active.get(key) if parent is not None else None
            if spec is not None:
                plan = plan_of(spec[0], spec[1], slot.kind == COMPLEX and slot.shape is not None)
                if plan.binding or plan.runs or plan.contained or plan.off or plan.unsure:
                    slot.plan = plan  # else the profile layer checks nothing at the element itself
            slot.direct = slot.kind == COMPLEX and not slot.many and slot.plan is None


def _datatype_shape(slot: Slot) -> Shape:
    """The shape of a COMPLEX slot's values, resolved on first use (a datatype's shape is built once, cached)."""
    shape = slot.shape
    if shape is None:
        shape = slot.shape = shape_of(slot.tcode) or _element_shape()
    return shape


@cache
def _element_shape() -> Shape:
    """The shape of a primitive's ``_name`` part (Element: id and extensions)."""
    shape = Shape()
    shape.children["id"] = _slot("string", False)
    shape.children["extension"] = _slot("Extension", True)
    return shape


Refs = list[tuple[str, Loc]]  # (reference, its location) in document order


class _Walker:
    """Layer 1; with ``profile``, also the profile layer's checks and (of a Bundle) its entries' references."""

    __slots__ = ("ctx", "depth", "entry_lists", "entry_refs", "issues", "on", "profile", "refs", "unsure")

    def __init__(self, profile: Walker | None = None, bundle: bool = False) -> None:
        self.issues: list[Issue] = []
        self.profile = profile
        self.on = profile is not None  # profile checks here (not inside a primitive's ``_name`` part)
        self.ctx: Context | None = None
        self.depth = 0  # resources nested: 1 the walked one, 2 its Bundle entries ...
        self.refs: Refs | None = None  # where the references of the current entry resource go
        self.entry_refs: dict[str, list[Refs]] | None = {} if bundle else None  # by entry resource location
        self.entry_lists: list[Refs] = []
        self.unsure = False  # the profile layer and the Bundle references must be checked by their own walks

    def error(self, location: str, message: str, code: str = "structure") -> None:
        self.issues.append(Issue("error", location, message, code))

    def resource(self, resource: dict[str, Any], location: str, plan: Plan | None = None) -> None:
        rtype = resource.get("resourceType")
        if rtype is None:
            self.error(child(location, "resourceType"), "resourceType is missing", "required")
            return
        if not is_resource_type(rtype):
            self.error(child(location, "resourceType"), f"unknown resource type {short(rtype)}")
            return
        shape = shape_of(rtype)
        if shape is None:
            self.unsure = True
            self.foreign(resource, rtype, location)
            return
        if not self.on:
            walker(shape)(self, resource, location)
            return
        saved = self.ctx, self.refs
        contained = plan is not None and plan.contained
        self.ctx = Context(resource, saved[0].root if contained and saved[0] is not None else resource)
        self.depth += 1
        self.entry_references(location, contained)
        assert self.profile is not None and shape.quick is not None
        if not shape.quick(resource):
            td = type_def(rtype)
            assert td is not None
            self.profile.constraints(td.root, resource, location, self.ctx)
        walker(shape)(self, resource, location)
        self.depth -= 1
        self.ctx, self.refs = saved

    def entry_references(self, location: str, contained: bool) -> None:
        """Where the references of this resource go, as bundle.check_bundle collects them (contained ones last)."""
        if self.entry_refs is None:
            return
        if self.depth == 2 and not contained:
            self.entry_lists = self.entry_refs[location] = [[]]
            self.refs = self.entry_lists[0]
        elif contained:
            if self.depth != 3 or self.refs is not self.entry_lists[0]:
                self.unsure = True  # bundle._reference_paths skips a "contained" at any depth
            self.refs = []
            self.entry_lists.append(self.refs)

    def foreign(self, resource: dict[str, Any], rtype: str, location: str) -> None:
        """A resource type outside the definitions subset: its fhir.resources model and the empty checks."""
        from fhir_adapter.validate.structure import model_class, model_issues

        cls = model_class(rtype)
        issues = model_issues(cls, resource, location) if cls is not None else []
        reported = {i.location for i in issues}
        self.issues += issues + [i for i in check_empty(resource, location) if i.location not in reported]

    def node(self, shape: Shape, node: dict[str, Any], location: str) -> None:
        """The generic walk of a JSON object of ``shape``; each shape's generated walker (:mod:`._walkers`) does the
        same, with the common cases of its keys inline and the others through ``element``."""
        if not node:
            self.error(location, f"empty object {_ELE1}", "value")
        if shape.refs and self.refs is not None:  # elsewhere a "reference" key is an unknown element (reported)
            self.reference(node, location, self.refs)
        for key, value in node.items():
            self.element(shape, node, key, value, location)
        if shape.post:
            self.post(shape, node, location)

    def element(self, shape: Shape, node: dict[str, Any], key: str, value: Any, location: str) -> None:
        """The value of key ``key`` of ``node``, a JSON object of ``shape``."""
        slot = shape.children.get(key)
        if slot is None:
            self.other(shape, node, key, value, location)
        elif slot.single and type(value) is str:  # most values: tested first, no isinstance() calls
            if unproven(slot, value):
                self.checked(slot, key, value, location)
            plan = slot.plan
            if plan is not None and self.on and may_report(plan, value):
                self.profiled(plan, value, f"{location}.{key}")
        elif slot.single and value is not None and not isinstance(value, list):
            self.single(slot, key, value, location)
        elif slot.direct and isinstance(value, dict):  # what value() then item() would do, two calls fewer
            walker(slot.shape or _datatype_shape(slot))(self, value, f"{location}.{key}")
        elif slot.many and type(value) is list and value:  # what value() would do, one call fewer
            self.items(slot, value, location, key, ("_" + key) in node)
        else:
            self.value(slot, node, key, value, location)

    def single(self, slot: Slot, key: str, value: Any, location: str) -> None:
        """One JSON value of a primitive of max 1 that is no string (a boolean, a number, an object ...)."""
        self.checked(slot, key, value, location)
        plan = slot.plan
        if plan is not None and self.on:
            self.profiled(plan, value, f"{location}.{key}")

    def checked(self, slot: Slot, key: str, value: Any, location: str) -> None:
        """The JSON value check of one value of primitive element ``key``."""
        assert slot.check is not None
        problem = slot.check(value)
        if problem is not None:
            self.error(child(location, key), problem, "value")

    def post(self, shape: Shape, node: dict[str, Any], location: str) -> None:
        """The required elements and the choice elements of a node (after its children, as layer 1 reports)."""
        keys = node.keys()
        if not keys >= shape.must or shape.required_choice:
            self.required(shape, node, location)
        if shape.choice_keys and len(shape.choice_keys & keys) > 1:
            self.choices(shape, node, location)

    @staticmethod
    def reference(node: dict[str, Any], location: str, refs: Refs) -> None:
        """Collect the reference of a Reference (not of an Expression), as bundle._reference_paths finds it."""
        ref = node.get("reference")
        if isinstance(ref, str) and "expression" not in node and "language" not in node:
            refs.append((ref, f"{location}.reference"))

    def choices(self, shape: Shape, node: dict[str, Any], location: Loc) -> None:
        for name, keys in shape.choices:
            if sum(k in node for k in keys) > 1:
                found = ", ".join(k for k in keys if k in node)
                self.error(at(location), f"at most one of {name} is allowed, got {found}")

    def profiled(self, plan: Plan, value: Any, location: str) -> None:
        """The profile layer's checks at one value of an element (before its children, as that layer walks)."""
        assert self.profile is not None and self.ctx is not None
        if plan.binding is not None:
            self.profile.binding(plan.binding, plan.tcode, value, location)
        if plan.unsure:
            self.unsure = True
        if plan.runs and isinstance(value, dict) and not plan.quick(value):
            for el, todo in plan.runs:
                self.profile.constraints(el, value, location, self.ctx, todo)

    def required(self, shape: Shape, node: dict[str, Any], location: Loc) -> None:
        for name, keys in shape.required:
            if not any(k in node for k in keys):
                where = at(location) if name.endswith("[x]") else child(at(location), name)
                self.error(where, f"required element {name} is missing", "required")

    def value(self, slot: Slot, node: dict[str, Any], key: str, value: Any, location: str) -> None:
        """The value of element ``key`` of ``node``, unless it is one primitive (checked inline by ``node``)."""
        if value is None:
            self.error(child(location, key), _NULL, "value")
        elif isinstance(value, list):
            if not slot.many:
                self.error(child(location, key), "max cardinality 1: expected one value, got an array")
            elif not value:
                self.error(child(location, key), f"empty array {_ELE1}", "value")
            else:
                self.items(slot, value, location, key, ("_" + key) in node)
        elif slot.many:
            self.error(child(location, key), f"expected an array, got {type(value).__name__}")
        else:
            self.item(slot, value, f"{location}.{key}")

    def items(self, slot: Slot, values: list[Any], location: str, key: str, nulls_ok: bool) -> None:
        if slot.kind == PRIMITIVE:
            self.primitives(slot, values, location, key, nulls_ok)
            return
        complex_, plan, prefix = slot.kind == COMPLEX, slot.plan if self.on else None, f"{location}.{key}["
        walk = walker(slot.shape or _datatype_shape(slot)) if complex_ else None
        for i, value in enumerate(values):
            if value is None:
                self.error(child(location, key, i), _NULL, "value")
            elif walk is not None and isinstance(value, dict):  # what item() would do, one call fewer
                where = f"{prefix}{i}]"
                if plan is None:
                    walk(self, value, where)
                    continue
                if plan.binding is not None or plan.unsure or not plan.quick(value):  # else profiled() does nothing
                    self.profiled(plan, value, where)
                self.on = not plan.off
                walk(self, value, where)
                self.on = True
            else:
                self.item(slot, value, f"{prefix}{i}]")

    def primitives(self, slot: Slot, values: list[Any], location: str, key: str, nulls_ok: bool) -> None:
        """The values of a non-empty array of primitive element ``key``."""
        check = slot.check
        assert check is not None
        plan = slot.plan if self.on else None
        for i, value in enumerate(values):
            if value is None:
                if not nulls_ok:
                    self.error(child(location, key, i), _NULL, "value")
                continue
            if unproven(slot, value):
                problem = check(value)
                if problem is not None:
                    self.error(child(location, key, i), problem, "value")
            if plan is not None and may_report(plan, value):
                self.profiled(plan, value, f"{location}.{key}[{i}]")

    def item(self, slot: Slot, value: Any, location: str) -> None:
        """A complex datatype value or a nested resource at ``location``."""
        if not isinstance(value, dict):
            what = "a resource" if slot.kind == RESOURCE else f"a JSON object ({slot.tcode})"
            self.error(location, f"expected {what}, got {short(value)}")
        elif slot.kind == RESOURCE:
            self.resource(value, location, slot.plan)
        else:
            shape = slot.shape or _datatype_shape(slot)
            plan = slot.plan
            if plan is None or not self.on:
                walker(shape)(self, value, location)
                return
            if plan.binding is not None or plan.unsure or not plan.quick(value):  # else profiled() does nothing
                self.profiled(plan, value, location)
            self.on = not plan.off
            walker(shape)(self, value, location)
            self.on = True

    def other(self, shape: Shape, node: dict[str, Any], key: str, value: Any, location: str) -> None:
        """A key that is no element: resourceType (of a resource), ``_name`` of a primitive, or unknown."""
        if key == "resourceType" and shape.resource:
            return
        slot = shape.children.get(key[1:]) if key.startswith("_") else None
        if slot is None or slot.kind != PRIMITIVE:
            self.error(child(location, key), _UNKNOWN)
            check_empty_into(value, child(location, key), self.issues)
            return
        on, self.on = self.on, False  # the profile layer does not look into a primitive's id and extensions
        self.primitive_part(slot, node, key, value, location)
        self.on = on

    def primitive_part(self, slot: Slot, node: dict[str, Any], key: str, value: Any, location: str) -> None:
        """The ``_name`` part of primitive element ``name``: its id and extensions (one per value of an array)."""
        part = Slot(slot.many, COMPLEX, "Element", shape=_element_shape())
        if value is None:
            self.error(child(location, key), _NULL, "value")
        elif isinstance(value, list) and slot.many:
            if not value:
                self.error(child(location, key), f"empty array {_ELE1}", "value")
            for i, item in enumerate(value):
                if item is not None:
                    self.item(part, item, f"{location}.{key}[{i}]")
                elif key[1:] not in node:
                    self.error(child(location, key, i), _NULL, "value")
        elif isinstance(value, list) or slot.many:
            self.error(child(location, key), f"expected {'an array' if slot.many else 'one value'} for {key}")
        else:
            self.item(part, value, child(location, key))


def unproven(slot: Slot, value: Any) -> bool:
    """False if primitive ``slot``'s check would pass ``value`` without being called: a string it passed before, or
    any non-blank string where it has no regex."""
    return type(value) is not str or not ((slot.plain and value and not value.isspace()) or value in slot.known)


def may_report(plan: Plan, value: Any) -> bool:
    """False if the profile layer checks nothing at ``value`` of a primitive element (a code of its ValueSet)."""
    return type(value) is not str or value not in plan.passing


def check_empty_into(value: Any, location: str, issues: list[Issue]) -> None:
    """The empty-value errors (ele-1) inside an unknown element, which no shape describes."""
    issues += check_empty(value, location)


def check_fast(resource: dict[str, Any], location: str | None = None) -> list[Issue]:
    """Layer 1 issues of ``resource`` with the fast engine (Bundle entries and contained resources included)."""
    rtype = resource.get("resourceType")
    base = location if location is not None else (str(rtype) if is_resource_type(rtype) else "")
    walker = _Walker()
    walker.resource(resource, base)
    return walker.issues


def check_layers(resource: dict[str, Any]) -> tuple[list[Issue], list[Issue] | None]:
    """Layer 1 issues of a resource of a known type and, in the same walk, the later layers' issues (those of
    ``bundle.check_bundle`` of a Bundle, then ``profile.check_profile``), or None for them where that walk cannot
    make them exactly as those functions do (any layer 1 issue, a resource type outside the definitions ...)."""
    rtype = resource["resourceType"]
    walker = _Walker(Walker(), bundle=rtype == "Bundle")
    walker.resource(resource, rtype)
    if walker.issues or walker.unsure or walker.profile is None:
        return walker.issues, None
    later = check_bundle(resource, rtype, walker.entry_refs) if walker.entry_refs is not None else []
    return walker.issues, later + walker.profile.issues
