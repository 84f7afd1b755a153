"""What the profile layer (:mod:`.profile`) checks at the values of one element, read once per element (issue 14).

The fast walker (:mod:`.fast`) visits every element of the instance; with a ``Plan`` on each slot of its shapes it
also makes the profile layer's checks (the required binding, then the invariants of the element and of its datatype)
in the same walk, in the order :class:`.profile.Walker` makes them, instead of walking the instance again. Where the
one walk cannot mirror that walker exactly (``unsure``), the caller runs the layers separately.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fhir_adapter.validate._native import INLINE
from fhir_adapter.validate.profile import _CODED, Constraint, Element, type_def, value_set

Run = tuple[Element, tuple[Constraint, ...]]  # constraints evaluated with that element's FHIRPath type path
Quick = Callable[[dict[str, Any]], bool]


def _passes(item: dict[str, Any]) -> bool:
    return True


def quick_pass(constraints: Iterable[Constraint]) -> Quick:
    """A test of a JSON object: True only if each of ``constraints`` passes on it by its shortcuts or its native
    path, exactly as :meth:`.profile.Walker.constraints` decides it without fhirpathpy (that call would then report
    nothing); False: that call must decide. It is compiled Python, one ``if`` per constraint with the same tests in
    the same order (one key test is a fraction of a function call, and this runs on most values of the instance)::

        if not ('reference' not in item or native0(item) is True):   # ref-1: absent, else native
            return False
    """
    todo = tuple(constraints)
    signature = tuple((c.key, c.expression) for c in todo)  # all a constraint's shortcuts and native depend on
    made = _QUICK.get(signature)
    if made is None:
        made = _QUICK[signature] = _compiled(todo)
    return made


_QUICK: dict[tuple[tuple[str, str], ...], Quick] = {}  # the same constraints on many elements (ref-1, ref-2 ...)


def _compiled(constraints: tuple[Constraint, ...]) -> Quick:
    lines: list[str] = []
    names: dict[str, Any] = {}
    for i, c in enumerate(constraints):
        tests = [f"{k!r} in item" for k in c.pass_if_present] + [f"{k!r} not in item" for k in c.pass_if_absent]
        if c.native is not None:
            if c.native in INLINE:  # the native's own test of the common case, without the call
                test, more = INLINE[c.native]
                tests.append(f"({test})")
                names.update(more)
            names[f"native{i}"] = c.native
            tests.append(f"native{i}(item) is True")
        if not tests:
            return _undecided
        lines.append(f"    if not ({' or '.join(tests)}):  # {c.key!r}\n        return False\n")
    if not lines:
        return _passes
    # the source holds only repr() of key names read from the definitions, the constraints' keys and _native.INLINE
    exec("def quick(item):\n" + "".join(lines) + "    return True\n", names)
    made: Quick = names["quick"]
    return made


def _undecided(item: dict[str, Any]) -> bool:
    return False


@dataclass(slots=True, eq=False)
class Plan:
    """The profile layer's checks at each value of one element, in its order."""

    tcode: str
    binding: str | None = None  # the required binding's ValueSet (coded types only)
    runs: tuple[Run, ...] = ()  # on a JSON object value: the element's own invariants, then its datatype's
    quick: Quick = _passes  # on a JSON object value: True if every constraint of ``runs`` passes (see quick_pass)
    passing: frozenset[str] = frozenset()  # strings at which nothing is checked here (a code of the ValueSet)
    contained: bool = False  # DomainResource.contained: resources checked with their container as %rootResource
    off: bool = False  # the profile layer looks no deeper (a datatype it has no definition of)
    unsure: bool = False  # the one walk cannot mirror the profile layer here


def plan_of(el: Element, tcode: str, inline: bool) -> Plan:
    """The plan of element ``el`` of type ``tcode``; ``inline``: the fast walker gives it a shape of its own."""
    plan = Plan(tcode, el.binding if tcode in _CODED else None)
    if el.inline:
        plan.runs = ((el, el.constraints),) if el.constraints else ()
        plan.unsure = not inline
    elif inline:
        plan.unsure = True
    elif tcode in ("Resource", "DomainResource"):
        plan.contained = el.path.endswith(".contained")
    elif tcode[:1].isupper():
        td = type_def(el.profiles.get(tcode, tcode))
        if td is None:
            plan.off = True
        elif td.kind == "resource" or not _same_children(td.name, tcode):
            plan.unsure = True
        else:
            keys = {c.key for c in td.root.constraints}
            own = tuple(c for c in el.constraints if c.key not in keys)
            plan.runs = tuple(run for run in ((el, own), (td.root, td.root.constraints)) if run[1])
    plan.quick = quick_pass(c for _, todo in plan.runs for c in todo)
    if plan.binding is not None and tcode == "code" and not plan.unsure:
        vs = value_set(plan.binding)
        plan.passing = vs.all_codes if vs is not None else frozenset()
    return plan


def _signature(type_name: str) -> dict[str, tuple[object, ...]]:
    td = type_def(type_name)
    assert td is not None
    out: dict[str, tuple[object, ...]] = {}
    for key, (el, tcode) in td.root.active.items():
        out[key] = (tcode, el.binding, el.inline, tuple(c.key for c in el.constraints), el.profiles.get(tcode))
    return out


def _same_children(profile: str, tcode: str) -> bool:
    """True if a value checked against ``profile`` (SimpleQuantity) has the children checks of type ``tcode``."""
    if profile == tcode:
        return True
    return type_def(tcode) is not None and _signature(profile) == _signature(tcode)
