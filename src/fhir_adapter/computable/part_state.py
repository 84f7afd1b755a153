"""What atoms.read_part keeps while it reads one part: the atoms being read (``Spec``) and the reading's state
(``PartState``)."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_adapter.computable.lexer import Item
from fhir_adapter.computable.quantities import Qty, Window

__all__ = ["PartState", "Spec"]


@dataclass(slots=True)
class Spec:
    """One atom being read: concept key and kind, its quantity or result, negated or not, and its words."""

    key: str
    kind: str
    start: int
    end: int
    qty: Qty | None = None
    result: str | None = None
    neg: bool = False
    window: Window | None = None
    pair: bool = False  # "BP > 140/90 mmHg": a systolic/diastolic pair


class PartState:
    """The state of one part's reading. A plain class, not a dataclass: one is made for every part read, and a
    dataclass's __init__ (a default check per field, a factory call per list) costs twice as much."""

    __slots__ = (
        "after",
        "class_join",
        "cmp",
        "conn",
        "exclude",
        "groups",
        "joiner",
        "joins",
        "kinds",
        "neg",
        "only_quantity",
        "pending",
        "pending_joins",
        "prefix_result",
        "read",
        "result_keys",
        "sexes",
        "shared_result",
        "window",
    )
    kinds: dict[str, str]
    result_keys: dict[str, str]
    groups: list[tuple[str, list[Spec]]]
    joins: list[str]  # connector before each group after the first
    pending: list[Spec]
    pending_joins: list[str]
    conn: str | None
    neg: bool
    cmp: str | None
    prefix_result: str | None
    window: Window | None
    only_quantity: bool  # the part is a bare quantity ("18 years to 48 years"): years are an age
    after: Item | None  # the item after the one being read
    sexes: list[str]  # "men aged >= 55 years": who the part is about
    shared_result: str | None  # "negative HIV test, negative HBsAg test and anti-HCV test"
    exclude: bool  # the part belongs to an exclusion item
    class_join: bool  # the 'and' between a class and its condition ("NYHA class III heart failure")
    joiner: str | None  # 'with' / 'on' / 'for' since the last concept
    read: set[str]  # the keys of the finished groups

    def __init__(self, kinds: dict[str, str], result_keys: dict[str, str], exclude: bool = False) -> None:
        self.kinds = kinds
        self.result_keys = result_keys
        self.exclude = exclude
        self.groups = []
        self.joins = []
        self.pending = []
        self.pending_joins = []
        self.sexes = []
        self.read = set()
        self.conn = self.cmp = self.prefix_result = self.window = self.after = self.shared_result = None
        self.joiner = None
        self.neg = self.only_quantity = self.class_join = False
