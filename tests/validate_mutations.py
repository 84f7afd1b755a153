"""A deterministic corpus of broken FHIR R5 resources, made by mutating the adapter's own output (issue 14).

The differential test (tests/test_validate_differential.py) runs both validation engines of
``fhir_adapter.validate.validate`` on every mutant: the fast definitions-driven walker and the fhir.resources models
(the reference). The bases are the entry resources of every type and whole (small) Bundles that
``fhir_adapter.bundle.to_bundle`` makes from every seed page (seeds/) and every fixture of tests/data/ctgov-v2,
ctgov-xml and ctgov-v1, converted in-process. Each mutant changes ONE element and is tagged with its category and the
FHIRPath location of the element it changed (indices included, as ``validate`` reports them).

Categories (JSON rules: https://hl7.org/fhir/R5/json.html; datatypes: https://hl7.org/fhir/R5/datatypes.html):

* ``wrong-type``: a primitive's JSON type swapped (string <-> number <-> boolean <-> object, or null), a complex
  element given as a string, number, boolean or null.
* ``missing-required``: an element with min >= 1 removed (min from the fhir.resources field information, which
  the package generates from the official StructureDefinitions: ``element_required`` for primitives, a non-optional
  field for complex elements, ``one_of_many_required`` for a required choice).
* ``unknown-element``: an element no definition has, at the root, inside backbone elements and inside datatypes
  (also names with a space, empty or starting with a digit), the ``_name`` twin of a complex element (twins exist
  for primitives only), and an unknown element inside a primitive's twin.
* ``bad-primitive``: a value that breaks its datatype's rules (regex, range, calendar): 2020-13-45, 2021-02-29, a
  dateTime with a time but no timezone, whitespace in id/uri/code, an id of 65 characters, empty and whitespace-only
  strings, integers out of 32-bit range or written 1.0, booleans and decimals as strings.
* ``cardinality``: a single value where the definition says array (max ``*``), an array where it says one.
* ``choice-type``: two ``value[x]`` types at once, or a type suffix the element does not allow.
* ``bad-code``: a well-formed code outside the codes fhir.resources lists for a code element (its required binding;
  the code is also added where the base leaves a root code element out, e.g. EvidenceVariable.handling).
* ``null-in-array``: a JSON null inserted into an array (without a ``_name`` twin that would justify it).
* ``empty-object``: ``{}`` for a complex element, inside an array of them or as a primitive's ``_name`` twin, ``[]``
  for an array.

``mutants()`` is deterministic: the same inputs give the same corpus in the same order (``random.Random(SEED)``).
Resources stay small (the smallest few instances of each type, and the two smallest Bundles), so both engines run
on the whole corpus inside the test's time budget.
"""

from __future__ import annotations

import random
import typing
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import orjson

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SEED = 14
CATEGORIES = (
    "wrong-type",
    "missing-required",
    "unknown-element",
    "bad-primitive",
    "cardinality",
    "choice-type",
    "bad-code",
    "null-in-array",
    "empty-object",
)
# The entry resource types of the adapter's R5 output (it writes no Group resource in R5). The test asserts this
# is every type the outputs hold, so a new type cannot go unmutated.
RESOURCE_TYPES = (
    "ResearchStudy",
    "EvidenceVariable",
    "PlanDefinition",
    "ActivityDefinition",
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Provenance",
    "EvidenceReport",
    "Evidence",
)
BASES_PER_TYPE = 4  # the smallest distinct instances of each type
MAX_BASE_BYTES = 12_000  # a base larger than this is used only when its type has no smaller instance
PER_BASE_AND_CATEGORY = 9  # mutants drawn per (base, category); fewer when the base has fewer sites
BUNDLE_BASES = 2
PER_BUNDLE_AND_CATEGORY = 12

JSON = Any
Path_ = tuple[str | int, ...]  # JSON keys and array indices from the root


