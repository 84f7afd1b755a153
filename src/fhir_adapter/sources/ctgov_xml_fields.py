"""Typed access to a legacy ``<clinical_study>`` element tree (``XmlReader``): children by tag, their text, codes,
dates and flags, with the warning each gives when it cannot be read; every element and attribute read is remembered,
so that ``ctgov_xml`` keeps the rest in ``Trial.unmapped``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from lxml import etree

from fhir_adapter.issues import Issue
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import DateInfo, Source
from fhir_adapter.sources.ctgov_xml_doc import reflow_textblock, text_of
from fhir_adapter.sources.fields import code_or_given, v2_token, warning, yes_no
from fhir_adapter.sources.guards import check_items
from fhir_adapter.sources.wording import parse_registry_date

__all__ = ["XmlReader", "plain_path"]

T = TypeVar("T")
_INDEX = re.compile(r"\[\d+\]")


def _child_steps(parent: etree._Element) -> dict[etree._Element, str]:
    """Each child's path step: its tag, with its index among the children of the same tag when the tag repeats."""
    counts: dict[Any, int] = {}
    for c in parent:
        counts[c.tag] = counts.get(c.tag, 0) + 1
    seen: dict[Any, int] = {}
    steps = {}
    for c in parent:
        index = seen[c.tag] = seen.get(c.tag, -1) + 1
        steps[c] = f"{c.tag}[{index}]" if counts[c.tag] > 1 else str(c.tag)
    return steps


def plain_path(path: str) -> str:
    """An element path without its indices (``location[3]/facility`` -> ``location/facility``)."""
    return _INDEX.sub("", path)