@dataclass(frozen=True, slots=True)
class Mutant:
    """One broken resource: ``category`` (one of CATEGORIES), ``location`` (FHIRPath of the changed element),
    ``change`` (what was done, for messages), ``base`` (which output resource it was made from), ``resource``."""

    category: str
    location: str
    change: str
    base: str
    resource: dict[str, Any]
    datatype: str = ""  # the FHIR datatype of a primitive given a wrong type or a bad value
    value: JSON = None  # that new value


# --- the adapter's outputs ----------------------------------------------------------------------------------------


def input_paths() -> list[Path]:
    """Every seed page and fixture the corpus is built from."""
    return [
        *sorted((REPO / "seeds").glob("*.txt")),
        *sorted((DATA / "ctgov-v2").glob("*.json")),
        *sorted((DATA / "ctgov-xml").glob("*.xml")),
        *sorted((DATA / "ctgov-v1").glob("*.json")),
    ]


@cache
def bundles_of(path: Path) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(label, R5 collection Bundle) of every trial of one input, converted in-process (read_trials, to_bundle)."""
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.sources import read_trials

    return tuple((f"{path.parent.name}/{path.name}:{t.nct_id}", to_bundle(t)) for t in read_trials(path))


def output_bundles() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(label, Bundle) of every trial of every input."""
    return tuple(b for path in input_paths() for b in bundles_of(path))


def _size(value: JSON) -> int:
    return len(orjson.dumps(value))


def _shape(value: JSON) -> frozenset[str]:
    """The set of element paths (no indices) of a resource: two bases of one shape would give the same sites."""
    paths: set[str] = set()

    def walk(node: JSON, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                paths.add(f"{prefix}.{k}")
                walk(v, f"{prefix}.{k}")
        elif isinstance(node, list):
            for v in node:
                walk(v, prefix)

    walk(value, "")
    return frozenset(paths)


@cache
def bases() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(label, resource) of the mutation bases: per resource type the smallest BASES_PER_TYPE instances of distinct
    shape (no larger than MAX_BASE_BYTES unless none is), and the BUNDLE_BASES smallest Bundles."""
    by_type: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    bundles: list[tuple[int, str, dict[str, Any]]] = []
    for label, bundle in output_bundles():
        bundles.append((_size(bundle), label, bundle))
        for i, entry in enumerate(bundle["entry"]):
            res = entry["resource"]
            by_type[res["resourceType"]].append((_size(res), f"{label} entry[{i}]", res))
    chosen: list[tuple[str, dict[str, Any]]] = []
    for rtype in RESOURCE_TYPES:
        candidates = sorted(by_type[rtype], key=lambda c: (c[0], c[1]))
        if not candidates:
            raise AssertionError(f"no {rtype} in the adapter's outputs: the corpus would miss a type")
        small = [c for c in candidates if c[0] <= MAX_BASE_BYTES] or candidates[:1]
        # The richest small instance first (the most sites to mutate), then the smallest of each other shape.
        seen: set[frozenset[str]] = set()
        picked: list[tuple[int, str, dict[str, Any]]] = []
        for c in sorted(small, key=lambda c: -len(_shape(c[2])))[:1] + small:
            shape = _shape(c[2])
            if shape not in seen and len(picked) < BASES_PER_TYPE:
                seen.add(shape)
                picked.append(c)
        chosen += [(f"{rtype} from {label}", res) for _, label, res in picked]
    bundles.sort(key=lambda c: (c[0], c[1]))
    chosen += [(f"Bundle {label}", b) for _, label, b in bundles[:BUNDLE_BASES]]
    return tuple(chosen)


# --- what the definitions say about an element (fhir.resources field information) ----------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One element of a type: ``kind`` is a primitive type name (``string``, ``dateTime`` ...), ``complex`` or
    ``resource``; ``type_name`` the fhir.resources class name of a complex element."""

    name: str
    many: bool
    kind: str
    type_name: str
    required: bool
    choice: str | None
    choice_required: bool
    codes: tuple[str, ...]


_PRIMITIVES = {
    "Boolean": "boolean",
    "String": "string",
    "Code": "code",
    "Id": "id",
    "Uri": "uri",
    "Url": "url",
    "Canonical": "canonical",
    "Oid": "oid",
    "Uuid": "uuid",
    "Markdown": "markdown",
    "Date": "date",
    "DateTime": "dateTime",
    "Instant": "instant",
    "Time": "time",
    "Integer": "integer",
    "Integer64": "integer64",
    "PositiveInt": "positiveInt",
    "UnsignedInt": "unsignedInt",
    "Decimal": "decimal",
    "Base64Binary": "base64Binary",
    "Xhtml": "xhtml",
}


PRIMITIVE_TYPES = frozenset(_PRIMITIVES.values())


def _kind_of(annotation: Any) -> tuple[bool, str, str]:
    """(many, kind, type_name) of a fhir.resources field annotation."""
    many = False
    todo = [annotation]
    while todo:
        a = todo.pop()
        origin = typing.get_origin(a)
        if origin is list:
            many = True
        if origin is typing.Annotated:
            for meta in a.__metadata__:
                kind = _PRIMITIVES.get(type(meta).__name__)
                if kind:
                    return many, kind, ""
        if a is bool:
            return many, "boolean", ""
        name = getattr(a, "__name__", "")
        if name.endswith("Type") and name not in ("NoneType",) and not typing.get_args(a):
            base = name.removesuffix("Type")
            return many, "resource" if base == "Resource" else "complex", base
        todo.extend(typing.get_args(a))
    return many, "unknown", ""


@cache
def fields_of(type_name: str) -> dict[str, Field]:
    """The elements of a fhir.resources class (resource, datatype or backbone element) by JSON name."""
    from fhir.resources import get_fhir_model_class

    cls = get_fhir_model_class(type_name)
    out: dict[str, Field] = {}
    for name, info in cls.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if not extra.get("element_property"):
            continue  # the _name twins and pydantic's own fields
        many, kind, tname = _kind_of(info.annotation)
        required = bool(info.is_required() or extra.get("element_required"))
        codes = extra.get("enum_values") or ()
        choice = extra.get("one_of_many")
        out[info.alias or name] = Field(
            name=info.alias or name,
            many=many,
            kind=kind,
            type_name=tname,
            required=required,
            choice=str(choice) if choice else None,
            choice_required=bool(extra.get("one_of_many_required")),
            codes=tuple(str(c) for c in codes),  # type: ignore[union-attr]
        )
    return out


# --- sites: every element of an instance, with its definition ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """An element present in the instance: ``path`` to its value (an array's item when ``index`` is set),
    ``owner`` the class name of the object that holds it, ``location`` its FHIRPath."""

    path: Path_
    owner: str
    field: Field
    location: str
    value: JSON


def _fhirpath(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def sites(resource: dict[str, Any], location: str | None = None) -> Iterator[Site]:
    """Every element of ``resource`` (nested resources included), depth first, arrays and their items both."""
    rtype = resource["resourceType"]
    yield from _object_sites(resource, rtype, (), rtype if location is None else location)


def _object_sites(obj: dict[str, Any], type_name: str, path: Path_, location: str) -> Iterator[Site]:
    fields = fields_of(type_name)
    for key, value in obj.items():
        f = fields.get(key)
        if f is None:
            continue
        loc = _fhirpath(location, key)
        yield Site((*path, key), type_name, f, loc, value)
        items = list(enumerate(value)) if f.many and isinstance(value, list) else [(None, value)]
        for i, item in items:
            ipath = (*path, key) if i is None else (*path, key, i)
            iloc = loc if i is None else f"{loc}[{i}]"
            if i is not None:
                yield Site(ipath, type_name, f, iloc, item)
            if isinstance(item, dict) and f.kind == "complex":
                yield from _object_sites(item, f.type_name, ipath, iloc)
            elif isinstance(item, dict) and f.kind == "resource" and isinstance(item.get("resourceType"), str):
                yield from _object_sites(item, item["resourceType"], ipath, iloc)


def _is_item(site: Site) -> bool:
    return bool(site.path) and isinstance(site.path[-1], int)


# --- mutations ----------------------------------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


class Candidate(NamedTuple):
    """A mutation not yet applied: ``edit`` changes a deep copy of the base in place; ``datatype`` and ``value`` are
    the FHIR datatype of the changed primitive and its new JSON value (wrong types and bad primitives only)."""

    category: str
    location: str
    change: str
    edit: Edit
    datatype: str = ""
    value: JSON = None


def _node(root: dict[str, Any], path: Path_) -> Any:
    node: Any = root
    for part in path:
        node = node[part]
    return node


def _parent(root: dict[str, Any], path: Path_) -> Any:
    return _node(root, path[:-1])


def _set(path: Path_, value: JSON) -> Edit:
    def edit(root: dict[str, Any]) -> None:
        _parent(root, path)[path[-1]] = value

    return edit


def _delete(path: Path_) -> Edit:
    def edit(root: dict[str, Any]) -> None:
        parent = _parent(root, path)
        del parent[path[-1]]
        twin = f"_{path[-1]}"
        if isinstance(parent, dict) and twin in parent:
            del parent[twin]

    return edit


def _add(path: Path_, key: str, value: JSON) -> Edit:
    def edit(root: dict[str, Any]) -> None:
        _node(root, path)[key] = value

    return edit


def _rename(path: Path_, new: str) -> Edit:
    def edit(root: dict[str, Any]) -> None:
        parent = _parent(root, path)
        parent[new] = parent.pop(path[-1])

    return edit


def _insert(path: Path_, index: int, value: JSON) -> Edit:
    def edit(root: dict[str, Any]) -> None:
        _node(root, path).insert(index, value)

    return edit


_OTHER_JSON_TYPES: dict[type, tuple[JSON, ...]] = {
    str: (42, True, {"value": "x"}, None),
    bool: ("true", 1, {"value": True}, None),
    int: ("7", False, {"value": 7}, None),
    float: ("1.5", True, {"value": 1.5}, None),
}

# Values of the right JSON type that break the datatype (https://hl7.org/fhir/R5/datatypes.html).
_BAD_VALUES: dict[str, tuple[JSON, ...]] = {
    "date": ("2020-13-45", "2020/01/01", "", "20200101", "2021-02-29", "2020-04-31"),
    "dateTime": ("2020-01-01T10:00:00", "2020-13-01", "2020-01-01T25:00:00Z", "", "2021-02-29", "2021-02-29T10:00:00Z"),
    "instant": ("2020-01-01", "2020-01-01T10:00:00", "", "2021-02-29T10:00:00Z"),
    "time": ("25:00:00", "10:00"),
    "id": ("a b", "x" * 65, "a_b", ""),
    "uri": ("a b", "", " x"),
    "url": ("a b", ""),
    "canonical": ("a b", ""),
    "code": (" active", "a  b", "", "x\ty"),
    "string": ("", "  "),
    "markdown": ("", "\n"),
    "integer": (2147483648, -2147483649, 1.5, 1.0),
    "positiveInt": (0, -1, 2147483648, 1.0),
    "unsignedInt": (-1, 2147483648, 1.0),
    "integer64": ("12a", "", "1.5"),
    "decimal": ("1.5", "abc"),
    "boolean": ("true", "yes"),
}


def _wrong_type(site: Site) -> Iterator[Candidate]:
    if site.field.many and not _is_item(site):
        return  # arrays themselves: cardinality
    if site.field.kind in ("complex", "resource"):
        for bad in ("text", 42, True, None):
            change = f"{site.field.type_name} given as {bad!r}"
            yield Candidate("wrong-type", site.location, change, _set(site.path, bad), site.field.type_name, bad)
        return
    for bad in _OTHER_JSON_TYPES.get(type(site.value), ()):
        change = f"{site.field.kind} {type(site.value).__name__} given as {type(bad).__name__} {bad!r}"
        yield Candidate("wrong-type", site.location, change, _set(site.path, bad), site.field.kind, bad)


def _missing_required(site: Site) -> Iterator[Candidate]:
    if _is_item(site):
        return
    if site.field.required:
        yield Candidate("missing-required", site.location, f"required {site.field.name} removed", _delete(site.path))
    elif site.field.choice and site.field.choice_required:
        yield Candidate(
            "missing-required", site.location, f"required {site.field.choice}[x] removed", _delete(site.path)
        )


def _unknown_element(site: Site) -> Iterator[Candidate]:
    parent_loc = site.location.rsplit(".", 1)[0] if "." in site.location else site.location
    if not _is_item(site) and site.field.kind in ("complex", "resource"):
        twin = f"_{site.field.name}"
        yield Candidate(
            "unknown-element",
            _fhirpath(parent_loc, twin),
            f"{twin} twin of a complex element",
            _add(site.path[:-1], twin, {"extension": [{"url": "http://example.org/x", "valueString": "x"}]}),
        )
    if not _is_item(site) and site.field.kind not in ("complex", "resource", "xhtml"):
        twin = f"_{site.field.name}"  # a primitive's twin holds its id and extensions, nothing else
        yield Candidate(
            "unknown-element",
            f"{_fhirpath(parent_loc, twin)}.fooBar",
            f"unknown fooBar in the {twin} twin of a primitive",
            _add(site.path[:-1], twin, {"fooBar": 1}),
        )
    item_is_object = isinstance(site.value, dict) and site.field.kind in ("complex", "resource")
    if item_is_object and (_is_item(site) or not site.field.many):
        for name in ("fooBar", "valueStringx", "ti tle", "", "9lives"):
            yield Candidate(
                "unknown-element",
                _fhirpath(site.location, name),
                f"unknown {name} inside {site.field.type_name}",
                _add(site.path, name, "x"),
            )


def _bad_primitive(site: Site) -> Iterator[Candidate]:
    if site.field.many and not _is_item(site):
        return
    for bad in _BAD_VALUES.get(site.field.kind, ()):
        change = f"{site.field.kind} {bad!r}"
        yield Candidate("bad-primitive", site.location, change, _set(site.path, bad), site.field.kind, bad)


def _cardinality(site: Site) -> Iterator[Candidate]:
    if _is_item(site):
        return
    if site.field.many and isinstance(site.value, list) and site.value:
        yield Candidate(
            "cardinality",
            site.location,
            f"{site.field.name} (0..*) given one value, not an array",
            _set(site.path, site.value[0]),
        )
    elif not site.field.many:
        yield Candidate(
            "cardinality",
            site.location,
            f"{site.field.name} (0..1) given as an array",
            _set(site.path, [site.value]),
        )


_SOME_VALUE: dict[str, JSON] = {
    "boolean": True,
    "string": "x",
    "code": "x",
    "integer": 1,
    "dateTime": "2020-01-01",
    "date": "2020-01-01",
    "complex": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]},  # valid in every datatype
}


def _choice_type(site: Site) -> Iterator[Candidate]:
    if _is_item(site) or not site.field.choice:
        return
    group = site.field.choice
    siblings = [f for f in fields_of(site.owner).values() if f.choice == group and f.name != site.field.name]
    for other in siblings[:3]:
        value = _SOME_VALUE.get(other.kind)
        if value is None:
            continue
        yield Candidate(
            "choice-type",
            site.location,
            f"{site.field.name} and {other.name} at once",
            _add(site.path[:-1], other.name, value),
        )
    allowed = {f.name for f in fields_of(site.owner).values() if f.choice == group}
    for suffix in ("String", "Annotation", "Foo"):
        new = f"{group}{suffix}"
        if new not in allowed:
            yield Candidate(
                "choice-type",
                _fhirpath(site.location.rsplit(".", 1)[0], new),
                f"{site.field.name} renamed {new} (type not allowed)",
                _rename(site.path, new),
            )


def _bad_code(site: Site) -> Iterator[Candidate]:
    if not site.field.codes or (site.field.many and not _is_item(site)) or not isinstance(site.value, str):
        return
    for bad in ("not-a-code", site.value.upper() if site.value.upper() != site.value else "Xyz"):
        yield Candidate(
            "bad-code",
            site.location,
            f"{bad!r} outside the codes of {site.field.name}",
            _set(site.path, bad),
        )


def _null_in_array(site: Site) -> Iterator[Candidate]:
    if _is_item(site) or not isinstance(site.value, list) or not site.value:
        return
    for index in (0, len(site.value)):
        yield Candidate(
            "null-in-array",
            f"{site.location}[{index}]",
            f"null inserted at {index}",
            _insert(site.path, index, None),
        )


def _empty_object(site: Site) -> Iterator[Candidate]:
    if site.field.kind not in ("complex", "resource", "xhtml") and not _is_item(site):
        twin = f"_{site.field.name}"
        yield Candidate(
            "empty-object",
            _fhirpath(site.location.rsplit(".", 1)[0], twin),
            f"{twin} given as {{}}",
            _add(site.path[:-1], twin, {}),
        )
    if site.field.kind != "complex":
        return
    if site.field.many and not _is_item(site):
        yield Candidate("empty-object", site.location, "empty array", _set(site.path, []))
        yield Candidate(
            "empty-object", f"{site.location}[{len(site.value)}]", "{} appended", _insert(site.path, 10**6, {})
        )
    else:
        yield Candidate("empty-object", site.location, f"{site.field.type_name} given as {{}}", _set(site.path, {}))


_MUTATIONS = (
    _wrong_type,
    _missing_required,
    _unknown_element,
    _bad_primitive,
    _cardinality,
    _choice_type,
    _bad_code,
    _null_in_array,
    _empty_object,
)


def _root_candidates(resource: dict[str, Any], location: str) -> Iterator[Candidate]:
    """Unknown elements at the root, and a bad code in every root code element with a required binding that the
    base leaves out (e.g. EvidenceVariable.handling, which the adapter never writes)."""
    for name in ("fooBar", "studyStatus", "_fooBar"):
        yield Candidate(
            "unknown-element", _fhirpath(location, name), f"unknown {name} at the root", _add((), name, "x")
        )
    for name, f in fields_of(resource["resourceType"]).items():
        if f.codes and not f.many and name not in resource:
            change = f"'not-a-code' added as {name} (required binding)"
            yield Candidate("bad-code", _fhirpath(location, name), change, _add((), name, "not-a-code"))


def candidates(resource: dict[str, Any]) -> dict[str, list[Candidate]]:
    """Every mutation of ``resource`` by category, in document order."""
    out: dict[str, list[Candidate]] = {c: [] for c in CATEGORIES}
    for cand in _root_candidates(resource, resource["resourceType"]):
        out[cand.category].append(cand)
    for site in sites(resource):
        for mutate in _MUTATIONS:
            for cand in mutate(site):
                out[cand.category].append(cand)
    return out


def _always(cand: Candidate) -> bool:
    """Root-level bad codes and missing required elements are always in the corpus (ResearchStudy.status,
    Bundle.type, EvidenceVariable.handling ...): the faults a reader notices first."""
    return cand.category in ("bad-code", "missing-required") and cand.location.count(".") == 1


def _mutant(base_label: str, resource: dict[str, Any], cand: Candidate) -> Mutant:
    copy = orjson.loads(orjson.dumps(resource))
    cand.edit(copy)
    return Mutant(cand.category, cand.location, cand.change, base_label, copy, cand.datatype, cand.value)


@cache
def mutants(seed: int = SEED) -> tuple[Mutant, ...]:
    """The corpus: for every base, up to PER_BASE_AND_CATEGORY mutants of each category, drawn with a seeded RNG
    (PER_BUNDLE_AND_CATEGORY for Bundles)."""
    rng = random.Random(seed)
    out: list[Mutant] = []
    for label, resource in bases():
        per = PER_BUNDLE_AND_CATEGORY if resource["resourceType"] == "Bundle" else PER_BASE_AND_CATEGORY
        for cands in candidates(resource).values():
            must = [c for c in cands if _always(c)]
            rest = [c for c in cands if not _always(c)]
            picked = must + (rest if len(rest) <= per - len(must) else rng.sample(rest, max(per - len(must), 0)))
            out += [_mutant(label, resource, c) for c in picked]
    return tuple(out)


def counts(corpus: tuple[Mutant, ...] | list[Mutant]) -> dict[str, int]:
    """Mutants per category."""
    found = {c: 0 for c in CATEGORIES}
    for m in corpus:
        found[m.category] += 1
    return found