class XmlReader:
    """Reads one ``<clinical_study>``; remembers which elements and attributes were consumed."""

    def __init__(self, root: etree._Element, source: Source, limits: Limits = DEFAULT_LIMITS) -> None:
        self.root = root
        self.source = source
        self.limits = limits
        self.nct_id: str | None = None
        self.issues: list[Issue] = []
        self.used: set[etree._Element] = set()
        self.used_attrs: set[tuple[etree._Element, str]] = set()
        self.unmapped: dict[str, str] = {}
        self._steps: dict[etree._Element, dict[etree._Element, str]] = {}
        self._firsts: dict[etree._Element, dict[Any, etree._Element]] = {}  # parent -> tag -> first such child
        # the root's children by tag, in document order: the root holds every location of a multi-site study, and
        # each single-valued field would otherwise scan them all
        self._root_tags: dict[Any, list[etree._Element]] = {}
        for c in root:
            self._root_tags.setdefault(c.tag, []).append(c)

    def warn(self, location: str, message: str, code: str = "value") -> None:
        self.issues.append(warning(location, message, code))

    def path_of(self, el: etree._Element) -> str:
        """``location[3]/investigator[0]/role``: the element path below the root, indexed where a tag repeats. The
        steps of all children of a parent are worked out once (a warning per sibling stays linear); the only child of
        the root with its tag is its tag (the root holds every location of a multi-site study: no steps for them)."""
        parts: list[str] = []
        cur: etree._Element = el
        root, root_tags = self.root, self._root_tags
        while (parent := cur.getparent()) is not None:
            if parent is root and len(root_tags[cur.tag]) == 1:
                parts.append(str(cur.tag))
                break
            steps = self._steps.get(parent)
            if steps is None:
                steps = self._steps[parent] = _child_steps(parent)
            parts.append(steps[cur])
            cur = parent
        return "/".join(reversed(parts))

    # -- element access -------------------------------------------------------------------------------------
    def all(self, parent: etree._Element | None, tag: str) -> list[etree._Element]:
        """The children with the tag (consumed); more than ``limits.max_list_items`` raise ``LimitExceeded``
        (every repeated element is read here)."""
        if parent is None:
            return []
        found = list(self._root_tags.get(tag, ())) if parent is self.root else [c for c in parent if c.tag == tag]
        if len(found) > self.limits.max_list_items:
            field = tag if parent is self.root else f"{self.path_of(parent)}/{tag}"
            check_items(len(found), field, self.limits.max_list_items, self.source, self.nct_id)
        self.used.update(found)
        return found

    def one(self, parent: etree._Element | None, tag: str) -> etree._Element | None:
        """The first child with the tag (consumed); a repeated single-valued element leaves the others unmapped."""
        if parent is None:
            return None
        if parent is self.root:
            first = self._root_tags.get(tag)
            if first:
                self.used.add(first[0])
                return first[0]
            return None
        firsts = self._firsts.get(parent)
        if firsts is None:  # the first child of each tag, found in one pass (a parent is asked for several tags)
            firsts = self._firsts[parent] = {}
            for c in reversed(parent):
                firsts[c.tag] = c
        child = firsts.get(tag)
        if child is not None:
            self.used.add(child)
        return child

    def value(self, el: etree._Element | None) -> str | None:
        if el is None:
            return None
        text = (el.text or "") if not len(el) else text_of(el)  # (a leaf's text without the call)
        return text.strip() or None

    def text(self, parent: etree._Element | None, tag: str) -> str | None:
        return self.value(self.one(parent, tag))

    def texts(self, parent: etree._Element | None, tag: str) -> list[str]:
        return [v for v in (self.value(e) for e in self.all(parent, tag)) if v]

    def textblock(self, parent: etree._Element | None, tag: str) -> str | None:
        el = self.one(parent, tag)
        if el is None:
            return None
        tb = self.one(el, "textblock")
        return reflow_textblock(text_of(tb)) if tb is not None else self.value(el)

    def release(self, el: etree._Element) -> None:
        """Give an element back to the unmapped collection (its value could not be read)."""
        self.used.discard(el)

    def code(self, axis: str, parent: etree._Element | None, tag: str) -> str | None:
        el = self.one(parent, tag)
        raw = self.value(el)
        if el is None or raw is None:
            return None
        return self.code_of(axis, raw, el)

    def code_of(self, axis: str, raw: str, where: str | etree._Element) -> str | None:
        if (token := v2_token(axis, raw)) is not None:  # known: no location needed (no path built)
            return token
        return code_or_given(axis, raw, where if isinstance(where, str) else self.path_of(where), self.issues)

    def date_type(self, el: etree._Element) -> str | None:
        raw = el.get("type")
        if raw is None:
            return None
        self.used_attrs.add((el, "type"))
        raw = raw.strip()
        if (token := v2_token("date-type", raw)) is not None:
            return token
        # "Estimate" (study_first_posted, last_update_posted) is the noun form of the ConceptMap's "Estimated"
        if (token := v2_token("date-type", raw + "d")) is not None:
            return token
        return code_or_given("date-type", raw, f"{self.path_of(el)}@type", self.issues)

    def parsed(
        self, parent: etree._Element | None, tag: str, parse: Callable[[str], T | None], what: str, none: str = ""
    ) -> T | None:
        """The text of a child read by ``parse`` (``none``: the wording for "no value"); one that cannot be read is
        reported and left for ``Trial.unmapped``."""
        el = self.one(parent, tag)
        raw = self.value(el)
        if el is None or raw is None or raw.upper() == none:
            return None
        value = parse(raw)
        if value is None:
            self.warn(self.path_of(el), f"cannot read {what} {raw[:30]!r}; kept in unmapped")
            self.release(el)
        return value

    def date_text(self, parent: etree._Element | None, tag: str) -> str | None:
        return self.parsed(parent, tag, parse_registry_date, "date")

    def date(self, parent: etree._Element | None, tag: str) -> DateInfo | None:
        el = self.one(parent, tag)
        if el is None:
            return None
        iso = self.date_text(parent, tag)
        if iso is None:
            return None
        return DateInfo(date=iso, type=self.date_type(el))

    def flag(self, parent: etree._Element | None, tag: str, also_yes: frozenset[str] = frozenset()) -> bool | None:
        el = self.one(parent, tag)
        raw = self.value(el)
        if el is None or raw is None:
            return None
        if (flag := yes_no(raw, also_yes)) is not None:
            return flag
        self.warn(self.path_of(el), f"expected Yes/No, got {raw[:30]!r}; kept in unmapped")
        self.release(el)
        return None
